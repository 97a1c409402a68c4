# Teacher 2 of the mosaic detection pool: RetinaNet with a ResNet-34, otherwise as teacher 1.
_base_ = './retinanet_r18_fpn_1xb8-12e_fmnist-mosaic-128.py'
model = dict(backbone=dict(depth=34))
