# MTKD-RL on images of your own, laid out as an ImageNet-style folder (one sub-folder per class):
#   data/image_folder/train/<class name>/*.png   and   data/image_folder/val/<class name>/*.png
# The worked example of docs/user_guides/other_datasets.md: the Fashion-MNIST pool distilled on such a folder.
# The inherited dataloaders already hold the Fashion-MNIST dataset (mmengine resolved `dataset_type` and
# `data_root` when it read the base file), so each dataloader's `dataset` is replaced here as a whole.
_base_ = './mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py'

dataset_type = 'CustomDataset'
data_root = 'data/image_folder'  # relative to the repository root, like every path in a config

# The normaliser: the mean and std of your images (teachers see the student's normalised batch, so their
# configs must give the same values). Fashion-MNIST images saved as files keep the pool's statistics.
data_preprocessor = dict(num_classes=10, mean=[72.94, 72.94, 72.94], std=[90.02, 90.02, 90.02], to_rgb=False)

train_pipeline = [
    dict(type='LoadImageFromFile'),  # 3 channels, also for gray files
    dict(type='Resize', scale=32),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=32),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root, data_prefix='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root, data_prefix='val',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
