"""Teacher weightings: exact values where the formulas give them."""
import math

import pytest
import torch

from mtkd_rl.registry import TEACHER_WEIGHTINGS, build
from mtkd_rl.weighting import (COMMON_TERMS, DistillationTerms, MTKDRLWeighting, TeacherWeighting, WeightingPhase,
                              confidence_prior, normalized_reward)

#: The phases of a training iteration (the learner's), and of a read of the weights.
COLLECT = WeightingPhase(acting=True, collecting=True)
READ = WeightingPhase()
WARMUP = WeightingPhase(acting=False, collecting=False)
WARMUP_COLLECT = WeightingPhase(acting=False, collecting=True)


def make_terms(b=4, m=3, d=5, c=7, seed=0, feature=True):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    return DistillationTerms(
        logit_kd=r(b, m) * 3,
        teacher_loss=r(b, m) * 2,
        student_loss=r(b),
        embeddings=[r(b, d) for _ in range(m)],
        summaries=[r(b, c) for _ in range(m)],
        feature_kd=r(b, m) if feature else None,
        cosine=r(b, m) * 2 - 1 if feature else None,
        teacher_entropy=r(b, m),
        feature_teacher_loss=r(b, m) * 2)


def mtkdrl(m=3, d=5, c=7, **kw):
    return build(dict(type='MTKD-RL', **kw), TEACHER_WEIGHTINGS,
                 default_args=dict(num_teachers=m, embedding_dims=[d] * m, summary_dims=[c] * m))


def test_confidence_prior_exact():
    ce = torch.tensor([[1.0, 2.0, 3.0]])
    e = [math.exp(1), math.exp(2), math.exp(3)]
    expected = torch.tensor([[(1 - v / sum(e)) / 2 for v in e]])
    torch.testing.assert_close(confidence_prior(ce), expected)
    assert torch.equal(confidence_prior(torch.tensor([[5.0], [0.1]])), torch.ones(2, 1))


def test_aver():
    w = build(dict(type='AVER'), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=4))(make_terms(m=4), READ)
    assert torch.equal(w.logit, torch.full((4, 4), 0.25)) and torch.equal(w.feature, w.logit)
    assert w.rollout is None


def test_ebkd_exact():
    ebkd = build(dict(type='EBKD'), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=3))
    terms = make_terms(b=1, m=3)
    terms.teacher_entropy = torch.tensor([[1.0, 1.0, 2.0]])
    torch.testing.assert_close(ebkd(terms, READ).logit, torch.tensor([[0.375, 0.375, 0.25]]))
    terms.teacher_entropy = torch.zeros(1, 3)
    torch.testing.assert_close(ebkd(terms, READ).logit, torch.full((1, 3), 1 / 3))
    one = build(dict(type='EBKD'), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=1))
    assert torch.equal(one(make_terms(m=1), READ).logit, torch.ones(4, 1))


def test_camkd_uses_both_losses():
    camkd = build(dict(type='CA-MKD'), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=3))
    terms = make_terms()
    w = camkd(terms, READ)
    torch.testing.assert_close(w.logit, confidence_prior(terms.teacher_loss))
    torch.testing.assert_close(w.feature, confidence_prior(terms.feature_teacher_loss))


def test_unknown_weighting_type():
    with pytest.raises(KeyError):
        build(dict(type='NOPE'), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=2))


@pytest.mark.parametrize('fusion', ['static', 'dynamic'])
def test_mtkdrl_weights_on_simplex(fusion):
    agent = mtkdrl(fusion=fusion)
    w = agent(make_terms(), COLLECT)
    for x in (w.logit, w.feature):
        assert x.shape == (4, 3) and (x > 0).all()
        torch.testing.assert_close(x.sum(1), torch.ones(4))
    assert w.rollout['state'].shape == (4, agent.state_dim) and agent.state_dim == 3 * (5 + 7 + 3)
    assert not w.logit.requires_grad


def test_mtkdrl_static_fusion_exact():
    agent = mtkdrl()
    terms = make_terms()
    w = agent(terms, READ)
    a_logit, a_feat = agent.policy(agent.build_state(terms))
    w_ce = confidence_prior(terms.teacher_loss)
    expected_logit = (a_logit.softmax(1) + w_ce + terms.logit_kd.softmax(1)) / 3
    expected_feat = (a_feat.softmax(1) + w_ce + terms.cosine.softmax(1)) / 3
    torch.testing.assert_close(w.logit, expected_logit)
    torch.testing.assert_close(w.feature, expected_feat)


