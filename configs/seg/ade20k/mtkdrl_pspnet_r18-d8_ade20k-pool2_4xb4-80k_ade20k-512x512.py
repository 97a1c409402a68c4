# MTKD-RL on ADE20K: the PSPNet ResNet-18-D8 student (./students, mmseg's 80k schedule) learns from mmseg's
# DeepLabV3 and PSPNet ResNet-101-D8 ADE20K teachers. mmseg's IoUMetric evaluates the student. The data stay
# yours: prepare them as mmseg's docs say (data_root as in mmseg's ade20k config).
#
#   bash tools/dist_train.sh configs/seg/ade20k/mtkdrl_pspnet_r18-d8_ade20k-pool2_4xb4-80k_ade20k-512x512.py 4
_base_ = ['./students/pspnet_r18-d8_4xb4-80k_ade20k-512x512.py', '../../_base_/mtkd/ade20k_r101_pool2.py']

model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=_base_.ade20k_r101_pool2,
    task=_base_.seg_task,
    weighting=dict(type='MTKD-RL'),
    connector=_base_.seg_connector)
