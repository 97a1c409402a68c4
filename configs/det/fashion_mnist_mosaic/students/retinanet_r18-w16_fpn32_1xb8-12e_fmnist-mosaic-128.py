# The mosaic detection student trained alone: RetinaNet with a quarter-width ResNet-18 (16 base channels), a
# 32-channel FPN and a 1-conv head; the teachers' anchors and schedule. The distiller configs wrap this model.
_base_ = '../teachers/retinanet_r18_fpn_1xb8-12e_fmnist-mosaic-128.py'
model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32, stacked_convs=1,
                   norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)))
