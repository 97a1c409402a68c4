# StarDist nuclei tiles (128x128, gray as RGB; classes background and nucleus) in the mmseg layout made by
# tools/dataset_converters/nuclei_to_mmseg.py: 35 train / 7 val tiles. tools/setup_env.sh puts them in
# data/nuclei. Small enough to train mmseg models on 2 CPU cores in minutes.
dataset_type = 'BaseSegDataset'
data_root = 'data/nuclei'
crop_size = (128, 128)
metainfo = dict(classes=('background', 'nucleus'), palette=[[0, 0, 0], [255, 255, 255]])

data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[27.9, 27.9, 27.9],
    std=[27.9, 27.9, 27.9],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo, img_suffix='.png',
                 seg_map_suffix='.png', data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, metainfo=metainfo, img_suffix='.png',
                 seg_map_suffix='.png', data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
