# Teacher of the CIFAR-100 pool: ResNet-32x4 of the CIFAR distillation zoo (32-channel stem, 3 stages of 5 basic
# blocks, widths 64/128/256, 8x8 final map; 7.43M parameters with the head), trained with the teacher recipe.
_base_ = ['../../../_base_/models/cifar100_kd_classifier.py', '../../../_base_/datasets/cifar100_bs64.py',
          '../../../_base_/schedules/cifar100_kd_teacher_240e.py']
model = dict(backbone=dict(type='CIFARResNet', depth=32, stem_channels=32, widths=(64, 128, 256)),
             head=dict(in_channels=256))
