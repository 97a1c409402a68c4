# A two-stage teacher of the tree-crown pool: Faster R-CNN with a ResNet-34 backbone, otherwise as the R-18 one.
_base_ = './faster-rcnn_r18_fpn_1xb4-24e_treecrown-320.py'
model = dict(backbone=dict(depth=34))
