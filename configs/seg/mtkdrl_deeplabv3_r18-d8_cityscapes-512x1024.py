# MTKD-RL on Cityscapes (issue #4): the DeepLabV3 ResNet-18-D8 student (mmseg's own config: 512x1024 crops,
# 80k iterations, 4 GPUs x 2 images, SGD lr 0.01 with poly decay) learns from three ResNet-101-D8 teachers of
# mmseg's model zoo (Cityscapes val mIoU, single scale: DeepLabV3 80.20, PSPNet 79.76, DeepLabV3+ 80.97;
# the student alone: 76.70). DeepLabV3+ predicts at output stride 4, the others at 8: the adapter resizes
# every logit map to the student's. mmseg's IoUMetric evaluates the student.
#
#   bash tools/dist_train.sh configs/seg/mtkdrl_deeplabv3_r18-d8_cityscapes-512x1024.py 4
#
# Norm layers are SyncBN, as in mmseg's configs: right for multi-GPU training (and for one process on CPU,
# where torch's SyncBatchNorm acts as BatchNorm); a distributed CPU run fails with SyncBN, so use the
# *_bn.py variant there. Teachers are frozen in eval mode, where SyncBN never synchronises.
_base_ = ['mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py']

zoo = 'https://download.openmmlab.com/mmsegmentation/v0.5'
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='deeplabv3_r101',
             config='mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py',
             checkpoint=f'{zoo}/deeplabv3/deeplabv3_r101-d8_512x1024_80k_cityscapes/'
             'deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth'),
        dict(name='pspnet_r101',
             config='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py',
             checkpoint=f'{zoo}/pspnet/pspnet_r101-d8_512x1024_80k_cityscapes/'
             'pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth'),
        dict(name='deeplabv3plus_r101',
             config='mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb2-80k_cityscapes-512x1024.py',
             checkpoint=f'{zoo}/deeplabv3plus/deeplabv3plus_r101-d8_512x1024_80k_cityscapes/'
             'deeplabv3plus_r101-d8_512x1024_80k_cityscapes_20200606_114143-068fcfe9.pth'),
    ],
    task=dict(
        type='SegmentationAdapter',
        # pixel-wise KL at the student's logit size (1/8), over pixels not labelled 255
        logit_loss=dict(type='LogitKL', temperature=1.0, loss_weight=1.0),
        # the student's last stage (512 ch) through a connector to each teacher's (2048 ch)
        feature_loss=dict(type='FeatureMSE', loss_weight=5.0),
        kd_size='student'),
    weighting=dict(type='MTKD-RL'),
    connector=dict(type='ConvBNReLUConnector'))

# The agent (reference: update every 1000 iterations; first epoch without it). One Cityscapes epoch is
# 2975 images / (4 GPUs x 2) = 372 iterations.
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=1000, warmup_iters=372),
                dict(type='mtkd_rl.NonFiniteLossHook')]
