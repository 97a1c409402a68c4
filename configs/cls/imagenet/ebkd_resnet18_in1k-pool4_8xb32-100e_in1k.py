# The EBKD weighting on the same student and teacher pool, for comparison with MTKD-RL (whose reference is
# +2.47 top-1 over plain ResNet-18 training).
_base_ = './mtkdrl_resnet18_in1k-pool4_8xb32-100e_in1k.py'
model = dict(weighting=dict(_delete_=True, type='EBKD'))
