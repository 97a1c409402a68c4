# CIFAR-100 student trained alone: NEAREST EQUIVALENT of the CIFAR ShuffleNetV2 (1.0x). No installed toolbox has
# a ShuffleNetV2 with configurable strides: mmpretrain's keeps the ImageNet stem (stride-2 conv + max-pool) and
# three stride-2 stages, overall stride 32, so its final map is 1x1 (1024 channels) at 32x32 where a CIFAR
# ShuffleNetV2 keeps 4x4. Expect it below the paper's ShuffleNetV2; feature distillation upsamples its 1x1 map
# to each teacher's map in the connector.
_base_ = '../teachers/regnetx-400mf-cifar_1xb64-240e_cifar100.py'
model = dict(
    backbone=dict(_delete_=True, type='ShuffleNetV2', widen_factor=1.0, out_indices=(3, )),
    head=dict(in_channels=1024))
