# The poor teacher of the nuclei mixed pool: the DeepLabV3 teacher trained with the two classes exchanged
# (background <-> nucleus) in its training maps. It is as sure of itself as its standard twin and wrong on
# nearly every pixel; the ignore index (255) is kept. Its validation pipeline is the normal one, so its mIoU
# (and --eval-teachers in the comparison harness) shows how wrong it is.
_base_ = './deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128.py'
swap2 = dict(type='mtkd_rl.RemapLabels', mapping={0: 1, 1: 0})
train_dataloader = dict(dataset=dict(pipeline=[dict(type='mtkd_rl.SeededPipeline', transforms=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    swap2,
    dict(type='PackSegInputs'),
])]))
