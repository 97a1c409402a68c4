# Pretrained teacher 2 of the tree-crown pool: as retinanet_mnv2_fpn-gnhead_1xb4-48e_treecrown-320.py with a
# wider 96-channel FPN and head (same anchors, same normalisation), so the pool holds two different detectors.
_base_ = './retinanet_mnv2_fpn-gnhead_1xb4-48e_treecrown-320.py'
model = dict(neck=dict(out_channels=96), bbox_head=dict(in_channels=96, feat_channels=96))
