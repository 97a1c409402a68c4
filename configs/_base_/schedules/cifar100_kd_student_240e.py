# The CIFAR-100 student recipe of MTKD-RL (docs method.md section 8): the teacher recipe's schedule with Nesterov
# momentum and weight decay 1e-4.
_base_ = './cifar100_kd_teacher_240e.py'
optim_wrapper = dict(optimizer=dict(nesterov=True, weight_decay=1e-4))
