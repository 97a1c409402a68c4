# The tree-crown two-stage student trained alone: Faster R-CNN with a half-width ResNet-18 (32 base channels),
# the teachers' FPN, RPN and RoI head sizes. The distiller configs wrap this model; exported student
# checkpoints load into this config (and mmdet's own tools/test.py).
_base_ = '../teachers/faster-rcnn_r18_fpn_1xb4-24e_treecrown-320.py'
model = dict(backbone=dict(base_channels=32), neck=dict(in_channels=[32, 64, 128, 256]))
