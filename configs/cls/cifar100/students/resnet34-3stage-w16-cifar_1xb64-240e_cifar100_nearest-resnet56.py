# CIFAR-100 student trained alone: NEAREST EQUIVALENT of ResNet-56 (3 stages of 9 basic blocks, widths
# 16/32/64, 8x8 final map, 0.86M parameters). mmpretrain's ResNet_CIFAR fixes the blocks per stage by depth, so
# this is ResNet_CIFAR-34 cut to its first 3 stages (3/4/6 basic blocks: 28 weighted layers instead of 56) with
# ResNet-56's stem (16) and widths (16/32/64): 8x8x64 final map, 0.51M parameters.
_base_ = '../teachers/regnetx-400mf-cifar_1xb64-240e_cifar100.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet_CIFAR',
        depth=34,
        num_stages=3,
        stem_channels=16,
        base_channels=16,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, )),
    head=dict(in_channels=64))
