# Teacher of the CIFAR-100 pool: the CIFAR RegNetX-400MF of MTKD-RL (64-channel stride-1 stem, stages of 1/2/7/12
# blocks, widths 32/64/160/384, group width 16, 8x8 final map; 4.81M parameters with the head), teacher recipe.
_base_ = ['../../../_base_/models/cifar100_kd_classifier.py', '../../../_base_/datasets/cifar100_bs64.py',
          '../../../_base_/schedules/cifar100_kd_teacher_240e.py']
model = dict(backbone=dict(_delete_=True, type='CIFARRegNet', arch='regnetx_400mf'),
             head=dict(in_channels=384))
