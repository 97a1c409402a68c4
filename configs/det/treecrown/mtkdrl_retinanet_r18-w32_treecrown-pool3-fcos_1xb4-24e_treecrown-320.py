# MTKD-RL with a teacher of another head type: the two RetinaNet teachers plus FCOS-R18, whose anchor-free
# layout (1 prior per location) cannot be compared anchor by anchor with the student's 9 anchors. Listed in
# model.task.feature_only_teachers, it teaches through its FPN levels only (its logit/box KD column is 0) and
# still enters the weighting with its detection loss, embedding and scores. Train it first:
#   python tools/train.py configs/det/treecrown/teachers/fcos_r18_fpn_1xb4-24e_treecrown-320.py
_base_ = './mtkdrl_retinanet_r18-w32_treecrown-pool2_1xb4-24e_treecrown-320.py'

teacher_dir = '{{ fileDirname }}/teachers'  # next to this config, wherever it is installed
model = dict(
    teachers=[
        dict(name='retinanet_r18', config=f'{teacher_dir}/retinanet_r18_fpn_1xb4-24e_treecrown-320.py',
             checkpoint='work_dirs/retinanet_r18_fpn_1xb4-24e_treecrown-320/epoch_24.pth'),
        dict(name='retinanet_r34', config=f'{teacher_dir}/retinanet_r34_fpn_1xb4-24e_treecrown-320.py',
             checkpoint='work_dirs/retinanet_r34_fpn_1xb4-24e_treecrown-320/epoch_24.pth'),
        dict(name='fcos_r18', config=f'{teacher_dir}/fcos_r18_fpn_1xb4-24e_treecrown-320.py',
             checkpoint='work_dirs/fcos_r18_fpn_1xb4-24e_treecrown-320/epoch_24.pth'),
    ],
    task=dict(feature_only_teachers=['fcos_r18']))
