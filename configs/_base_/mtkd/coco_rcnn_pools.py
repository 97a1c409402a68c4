# The COCO two-stage teacher pools: mmdet's model-zoo R-101-FPN, X-101-32x4d-FPN and X-101-64x4d-FPN (1x) of
# Faster, Mask and Cascade R-CNN, with the configs and checkpoint URLs of mmdet's metafiles (without internet,
# download them and set local paths), and the two-stage distillation shared by every COCO R-CNN variant:
# region-level KL on the student's sampled RoIs (T = 1), box KD on its positive RoIs, FPN feature KD (P2-P6,
# one connector per level, no ReLU: FPN outputs are signed). Distiller configs add this file to their `_base_`.
zoo = 'https://download.openmmlab.com/mmdetection/v2.0'
faster_rcnn_pool3 = [
    dict(name='faster_rcnn_r101',  # 39.4 box AP
         config='mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py',
         checkpoint=f'{zoo}/faster_rcnn/faster_rcnn_r101_fpn_1x_coco/'
         'faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth'),
    dict(name='faster_rcnn_x101_32x4d',  # 41.2 box AP
         config='mmdet::faster_rcnn/faster-rcnn_x101-32x4d_fpn_1x_coco.py',
         checkpoint=f'{zoo}/faster_rcnn/faster_rcnn_x101_32x4d_fpn_1x_coco/'
         'faster_rcnn_x101_32x4d_fpn_1x_coco_20200203-cff10310.pth'),
    dict(name='faster_rcnn_x101_64x4d',  # 42.1 box AP
         config='mmdet::faster_rcnn/faster-rcnn_x101-64x4d_fpn_1x_coco.py',
         checkpoint=f'{zoo}/faster_rcnn/faster_rcnn_x101_64x4d_fpn_1x_coco/'
         'faster_rcnn_x101_64x4d_fpn_1x_coco_20200204-833ee192.pth'),
]
mask_rcnn_pool3 = [
    dict(name='mask_rcnn_r101',  # 40.0 box AP, 36.1 mask AP
         config='mmdet::mask_rcnn/mask-rcnn_r101_fpn_1x_coco.py',
         checkpoint=f'{zoo}/mask_rcnn/mask_rcnn_r101_fpn_1x_coco/mask_rcnn_r101_fpn_1x_coco_20200204-1efe0ed5.pth'),
    dict(name='mask_rcnn_x101_32x4d',  # 41.9 box AP, 37.5 mask AP
         config='mmdet::mask_rcnn/mask-rcnn_x101-32x4d_fpn_1x_coco.py',
         checkpoint=f'{zoo}/mask_rcnn/mask_rcnn_x101_32x4d_fpn_1x_coco/'
         'mask_rcnn_x101_32x4d_fpn_1x_coco_20200205-478d0b67.pth'),
    dict(name='mask_rcnn_x101_64x4d',  # 42.8 box AP, 38.4 mask AP
         config='mmdet::mask_rcnn/mask-rcnn_x101-64x4d_fpn_1x_coco.py',
         checkpoint=f'{zoo}/mask_rcnn/mask_rcnn_x101_64x4d_fpn_1x_coco/'
         'mask_rcnn_x101_64x4d_fpn_1x_coco_20200201-9352eb0d.pth'),
]
cascade_rcnn_pool3 = [
    dict(name='cascade_rcnn_r101',  # 42.0 box AP
         config='mmdet::cascade_rcnn/cascade-rcnn_r101_fpn_1x_coco.py',
         checkpoint=f'{zoo}/cascade_rcnn/cascade_rcnn_r101_fpn_1x_coco/'
         'cascade_rcnn_r101_fpn_1x_coco_20200317-0b6a2fbf.pth'),
    dict(name='cascade_rcnn_x101_32x4d',  # 43.7 box AP
         config='mmdet::cascade_rcnn/cascade-rcnn_x101-32x4d_fpn_1x_coco.py',
         checkpoint=f'{zoo}/cascade_rcnn/cascade_rcnn_x101_32x4d_fpn_1x_coco/'
         'cascade_rcnn_x101_32x4d_fpn_1x_coco_20200316-95c2deb6.pth'),
    dict(name='cascade_rcnn_x101_64x4d',  # 44.7 box AP
         config='mmdet::cascade_rcnn/cascade-rcnn_x101-64x4d_fpn_1x_coco.py',
         checkpoint=f'{zoo}/cascade_rcnn/cascade_rcnn_x101_64x4d_fpn_1x_coco/'
         'cascade_rcnn_x101_64x4d_fpn_1x_coco_20200515_075702-43ce6a30.pth'),
]
rcnn_task = dict(
    type='mtkd_rl.TwoStageDetectionAdapter',
    logit_loss=dict(type='LogitKL', temperature=1.0, loss_weight=1.0),
    box_weight=1.0,
    feature_loss=dict(type='FeatureMSE', loss_weight=1.0),
    probe_size=(256, 256))
rcnn_connector = dict(type='mtkd_rl.ConvBNReLUConnector', relu=False)
# The agent (reference schedule): updated every 1000 iterations and at each epoch end, used from epoch 2.
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=1000, warmup_epochs=1)]
