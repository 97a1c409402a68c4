# Teacher 1 of the Fashion-MNIST standard pool, trained 10 epochs (5x the student's schedule) so that the pool
# is clearly stronger than the student.
_base_ = './resnet18-w16_1xb64-2e_fashion-mnist.py'
train_cfg = dict(max_epochs=10)
param_scheduler = dict(T_max=10)
