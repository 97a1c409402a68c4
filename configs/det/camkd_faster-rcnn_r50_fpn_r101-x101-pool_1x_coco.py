# The CA-MKD weighting on the same COCO Faster R-CNN student and teacher pool, for comparison with MTKD-RL.
# Logit weights come from each teacher's own per-image detection loss (RPN + RoI head on the student's RoIs);
# feature weights from that loss of each teacher's RPN and RoI head run on the student's connected FPN levels.
_base_ = './mtkdrl_faster-rcnn_r50_fpn_r101-x101-pool_1x_coco.py'
model = dict(weighting=dict(_delete_=True, type='CA-MKD'))
