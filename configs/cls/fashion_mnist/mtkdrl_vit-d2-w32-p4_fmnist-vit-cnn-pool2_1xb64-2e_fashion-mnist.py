# MTKD-RL with a mixed CNN/ViT pool: the tiny ViT student (2 layers, 32-d tokens) learns from a ViT teacher (4 layers,
# 64-d tokens) and the ResNet-18 (w16) CNN teacher of the CNN pool. Feature KD compares the student's patch tokens on
# their 8x8 grid with each teacher's map (the ViT's patch tokens, the ResNet's last stage), through connectors
# without ReLU: LayerNorm'd ViT tokens are signed. Train the teachers first, see docs/user_guides/vit_classification.md.
_base_ = ['./students/vit-d2-w32-p4_1xb64-2e_fashion-mnist.py']

teacher_dir = '{{ fileDirname }}/teachers'  # next to this config, wherever it is installed
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='vit_d4_w64', config=f'{teacher_dir}/vit-d4-w64-p4_1xb64-2e_fashion-mnist.py',
             checkpoint='work_dirs/vit-d4-w64-p4_1xb64-2e_fashion-mnist/epoch_2.pth'),
        dict(name='resnet18_w16', config=f'{teacher_dir}/resnet18-w16_1xb64-2e_fashion-mnist.py',
             checkpoint='work_dirs/resnet18-w16_1xb64-2e_fashion-mnist/epoch_2.pth'),
    ],
    task=dict(
        type='ClassificationAdapter',
        logit_loss=dict(type='LogitKL', temperature=4.0, loss_weight=1.0),
        feature_loss=dict(type='FeatureMSE', loss_weight=5.0),
        probe_size=(32, 32)),
    weighting=dict(type='MTKD-RL'),
    connector=dict(type='ConvBNReLUConnector', relu=False))

# The agent: updated every 200 iterations and at each epoch end, used from epoch 2 on.
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=200, warmup_epochs=1),
                dict(type='mtkd_rl.NonFiniteLossHook')]
