# The CA-MKD weighting on the same student and pool: logit weights from each teacher's mean pixel CE;
# feature weights from the CE of each teacher's decode head run on the student's connected feature (one
# extra decode-head pass per teacher per iteration, without gradient).
_base_ = './mtkdrl_deeplabv3_r18-d8_cityscapes-512x1024.py'
model = dict(weighting=dict(_delete_=True, type='CA-MKD'))
