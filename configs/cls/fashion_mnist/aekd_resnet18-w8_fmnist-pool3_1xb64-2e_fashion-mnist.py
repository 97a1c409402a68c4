# The AEKD weighting (Du et al., NeurIPS 2020: per sample, the min-norm point of the teachers' KD gradients) on
# the same student and teacher pool, for comparison with AVER and MTKD-RL.
_base_ = './aver_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py'
model = dict(weighting=dict(_delete_=True, type='AEKD'))
