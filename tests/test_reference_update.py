"""What the reference agent update learns (method.md section 7): equal fused weights, whatever the teachers.

The reference ("surrogate") update takes, per stored batch, one SGD step (lr 0.1) on
``-mean_{i,m} r_hat_i log w_logit[i, m] - mean_{i,m} r_hat_i log w_feature[i, m]``. For one sample, with
``sum_m w_im = 1`` and ``r_hat_i >= 0``, ``-sum_m log w_im`` is least at ``w_im = 1/M``: the update pulls the fused
weights toward equal, so the agent learns to cancel the priors, and samples with ``r_hat_i = 0`` (every
below-average one) teach it nothing.

Here the update is driven on synthetic batches of 64 from a pool of a good, a middling and a confidently wrong
teacher (CE, KL, cosine, embeddings, logits and the feature loss built by hand from class scores and features;
the reward is the reference's, from the weights the agent gives). Measured (seed 0, 100 steps), mean over an
evaluation batch:

=====================================  =========================  =========================
quantity                               before                     after 100 steps
=====================================  =========================  =========================
fused feature weights (good/mid/wrong)  (0.411, 0.416, 0.173)      (0.349, 0.324, 0.327)
fused logit weights                    (0.350, 0.319, 0.332)      (0.333, 0.324, 0.343)
largest deviation from 1/3 (means)     0.160                      0.016
agent's feature-head share, wrong      0.337                      0.799
=====================================  =========================  =========================

The feature priors give the wrong teacher little (its CE is large, its cosine low), so the agent raises its own
share of that teacher until the fused weights are even; the logit priors already balance (the KL prior favours
the teacher furthest from the student, the wrong one, while the confidence prior disfavours it).
"""
import torch
import torch.nn.functional as F

from mtkd_rl.weighting import DistillationTerms, MTKDRLWeighting, WeightingPhase, normalized_reward

T, C, D, B = 4.0, 10, 16, 64
#: A training iteration's phase after the warm-up: the agent acts and the batch is learnt from.
COLLECT = WeightingPhase(acting=True, collecting=True)
GOOD, MIDDLING, WRONG = 0, 1, 2


def pool_batch(g: torch.Generator) -> DistillationTerms:
    """One batch of terms from a good, a middling and a confidently wrong teacher, and a half-trained student."""
    def noise(*shape):
        return torch.randn(*shape, generator=g)

    y = torch.randint(0, C, (B, ), generator=g)
    onehot = lambda c: F.one_hot(c, C).float()  # noqa: E731
    student = 1.0 * onehot(y) + noise(B, C)
    logits = [4.0 * onehot(y) + noise(B, C),               # good: right and confident
              1.5 * onehot(y) + noise(B, C),               # middling: right, unsure
              5.0 * onehot((y + 1) % C) + noise(B, C)]     # wrong: confidently another class
    ce = torch.stack([F.cross_entropy(z, y, reduction='none') for z in logits], 1)
    log_s = F.log_softmax(student / T, 1)
    kl = torch.stack([T * T * (F.softmax(z / T, 1) * (F.log_softmax(z / T, 1) - log_s)).sum(1) for z in logits], 1)
    shared = noise(B, D)
    feature = shared + 0.5 * noise(B, D)  # the student's connected, pooled feature
    embeddings = [shared + 0.3 * noise(B, D), shared + 1.0 * noise(B, D), -0.5 * shared + noise(B, D)]
    cosine = torch.stack([F.cosine_similarity(feature, e, dim=1) for e in embeddings], 1)
    mse = torch.stack([(feature - e).pow(2).mean(1) for e in embeddings], 1)
    return DistillationTerms(logit_kd=kl, teacher_loss=ce, student_loss=F.cross_entropy(student, y, reduction='none'),
                             embeddings=embeddings, summaries=logits, feature_kd=mse, cosine=cosine)


def measure(agent: MTKDRLWeighting, terms: DistillationTerms):
    """Mean fused logit and feature weights, and the mean shares of the agent's logit and feature heads."""
    agent.eval()
    with torch.no_grad():
        weights = agent(terms, COLLECT)
        a_logit, a_feature = agent.policy(weights.rollout['state'])
    agent.train()
    return weights.logit.mean(0), weights.feature.mean(0), a_logit.softmax(1).mean(0), a_feature.softmax(1).mean(0)


def test_the_reference_update_drives_the_fused_weights_to_equal():
    torch.manual_seed(0)
    agent = MTKDRLWeighting(3, [D] * 3, [C] * 3)
    optimizer = torch.optim.SGD(agent.parameters(), lr=0.1)  # the reference agent optimiser
    evaluation = pool_batch(torch.Generator().manual_seed(123))
    teachers_by_worth = evaluation.teacher_loss.mean(0)
    assert teachers_by_worth[GOOD] < teachers_by_worth[MIDDLING] < teachers_by_worth[WRONG]
    logit0, feature0, _, agent_feature0 = measure(agent, evaluation)
    deviation0 = max((logit0 - 1 / 3).abs().max(), (feature0 - 1 / 3).abs().max())

    g = torch.Generator().manual_seed(0)
    for _ in range(100):
        terms = pool_batch(g)
        weights = agent(terms, COLLECT)
        total = terms.student_loss + (weights.logit * terms.logit_kd).sum(1) + 5.0 * (
            weights.feature * terms.feature_kd).sum(1)
        loss = agent.update_loss(dict(weights.rollout, reward=normalized_reward(-total)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    logit, feature, _, agent_feature = measure(agent, evaluation)
    deviation = max((logit - 1 / 3).abs().max(), (feature - 1 / 3).abs().max())
    # the measured numbers of the module docstring (and of docs/method.md section 7)
    torch.testing.assert_close(feature0, torch.tensor([0.411, 0.416, 0.173]), rtol=0, atol=2e-3)
    torch.testing.assert_close(feature, torch.tensor([0.349, 0.324, 0.327]), rtol=0, atol=2e-3)
    # equal weights are what it learns: the largest deviation from 1/3 shrinks at least fivefold (0.160 -> 0.016)
    assert deviation0 > 0.15 and deviation < deviation0 / 5
    # ... whatever the teachers are worth: the agent's own share of the confidently wrong teacher rises
    # (0.337 -> 0.799), cancelling the priors that give it little
    assert agent_feature[WRONG] > agent_feature0[WRONG] + 0.3
    assert agent_feature[WRONG] > agent_feature[GOOD] and agent_feature[WRONG] > agent_feature[MIDDLING]


def test_below_average_samples_teach_the_reference_update_nothing():
    torch.manual_seed(0)
    agent = MTKDRLWeighting(3, [D] * 3, [C] * 3)
    terms = pool_batch(torch.Generator().manual_seed(1))
    rollout = agent(terms, COLLECT).rollout
    reward = torch.zeros(B)
    reward[:5] = torch.linspace(0.2, 1.0, 5)  # only the first five samples are above the batch mean
    agent.update_loss(dict(rollout, reward=reward)).backward()
    full = [p.grad.clone() for p in agent.parameters()]
    agent.zero_grad()
    only = {k: v[:5] for k, v in rollout.items()}
    (agent.update_loss(dict(only, reward=reward[:5])) * 5 / B).backward()  # the same sum over 5 of 64 samples
    for p, expected in zip(agent.parameters(), full):
        torch.testing.assert_close(p.grad, expected)
