# MTKD-RL on COCO: the RetinaNet-R50-FPN student (mmdet's retinanet_r50_fpn_1x_coco, schedule included)
# learns from mmdet's model-zoo RetinaNet-R101-FPN (38.5 box AP), RetinaNet-X101-32x4d-FPN (39.9) and
# RetinaNet-X101-64x4d-FPN (41.0), all 1x. Same anchors and input normalisation as the student, so every
# teacher gives dense logit KD (sigmoid binary KL per anchor), box KD (GIoU to its confident decoded boxes)
# and FPN feature KD (P3-P7, one connector per level). The checkpoint URLs are those of mmdet's
# configs/retinanet/metafile.yml; without internet, download them and set local paths.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'

zoo = 'https://download.openmmlab.com/mmdetection/v2.0/retinanet'
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='retinanet_r101', config='mmdet::retinanet/retinanet_r101_fpn_1x_coco.py',
             checkpoint=f'{zoo}/retinanet_r101_fpn_1x_coco/retinanet_r101_fpn_1x_coco_20200130-7a93545f.pth'),
        dict(name='retinanet_x101_32x4d', config='mmdet::retinanet/retinanet_x101-32x4d_fpn_1x_coco.py',
             checkpoint=f'{zoo}/retinanet_x101_32x4d_fpn_1x_coco/'
             'retinanet_x101_32x4d_fpn_1x_coco_20200130-5c8b7ec4.pth'),
        dict(name='retinanet_x101_64x4d', config='mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py',
             checkpoint=f'{zoo}/retinanet_x101_64x4d_fpn_1x_coco/'
             'retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth'),
    ],
    task=dict(
        type='DetectionAdapter',
        logit_loss=dict(type='DenseSigmoidKL', temperature=1.0, loss_weight=1.0),
        box_loss=dict(type='BoxGIoUKD', score_thr=0.5, loss_weight=1.0),
        feature_loss=dict(type='FeatureMSE', loss_weight=1.0)),
    weighting=dict(type='MTKD-RL'),
    # FPN outputs are signed: no ReLU after the connector's BatchNorm
    connector=dict(type='ConvBNReLUConnector', relu=False))

# The agent (reference schedule): updated every 1000 iterations and at each epoch end, used from epoch 2.
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=1000, warmup_epochs=1),
                dict(type='mtkd_rl.NonFiniteLossHook')]
