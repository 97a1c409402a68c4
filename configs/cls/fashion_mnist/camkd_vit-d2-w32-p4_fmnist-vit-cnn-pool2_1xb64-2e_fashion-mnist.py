# The CA-MKD weighting on the same ViT student and mixed CNN/ViT pool: its feature weights come from each teacher's
# head (the ViT's VisionTransformerClsHead, the ResNet's LinearClsHead) applied to the connected student map.
_base_ = './mtkdrl_vit-d2-w32-p4_fmnist-vit-cnn-pool2_1xb64-2e_fashion-mnist.py'
model = dict(weighting=dict(_delete_=True, type='CA-MKD'))
