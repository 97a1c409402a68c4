# MTKD-RL on tree crowns with two-stage detectors (CPU-sized): the half-width Faster R-CNN R-18 student learns
# from Faster R-CNN R-18 and R-34 teachers: region-level KD on the student's sampled RoIs (the teachers' RoI
# heads score them), box KD on its positive RoIs and FPN feature KD. Train the teachers first:
#   python tools/train.py configs/det/treecrown/teachers/faster-rcnn_r18_fpn_1xb4-24e_treecrown-320.py
#   python tools/train.py configs/det/treecrown/teachers/faster-rcnn_r34_fpn_1xb4-24e_treecrown-320.py
#   python tools/train.py configs/det/treecrown/mtkdrl_faster-rcnn_r18-w32_treecrown-pool2_1xb4-24e_treecrown-320.py
_base_ = ['./students/faster-rcnn_r18-w32_fpn_1xb4-24e_treecrown-320.py']

teacher_dir = '{{ fileDirname }}/teachers'  # next to this config, wherever it is installed
model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=[
        dict(name='faster_rcnn_r18', config=f'{teacher_dir}/faster-rcnn_r18_fpn_1xb4-24e_treecrown-320.py',
             checkpoint='work_dirs/faster-rcnn_r18_fpn_1xb4-24e_treecrown-320/epoch_24.pth'),
        dict(name='faster_rcnn_r34', config=f'{teacher_dir}/faster-rcnn_r34_fpn_1xb4-24e_treecrown-320.py',
             checkpoint='work_dirs/faster-rcnn_r34_fpn_1xb4-24e_treecrown-320/epoch_24.pth'),
    ],
    task=dict(
        type='TwoStageDetectionAdapter',
        logit_loss=dict(type='LogitKL', temperature=1.0, loss_weight=1.0),
        box_weight=1.0,
        feature_loss=dict(type='FeatureMSE', loss_weight=1.0)),
    weighting=dict(type='MTKD-RL'),
    # FPN outputs are signed: no ReLU after the connector's BatchNorm
    connector=dict(type='ConvBNReLUConnector', relu=False))

# The agent: updated every 100 iterations and at each epoch end, used after the first epoch.
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=100, warmup_epochs=1),
                dict(type='mtkd_rl.NonFiniteLossHook')]
