# MTKD-RL with dynamic fusion (the policy's weights and the priors mixed by learnable softmax-normalised
# coefficients instead of equal thirds) on the same student and teacher pool.
_base_ = './mtkdrl_shufflenetv2_cifar-kd-pool4_1xb64-240e_cifar100.py'
model = dict(weighting=dict(fusion='dynamic'))
