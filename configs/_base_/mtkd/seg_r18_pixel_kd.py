# The segmentation distillation settings of the paper's ResNet-18 students, shared by the ADE20K and COCO-Stuff-164k
# configs (the Cityscapes ones spell out the same): pixel-wise KL at the student's logit size (1/8) over labelled
# pixels, T = 1, alpha = 1; the student's last stage (512 ch) through a connector to each teacher's (2048 ch),
# beta = 5; the agent updated every 1000 iterations. Distiller configs add this file to their `_base_` and set
# the hook's warm-up to one epoch of their data set.
seg_task = dict(
    type='SegmentationAdapter',
    logit_loss=dict(type='LogitKL', temperature=1.0, loss_weight=1.0),
    feature_loss=dict(type='FeatureMSE', loss_weight=5.0),
    kd_size='student')
seg_connector = dict(type='ConvBNReLUConnector')
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=1000), dict(type='mtkd_rl.NonFiniteLossHook')]
