# The MMKD weighting (Zhang, Chen, Wang, ICME 2023: per-sample teacher weights from a meta-weight network trained
# by a meta step) on the same student and teacher pool, for comparison with AVER, AEKD and MTKD-RL.
_base_ = './aver_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py'
model = dict(weighting=dict(_delete_=True, type='MMKD', meta_interval=5))

# As the authors: the network acts from the first iteration (meta_warmup 0) and is stepped right after each
# meta step (interval 1: an update finds the one batch of the last meta step, or nothing). The optimizer is
# MMKD's default, Adam (lr 1e-3, weight decay 1e-4).
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=1, warmup_epochs=0),
                dict(type='mtkd_rl.NonFiniteLossHook')]
