# MTKD-RL on CIFAR-100 (method.md section 8): the RegNetX-200MF student learns from the CIFAR pool of four teachers:
# RegNetY-400MF (nearest equivalent: no SE), RegNetX-400MF, ResNet-32x4 and WRN-28-4 (nearest equivalents: 3-stage
# ResNet_CIFAR-34); each teacher config says how its stand-in differs. T = 4, alpha = 1, beta = 5. Reported top-1 with
# MTKD-RL (method.md): 79.93-80.58.
# Train the four teachers first: python tools/train.py configs/cls/cifar100/teachers/<config>.py
_base_ = ['./students/regnetx-200mf-cifar_1xb64-240e_cifar100.py']

teacher_dir = 'configs/cls/cifar100/teachers'
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='regnety_400mf_nose',
             config=f'{teacher_dir}/regnety-400mf-nose-cifar_1xb64-240e_cifar100_nearest-regnety-400mf.py',
             checkpoint='work_dirs/regnety-400mf-nose-cifar_1xb64-240e_cifar100_nearest-regnety-400mf/'
                        'epoch_240.pth'),
        dict(name='regnetx_400mf',
             config=f'{teacher_dir}/regnetx-400mf-cifar_1xb64-240e_cifar100.py',
             checkpoint='work_dirs/regnetx-400mf-cifar_1xb64-240e_cifar100/'
                        'epoch_240.pth'),
        dict(name='resnet34_3stage_stem32_w64',
             config=f'{teacher_dir}/resnet34-3stage-stem32-w64-cifar_1xb64-240e_cifar100_nearest-resnet32x4.py',
             checkpoint='work_dirs/resnet34-3stage-stem32-w64-cifar_1xb64-240e_cifar100_nearest-resnet32x4/'
                        'epoch_240.pth'),
        dict(name='resnet34_3stage_stem16_w64',
             config=f'{teacher_dir}/resnet34-3stage-stem16-w64-cifar_1xb64-240e_cifar100_nearest-wrn-28-4.py',
             checkpoint='work_dirs/resnet34-3stage-stem16-w64-cifar_1xb64-240e_cifar100_nearest-wrn-28-4/'
                        'epoch_240.pth'),
    ],
    task=dict(
        type='ClassificationAdapter',
        logit_loss=dict(type='LogitKL', temperature=4.0, loss_weight=1.0),
        feature_loss=dict(type='FeatureMSE', loss_weight=5.0),
        probe_size=(32, 32)),
    weighting=dict(type='MTKD-RL', fusion='static', update='surrogate'),
    connector=dict(type='ConvBNReLUConnector'))

# The agent (SGD, lr 0.1): updated every 1000 iterations and at each epoch end, used from epoch 2 on.
custom_hooks = [
    dict(type='mtkd_rl.TeacherWeightingHook', interval=1000, update_at_epoch_end=True, warmup_epochs=1,
         optimizer=dict(type='SGD', lr=0.1))
]
