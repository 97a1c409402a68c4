# Teacher of the CIFAR-100 pool: WRN-28-4 (pre-activation, 3 stages of 4 blocks, widths 64/128/256, final BN-ReLU,
# 8x8 final map; 5.87M parameters with the head), trained with the teacher recipe.
_base_ = ['../../../_base_/models/cifar100_kd_classifier.py', '../../../_base_/datasets/cifar100_bs64.py',
          '../../../_base_/schedules/cifar100_kd_teacher_240e.py']
model = dict(backbone=dict(_delete_=True, type='CIFARWideResNet', depth=28, widen_factor=4),
             head=dict(in_channels=256))
