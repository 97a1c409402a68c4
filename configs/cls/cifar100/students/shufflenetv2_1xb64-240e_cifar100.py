# CIFAR-100 student trained alone: the CIFAR ShuffleNetV2 1.0x of the distillation zoo (1x1 stem at full
# resolution, stages of 116/232/464 channels, final 1x1 conv to 1024 on a 4x4 map; 1.36M parameters with the
# head), student recipe.
_base_ = './resnet56_1xb64-240e_cifar100.py'
model = dict(backbone=dict(_delete_=True, type='CIFARShuffleNetV2', widen_factor=1.0),
             head=dict(in_channels=1024))
