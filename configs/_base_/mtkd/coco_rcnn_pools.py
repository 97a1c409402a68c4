# The COCO two-stage teacher pools: mmdet's model-zoo R-101-FPN, X-101-32x4d-FPN and X-101-64x4d-FPN (1x) of
# Faster, Mask and Cascade R-CNN, with the configs and checkpoint URLs of mmdet's metafiles (without internet,
# download them and set local paths), and the two-stage distillation shared by every COCO R-CNN variant:
# region-level KL on the student's sampled RoIs (T = 1), box KD on its positive RoIs, FPN feature KD (P2-P6,
# one connector per level, no ReLU: FPN outputs are signed). Distiller configs add this file to their `_base_`.
zoo = 'https://download.openmmlab.com/mmdetection/v2.0'


def rcnn_pool(arch, stamps):
    """The R-101, X-101-32x4d and X-101-64x4d FPN (1x) teachers of one R-CNN family (`arch`, mmdet's folder
    name), given the date stamps of their checkpoint files in that order."""
    backbones = ('r101', 'x101_32x4d', 'x101_64x4d')
    return [
        dict(name=f'{arch}_{backbone}',
             config=f"mmdet::{arch}/{arch.replace('_', '-')}_{backbone.replace('_', '-')}_fpn_1x_coco.py",
             checkpoint=f'{zoo}/{arch}/{arch}_{backbone}_fpn_1x_coco/{arch}_{backbone}_fpn_1x_coco_{stamp}.pth')
        for backbone, stamp in zip(backbones, stamps)
    ]


faster_rcnn_pool3 = rcnn_pool('faster_rcnn', ('20200130-f513f705',  # 39.4 box AP
                                              '20200203-cff10310',  # 41.2 box AP
                                              '20200204-833ee192'))  # 42.1 box AP
mask_rcnn_pool3 = rcnn_pool('mask_rcnn', ('20200204-1efe0ed5',  # 40.0 box AP, 36.1 mask AP
                                          '20200205-478d0b67',  # 41.9 box AP, 37.5 mask AP
                                          '20200201-9352eb0d'))  # 42.8 box AP, 38.4 mask AP
cascade_rcnn_pool3 = rcnn_pool('cascade_rcnn', ('20200317-0b6a2fbf',  # 42.0 box AP
                                                '20200316-95c2deb6',  # 43.7 box AP
                                                '20200515_075702-43ce6a30'))  # 44.7 box AP
rcnn_task = dict(
    type='TwoStageDetectionAdapter',
    logit_loss=dict(type='LogitKL', temperature=1.0, loss_weight=1.0),
    box_weight=1.0,
    feature_loss=dict(type='FeatureMSE', loss_weight=1.0),
    probe_size=(256, 256))
rcnn_connector = dict(type='ConvBNReLUConnector', relu=False)
# The agent (reference schedule): updated every 1000 iterations and at each epoch end, used from epoch 2.
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=1000, warmup_epochs=1),
                dict(type='mtkd_rl.NonFiniteLossHook')]
