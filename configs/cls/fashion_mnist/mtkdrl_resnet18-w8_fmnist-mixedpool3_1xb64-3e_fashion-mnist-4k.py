# The low-data comparison setting with the mixed pool: a strong teacher, a weak one and one with another label
# order on four classes (confidently wrong on 40% of the images).
_base_ = './mtkdrl_resnet18-w8_fmnist-pool3-1e_1xb64-3e_fashion-mnist-4k.py'
model = dict(teachers=_base_.fmnist_mixedpool3)
