# Teacher 3 of the nuclei pool: DeepLabV3+ (separable ASPP with a stride-4 decoder, so its logits are at
# output stride 4 while the others' are at 8) on the same ResNetV1c-18 (w16, d8) backbone.
_base_ = './deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='DepthwiseSeparableASPPHead',
        in_channels=128,
        in_index=3,
        channels=32,
        dilations=(1, 3, 6, 9),
        c1_in_channels=16,
        c1_channels=8,
        dropout_ratio=0.1,
        num_classes=2,
        out_channels=2,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
