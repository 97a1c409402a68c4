# Teacher 3 of the Fashion-MNIST one-epoch standard pool: MobileNetV2 x0.5 trained one epoch on all training
# images.
_base_ = './mobilenetv2-w0.5_1xb64-2e_fashion-mnist.py'
train_cfg = dict(max_epochs=1)
param_scheduler = dict(T_max=1, convert_to_iter_based=True)
