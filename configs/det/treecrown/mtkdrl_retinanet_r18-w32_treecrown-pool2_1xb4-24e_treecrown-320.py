# MTKD-RL on tree crowns (CPU-sized): the half-width RetinaNet-R18 student learns from RetinaNet-R18 and
# RetinaNet-R34 teachers (same anchors, so dense logit KD, box KD and FPN feature KD). Train the teachers
# first:
#   python tools/train.py configs/det/treecrown/teachers/retinanet_r18_fpn_1xb4-24e_treecrown-320.py
#   python tools/train.py configs/det/treecrown/teachers/retinanet_r34_fpn_1xb4-24e_treecrown-320.py
#   python tools/train.py configs/det/treecrown/mtkdrl_retinanet_r18-w32_treecrown-pool2_1xb4-24e_treecrown-320.py
_base_ = ['./students/retinanet_r18-w32_fpn_1xb4-24e_treecrown-320.py']

teacher_dir = '{{ fileDirname }}/teachers'  # next to this config, wherever it is installed
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='retinanet_r18', config=f'{teacher_dir}/retinanet_r18_fpn_1xb4-24e_treecrown-320.py',
             checkpoint='work_dirs/retinanet_r18_fpn_1xb4-24e_treecrown-320/epoch_24.pth'),
        dict(name='retinanet_r34', config=f'{teacher_dir}/retinanet_r34_fpn_1xb4-24e_treecrown-320.py',
             checkpoint='work_dirs/retinanet_r34_fpn_1xb4-24e_treecrown-320/epoch_24.pth'),
    ],
    task=dict(
        type='DetectionAdapter',
        logit_loss=dict(type='DenseSigmoidKL', temperature=1.0, loss_weight=1.0),
        # small teachers trained from scratch are rarely above 0.5: count anchors from 0.3
        box_loss=dict(type='BoxGIoUKD', score_thr=0.3, loss_weight=1.0),
        feature_loss=dict(type='FeatureMSE', loss_weight=1.0)),
    weighting=dict(type='MTKD-RL'),
    # FPN outputs are signed: no ReLU after the connector's BatchNorm
    connector=dict(type='ConvBNReLUConnector', relu=False))

# The agent: updated every 100 iterations and at each epoch end, used after the first epoch.
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=100, warmup_epochs=1),
                dict(type='mtkd_rl.NonFiniteLossHook')]
