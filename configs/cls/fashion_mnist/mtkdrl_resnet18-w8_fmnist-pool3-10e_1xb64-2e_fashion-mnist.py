# MTKD-RL with the standard Fashion-MNIST pool trained 10 epochs (stronger than the student). Other weightings:
# --cfg-options model.weighting.type=AVER, or tools/analysis_tools/compare_weightings.py.
_base_ = ['./mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py', '../../_base_/mtkd/fashion_mnist_pools.py']
model = dict(teachers=_base_.fmnist_pool3_10e)