def test_mtkdrl_state_layout():
    agent = mtkdrl(m=2, d=2, c=3)
    terms = make_terms(b=2, m=2, d=2, c=3)
    s = agent.build_state(terms)
    first = torch.cat([terms.cosine[:, :1], terms.logit_kd[:, :1], terms.teacher_loss[:, :1],
                       terms.embeddings[0], terms.summaries[0]], 1)
    torch.testing.assert_close(s[:, :8], first)


def test_mtkdrl_single_teacher():
    agent = mtkdrl(m=1)
    w = agent(make_terms(m=1), READ)
    assert torch.equal(w.logit, torch.ones(4, 1)) and torch.equal(w.feature, torch.ones(4, 1))


@pytest.mark.parametrize('warmup,value', [('ones', 1.0), ('uniform', 1 / 3)])
def test_mtkdrl_warmup(warmup, value):
    agent = mtkdrl(warmup_weights=warmup)
    w = agent(make_terms(), WARMUP)
    assert torch.equal(w.logit, torch.full((4, 3), value)) and w.rollout is None


def test_normalized_reward():
    torch.testing.assert_close(normalized_reward(torch.tensor([1.0, 2.0, 3.0])), torch.tensor([0.0, 0.0, 1.0]))
    r = normalized_reward(torch.tensor([1.0, 3.0]))  # std = sqrt(2): z = +-0.7071
    torch.testing.assert_close(r, torch.tensor([0.0, 1 / math.sqrt(2)]))
    for flat in (torch.full((5, ), 2.5), torch.tensor([7.0])):
        out = normalized_reward(flat)
        assert torch.equal(out, torch.zeros_like(flat)) and torch.isfinite(out).all()


def test_surrogate_update_matches_analytic_gradient():
    torch.manual_seed(0)
    agent = mtkdrl()
    terms = make_terms()
    rollout = agent(terms, COLLECT).rollout
    reward = torch.tensor([1.0, 0.0, 0.5, 0.0])
    transition = dict(rollout, reward=reward)
    # analytic gradient of -mean_{i,m} r_i log w_logit[i,m] w.r.t. the logit head's bias
    a = agent.policy(rollout['state'])[0].softmax(1).detach()
    w = (a + confidence_prior(rollout['ce']) + rollout['kl'].softmax(1)) / 3
    b, m = a.shape
    grad = torch.zeros(m)
    for k in range(m):
        da = a * ((torch.arange(m) == k).float() - a[:, k:k + 1])
        grad[k] = -(reward[:, None] * da / (3 * w)).sum() / (b * m)
    before = agent.policy.logit_head.bias.detach().clone()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    opt.zero_grad()
    agent.update_loss(transition).backward()
    opt.step()
    torch.testing.assert_close(agent.policy.logit_head.bias.detach(), before - 0.1 * grad)
    # the rewarded sample's log-likelihood of its weights goes up
    w_after = agent._weights(agent.policy(rollout['state']), rollout['ce'], rollout['kl'], rollout['cos'])[0]
    assert w_after[0].log().sum() > w[0].log().sum()


def test_zero_reward_leaves_agent_unchanged():
    agent = mtkdrl()
    rollout = agent(make_terms(), COLLECT).rollout
    before = [p.detach().clone() for p in agent.parameters()]
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    opt.zero_grad()
    agent.update_loss(dict(rollout, reward=torch.zeros(4))).backward()
    opt.step()
    assert all(torch.equal(p, q) for p, q in zip(before, agent.parameters()))


def test_dynamic_fusion_mixing_is_learnt():
    agent = mtkdrl(fusion='dynamic')
    rollout = agent(make_terms(), COLLECT).rollout
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    agent.update_loss(dict(rollout, reward=torch.ones(4))).backward()
    assert agent.logit_mix.grad is not None and agent.logit_mix.grad.abs().sum() > 0
    opt.step()
    assert not torch.equal(agent.logit_mix.detach(), torch.ones(3))


