# A mixed pool: the Faster R-CNN R-50-FPN student learns from the Faster R-CNN teachers and, through its FPN
# levels only, from mmdet's model-zoo RetinaNet X-101-64x4d (41.0 box AP; a one-stage detector has no RoI head
# to score the student's RoIs). Its own dense detection loss, scores and embedding still enter the weighting.
_base_ = './mtkdrl_faster-rcnn_r50_fpn_r101-x101-pool_1x_coco.py'

model = dict(
    teachers=_base_.faster_rcnn_pool3 + [
        dict(name='retinanet_x101_64x4d', config='mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py',
             checkpoint=f'{_base_.zoo}/retinanet/retinanet_x101_64x4d_fpn_1x_coco/'
             'retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth')
    ],
    task=dict(feature_only_teachers=['retinanet_x101_64x4d']))
