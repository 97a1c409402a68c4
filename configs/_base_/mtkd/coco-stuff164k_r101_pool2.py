# The COCO-Stuff-164k (171 classes, 512x512 crops) teacher pool: mmseg's DeepLabV3 and PSPNet ResNet-101-D8 (80k
# iterations, 4 GPUs x 4 images) with the checkpoints of mmseg's metafiles; val mIoU, single scale: 40.87 and 40.34.
_base_ = './seg_r18_pixel_kd.py'
zoo = 'https://download.openmmlab.com/mmsegmentation/v0.5'
coco_stuff164k_r101_pool2 = [
    dict(name='deeplabv3_r101',
         config='mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-80k_coco-stuff164k-512x512.py',
         checkpoint=f'{zoo}/deeplabv3/deeplabv3_r101-d8_512x512_4x4_80k_coco-stuff164k/'
         'deeplabv3_r101-d8_512x512_4x4_80k_coco-stuff164k_20210709_201252-13600dc2.pth'),
    dict(name='pspnet_r101',
         config='mmseg::pspnet/pspnet_r101-d8_4xb4-80k_coco-stuff164k-512x512.py',
         checkpoint=f'{zoo}/pspnet/pspnet_r101-d8_512x512_4x4_80k_coco-stuff164k/'
         'pspnet_r101-d8_512x512_4x4_80k_coco-stuff164k_20210707_152034-7eb41789.pth'),
]
# one COCO-Stuff-164k epoch: 118287 images / (4 GPUs x 4) = 7393 iterations without the agent
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=1000, warmup_iters=7393),
                dict(type='mtkd_rl.NonFiniteLossHook')]
