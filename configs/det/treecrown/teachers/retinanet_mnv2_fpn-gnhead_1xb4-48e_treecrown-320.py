# Pretrained teacher 1 of the tree-crown pool: retinanet_mnv2_fpn_1xb4-60e_treecrown-320.py (frozen ImageNet
# MobileNetV2, 64-channel FPN, 2-conv head, the pool's 9 anchors and RGB ImageNet normalisation) with
# GroupNorm in the head. Without it the 2-conv head learns slowly (its std-0.01 convs shrink the signal):
# 60 epochs give 0.015 mAP, below the 1-conv student (docs/results.md). 48 epochs (576 iterations) with GN.
_base_ = './retinanet_mnv2_fpn_1xb4-60e_treecrown-320.py'
model = dict(bbox_head=dict(norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))

max_epochs = 48
train_cfg = dict(max_epochs=max_epochs, val_interval=16)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[36, 44], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=48, max_keep_ckpts=1))
