# The ViT student trained alone: a 2-layer VisionTransformer with 32-d tokens (2 heads) on 4x4 patches of the 32x32
# images. The ViT distiller configs wrap this model; exported student checkpoints load into this config.
_base_ = '../teachers/vit-d4-w64-p4_1xb64-2e_fashion-mnist.py'
model = dict(
    backbone=dict(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)),
    head=dict(in_channels=32))
