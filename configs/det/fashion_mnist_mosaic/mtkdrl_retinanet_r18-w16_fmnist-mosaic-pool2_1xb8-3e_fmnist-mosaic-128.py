# MTKD-RL on the Fashion-MNIST mosaic (detection): the quarter-width RetinaNet-R18 student learns from
# half-width RetinaNet-R18 and RetinaNet-R34 teachers (same anchors: dense logit KD, box KD and FPN feature KD).
# Train the teachers first:
#   for t in r18 r34; do python tools/train.py \
#     configs/det/fashion_mnist_mosaic/teachers/retinanet_${t}-w32_fpn64_1xb8-6e_fmnist-mosaic-128.py; done
# and compare weightings with tools/analysis_tools/compare_weightings.py.
_base_ = ['./students/retinanet_r18-w16_fpn32_1xb8-3e_fmnist-mosaic-128.py']

teacher_dir = '{{ fileDirname }}/teachers'  # next to this config, wherever it is installed
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='retinanet_r18', config=f'{teacher_dir}/retinanet_r18-w32_fpn64_1xb8-6e_fmnist-mosaic-128.py',
             checkpoint='work_dirs/retinanet_r18-w32_fpn64_1xb8-6e_fmnist-mosaic-128/epoch_6.pth'),
        dict(name='retinanet_r34', config=f'{teacher_dir}/retinanet_r34-w32_fpn64_1xb8-6e_fmnist-mosaic-128.py',
             checkpoint='work_dirs/retinanet_r34-w32_fpn64_1xb8-6e_fmnist-mosaic-128/epoch_6.pth'),
    ],
    task=dict(
        type='DetectionAdapter',
        logit_loss=dict(type='DenseSigmoidKL', temperature=1.0, loss_weight=1.0),
        box_loss=dict(type='BoxGIoUKD', score_thr=0.3, loss_weight=1.0),
        feature_loss=dict(type='FeatureMSE', loss_weight=1.0)),
    weighting=dict(type='MTKD-RL'),
    # FPN outputs are signed: no ReLU after the connector's BatchNorm
    connector=dict(type='ConvBNReLUConnector', relu=False))

# The agent: updated every 100 iterations and at the end of its warm-up, used after 150 of the 1125 iterations
# (the first 40% of an epoch: a short schedule, where a whole warm-up epoch would be a third of training).
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=100, warmup_iters=150),
                dict(type='mtkd_rl.NonFiniteLossHook')]
