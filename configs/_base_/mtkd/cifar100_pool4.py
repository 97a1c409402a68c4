# The CIFAR-100 teacher pool of MTKD-RL (docs method.md section 8): RegNetY-400MF, RegNetX-400MF, ResNet-32x4 and
# WRN-28-4 of the CIFAR distillation zoo (mtkd_rl.models), each trained by its config in configs/cls/cifar100/teachers
# (or converted from a CRD/RepDistiller checkpoint with tools/model_converters/repdistiller_to_mmpretrain.py), with
# the reference MTKD-RL settings: T = 4, alpha = 1, beta = 5, the agent trained with SGD lr 0.1 every 1000
# iterations and at each epoch end, used from epoch 2 on.
# Distiller configs add this file to their `_base_` next to a plain student config.
teacher_dir = '{{ fileDirname }}/../../cls/cifar100/teachers'  # resolved from this file, wherever it is installed
cifar100_pool4 = [
    dict(name='regnety_400mf',
         config=f'{teacher_dir}/regnety-400mf-cifar_1xb64-240e_cifar100.py',
         checkpoint='work_dirs/regnety-400mf-cifar_1xb64-240e_cifar100/epoch_240.pth'),
    dict(name='regnetx_400mf',
         config=f'{teacher_dir}/regnetx-400mf-cifar_1xb64-240e_cifar100.py',
         checkpoint='work_dirs/regnetx-400mf-cifar_1xb64-240e_cifar100/epoch_240.pth'),
    dict(name='resnet32x4',
         config=f'{teacher_dir}/resnet32x4_1xb64-240e_cifar100.py',
         checkpoint='work_dirs/resnet32x4_1xb64-240e_cifar100/epoch_240.pth'),
    dict(name='wrn_28_4',
         config=f'{teacher_dir}/wrn-28-4_1xb64-240e_cifar100.py',
         checkpoint='work_dirs/wrn-28-4_1xb64-240e_cifar100/epoch_240.pth'),
]
cifar100_task = dict(
    type='ClassificationAdapter',
    logit_loss=dict(type='LogitKL', temperature=4.0, loss_weight=1.0),
    feature_loss=dict(type='FeatureMSE', loss_weight=5.0),
    probe_size=(32, 32))
custom_hooks = [
    dict(type='mtkd_rl.TeacherWeightingHook', interval=1000, update_at_epoch_end=True, warmup_epochs=1,
         optimizer=dict(type='SGD', lr=0.1)),
    dict(type='mtkd_rl.NonFiniteLossHook'),
]
