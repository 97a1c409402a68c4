# Teacher 1 of the Fashion-MNIST one-epoch pools: ResNet-18 w16 trained one epoch on all 60000 training images
# (a CPU-sized teacher, clearly stronger than a student trained on a 4000-image subset).
_base_ = './resnet18-w16_1xb64-2e_fashion-mnist.py'
train_cfg = dict(max_epochs=1)
param_scheduler = dict(T_max=1, convert_to_iter_based=True)
