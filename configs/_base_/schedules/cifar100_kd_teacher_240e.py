# The CIFAR-100 teacher recipe of the distillation benchmarks (CRD, MTKD-RL): SGD momentum 0.9, weight decay 5e-4,
# lr 0.05 (batch 64) x0.1 at epochs 150, 180 and 210, 240 epochs; on mmpretrain's default runtime, whose checkpoint
# hook it sets (a base of its own would clash with the runtime's `default_hooks`).
_base_ = 'mmpretrain::_base_/default_runtime.py'
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
# Keeps work_dirs/<config name>/epoch_240.pth, the checkpoint the distiller configs load.
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=2))
