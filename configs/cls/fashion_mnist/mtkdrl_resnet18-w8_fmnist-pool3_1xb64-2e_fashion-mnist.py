# MTKD-RL: the ResNet-18 (w8) student learns from a pool of three architectures (ResNet-18 w16, RegNetX,
# MobileNetV2 x0.5). Train the teachers first (or run `make demo`), see docs/get_started.md.
_base_ = ['./students/resnet18-w8_1xb64-2e_fashion-mnist.py']

teacher_dir = '{{ fileDirname }}/teachers'  # next to this config, wherever it is installed
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='resnet18_w16', config=f'{teacher_dir}/resnet18-w16_1xb64-2e_fashion-mnist.py',
             checkpoint='work_dirs/resnet18-w16_1xb64-2e_fashion-mnist/epoch_2.pth'),
        dict(name='regnetx_s8', config=f'{teacher_dir}/regnetx-s8_1xb64-2e_fashion-mnist.py',
             checkpoint='work_dirs/regnetx-s8_1xb64-2e_fashion-mnist/epoch_2.pth'),
        dict(name='mobilenetv2_w05', config=f'{teacher_dir}/mobilenetv2-w0.5_1xb64-2e_fashion-mnist.py',
             checkpoint='work_dirs/mobilenetv2-w0.5_1xb64-2e_fashion-mnist/epoch_2.pth'),
    ],
    task=dict(
        type='ClassificationAdapter',
        logit_loss=dict(type='LogitKL', temperature=4.0, loss_weight=1.0),
        feature_loss=dict(type='FeatureMSE', loss_weight=5.0)),
    weighting=dict(type='MTKD-RL'),
    connector=dict(type='ConvBNReLUConnector'))

# The agent: updated every 200 iterations and at each epoch end, used from epoch 2 on.
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=200, warmup_epochs=1),
                dict(type='mtkd_rl.NonFiniteLossHook')]
