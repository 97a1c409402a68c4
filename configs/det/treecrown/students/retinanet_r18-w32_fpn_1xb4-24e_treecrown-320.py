# The tree-crown student trained alone: RetinaNet with a half-width ResNet-18 (32 base channels), the
# teachers' FPN/head sizes and anchors. The distiller configs wrap this model; exported student checkpoints
# load into this config (and mmdet's own tools/test.py).
_base_ = '../teachers/retinanet_r18_fpn_1xb4-24e_treecrown-320.py'
model = dict(backbone=dict(base_channels=32), neck=dict(in_channels=[32, 64, 128, 256]))
