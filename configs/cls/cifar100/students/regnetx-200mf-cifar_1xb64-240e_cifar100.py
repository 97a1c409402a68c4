# CIFAR-100 student trained alone: the CIFAR RegNetX-200MF of MTKD-RL (64-channel stride-1 stem, stages of 1/1/4/7
# blocks, widths 24/56/152/368, group width 8, 8x8 final map; 2.36M parameters with the head), student recipe.
_base_ = './resnet56_1xb64-240e_cifar100.py'
model = dict(backbone=dict(_delete_=True, type='CIFARRegNet', arch='regnetx_200mf'),
             head=dict(in_channels=368))
