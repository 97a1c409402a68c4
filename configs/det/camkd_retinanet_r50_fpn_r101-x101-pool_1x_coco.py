# The CA-MKD weighting on the same COCO RetinaNet student and teacher pool, for comparison with MTKD-RL.
# Logit weights come from each teacher's own per-image detection loss; feature weights from the loss of each
# teacher's head run on the student's connected FPN levels.
_base_ = './mtkdrl_retinanet_r50_fpn_r101-x101-pool_1x_coco.py'
model = dict(weighting=dict(_delete_=True, type='CA-MKD'))
