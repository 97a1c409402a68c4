# The AVER weighting on the same student and teacher pool, for comparison with MTKD-RL.
_base_ = './mtkdrl_regnetx-200mf_cifar-kd-pool4_1xb64-240e_cifar100.py'
model = dict(weighting=dict(_delete_=True, type='AVER'))
