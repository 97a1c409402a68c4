# The mixed ViT/CNN ImageNet-1k teacher pool of the DeiT students: DeiT-Small and DeiT-Base (mmpretrain's own DeiT
# trainings) and ResNet-101 and Wide-ResNet-50-2 of the CNN pool, with the configs and checkpoints of mmpretrain's
# metafiles. DeiT (imagenet_bs64_swin_224) and the ResNets (imagenet_bs32) share the ImageNet RGB normalisation.
# Distiller configs add this file to their `_base_` (it brings the CNN pool's task and agent hook with it).
_base_ = './in1k_pool4.py'
in1k_vit_pool4 = [
    dict(name='deit_small',  # 80.69 top-1
         config='mmpretrain::deit/deit-small_4xb256_in1k.py',
         checkpoint='https://download.openmmlab.com/mmclassification/v0/deit/'
                    'deit-small_pt-4xb256_in1k_20220218-9425b9bb.pth'),
    dict(name='deit_base',  # 81.76 top-1
         config='mmpretrain::deit/deit-base_16xb64_in1k.py',
         checkpoint='https://download.openmmlab.com/mmclassification/v0/deit/'
                    'deit-base_pt-16xb64_in1k_20220216-db63c16c.pth'),
    _base_.in1k_pool4[1],  # resnet101
    _base_.in1k_pool4[3],  # wide_resnet50_2
]
# ViT tokens are LayerNorm'd (signed): connectors without ReLU
in1k_vit_connector = dict(type='ConvBNReLUConnector', relu=False)
