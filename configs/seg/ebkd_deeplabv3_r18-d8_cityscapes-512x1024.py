# The EBKD weighting (per image, from each teacher's mean pixel entropy) on the same student and pool.
_base_ = './mtkdrl_deeplabv3_r18-d8_cityscapes-512x1024.py'
model = dict(weighting=dict(_delete_=True, type='EBKD'))
