# The mosaic detection student trained alone: RetinaNet with a quarter-width ResNet-18 (16 base channels), a
# 32-channel FPN and a 1-conv head; the teachers' anchors, half their schedule (3 epochs, about 5 min on one CPU
# core). The distiller configs wrap this model.
_base_ = '../teachers/retinanet_r18-w32_fpn64_1xb8-6e_fmnist-mosaic-128.py'
model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32, stacked_convs=1,
                   norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)))

max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=200),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[2], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
