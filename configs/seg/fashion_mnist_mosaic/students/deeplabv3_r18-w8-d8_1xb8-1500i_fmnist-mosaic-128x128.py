# The mosaic segmentation student trained alone: DeepLabV3 on a ResNetV1c-18 with 8 base channels. The
# distiller configs wrap this model.
_base_ = '../teachers/deeplabv3_r18-w16-d8_1xb8-1500i_fmnist-mosaic-128x128.py'
model = dict(
    backbone=dict(stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=16),
    auxiliary_head=dict(in_channels=32, channels=8))
