# The AVER weighting on the same tree-crown student and teacher pool, for comparison with MTKD-RL.
_base_ = './mtkdrl_retinanet_r18-w32_treecrown-pool2_1xb4-24e_treecrown-320.py'
model = dict(weighting=dict(_delete_=True, type='AVER'))
