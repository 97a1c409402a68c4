# CIFAR-100 student trained alone: NEAREST EQUIVALENT of the CIFAR MobileNetV2 (1.0x, overall stride 8, 4x4
# final map). mmpretrain's MobileNetV2 has fixed ImageNet strides (stride 32: a 1x1 map at 32x32), so this uses
# mmsegmentation's MobileNetV2 (the same inverted-residual stages, configurable strides; needs mmsegmentation).
# Its stem conv keeps stride 2, so stage strides (1, 1, 1, 2, 1, 2, 1) give stride 8: the 64- to 320-channel
# stages run at the CIFAR MobileNetV2's resolutions (8x8, 8x8, 4x4, 4x4), the stem and first two stages at
# 16x16 instead of 32x32. It has no final 1x1 conv to 1280 channels: the head sees 320 (1.8M parameters).
# out_indices=(5, 6): with one index mmseg returns a bare tensor, while mmpretrain's neck and head expect a tuple;
# the head (and feature distillation) use the last one, 320x4x4.
_base_ = '../teachers/regnetx-400mf-cifar_1xb64-240e_cifar100.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmseg.MobileNetV2',
        widen_factor=1.0,
        strides=(1, 1, 1, 2, 1, 2, 1),
        out_indices=(5, 6)),
    head=dict(in_channels=320))
