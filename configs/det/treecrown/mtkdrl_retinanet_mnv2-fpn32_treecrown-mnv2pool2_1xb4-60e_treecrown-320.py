# MTKD-RL on tree crowns with ImageNet-pretrained backbones (CPU-sized): the light RetinaNet-MobileNetV2
# student (frozen ImageNet MobileNetV2, 32-channel FPN, 1-conv head) learns from two pretrained
# RetinaNet-MobileNetV2 teachers with GroupNorm heads (64- and 96-channel FPNs). All share anchors and RGB
# ImageNet normalisation, so dense logit KD, box KD and FPN feature KD all apply. Results: docs/results.md.
# Prepare the weights (bash tools/dataset_converters/prepare_pretrained.sh data) and train the teachers first:
#   python tools/train.py configs/det/treecrown/teachers/retinanet_mnv2_fpn-gnhead_1xb4-48e_treecrown-320.py
#   python tools/train.py configs/det/treecrown/teachers/retinanet_mnv2_fpn96-gnhead_1xb4-48e_treecrown-320.py
#   python tools/train.py configs/det/treecrown/mtkdrl_retinanet_mnv2-fpn32_treecrown-mnv2pool2_1xb4-60e_treecrown-320.py
_base_ = ['./students/retinanet_mnv2-fpn32_1xb4-60e_treecrown-320.py']

teacher_dir = '{{ fileDirname }}/teachers'  # next to this config, wherever it is installed
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='retinanet_mnv2_fpn64',
             config=f'{teacher_dir}/retinanet_mnv2_fpn-gnhead_1xb4-48e_treecrown-320.py',
             checkpoint='work_dirs/retinanet_mnv2_fpn-gnhead_1xb4-48e_treecrown-320/epoch_48.pth'),
        dict(name='retinanet_mnv2_fpn96',
             config=f'{teacher_dir}/retinanet_mnv2_fpn96-gnhead_1xb4-48e_treecrown-320.py',
             checkpoint='work_dirs/retinanet_mnv2_fpn96-gnhead_1xb4-48e_treecrown-320/epoch_48.pth'),
    ],
    task=dict(
        type='DetectionAdapter',
        logit_loss=dict(type='DenseSigmoidKL', temperature=1.0, loss_weight=1.0),
        box_loss=dict(type='BoxGIoUKD', score_thr=0.3, loss_weight=1.0),
        feature_loss=dict(type='FeatureMSE', loss_weight=1.0)),
    weighting=dict(type='MTKD-RL'),
    # FPN outputs are signed: no ReLU after the connector's BatchNorm
    connector=dict(type='ConvBNReLUConnector', relu=False))

# The agent: updated every 50 iterations and at each epoch end, used after the first epoch.
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=50, warmup_epochs=1),
                dict(type='mtkd_rl.NonFiniteLossHook')]
