# The Fashion-MNIST mosaic for detection: 128x128 gray canvases with 2-4 real Fashion-MNIST items each
# (3000 train canvases from the training images, 1000 val canvases from the test images), COCO boxes, 10
# classes. Made by tools/dataset_converters/fashion_mnist_mosaic.py; tools/setup_env.sh puts it in
# data/fashion_mnist_mosaic. The segmentation twin (same canvases) is fashion_mnist_mosaic_seg_128x128.py.
# The loaders and the COCO metric are those of treecrown_320.py, with this data set's root, classes, pipelines
# (canvases kept at their size, horizontal flips only) and batch sizes.
_base_ = './treecrown_320.py'
data_root = 'data/fashion_mnist_mosaic/'
metainfo = dict(
    classes=('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
             'Ankle boot'),
    palette=[(220, 20, 60), (119, 11, 32), (0, 0, 142), (0, 0, 230), (106, 0, 228), (0, 60, 100), (0, 80, 100),
             (0, 0, 70), (0, 0, 192), (250, 170, 30)])

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),  # the canvas size: sets scale_factor for rescaling
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

train_dataloader = dict(
    batch_size=8,
    dataset=dict(data_root=data_root, metainfo=metainfo, data_prefix=dict(img='img_dir/train/'),
                 pipeline=[dict(type='mtkd_rl.SeededPipeline', transforms=train_pipeline)]))
val_dataloader = dict(
    batch_size=16,
    dataset=dict(data_root=data_root, metainfo=metainfo, data_prefix=dict(img='img_dir/val/'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
