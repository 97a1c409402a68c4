# CIFAR-100 as in the distillation papers: mmpretrain's CIFAR100 (data/cifar100, the `cifar-100-python` folder of
# the official archive), random 32x32 crop with 4-pixel padding and horizontal flip; batch 64 on one GPU.
_base_ = 'mmpretrain::_base_/datasets/cifar100_bs16.py'
train_dataloader = dict(batch_size=64, num_workers=4, persistent_workers=True)
val_dataloader = dict(batch_size=256, num_workers=4, persistent_workers=True)
test_dataloader = val_dataloader
