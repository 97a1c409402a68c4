# Teacher 1 of the CIFAR-100 pool: RegNetX-400MF (mmpretrain's 'regnetx_400mf' arch: widths 32/64/160/384).
# mmpretrain's RegNet stem has stride 2, so stage strides (1, 1, 2, 2) give a 4x4 final map at 32x32 (ImageNet
# strides would give 1x1).
# This file also holds the CIFAR-100 recipe of docs method.md section 8, inherited by every teacher and student
# in configs/cls/cifar100: SGD with Nesterov momentum 0.9, weight decay 1e-4, lr 0.05 x0.1 at epochs
# 150/180/210, 240 epochs, batch 64 on one GPU. Teachers are trained with the student recipe.
_base_ = [
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='RegNet', arch='regnetx_400mf', strides=(1, 1, 2, 2), out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=384,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

train_dataloader = dict(batch_size=64, num_workers=4, persistent_workers=True)
val_dataloader = dict(batch_size=256, num_workers=4, persistent_workers=True)
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4))
param_scheduler = dict(
    _delete_=True, type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
auto_scale_lr = dict(base_batch_size=64)
# Keeps work_dirs/<config name>/epoch_240.pth, the checkpoint the distiller configs load.
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=2))
