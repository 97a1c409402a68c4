# Teacher 1 of the tree-crown pool: RetinaNet with a ResNet-18 backbone trained from scratch (no pretrained
# weights are available offline), a 64-channel FPN (P3-P7) and a light head (2 stacked convs), 1 class.
# A plain mmdet config: `python tools/train.py <this file>` (or mmdet's own tools/train.py).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../../../_base_/datasets/treecrown_320.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    bbox_head=dict(num_classes=1, in_channels=64, feat_channels=64, stacked_convs=2))

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=6)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[18, 22], gamma=0.1),
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=4)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=6, max_keep_ckpts=1),
                     visualization=dict(draw=False))
