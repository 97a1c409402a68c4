# MTKD-RL on CIFAR-100 (method.md section 8): the RegNetX-200MF student learns from the CIFAR pool of four teachers:
# RegNetY-400MF (nearest equivalent: no SE), RegNetX-400MF, ResNet-32x4 and WRN-28-4 (nearest equivalents: 3-stage
# ResNet_CIFAR-34); each teacher config says how its stand-in differs. T = 4, alpha = 1, beta = 5. Reported top-1 with
# MTKD-RL (method.md): 79.93-80.58.
# Train the four teachers first: python tools/train.py configs/cls/cifar100/teachers/<config>.py
_base_ = ['./students/regnetx-200mf-cifar_1xb64-240e_cifar100.py', '../../_base_/mtkd/cifar100_pool4.py']

model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=_base_.cifar100_pool4,
    task=_base_.cifar100_task,
    weighting=dict(type='MTKD-RL'),
    connector=dict(type='ConvBNReLUConnector'))
