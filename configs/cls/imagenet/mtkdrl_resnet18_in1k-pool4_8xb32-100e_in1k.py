# MTKD-RL on ImageNet-1k: the ResNet-18 student (resnet18_8xb32_in1k, unchanged: 100 epochs, batch 8x32, SGD lr 0.1
# x0.1 at epochs 30/60/90) learns from four model-zoo teachers (the pool method.md section 8 names as likely):
# ResNet-50, ResNet-101, ResNeXt-50 (32x4d) and Wide-ResNet-50-2, with the configs and checkpoints of mmpretrain's
# metafiles. All five share the ImageNet RGB normalisation, so one input batch serves them all.
# T = 4, alpha = 1, beta = 5; the agent as on CIFAR-100.
# Reference (paper): +2.47 top-1 over plain ResNet-18 training (mmpretrain's plain resnet18_8xb32_in1k: 69.90 top-1).
_base_ = ['mmpretrain::resnet/resnet18_8xb32_in1k.py', '../../_base_/mtkd/in1k_pool4.py']

model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=_base_.in1k_pool4,
    task=_base_.in1k_task,
    weighting=dict(type='MTKD-RL'),
    connector=dict(type='ConvBNReLUConnector'))
