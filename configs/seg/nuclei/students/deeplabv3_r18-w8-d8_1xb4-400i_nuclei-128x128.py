# The nuclei student trained alone: DeepLabV3 on a ResNetV1c-18 with 8 base channels (a quarter of the
# teachers' FLOPs per stage). The distiller configs wrap this model; exported student checkpoints load into
# this config and mmseg's own tools/test.py.
_base_ = '../teachers/deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128.py'
model = dict(
    backbone=dict(stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=16),
    auxiliary_head=dict(in_channels=32, channels=8))
