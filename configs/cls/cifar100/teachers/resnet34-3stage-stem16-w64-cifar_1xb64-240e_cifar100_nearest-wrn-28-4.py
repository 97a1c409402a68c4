# Teacher 4 of the CIFAR-100 pool: NEAREST EQUIVALENT of WRN-28-4 (pre-activation, 3 stages of 4 basic blocks,
# widths 16x4=64/128/256, 16-channel stem, 8x8 final map, 5.9M parameters). mmpretrain has no CIFAR wide ResNet:
# this is ResNet_CIFAR-34 cut to its first 3 stages (3/4/6 post-activation basic blocks: 28 weighted layers, as
# WRN-28) with WRN-28-4's stem (16) and widths (64/128/256): 8x8x256 final map, 8.1M parameters. It differs from
# the ResNet-32x4 stand-in only by its stem width: mmpretrain cannot express the two block layouts (5/5/5 and
# 4/4/4) that tell the originals apart, so the pool's two ResNet teachers are closer than the paper's.
# The same 3-stage ResNet_CIFAR-34 as the ResNet-56 stand-in, at four times its width.
_base_ = '../students/resnet34-3stage-w16-cifar_1xb64-240e_cifar100_nearest-resnet56.py'
model = dict(backbone=dict(base_channels=64), head=dict(in_channels=256))
