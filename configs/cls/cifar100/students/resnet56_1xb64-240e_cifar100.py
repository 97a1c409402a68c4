# CIFAR-100 student trained alone: ResNet-56 (16-channel stem, 3 stages of 9 basic blocks, widths 16/32/64, 8x8
# final map; 0.86M parameters with the head), with the student recipe of MTKD-RL. The distiller configs wrap this
# model; exported student checkpoints load into this config.
_base_ = ['../../../_base_/models/cifar100_kd_classifier.py', '../../../_base_/datasets/cifar100_bs64.py',
          '../../../_base_/schedules/cifar100_kd_student_240e.py']
model = dict(backbone=dict(type='CIFARResNet', depth=56), head=dict(in_channels=64))
