# Teacher of the CIFAR-100 pool: the CIFAR RegNetY-400MF of MTKD-RL, RegNetX-400MF with squeeze-and-excitation
# (SE width a quarter of each block's input; 5.75M parameters with the head), trained with the teacher recipe.
_base_ = './regnetx-400mf-cifar_1xb64-240e_cifar100.py'
model = dict(backbone=dict(arch='regnety_400mf'))
