# MTKD-RL on COCO with Cascade R-CNN: the Cascade R-CNN R-50-FPN student (mmdet's cascade-rcnn_r50_fpn_1x_coco,
# 40.3 box AP alone) learns from mmdet's model-zoo Cascade R-CNN R-101, X-101-32x4d and X-101-64x4d FPN (1x).
# Distilled: the FPN levels and the first stage (each teacher's first-stage RoI head on the student's sampled
# RPN proposals); the later stages train on the ground truth as in mmdet.
_base_ = ['mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py', '../_base_/mtkd/coco_rcnn_pools.py']

model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=_base_.cascade_rcnn_pool3,
    task=_base_.rcnn_task,
    weighting=dict(type='MTKD-RL'),
    connector=_base_.rcnn_connector)
