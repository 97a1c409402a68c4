# MTKD-RL on CPU-sized segmentation: the DeepLabV3 ResNet-18 (w8) student learns from three decode-head
# architectures (DeepLabV3 ASPP, PSPNet, DeepLabV3+ with stride-4 logits) on the nuclei tiles.
# Train the teachers first:
#   for t in deeplabv3 pspnet deeplabv3plus; do
#     python tools/train.py configs/seg/nuclei/teachers/${t}_r18-w16-d8_1xb4-400i_nuclei-128x128.py; done
#   python tools/train.py configs/seg/nuclei/mtkdrl_deeplabv3_r18-w8-d8_nuclei-pool3_1xb4-400i_nuclei-128x128.py
_base_ = ['./students/deeplabv3_r18-w8-d8_1xb4-400i_nuclei-128x128.py']

teacher_dir = '{{ fileDirname }}/teachers'  # next to this config, wherever it is installed
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='deeplabv3_w16', config=f'{teacher_dir}/deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128.py',
             checkpoint='work_dirs/deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128/iter_400.pth'),
        dict(name='pspnet_w16', config=f'{teacher_dir}/pspnet_r18-w16-d8_1xb4-400i_nuclei-128x128.py',
             checkpoint='work_dirs/pspnet_r18-w16-d8_1xb4-400i_nuclei-128x128/iter_400.pth'),
        dict(name='deeplabv3plus_w16',
             config=f'{teacher_dir}/deeplabv3plus_r18-w16-d8_1xb4-400i_nuclei-128x128.py',
             checkpoint='work_dirs/deeplabv3plus_r18-w16-d8_1xb4-400i_nuclei-128x128/iter_400.pth'),
    ],
    task=dict(
        type='SegmentationAdapter',
        logit_loss=dict(type='LogitKL', temperature=1.0, loss_weight=1.0),
        feature_loss=dict(type='FeatureMSE', loss_weight=5.0),
        kd_size='student'),
    weighting=dict(type='MTKD-RL'),
    connector=dict(type='ConvBNReLUConnector'))

# The agent: iteration-based run, so the warm-up is in iterations (about one epoch: 35 tiles / 4 per batch).
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=20, warmup_iters=9),
                dict(type='mtkd_rl.NonFiniteLossHook')]
