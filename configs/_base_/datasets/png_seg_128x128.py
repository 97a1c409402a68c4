# What the 128x128 segmentation data sets share (nuclei_128x128.py, fashion_mnist_mosaic_seg_128x128.py): PNG
# images in img_dir/{train,val} and PNG class maps in ann_dir/{train,val} (mmseg's layout) read by a
# BaseSegDataset, no resizing, mIoU. Not a data set on its own: a file inheriting it sets `data_root` and
# `metainfo`, and the same two in both loaders' `dataset`, with its batch sizes.
dataset_type = 'BaseSegDataset'
crop_size = (128, 128)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(
    num_workers=2,
    persistent_workers=True,
    # mmengine's InfiniteSampler order, each image's random flip seeded from (seed, pass, index): exact resume
    sampler=dict(type='mtkd_rl.SeededAugmentInfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, img_suffix='.png', seg_map_suffix='.png',
                 data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                 pipeline=[dict(type='mtkd_rl.SeededPipeline', transforms=train_pipeline)]))
val_dataloader = dict(
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, img_suffix='.png', seg_map_suffix='.png',
                 data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
