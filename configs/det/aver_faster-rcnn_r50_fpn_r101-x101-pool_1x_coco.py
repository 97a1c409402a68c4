# The AVER weighting on the same COCO Faster R-CNN student and teacher pool, for comparison with MTKD-RL.
_base_ = './mtkdrl_faster-rcnn_r50_fpn_r101-x101-pool_1x_coco.py'
model = dict(weighting=dict(_delete_=True, type='AVER'))
