# MTKD-RL with a teacher of another head type: the three RetinaNet teachers plus mmdet's FCOS-X101-64x4d
# (pytorch-style normalisation like the student; 42.6 box AP). FCOS is anchor-free (1 prior per location
# against RetinaNet's 9), so its scores and boxes cannot be compared anchor by anchor: listed in
# model.task.feature_only_teachers, it teaches through its FPN levels (P3-P7, 256 channels) only, with a logit
# KD column of 0, and still enters the weighting with its per-image detection loss, embedding and scores.
# (Caffe-style FCOS models expect other input normalisation and are refused.)
_base_ = './mtkdrl_retinanet_r50_fpn_r101-x101-pool_1x_coco.py'

model = dict(
    teachers=[
        *_base_.model.teachers,
        dict(name='fcos_x101_64x4d', config='mmdet::fcos/fcos_x101-64x4d_fpn_gn-head_ms-640-800-2x_coco.py',
             checkpoint='https://download.openmmlab.com/mmdetection/v2.0/fcos/'
             'fcos_x101_64x4d_fpn_gn-head_mstrain_640-800_2x_coco/'
             'fcos_x101_64x4d_fpn_gn-head_mstrain_640-800_2x_coco-ede514a8.pth'),
    ],
    task=dict(feature_only_teachers=['fcos_x101_64x4d']))
