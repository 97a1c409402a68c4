# Teacher 1 of the Fashion-MNIST pool: a CIFAR-stem ResNet-18 with 16 base channels.
_base_ = [
    '../../../_base_/datasets/fashion_mnist_bs64.py',
    'mmpretrain::_base_/schedules/cifar10_bs128.py',
    'mmpretrain::_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=16, base_channels=16, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = dict(_delete_=True, type='CosineAnnealingLR', by_epoch=True, T_max=2)
train_cfg = dict(max_epochs=2)
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(max_keep_ckpts=1))
