# Base of the pretrained tree-crown models (the GN-head teachers and the FPN-32 student inherit it; alone it
# reaches 0.015 mAP, see docs/results.md): RetinaNet with an ImageNet-pretrained MobileNetV2 (torchvision
# weights converted by tools/dataset_converters/prepare_pretrained.sh into
# data/pretrained/mobilenetv2_imagenet_mmdet.pth), a 64-channel FPN (P3-P7, strides 8-128) and a 2-conv head:
# the same 9 anchors per location and the same RGB ImageNet normalisation (mean 123.675/116.28/103.53, std
# 58.395/57.12/57.375) as every model of the pool. A plain mmdet config: `python tools/train.py <this file>`.
_base_ = './retinanet_r18_fpn_1xb4-24e_treecrown-320.py'
pretrained = 'data/pretrained/mobilenetv2_imagenet_mmdet.pth'
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.0,
        out_indices=(2, 4, 6),  # layer3 (32 ch, stride 8), layer5 (96, 16), layer7 (320, 32)
        # the whole ImageNet backbone stays frozen: fine-tuning it with batches of 4 on 45 tiles collapsed its
        # features (mAP ~0 after 36 epochs, lr 0.01 or 0.005 with backbone lr x0.1); frozen, training is also
        # about twice as fast
        frozen_stages=7,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,  # keep the ImageNet BN statistics
        init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=pretrained)),
    neck=dict(in_channels=[32, 96, 320], out_channels=64, start_level=0, add_extra_convs='on_input',
              num_outs=5),
    # smaller anchors than mmdet's RetinaNet (octave_base_scale 2: 16-25 px at stride 8): crowns are 13-55 px
    # (5th-95th percentile) at 320 px; still 9 anchors per location on P3-P7, shared by the whole pool
    bbox_head=dict(num_classes=1, in_channels=64, feat_channels=64, stacked_convs=2,
                   anchor_generator=dict(octave_base_scale=2)))

max_epochs = 60
train_cfg = dict(max_epochs=max_epochs, val_interval=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[45, 55], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=60, max_keep_ckpts=1))
