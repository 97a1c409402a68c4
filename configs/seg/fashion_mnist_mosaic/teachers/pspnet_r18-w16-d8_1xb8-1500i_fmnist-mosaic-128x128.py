# Teacher 2 of the mosaic segmentation pool: PSPNet (pyramid pooling head) on the same ResNetV1c-18 (w16, d8).
_base_ = './deeplabv3_r18-w16-d8_1xb8-1500i_fmnist-mosaic-128x128.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='PSPHead',
        in_channels=128,
        in_index=3,
        channels=32,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                         class_weight=_base_.class_weight)))
