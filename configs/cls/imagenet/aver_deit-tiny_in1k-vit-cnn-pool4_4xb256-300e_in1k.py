# The AVER weighting (1/M for every teacher) on the same DeiT-Tiny student and ViT/CNN pool, for comparison.
_base_ = './mtkdrl_deit-tiny_in1k-vit-cnn-pool4_4xb256-300e_in1k.py'
model = dict(weighting=dict(_delete_=True, type='AVER'))
