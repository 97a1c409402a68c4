# Teacher 2 of the Fashion-MNIST standard pool, trained 10 epochs (5x the student's schedule).
_base_ = './regnetx-s8_1xb64-2e_fashion-mnist.py'
train_cfg = dict(max_epochs=10)
param_scheduler = dict(T_max=10)
