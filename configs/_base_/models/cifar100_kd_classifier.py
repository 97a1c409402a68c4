# The classifier around every CIFAR-100 network of the distillation zoo (mtkd_rl.models): backbone, global average
# pooling, one linear layer to 100 classes; the backbone's last stage ends where the published network pools, so
# this is the published network. Configs that inherit it set `model.backbone` and `model.head.in_channels`.
custom_imports = dict(imports=['mtkd_rl.models'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='CIFARResNet', depth=56),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=64,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
