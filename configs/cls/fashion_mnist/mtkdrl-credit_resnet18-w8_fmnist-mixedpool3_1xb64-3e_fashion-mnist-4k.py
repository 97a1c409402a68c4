# MTKD-RL's teacher-credit agent (docs/method.md, "Teacher credit") on the mixed pool, in the setting measured
# best on the mixed and standard Fashion-MNIST pools and the nuclei pool (docs/results.md): the agent alone,
# the logit and the feature KD credited apart, measured every 25 iterations, a sharp target, the correctness
# gate, and a 25-iteration warm-up instead of an epoch. For another pool, inherit this file and set
# model.teachers.
_base_ = './mtkdrl_resnet18-w8_fmnist-mixedpool3_1xb64-3e_fashion-mnist-4k.py'
model = dict(
    weighting=dict(update='credit', components='agent', correctness_gate=True, warmup_weights='uniform',
                   credit_heads='separate', credit_interval=25, credit_temperature=0.03))
custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=25, warmup_iters=25),
                dict(type='mtkd_rl.NonFiniteLossHook')]
