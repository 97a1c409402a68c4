# DeepForest tree crowns (NEON aerial RGB, CC0) as 400x400 COCO tiles with one class, 'tree': 45 train / 11 val
# tiles, made by tools/dataset_converters/treecrown_to_coco.py; tools/setup_env.sh puts them in data/treecrown.
# Images are shrunk to at most 320 px (training picks 256-320 px per image, so batches hold padded images)
# to train mmdet models on 2 CPU cores in minutes. Tiles without trees are kept: they are valid images.
dataset_type = 'CocoDataset'
data_root = 'data/treecrown/'
metainfo = dict(classes=('tree', ), palette=[(34, 139, 34)])
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=[(256, 256), (320, 320)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(320, 320), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    # each image's random resize and flip seeded from (seed, epoch, index): exact resume inside an epoch
    sampler=dict(type='mtkd_rl.SeededAugmentSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=[dict(type='mtkd_rl.SeededPipeline', transforms=train_pipeline)],
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json', metric='bbox', format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
