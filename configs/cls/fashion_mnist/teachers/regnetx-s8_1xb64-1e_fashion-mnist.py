# Teacher 2 of the Fashion-MNIST one-epoch standard pool: RegNetX trained one epoch on all training images.
_base_ = './regnetx-s8_1xb64-2e_fashion-mnist.py'
train_cfg = dict(max_epochs=1)
param_scheduler = dict(T_max=1, convert_to_iter_based=True)
