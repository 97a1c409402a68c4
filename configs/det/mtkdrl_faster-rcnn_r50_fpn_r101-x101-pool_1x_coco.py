# MTKD-RL on COCO: the Faster R-CNN R-50-FPN student (mmdet's faster-rcnn_r50_fpn_1x_coco, schedule included,
# 37.4 box AP alone) learns from mmdet's model-zoo Faster R-CNN R-101, X-101-32x4d and X-101-64x4d FPN (1x).
# Every teacher scores the student's sampled RoIs with its own RoI head (region-level KL and box KD) and
# teaches its FPN levels (see docs/two_stage_detection.md).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', '../_base_/mtkd/coco_rcnn_pools.py']

model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=_base_.faster_rcnn_pool3,
    task=_base_.rcnn_task,
    weighting=dict(type='MTKD-RL'),
    connector=_base_.rcnn_connector)