def test_policy_gradient_update_exact_step():
    """REINFORCE with the batch-mean baseline, Fisher- and sensitivity-preconditioned: the exact gradient."""
    torch.manual_seed(0)
    agent = mtkdrl(update='policy_gradient')
    w = agent(make_terms(), COLLECT)
    assert 'action_logit' in w.rollout
    torch.testing.assert_close(w.logit.sum(1), torch.ones(4))
    rollout = w.rollout
    reward = torch.tensor([1.0, 0.0, 0.5, 0.0])
    adv = reward - reward.mean()
    mu = agent.policy(rollout['state'])[0].detach()
    a = rollout['action_logit']
    pre = agent.policy.hidden(rollout['state']).detach()
    head_sq = agent.policy.logit_head.weight.detach().pow(2)
    sens = (pre.relu().pow(2).sum(1, keepdim=True) + 1
            + rollout['state'].pow(2).sum(1, keepdim=True) * ((pre > 0).float() @ head_sq.t()))
    log_std = agent.log_std.detach()[0]
    z = (a - mu) / log_std.exp()
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    opt.zero_grad()
    agent.update_loss(dict(rollout, reward=reward)).backward()
    # the mean: each sample's score moves toward its action in proportion to its advantage (NLMS-normalised)
    torch.testing.assert_close(agent.policy.logit_head.bias.grad, -(adv[:, None] * (a - mu) / sens).sum(0))
    # the spread: the natural gradient A (z^2 - 1) / 2 of log sigma, through the squashing
    squash = agent.spread
    s = torch.sigmoid(squash.raw.detach()[0])
    expected = -(adv[:, None] * 0.5 * (z.pow(2) - 1)).mean(0) * (squash.log_max - squash.log_min) * s * (1 - s)
    torch.testing.assert_close(squash.raw.grad[0], expected)
    # an ascent direction: the advantage-weighted log-likelihood of the sampled actions goes up
    def objective():
        mean = agent.policy(rollout['state'])[0]
        return (adv * torch.distributions.Normal(mean, agent.log_std[0].exp()).log_prob(a).sum(1)).sum()
    before = objective().item()
    for group in opt.param_groups:
        group['lr'] = 1e-3
    opt.step()
    assert objective().item() > before
    # read without collecting, the policy acts with its mean
    read = agent(make_terms(), READ)
    assert read.rollout is None
    with torch.no_grad():
        mean = agent._weights(agent.policy(agent.build_state(make_terms())), make_terms().teacher_loss,
                              make_terms().logit_kd, make_terms().cosine)
    assert torch.equal(read.logit, mean[0]) and torch.equal(read.feature, mean[1])


def test_policy_gradient_stays_bounded_whatever_the_state_scale():
    """Many updates on states 10x larger: the previous update diverged (mean ~1e10, then NaN); now bounded."""
    torch.manual_seed(0)
    agent = mtkdrl(update='policy_gradient', d=64, c=10)
    opt = torch.optim.SGD(agent.parameters(), lr=0.1)
    for step in range(100):
        terms = make_terms(b=32, d=64, c=10, seed=step)
        for t in [terms.logit_kd, terms.teacher_loss, *terms.embeddings, *terms.summaries]:
            t.mul_(10)
        w = agent(terms, COLLECT)
        for x in (w.logit, w.feature):
            assert torch.isfinite(x).all() and (x >= 0).all()
            torch.testing.assert_close(x.sum(1), torch.ones(32))
        reward = normalized_reward(-(terms.student_loss + (w.logit * terms.logit_kd).sum(1)))
        opt.zero_grad()
        agent.update_loss(dict(w.rollout, reward=reward)).backward()
        opt.step()
    assert all(torch.isfinite(p).all() for p in agent.parameters())
    assert agent.policy(w.rollout['state'])[0].abs().max() < 100
    std = agent.log_std.exp()
    assert (std >= 0.01).all() and (std <= 1.0).all()


def test_policy_spread_is_bounded():
    agent = mtkdrl(update='policy_gradient', init_std=0.2, std_range=(0.05, 0.5))
    torch.testing.assert_close(agent.log_std.exp(), torch.full((2, 3), 0.2))
    with torch.no_grad():
        agent.spread.raw.copy_(torch.tensor([[1e6, -1e6, 0.0], [float('inf'), -float('inf'), 3.0]]))
    std = agent.log_std.exp()
    assert torch.isfinite(std).all() and (std >= 0.05 - 1e-6).all() and (std <= 0.5 + 1e-6).all()


