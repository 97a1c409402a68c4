# Teacher 3 of the Fashion-MNIST pool: MobileNetV2 x0.5 (ImageNet strides: a 1x1 final map at 32x32).
_base_ = './resnet18-w16_1xb64-2e_fashion-mnist.py'
model = dict(
    backbone=dict(_delete_=True, type='MobileNetV2', widen_factor=0.5, out_indices=(7, )),
    head=dict(in_channels=1280))
