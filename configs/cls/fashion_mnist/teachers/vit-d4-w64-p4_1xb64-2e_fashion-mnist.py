# The ViT teacher of the mixed CNN/ViT Fashion-MNIST pool: a tiny VisionTransformer (4 layers, 64-d tokens, 4 heads)
# on 4x4 patches of the 32x32 images (an 8x8 token grid plus the class token), classified from the class token.
_base_ = './resnet18-w16_1xb64-2e_fashion-mnist.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionTransformer',
        arch=dict(embed_dims=64, num_layers=4, num_heads=4, feedforward_channels=128),
        img_size=32,
        patch_size=4),
    neck=None,
    head=dict(_delete_=True, type='VisionTransformerClsHead', num_classes=10, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=2e-3, weight_decay=0.05))
