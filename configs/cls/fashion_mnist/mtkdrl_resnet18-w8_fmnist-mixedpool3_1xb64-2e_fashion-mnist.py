# MTKD-RL with the mixed Fashion-MNIST pool: a strong teacher, a weak one and one with another label order on
# four classes (confidently wrong on 40% of the images). Compare weightings with
# tools/analysis_tools/compare_weightings.py.
_base_ = ['./mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py', '../../_base_/mtkd/fashion_mnist_pools.py']
model = dict(teachers=_base_.fmnist_mixedpool3)
