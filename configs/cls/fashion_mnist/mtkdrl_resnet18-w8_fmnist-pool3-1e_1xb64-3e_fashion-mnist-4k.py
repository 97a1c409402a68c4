# The low-data comparison setting: the ResNet-18 (w8) student learns from 4000 training images for 3 epochs,
# distilled from the standard pool trained one epoch on all 60000 (clearly stronger than the student alone).
# Warm-up is the first of the 3 epochs; the agent then updates every 32 iterations and at each epoch end.
# Compare weightings over seeds with tools/analysis_tools/compare_weightings.py (docs/results.md).
_base_ = ['./mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py', '../../_base_/mtkd/fashion_mnist_pools.py']
model = dict(teachers=_base_.fmnist_pool3_1e, teacher_speedups=dict(fuse_conv_bn=True))
train_dataloader = dict(dataset=dict(indices=4000))
train_cfg = dict(max_epochs=3, val_interval=3)
param_scheduler = dict(T_max=3, convert_to_iter_based=True)
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=32, warmup_epochs=1),
                dict(type='mtkd_rl.NonFiniteLossHook')]
default_hooks = dict(logger=dict(interval=10))
