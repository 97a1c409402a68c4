# The CA-MKD weighting on the same student and teacher pool, for comparison with MTKD-RL.
_base_ = './mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py'
model = dict(weighting=dict(_delete_=True, type='CA-MKD'))
