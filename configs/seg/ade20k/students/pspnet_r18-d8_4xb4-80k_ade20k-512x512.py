# The PSPNet ResNet-18-D8 student on ADE20K trained alone: mmseg's ResNet-50 config with the ResNet-18 changes mmseg
# makes for its Cityscapes R18 configs. Exported student checkpoints load into this config.
_base_ = 'mmseg::pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'
model = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
