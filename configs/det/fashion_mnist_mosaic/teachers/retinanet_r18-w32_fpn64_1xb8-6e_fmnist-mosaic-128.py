# Teacher 1 of the mosaic detection pool: RetinaNet with a half-width ResNet-18 (32 base channels) trained from
# scratch, a 64-channel FPN (P3-P7), a 2-conv GroupNorm head and anchors halved (octave_base_scale=2) for items
# of 10-56 px; 10 classes; 6 epochs (about 25 min on one CPU core).
# A plain mmdet config: `python tools/train.py <this file>`.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../../../_base_/datasets/fashion_mnist_mosaic_det_128x128.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    # gray canvases stored as PNG, loaded as 3 equal channels
    data_preprocessor=dict(mean=[33.2, 33.2, 33.2], std=[56.5, 56.5, 56.5], bgr_to_rgb=False),
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    bbox_head=dict(num_classes=10, in_channels=64, feat_channels=64, stacked_convs=2,
                   norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
                   anchor_generator=dict(octave_base_scale=2)))

max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=200),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[4, 5], gamma=0.1),
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
                     visualization=dict(draw=False))
