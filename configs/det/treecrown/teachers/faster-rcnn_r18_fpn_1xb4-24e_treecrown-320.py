# A two-stage teacher of the tree-crown pool: Faster R-CNN with a ResNet-18 backbone trained from scratch, a
# 64-channel FPN (P2-P6), 1 class, and fewer proposals and sampled RoIs than mmdet's COCO settings (small
# tiles, CPU-sized). The RetinaNet teachers' schedule. A plain mmdet config: `python tools/train.py <this file>`.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../../../_base_/datasets/treecrown_320.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=1)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100)))

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
