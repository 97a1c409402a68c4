# MTKD-RL on COCO-Stuff-164k: the DeepLabV3 ResNet-18-D8 student (./students, mmseg's 80k schedule) learns from mmseg's
# DeepLabV3 and PSPNet ResNet-101-D8 COCO-Stuff-164k teachers. mmseg's IoUMetric evaluates the student. The data stay
# yours: prepare them as mmseg's docs say (data_root as in mmseg's coco-stuff164k config).
#
#   bash tools/dist_train.sh \
#       configs/seg/coco_stuff/mtkdrl_deeplabv3_r18-d8_coco-stuff164k-pool2_4xb4-80k_coco-stuff164k-512x512.py 4
_base_ = [
    './students/deeplabv3_r18-d8_4xb4-80k_coco-stuff164k-512x512.py', '../../_base_/mtkd/coco-stuff164k_r101_pool2.py'
]

model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=_base_.coco_stuff164k_r101_pool2,
    task=_base_.seg_task,
    weighting=dict(type='MTKD-RL'),
    connector=_base_.seg_connector)
