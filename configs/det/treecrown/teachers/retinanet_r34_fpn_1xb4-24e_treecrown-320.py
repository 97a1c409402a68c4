# Teacher 2 of the tree-crown pool: RetinaNet with a ResNet-34 backbone, otherwise as teacher 1.
_base_ = './retinanet_r18_fpn_1xb4-24e_treecrown-320.py'
model = dict(backbone=dict(depth=34))
