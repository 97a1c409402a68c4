# The AVER weighting on the same student and teacher pool, for comparison with MTKD-RL.
_base_ = './mtkdrl_deeplabv3_r18-w8-d8_nuclei-pool3_1xb4-400i_nuclei-128x128.py'
model = dict(weighting=dict(_delete_=True, type='AVER'))
