# CIFAR-100 student trained alone: RegNetX-200MF (pycls design w0=24, wa=36.44, wm=2.49, group width 8,
# depth 13: widths 24/56/152/368), CIFAR strides (1, 1, 2, 2) after mmpretrain's stride-2 stem: 4x4 final map.
# The distiller configs wrap this model; exported student checkpoints load into this config.
_base_ = '../teachers/regnetx-400mf-cifar_1xb64-240e_cifar100.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='RegNet',
        arch=dict(w0=24, wa=36.44, wm=2.49, group_w=8, depth=13, bot_mul=1.0),
        strides=(1, 1, 2, 2),
        out_indices=(3, )),
    head=dict(in_channels=368))
