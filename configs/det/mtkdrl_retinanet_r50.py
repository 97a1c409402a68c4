# Short name of mtkdrl_retinanet_r50_fpn_r101-x101-pool_1x_coco.py (MTKD-RL, RetinaNet-R50 student, COCO).
_base_ = './mtkdrl_retinanet_r50_fpn_r101-x101-pool_1x_coco.py'
