# MTKD-RL on Cityscapes with a MobileNetV2 student: mmseg's mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024
# (the ImageNet-pretrained MobileNetV2 with dilated last stages, output stride 8; 73.84 mIoU alone) learns from
# the ResNet-101-D8 pool of the ResNet-18 configs. Its last stage (320 ch) is connected to each teacher's
# (2048 ch). Exported checkpoints load into
# mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py.
_base_ = './mtkdrl_deeplabv3_r18-d8_cityscapes-512x1024.py'
model = dict(
    student=dict(
        pretrained='mmcls://mobilenet_v2',
        backbone=dict(
            _delete_=True,
            type='MobileNetV2',
            widen_factor=1.,
            strides=(1, 2, 2, 1, 1, 1, 1),
            dilations=(1, 1, 1, 2, 2, 4, 4),
            out_indices=(1, 2, 4, 6),
            norm_cfg=dict(type='SyncBN', requires_grad=True)),
        decode_head=dict(in_channels=320, channels=512),
        auxiliary_head=dict(in_channels=96, channels=256)))