def test_agent_saved_with_an_unbounded_log_std_still_loads():
    agent = mtkdrl(update='policy_gradient')
    state = {k: v for k, v in agent.state_dict().items() if not k.startswith('spread')}
    state['log_std'] = torch.tensor([[math.log(0.3)] * 3, [1e3] * 3])
    agent.load_state_dict(state)
    std = agent.log_std.exp()
    torch.testing.assert_close(std[0], torch.full((3, ), 0.3))
    assert (std[1] <= 1.0).all() and (std[1] > 0.99).all()


@pytest.mark.parametrize('kw,key', [(dict(init_std=2.0), 'init_std'), (dict(init_std=0.0), 'init_std'),
                                    (dict(std_range=(0.5, 0.1)), 'std_range'),
                                    (dict(std_range=(0.0, 1.0)), 'std_range')])
def test_policy_spread_bad_options(kw, key):
    with pytest.raises(ValueError, match=f'model.weighting.{key}'):
        mtkdrl(update='policy_gradient', **kw)


@pytest.mark.parametrize('update', ['surrogate', 'policy_gradient'])
def test_warmup_rollout_for_the_reference_schedule(update):
    """In a warm-up phase that collects, batches keep their fixed weights and come with the state to learn from."""
    agent = mtkdrl(update=update)
    terms = make_terms()
    w = agent(terms, WARMUP_COLLECT)
    assert torch.equal(w.logit, torch.ones(4, 3)) and torch.equal(w.feature, torch.ones(4, 3))
    if update == 'policy_gradient':  # it learns only from its own sampled weights
        assert w.rollout is None
        return
    assert set(w.rollout) == {'state', 'ce', 'kl', 'cos'}
    torch.testing.assert_close(w.rollout['state'], agent.build_state(terms))
    agent.update_loss(dict(w.rollout, reward=torch.tensor([1.0, 0.0, 0.5, 0.0]))).backward()
    assert agent.policy.logit_head.bias.grad.abs().sum() > 0
    assert agent(terms, WARMUP).rollout is None


@pytest.mark.parametrize('kw,key', [(dict(fusion='x'), 'fusion'), (dict(update='x'), 'update'),
                                    (dict(warmup_weights='x'), 'warmup_weights'),
                                    (dict(fusion='dynamic', update='policy_gradient'), 'fusion')])
def test_mtkdrl_bad_options(kw, key):
    with pytest.raises(ValueError, match=f'model.weighting.{key}' if key != 'fusion' or 'update' not in kw
                       else 'model.weighting'):
        mtkdrl(**kw)


def test_empty_pool():
    with pytest.raises(ValueError, match='model.teachers'):
        build(dict(type='AVER'), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=0))


def test_weighting_imports_nothing_from_tasks_or_toolboxes():
    import pathlib
    root = pathlib.Path(__file__).parents[1] / 'mtkd_rl' / 'weighting'
    for path in root.glob('*.py'):
        text = path.read_text()
        for banned in ('mtkd_rl.tasks', 'mmpretrain', 'mmdet', 'mmseg', 'from ..tasks'):
            assert banned not in text, f'{path.name} imports {banned}'


def test_mtkdrl_isinstance():
    assert isinstance(mtkdrl(), MTKDRLWeighting)


def test_without_feature_distillation_the_feature_head_is_not_trained():
    agent = mtkdrl()
    rollout = agent(make_terms(feature=False), COLLECT).rollout
    assert 'cos' not in rollout
    agent.update_loss(dict(rollout, reward=torch.ones(4))).backward()
    assert agent.policy.logit_head.weight.grad.abs().sum() > 0
    assert agent.policy.feature_head.weight.grad is None


def test_restrict_weights_moves_weight_to_allowed_teachers():
    from mtkd_rl.weighting import restrict_weights
    w = torch.tensor([[0.2, 0.3, 0.5], [1.0, 1.0, 1.0]])
    out = restrict_weights(w, torch.tensor([True, True, False]))
    torch.testing.assert_close(out, torch.tensor([[0.4, 0.6, 0.0], [1.5, 1.5, 0.0]]))


