# The pretrained tree-crown student trained alone: RetinaNet with the frozen ImageNet MobileNetV2 of the
# teachers but a light 32-channel FPN and a 1-conv head (same anchors and normalisation as the teachers).
# The distiller config mtkdrl_retinanet_mnv2-fpn32_treecrown-mnv2pool2_1xb4-60e_treecrown-320.py wraps it.
_base_ = '../teachers/retinanet_mnv2_fpn_1xb4-60e_treecrown-320.py'
model = dict(neck=dict(out_channels=32), bbox_head=dict(in_channels=32, feat_channels=32, stacked_convs=1))
