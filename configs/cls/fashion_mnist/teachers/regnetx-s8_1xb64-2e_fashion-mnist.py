# Teacher 2 of the Fashion-MNIST pool: a small RegNetX (stride 8 overall for 32x32 inputs).
_base_ = './resnet18-w16_1xb64-2e_fashion-mnist.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='RegNet',
        arch=dict(w0=24, wa=36.44, wm=2.49, group_w=8, depth=10, bot_mul=1.0),
        strides=(1, 1, 2, 2),
        out_indices=(3, )),
    head=dict(in_channels=368))
