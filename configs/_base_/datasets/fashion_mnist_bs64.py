# Fashion-MNIST (28x28 gray, 10 classes) as 32x32 three-channel images, for mmpretrain models.
# `make demo` / tools/setup_env.sh puts the four uncompressed idx files in data/fashion_mnist.
dataset_type = 'FashionMNIST'
data_root = 'data/fashion_mnist'

data_preprocessor = dict(
    num_classes=10,
    mean=[72.94, 72.94, 72.94],
    std=[90.02, 90.02, 90.02],
    to_rgb=False)

train_pipeline = [
    dict(type='Resize', scale=32),
    dict(type='NumpyToPIL'),
    dict(type='torchvision/Grayscale', num_output_channels=3),
    dict(type='PILToNumpy'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=32),
    dict(type='NumpyToPIL'),
    dict(type='torchvision/Grayscale', num_output_channels=3),
    dict(type='PILToNumpy'),
    dict(type='PackInputs'),
]

# Each sample's random flip is seeded from (seed, epoch, index), so a run resumed inside an epoch sees the same
# augmentation as an uninterrupted one (docs/user_guides/writing_configs.md, "Exact resume").
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train', download=False,
                 pipeline=[dict(type='mtkd_rl.SeededPipeline', transforms=train_pipeline)]),
    sampler=dict(type='mtkd_rl.SeededAugmentSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    # mmpretrain 1.2's MNIST datasets choose the files by test_mode (split alone still reads the train files)
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_mode=True, download=False,
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
