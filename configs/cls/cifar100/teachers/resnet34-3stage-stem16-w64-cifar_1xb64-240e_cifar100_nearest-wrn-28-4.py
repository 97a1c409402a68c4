# Teacher 4 of the CIFAR-100 pool: NEAREST EQUIVALENT of WRN-28-4 (pre-activation, 3 stages of 4 basic blocks,
# widths 16x4=64/128/256, 16-channel stem, 8x8 final map, 5.9M parameters). mmpretrain has no CIFAR wide ResNet:
# this is ResNet_CIFAR-34 cut to its first 3 stages (3/4/6 post-activation basic blocks: 28 weighted layers, as
# WRN-28) with WRN-28-4's stem (16) and widths (64/128/256): 8x8x256 final map, 8.1M parameters. It differs from
# the ResNet-32x4 stand-in only by its stem width: mmpretrain cannot express the two block layouts (5/5/5 and
# 4/4/4) that tell the originals apart, so the pool's two ResNet teachers are closer than the paper's.
_base_ = './regnetx-400mf-cifar_1xb64-240e_cifar100.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet_CIFAR',
        depth=34,
        num_stages=3,
        stem_channels=16,
        base_channels=64,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, )),
    head=dict(in_channels=256))
