# The Fashion-MNIST student trained alone: a CIFAR-stem ResNet-18 with 8 base channels. The distiller
# configs wrap this model; exported student checkpoints load into this config.
_base_ = '../teachers/resnet18-w16_1xb64-2e_fashion-mnist.py'
model = dict(backbone=dict(stem_channels=8, base_channels=8), head=dict(in_channels=64))
