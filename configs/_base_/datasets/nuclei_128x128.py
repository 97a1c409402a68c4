# StarDist nuclei tiles (128x128, gray as RGB; classes background and nucleus) in the mmseg layout made by
# tools/dataset_converters/nuclei_to_mmseg.py: 35 train / 7 val tiles. tools/setup_env.sh puts them in
# data/nuclei. Small enough to train mmseg models on 2 CPU cores in minutes. Loaders and metric:
# png_seg_128x128.py, here with vertical flips too and in-process loading.
_base_ = './png_seg_128x128.py'
data_root = 'data/nuclei'
metainfo = dict(classes=('background', 'nucleus'), palette=[[0, 0, 0], [255, 255, 255]])

data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[27.9, 27.9, 27.9],
    std=[27.9, 27.9, 27.9],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=_base_.crop_size)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PackSegInputs'),
]

train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, metainfo=metainfo,
                                     pipeline=[dict(type='mtkd_rl.SeededPipeline', transforms=train_pipeline)]))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
