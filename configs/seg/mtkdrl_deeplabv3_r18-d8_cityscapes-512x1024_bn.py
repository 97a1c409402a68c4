# The same run with BatchNorm instead of SyncBN in the student, for distributed CPU runs (gloo has no
# SyncBN) or debugging; on GPUs prefer SyncBN (2 images per GPU give poor batch statistics).
_base_ = './mtkdrl_deeplabv3_r18-d8_cityscapes-512x1024.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    student=dict(
        backbone=dict(norm_cfg=norm_cfg),
        decode_head=dict(norm_cfg=norm_cfg),
        auxiliary_head=dict(norm_cfg=norm_cfg)))
