# The AVER weighting on the same DeepLabV3 R18 student and teacher pool, for comparison with MTKD-RL.
_base_ = './mtkdrl_deeplabv3_r18-d8_ade20k-pool2_4xb4-80k_ade20k-512x512.py'
model = dict(weighting=dict(_delete_=True, type='AVER'))
