# MTKD-RL's teacher-credit agent (docs/method.md, "Teacher credit") on the mixed pool, in the setting measured
# best on the mixed and standard Fashion-MNIST pools and the nuclei pool (docs/results.md): the agent alone with
# the correctness gate; each teacher credited for its logit KD and trusted as far for its features, measured
# every 25 iterations, with a sharp target; and, during the one-epoch warm-up, the credit's target itself as the
# teachers' weights from its first measurement on (the agent learns meanwhile and acts after it). For another
# pool, inherit this file and set model.teachers.
_base_ = './mtkdrl_resnet18-w8_fmnist-mixedpool3_1xb64-3e_fashion-mnist-4k.py'
model = dict(
    weighting=dict(update='credit', components='agent', correctness_gate=True, warmup_weights='credit',
                   credit_heads='logit', credit_interval=25, credit_temperature=0.03))
