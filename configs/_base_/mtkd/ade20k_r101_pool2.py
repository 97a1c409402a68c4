# The ADE20K (150 classes, 512x512 crops) teacher pool: mmseg's DeepLabV3 and PSPNet ResNet-101-D8 (80k iterations,
# 4 GPUs x 4 images) with the checkpoints of mmseg's metafiles; ADE20K val mIoU, single scale: 44.08 and 43.57.
_base_ = './seg_r18_pixel_kd.py'
zoo = 'https://download.openmmlab.com/mmsegmentation/v0.5'
ade20k_r101_pool2 = [
    dict(name='deeplabv3_r101',
         config='mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-80k_ade20k-512x512.py',
         checkpoint=f'{zoo}/deeplabv3/deeplabv3_r101-d8_512x512_80k_ade20k/'
         'deeplabv3_r101-d8_512x512_80k_ade20k_20200615_021256-d89c7fa4.pth'),
    dict(name='pspnet_r101',
         config='mmseg::pspnet/pspnet_r101-d8_4xb4-80k_ade20k-512x512.py',
         checkpoint=f'{zoo}/pspnet/pspnet_r101-d8_512x512_80k_ade20k/'
         'pspnet_r101-d8_512x512_80k_ade20k_20200614_031423-b6e782f0.pth'),
]
# one ADE20K epoch: 20210 images / (4 GPUs x 4) = 1264 iterations without the agent
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=1000, warmup_iters=1264),
                dict(type='mtkd_rl.NonFiniteLossHook')]
