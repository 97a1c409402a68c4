# The poor teacher of the Fashion-MNIST mixed pool: the one-epoch MobileNetV2 x0.5 trained with another label
# order on four classes (Trouser <-> Bag, Dress <-> Sneaker). It is as good as its standard twin on the six other
# classes and confidently wrong on these four: about 40% of the images.
_base_ = './mobilenetv2-w0.5_1xb64-1e_fashion-mnist.py'
swap4 = dict(type='mtkd_rl.RemapLabels', mapping={1: 8, 8: 1, 3: 7, 7: 3})
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='Resize', scale=32),
    dict(type='NumpyToPIL'),
    dict(type='torchvision/Grayscale', num_output_channels=3),
    dict(type='PILToNumpy'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    swap4,
    dict(type='PackInputs'),
]))
