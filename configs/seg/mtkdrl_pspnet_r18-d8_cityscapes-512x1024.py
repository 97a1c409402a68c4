# MTKD-RL with a PSPNet ResNet-18-D8 student (mmseg model zoo alone: 74.87 mIoU) and the same teacher pool.
# The student is mmseg's pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py: the same ResNetV1c-18-D8 backbone,
# FCN auxiliary head and schedule as the DeepLabV3 student, with a PSP decode head. Exported checkpoints load
# into mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py.
_base_ = './mtkdrl_deeplabv3_r18-d8_cityscapes-512x1024.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    student=dict(
        decode_head=dict(
            _delete_=True,
            type='PSPHead',
            in_channels=512,
            in_index=3,
            channels=128,
            pool_scales=(1, 2, 3, 6),
            dropout_ratio=0.1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))))
