# MTKD-RL on CIFAR-100 (method.md section 8): a MobileNetV2 student (nearest equivalent: mmseg's MobileNetV2 at stride
# 8, see its config) learns from the CIFAR pool of four teachers: RegNetY-400MF (nearest equivalent: no SE),
# RegNetX-400MF, ResNet-32x4 and WRN-28-4 (nearest equivalents: 3-stage ResNet_CIFAR-34); each teacher config says how
# its stand-in differs. T = 4, alpha = 1, beta = 5. Reported top-1 of the paper's MobileNetV2 with MTKD-RL
# (method.md): 74.29-74.77.
# Train the four teachers first: python tools/train.py configs/cls/cifar100/teachers/<config>.py
_base_ = ['./students/mobilenetv2-mmseg-s8-cifar_1xb64-240e_cifar100_nearest-mobilenetv2.py', '../../_base_/mtkd/cifar100_pool4.py']

model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=_base_.cifar100_pool4,
    task=_base_.cifar100_task,
    weighting=dict(type='MTKD-RL'),
    connector=dict(type='ConvBNReLUConnector'))
