# The CA-MKD weighting on the same DeiT-Tiny student and ViT/CNN pool, for comparison with MTKD-RL.
_base_ = './mtkdrl_deit-tiny_in1k-vit-cnn-pool4_4xb256-300e_in1k.py'
model = dict(weighting=dict(_delete_=True, type='CA-MKD'))
