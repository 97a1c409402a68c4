# MTKD-RL on the Fashion-MNIST mosaic (segmentation): the DeepLabV3 ResNet-18 (w8) student learns from DeepLabV3
# and PSPNet teachers (ResNetV1c-18 w16). Train the teachers first:
#   for t in deeplabv3 pspnet; do python tools/train.py \
#     configs/seg/fashion_mnist_mosaic/teachers/${t}_r18-w16-d8_1xb8-1500i_fmnist-mosaic-128x128.py; done
# and compare weightings with tools/analysis_tools/compare_weightings.py.
_base_ = ['./students/deeplabv3_r18-w8-d8_1xb8-1500i_fmnist-mosaic-128x128.py']

teacher_dir = '{{ fileDirname }}/teachers'  # next to this config, wherever it is installed
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='deeplabv3_w16',
             config=f'{teacher_dir}/deeplabv3_r18-w16-d8_1xb8-1500i_fmnist-mosaic-128x128.py',
             checkpoint='work_dirs/deeplabv3_r18-w16-d8_1xb8-1500i_fmnist-mosaic-128x128/iter_1500.pth'),
        dict(name='pspnet_w16', config=f'{teacher_dir}/pspnet_r18-w16-d8_1xb8-1500i_fmnist-mosaic-128x128.py',
             checkpoint='work_dirs/pspnet_r18-w16-d8_1xb8-1500i_fmnist-mosaic-128x128/iter_1500.pth'),
    ],
    task=dict(
        type='SegmentationAdapter',
        logit_loss=dict(type='LogitKL', temperature=1.0, loss_weight=1.0),
        feature_loss=dict(type='FeatureMSE', loss_weight=5.0),
        kd_size='student'),
    weighting=dict(type='MTKD-RL'),
    connector=dict(type='ConvBNReLUConnector'))

# The agent: iteration-based run, so the warm-up is in iterations (about half an epoch of 375 iterations).
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=100, warmup_iters=200),
                dict(type='mtkd_rl.NonFiniteLossHook')]
