# A weak teacher of the Fashion-MNIST mixed pool: MobileNetV2 x0.5 trained one epoch on the first 6000
# training images only.
_base_ = './mobilenetv2-w0.5_1xb64-2e_fashion-mnist.py'
train_dataloader = dict(dataset=dict(indices=6000))
train_cfg = dict(max_epochs=1)
param_scheduler = dict(T_max=1)
