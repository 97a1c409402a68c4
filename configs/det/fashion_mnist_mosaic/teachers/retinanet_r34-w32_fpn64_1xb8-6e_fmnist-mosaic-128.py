# Teacher 2 of the mosaic detection pool: RetinaNet with a half-width ResNet-34, otherwise as teacher 1.
_base_ = './retinanet_r18-w32_fpn64_1xb8-6e_fmnist-mosaic-128.py'
model = dict(backbone=dict(depth=34))
