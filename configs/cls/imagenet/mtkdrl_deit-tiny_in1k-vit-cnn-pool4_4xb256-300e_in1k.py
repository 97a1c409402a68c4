# MTKD-RL on ImageNet-1k with a vision-transformer student and a mixed ViT/CNN pool: the DeiT-Tiny student
# (deit-tiny_4xb256_in1k, unchanged: 300 epochs, batch 4x256, AdamW, Mixup/CutMix, label smoothing) learns from
# DeiT-Small, DeiT-Base, ResNet-101 and Wide-ResNet-50-2 of mmpretrain's model zoo. Logit KD on the class-token
# logits; feature KD from DeiT-Tiny's 14x14 patch-token map to each teacher's map (14x14 tokens, 7x7 ResNet stage).
# mmpretrain's plain deit-tiny_4xb256_in1k: 74.50 top-1.
_base_ = ['mmpretrain::deit/deit-tiny_4xb256_in1k.py', '../../_base_/mtkd/in1k_vit_pool4.py']

model = dict(
    _delete_=True,
    type='mtkd_rl.MultiTeacherDistiller',
    student=_base_.model,
    teachers=_base_.in1k_vit_pool4,
    task=_base_.in1k_task,
    weighting=dict(type='MTKD-RL'),
    connector=_base_.in1k_vit_connector)
# the agent as in the CNN pool's configs (in1k_pool4.py): every 1000 iterations and at each epoch end (one epoch is
# 1281167 images / (4 x 256) = 1252 iterations), used from epoch 2 on