def test_needed_terms_of_each_weighting():
    def needed(name, **kwargs):
        return build(dict(type=name, **kwargs), TEACHER_WEIGHTINGS, default_args=dict(
            num_teachers=2, embedding_dims=[4, 4], summary_dims=[3, 3])).needed_terms(COLLECT)
    assert needed('AVER') == needed('ONES') == frozenset()
    assert needed('EBKD') == {'teacher_entropy'}
    assert needed('CA-MKD') == {'feature_teacher_loss'}
    # the state's pieces, and the student's loss for the reward
    assert needed('MTKD-RL') == {'embeddings', 'summaries', 'cosine', 'student_loss'}
    # read without learning from the batch: the state's pieces only, no reward
    assert build(dict(type='MTKD-RL'), TEACHER_WEIGHTINGS, default_args=dict(
        num_teachers=2, embedding_dims=[4, 4], summary_dims=[3, 3])).needed_terms(READ) == {
            'embeddings', 'summaries', 'cosine'}

    class Undeclared(TeacherWeighting):  # a weighting that does not say what it reads gets every common term
        pass

    assert Undeclared(2).needed_terms(COLLECT) == COMMON_TERMS


def reference_state(weighting, terms):
    """The state as built piece by piece (each piece detached and cast to float32, then concatenated)."""
    kl = terms.logit_kd.detach()
    cos = terms.cosine if terms.cosine is not None else torch.zeros_like(kl)
    parts = []
    for m in range(weighting.num_teachers):
        parts += [cos[:, m:m + 1], kl[:, m:m + 1], terms.teacher_loss[:, m:m + 1], terms.embeddings[m],
                  terms.summaries[m]]
    return torch.cat([p.detach().float() for p in parts], dim=1)


@pytest.mark.parametrize('feature', [True, False])
def test_state_built_in_one_copy_equals_the_piecewise_state_and_gives_the_same_weights(feature):
    agent = mtkdrl()
    terms = make_terms(feature=feature)
    terms.logit_kd.requires_grad_(True)
    # AMP-like mixed dtypes: every value must reach the state exactly as a float32 cast of itself
    terms.embeddings = [e.to(torch.bfloat16) for e in terms.embeddings]
    terms.summaries[1] = terms.summaries[1].to(torch.float16)
    terms.teacher_loss = terms.teacher_loss.double() / 3
    expected = reference_state(agent, terms)
    state = agent.build_state(terms)
    assert state.dtype == torch.float32 and not state.requires_grad and torch.equal(state, expected)
    agent.eval()
    weights = agent(terms, COLLECT)
    assert torch.equal(weights.rollout['state'], expected)
    with torch.no_grad():
        w_logit, w_feature = agent._weights(agent.policy(expected), terms.teacher_loss.float(),
                                            terms.logit_kd.detach().float(),
                                            terms.cosine.float() if feature else None)
    assert torch.equal(weights.logit, w_logit) and torch.equal(weights.feature, w_feature)


def test_mtkdrl_needs_no_terms_while_warming_up_without_storing():
    agent = mtkdrl(update='policy_gradient')  # learns only from its own sampled weights
    assert agent.needed_terms(WARMUP_COLLECT) == frozenset()
    # the fixed weights come without the state's terms
    terms = make_terms()
    terms.embeddings, terms.summaries, terms.cosine, terms.student_loss = [], [], None, None
    weights = agent(terms, WARMUP_COLLECT)
    assert torch.equal(weights.logit, torch.ones(4, 3)) and weights.rollout is None
    assert agent.needed_terms(COLLECT) == {'embeddings', 'summaries', 'cosine', 'student_loss'}
    surrogate = mtkdrl()
    # the reference: warm-up batches are stored
    assert surrogate.needed_terms(WARMUP_COLLECT) == {'embeddings', 'summaries', 'cosine', 'student_loss'}
    assert surrogate.needed_terms(WARMUP) == frozenset()


