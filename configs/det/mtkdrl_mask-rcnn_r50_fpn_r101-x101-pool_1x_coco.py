# MTKD-RL on COCO instance segmentation: the Mask R-CNN R-50-FPN student (mmdet's mask-rcnn_r50_fpn_1x_coco,
# 38.2 box / 34.7 mask AP alone) learns from mmdet's model-zoo Mask R-CNN R-101, X-101-32x4d and X-101-64x4d
# FPN (1x). The teachers distil through their RoI box heads and FPN levels; the student's mask branch keeps
# training on the ground truth exactly as in mmdet.
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', '../_base_/mtkd/coco_rcnn_pools.py']

model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=_base_.mask_rcnn_pool3,
    task=_base_.rcnn_task,
    weighting=dict(type='MTKD-RL'),
    connector=_base_.rcnn_connector)
