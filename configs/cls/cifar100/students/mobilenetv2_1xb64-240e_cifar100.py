# CIFAR-100 student trained alone: the full-width CIFAR MobileNetV2 of the distillation zoo (expansion 6, stride-2
# stem, overall stride 16, final 1x1 conv to 1280 channels on a 2x2 map; 2.35M parameters with the head), student
# recipe. The zoo's half-width 'mobile_half' (0.81M) is
# backbone=dict(type='CIFARMobileNetV2', widen_factor=0.5).
_base_ = './resnet56_1xb64-240e_cifar100.py'
model = dict(backbone=dict(_delete_=True, type='CIFARMobileNetV2', widen_factor=1.0),
             head=dict(in_channels=1280))
