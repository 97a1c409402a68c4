# Teacher 2 of the CIFAR-100 pool: NEAREST EQUIVALENT of RegNetY-400MF. mmpretrain's RegNet has no
# squeeze-and-excitation blocks, so this is RegNetY-400MF's width/depth design (w0=48, wa=27.89, wm=2.09,
# group width 8, depth 16: widths 48/104/208/440, blocks 1/3/6/6) WITHOUT SE, i.e. a RegNetX-style network
# (3.2M parameters with the CIFAR head). CIFAR strides as for RegNetX-400MF: a 4x4 final map at 32x32.
_base_ = './regnetx-400mf-cifar_1xb64-240e_cifar100.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='RegNet',
        arch=dict(w0=48, wa=27.89, wm=2.09, group_w=8, depth=16, bot_mul=1.0),
        strides=(1, 1, 2, 2),
        out_indices=(3, )),
    head=dict(in_channels=440))
