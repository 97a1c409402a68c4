# The ImageNet-1k teacher pool (the one method.md section 8 names as likely): ResNet-50, ResNet-101, ResNeXt-50
# (32x4d) and Wide-ResNet-50-2, with the configs and checkpoints of mmpretrain's metafiles, all sharing the ImageNet
# RGB normalisation; T = 4, alpha = 1, beta = 5; the agent as on CIFAR-100 (SGD lr 0.1, every 1000 iterations and at
# each epoch end, used from epoch 2 on). Distiller configs add this file to their `_base_`.
in1k_pool4 = [
    dict(name='resnet50',  # 76.55 top-1
         config='mmpretrain::resnet/resnet50_8xb32_in1k.py',
         checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/'
                    'resnet50_8xb32_in1k_20210831-ea4938fc.pth'),
    dict(name='resnet101',  # 77.97 top-1
         config='mmpretrain::resnet/resnet101_8xb32_in1k.py',
         checkpoint='https://download.openmmlab.com/mmclassification/v0/resnet/'
                    'resnet101_8xb32_in1k_20210831-539c63f8.pth'),
    dict(name='resnext50_32x4d',  # 77.90 top-1
         config='mmpretrain::resnext/resnext50-32x4d_8xb32_in1k.py',
         checkpoint='https://download.openmmlab.com/mmclassification/v0/resnext/'
                    'resnext50_32x4d_b32x8_imagenet_20210429-56066e27.pth'),
    dict(name='wide_resnet50_2',  # 78.48 top-1 (converted from torchvision)
         config='mmpretrain::wrn/wide-resnet50_8xb32_in1k.py',
         checkpoint='https://download.openmmlab.com/mmclassification/v0/wrn/'
                    'wide-resnet50_3rdparty_8xb32_in1k_20220304-66678344.pth'),
]
in1k_task = dict(
    type='ClassificationAdapter',
    logit_loss=dict(type='LogitKL', temperature=4.0, loss_weight=1.0),
    feature_loss=dict(type='FeatureMSE', loss_weight=5.0),
    probe_size=(224, 224))
custom_hooks = [
    dict(type='mtkd_rl.TeacherWeightingHook', interval=1000, update_at_epoch_end=True, warmup_epochs=1,
         optimizer=dict(type='SGD', lr=0.1)),
    dict(type='mtkd_rl.NonFiniteLossHook'),
]