# ------------------------------------------------------------------------- MTKD-RL ablation arms (components)
def test_mtkdrl_components_default_is_the_reference_fusion_bit_for_bit():
    terms = make_terms()
    torch.manual_seed(0)
    default = mtkdrl()
    torch.manual_seed(0)
    explicit = mtkdrl(components='agent+priors')
    a, b = default(terms, READ), explicit(terms, READ)
    assert default.components == 'agent+priors'
    assert torch.equal(a.logit, b.logit) and torch.equal(a.feature, b.feature)
    # the reference formula, computed as the reference computes it (float32 state, priors, then / 3)
    with torch.no_grad():
        a_logit, a_feat = default.policy(default.build_state(terms))
        w_ce = confidence_prior(terms.teacher_loss)
        logit = (a_logit.softmax(1) + w_ce + terms.logit_kd.softmax(1)) / 3.0
        feat = (a_feat.softmax(1) + w_ce + terms.cosine.softmax(1)) / 3.0
    assert torch.equal(a.logit, logit) and torch.equal(a.feature, feat)


def test_mtkdrl_priors_arm_exact():
    agent = mtkdrl(components='priors')
    terms = make_terms(b=1, m=3)
    terms.teacher_loss = torch.tensor([[1.0, 2.0, 3.0]])
    terms.logit_kd = torch.tensor([[0.0, 0.0, math.log(2.0)]])  # softmax: (1/4, 1/4, 1/2)
    terms.cosine = torch.tensor([[math.log(3.0), 0.0, 0.0]])   # softmax: (3/5, 1/5, 1/5)
    e = [math.exp(1), math.exp(2), math.exp(3)]
    w_ce = [(1 - v / sum(e)) / 2 for v in e]
    w = agent(terms, COLLECT)
    torch.testing.assert_close(w.logit, torch.tensor([[(w_ce[0] + 0.25) / 2, (w_ce[1] + 0.25) / 2,
                                                       (w_ce[2] + 0.5) / 2]]))
    torch.testing.assert_close(w.feature, torch.tensor([[(w_ce[0] + 0.6) / 2, (w_ce[1] + 0.2) / 2,
                                                         (w_ce[2] + 0.2) / 2]]))
    # no agent: no state, nothing stored, only the cosine prior's input is computed, and the warm-up is kept
    assert w.rollout is None and agent.needed_terms(COLLECT) == {'cosine'}
    terms.embeddings, terms.summaries, terms.student_loss = [], [], None
    assert torch.equal(agent(terms, COLLECT).logit, w.logit)
    assert agent.needed_terms(WARMUP_COLLECT) == frozenset()
    warm = agent(terms, WARMUP_COLLECT)
    assert torch.equal(warm.logit, torch.ones(1, 3)) and warm.rollout is None


def test_mtkdrl_agent_arm_exact_and_learnt():
    agent = mtkdrl(components='agent')
    terms = make_terms()
    w = agent(terms, COLLECT)
    with torch.no_grad():
        a_logit, a_feat = agent.policy(agent.build_state(terms))
    torch.testing.assert_close(w.logit, a_logit.softmax(1), rtol=0, atol=0)
    torch.testing.assert_close(w.feature, a_feat.softmax(1), rtol=0, atol=0)
    # the surrogate update trains the heads alone: its loss is -mean r log a
    reward = torch.tensor([1.0, 0.0, 0.5, 0.25])
    loss = agent.update_loss(dict(w.rollout, reward=reward))
    expected = -(reward[:, None] * a_logit.log_softmax(1)).mean() - (reward[:, None] * a_feat.log_softmax(1)).mean()
    torch.testing.assert_close(loss, expected)
    assert agent.needed_terms(COLLECT) == {'embeddings', 'summaries', 'cosine', 'student_loss'}
    pg = mtkdrl(components='agent', update='policy_gradient')
    assert pg(terms, COLLECT).rollout['action_logit'].shape == (4, 3)


@pytest.mark.parametrize('kw,match', [
    (dict(components='prior'), 'model.weighting.components'), (dict(components=None), 'model.weighting.components'),
    (dict(components='priors', fusion='dynamic'), "fusion='dynamic'"),
    (dict(components='agent', fusion='dynamic'), "fusion='dynamic'"),
    (dict(components='priors', update='policy_gradient'), "components='priors'")])
def test_mtkdrl_components_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        mtkdrl(**kw)


def test_aekd_needs_the_student_outputs_only():
    weighting = build(dict(type='AEKD'), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=2))
    assert weighting.needed_terms(COLLECT) == {'student_outputs'} and 'student_outputs' in COMMON_TERMS
