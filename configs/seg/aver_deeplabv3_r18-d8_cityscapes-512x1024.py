# The AVER weighting (1/M for every teacher) on the same student and teacher pool, for comparison.
_base_ = './mtkdrl_deeplabv3_r18-d8_cityscapes-512x1024.py'
model = dict(weighting=dict(_delete_=True, type='AVER'))
