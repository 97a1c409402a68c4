# Teacher 3 of the CIFAR-100 pool: NEAREST EQUIVALENT of ResNet-32x4 (3 stages of 5 basic blocks, widths
# 64/128/256, 32-channel stem, 8x8 final map, 7.4M parameters). mmpretrain's ResNet_CIFAR fixes the blocks per
# stage by depth, so this is ResNet_CIFAR-34 cut to its first 3 stages (3/4/6 basic blocks, i.e. 13 blocks and
# 28 weighted layers instead of 15 and 32) with ResNet-32x4's stem (32) and widths (64/128/256): 8x8x256 final
# map, 8.1M parameters.
# The WRN-28-4 stand-in with a 32-channel stem.
_base_ = './resnet34-3stage-stem16-w64-cifar_1xb64-240e_cifar100_nearest-wrn-28-4.py'
model = dict(backbone=dict(stem_channels=32))
