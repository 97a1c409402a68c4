# MTKD-RL on CIFAR-100 (docs method.md section 8): the full-width MobileNetV2 student learns from the pool of
# four CIFAR teachers (RegNetY-400MF, RegNetX-400MF, ResNet-32x4, WRN-28-4); T = 4, alpha = 1, beta = 5, static
# fusion. Top-1 reported by the paper with MTKD-RL: 74.29-74.77.
# Train the four teachers first (python tools/train.py configs/cls/cifar100/teachers/<config>.py), or run
# python tools/reproduce_cifar100.py for the teachers and the seeded comparison of weightings.
_base_ = ['./students/mobilenetv2_1xb64-240e_cifar100.py', '../../_base_/mtkd/cifar100_pool4.py']

model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=_base_.cifar100_pool4,
    task=_base_.cifar100_task,
    weighting=dict(type='MTKD-RL'),
    connector=dict(type='ConvBNReLUConnector'))
