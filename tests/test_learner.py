"""WeightingLearner on its own (schedule and phases, reward, buffer, update order, state, NaN/inf), and
NonFiniteLossHook on a message hub."""
import copy
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

import mtkd_rl  # noqa: F401
from mtkd_rl.options import OptionError
from mtkd_rl.registry import HOOKS, TEACHER_WEIGHTINGS, build
from mtkd_rl.weighting import (DistillationTerms, RewardTerms, WeightingLearner, WeightingPhase,
                              normalized_reward)

COLLECT = WeightingPhase(acting=True, collecting=True)


def mtkdrl(seed=0, **kw):
    torch.manual_seed(seed)
    return build(dict(type='MTKD-RL', **kw), TEACHER_WEIGHTINGS,
                 default_args=dict(num_teachers=3, embedding_dims=[5] * 3, summary_dims=[4] * 3))


def make_terms(b=6, m=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    return DistillationTerms(logit_kd=r(b, m) * 3, teacher_loss=r(b, m) * 2, student_loss=r(b),
                             embeddings=[r(b, 5) for _ in range(m)], summaries=[r(b, 4) for _ in range(m)],
                             feature_kd=r(b, m), cosine=r(b, m) * 2 - 1)


def reward_terms(terms, weights):
    return RewardTerms(terms.student_loss, (weights.logit * terms.logit_kd).sum(1),
                       (weights.feature * terms.feature_kd).sum(1))


def collect_batches(learner, n, seed=0):
    """Weigh and collect ``n`` batches as training iterations do; returns their transitions as stored."""
    for i in range(n):
        terms = make_terms(seed=seed + i)
        weights = learner.weighting(terms, COLLECT)
        learner.collect(weights.rollout, reward_terms(terms, weights))
    return list(learner.buffer)


# ------------------------------------------------------------------------------------------- schedule, phases
@pytest.mark.parametrize('learn_during_warmup', [True, False])
def test_phases_of_an_epoch_warmup(learn_during_warmup):
    learner = WeightingLearner(mtkdrl(), warmup_epochs=2, learn_during_warmup=learn_during_warmup)
    for iteration, epoch, acting in ((0, 0, False), (7, 1, False), (8, 2, True), (100, 5, True)):
        learner.begin_iteration(iteration, epoch)
        assert learner.in_warmup() is not acting
        assert learner.phase() == WeightingPhase(acting=acting, collecting=acting or learn_during_warmup)
    assert learner.has_warmup() and not WeightingLearner(mtkdrl(), warmup_epochs=0).has_warmup()


def test_a_warmup_in_iterations_replaces_the_epochs():
    learner = WeightingLearner(mtkdrl(), warmup_epochs=5, warmup_iters=3)
    learner.begin_iteration(2, 0)
    assert learner.phase() == WeightingPhase(acting=False, collecting=True)
    learner.begin_iteration(3, 0)
    assert learner.phase() == WeightingPhase(acting=True, collecting=True)
    assert not WeightingLearner(mtkdrl(), warmup_iters=0).has_warmup()


def test_updates_are_due_on_the_interval_at_epoch_ends_and_at_the_end_of_the_warmup():
    learner = WeightingLearner(mtkdrl(), interval=4, warmup_iters=3, update_at_epoch_end=False)
    due = []
    for iteration in range(10):
        learner.begin_iteration(iteration, 0)
        if learner.end_iteration():
            due.append(learner.iterations_done)
    assert due == [3, 4, 8]  # the warm-up's end, then every 4 iterations (global count)
    assert not learner.end_epoch(0)  # no epoch-end updates; a warm-up in iterations does not end with an epoch
    by_epochs = WeightingLearner(mtkdrl(), interval=100, warmup_epochs=2, update_at_epoch_end=False)
    assert [by_epochs.end_epoch(e) for e in range(4)] == [False, True, False, False]
    assert all(WeightingLearner(mtkdrl(), warmup_epochs=2).end_epoch(e) for e in range(4))


# ------------------------------------------------------------------------------------------------ the reward
@pytest.mark.parametrize('feature', [True, False])
def test_the_reward_is_the_normalised_negative_cost_of_the_batch(feature):
    learner = WeightingLearner(mtkdrl())
    terms = make_terms()
    weights = learner.weighting(terms, COLLECT)
    kd_logit = (weights.logit * terms.logit_kd).sum(1).requires_grad_(True)
    kd_feature = (weights.feature * terms.feature_kd).sum(1) if feature else None
    reward = learner.reward(RewardTerms(terms.student_loss, kd_logit, kd_feature))
    total = terms.student_loss + kd_logit.detach()
    if feature:
        total = total + kd_feature
    assert torch.equal(reward, normalized_reward(-total)) and not reward.requires_grad
    assert ((reward >= 0) & (reward <= 1)).all()


# ------------------------------------------------------------------------------------------------ the buffer
def test_collected_batches_wait_on_the_cpu_with_their_reward_oldest_dropped():
    learner = WeightingLearner(mtkdrl(), interval=10, buffer_size=2)
    terms = make_terms()
    weights = learner.weighting(terms, COLLECT)
    learner.collect(weights.rollout, reward_terms(terms, weights))
    stored = learner.buffer[-1]
    assert set(stored) == set(weights.rollout) | {'reward'}
    assert all(torch.equal(stored[k], v) for k, v in weights.rollout.items())
    assert torch.equal(stored['reward'], learner.reward(reward_terms(terms, weights)))
    assert all(v.device.type == 'cpu' and not v.requires_grad for v in stored.values())
    collect_batches(learner, 2, seed=1)
    assert len(learner.buffer) == 2 and learner.buffer[0] is not stored  # the oldest went
    assert WeightingLearner(mtkdrl(), interval=7).buffer.maxlen == 7  # by default, one interval


def test_the_model_device_buffer_keeps_the_tensors():
    learner = WeightingLearner(mtkdrl(), buffer_device='model')
    terms = make_terms()
    weights = learner.weighting(terms, COLLECT)
    learner.collect(weights.rollout, reward_terms(terms, weights))
    assert all(learner.buffer[-1][k] is v for k, v in weights.rollout.items())


# ------------------------------------------------------------------------------------------------ the update
@pytest.mark.parametrize('update', ['surrogate', 'policy_gradient'])
def test_one_step_per_stored_batch_in_order_then_the_buffer_clears(update):
    learner = WeightingLearner(mtkdrl(update=update), optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
    transitions = collect_batches(learner, 3)
    by_hand = copy.deepcopy(learner.weighting)
    optimizer = torch.optim.SGD(by_hand.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for transition in transitions:
        loss = by_hand.update_loss(transition)
        optimizer.zero_grad(set_to_none=False)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    mean = learner.update()
    assert mean == pytest.approx(float(torch.stack(losses).mean()), rel=0, abs=0)
    assert all(torch.equal(p, q) for p, q in zip(learner.weighting.parameters(), by_hand.parameters()))
    assert learner.num_updates == 1 and len(learner.buffer) == 0
    assert learner.update() is None and learner.num_updates == 1  # nothing stored: no update


def test_a_non_finite_update_is_named():
    learner = WeightingLearner(mtkdrl())
    transitions = collect_batches(learner, 3)
    learner.buffer[1]['reward'] = torch.full_like(transitions[1]['reward'], float('nan'))
    learner.buffer[2]['reward'] = torch.full_like(transitions[2]['reward'], float('inf'))
    learner.begin_iteration(4, 0)
    learner.end_iteration()
    with pytest.raises(FloatingPointError, match=r"teacher-weighting agent update 1 \(after iteration 5\): its loss "
                                                 r"is nan on stored batch 2 of 3 \(and on 1 later ones\); "
                                                 r"parameters policy\.hidden\.weight, .* hold NaN or inf\. .*"
                                                 r"custom_hooks\[i\]\.optimizer\.lr"):
        learner.update()


def test_broadcast_is_nothing_on_one_process():
    learner = WeightingLearner(mtkdrl())
    before = [p.detach().clone() for p in learner.weighting.parameters()]
    learner.broadcast()
    assert all(torch.equal(a, b) for a, b in zip(before, learner.weighting.parameters()))


# ------------------------------------------------------------------------------------------------- the state
def test_state_round_trip_continues_the_same_updates():
    options = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
    learner = WeightingLearner(mtkdrl(seed=0), **options)
    collect_batches(learner, 2)
    learner.update()
    collect_batches(learner, 2, seed=10)
    state = learner.state_dict()
    assert set(state) == {'type', 'state_dict', 'optimizer', 'buffer', 'num_updates'}
    assert state['type'] == 'MTKDRLWeighting' and state['num_updates'] == 1 and len(state['buffer']) == 2
    assert state['optimizer']['state']  # the momentum buffers
    saved = copy.deepcopy(state)
    resumed = WeightingLearner(mtkdrl(seed=1), **options)  # another initialisation, overwritten
    resumed.load_state_dict(saved)
    assert resumed.num_updates == 1 and len(resumed.buffer) == 2
    learner.update()
    resumed.update()
    assert all(torch.equal(p, q) for p, q in zip(learner.weighting.parameters(), resumed.weighting.parameters()))
    assert resumed.num_updates == learner.num_updates == 2


def test_loading_the_state_of_another_weighting_or_pool_is_refused():
    state = WeightingLearner(mtkdrl()).state_dict()
    with pytest.raises(ValueError, match="the checkpoint's teacher weighting is AEKDWeighting but "
                                         "model.weighting builds MTKDRLWeighting; resume with the same weighting"):
        WeightingLearner(mtkdrl()).load_state_dict(dict(state, type='AEKDWeighting'))
    two = build(dict(type='MTKD-RL'), TEACHER_WEIGHTINGS,
                default_args=dict(num_teachers=2, embedding_dims=[5] * 2, summary_dims=[4] * 2))
    with pytest.raises(RuntimeError, match=r'(?s)does not fit this teacher pool.*same model\.teachers'):
        WeightingLearner(two).load_state_dict(state)


# ----------------------------------------------------------------------------------------------- the options
@pytest.mark.parametrize('kw,key', [(dict(interval=0), 'interval'), (dict(warmup_epochs=-1), 'warmup_epochs'),
                                    (dict(warmup_iters=1.5), 'warmup_iters'), (dict(buffer_size=0), 'buffer_size'),
                                    (dict(learn_during_warmup='yes'), 'learn_during_warmup'),
                                    (dict(optimizer=dict(lr=0.1)), 'optimizer'),
                                    (dict(buffer_device='gpu'), 'buffer_device')])
def test_bad_options_name_the_key(kw, key):
    with pytest.raises(OptionError, match=rf'learner\.{key} must be'):
        WeightingLearner(mtkdrl(), key='learner.{}', **kw)


def test_a_fixed_weighting_has_no_learner():
    aver = build(dict(type='AVER'), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=3))
    with pytest.raises(ValueError, match='AverageWeighting does not learn'):
        WeightingLearner(aver)


# ---------------------------------------------------------------------------------------- NonFiniteLossHook
def hub_runner(values, iteration=4):
    hub = MessageHub.get_instance(f'non_finite_{id(values)}')
    for key, value in values.items():
        hub.update_scalar(f'train/{key}', value)
    return SimpleNamespace(message_hub=hub, iter=iteration)


def test_non_finite_loss_hook_names_the_terms_and_the_iteration():
    hook = HOOKS.build(dict(type='mtkd_rl.NonFiniteLossHook'))
    assert type(hook).__name__ == 'NonFiniteLossHook' and hook.priority == 'ABOVE_NORMAL'
    values = {'loss': float('nan'), 'loss_kd_logit': float('nan'), 'kd_logit.a': float('inf'), 'w_logit.a': 0.5}
    with pytest.raises(FloatingPointError, match=r"training stopped at iteration 5: 'loss_kd_logit' is nan, "
                                                 r"'kd_logit\.a' is inf\. Check the teachers' checkpoints and the "
                                                 r"data, lower the learning rate, or enable gradient clipping "
                                                 r"\(optim_wrapper\.clip_grad\)$"):
        hook.after_train_iter(hub_runner(values), 0, outputs=dict.fromkeys(values, torch.tensor(0.0)))
    only_total = {'loss': float('inf'), 'loss_kd_logit': 1.0}
    with pytest.raises(FloatingPointError, match=r"iteration 1: 'loss' is inf\."):
        hook.after_train_iter(hub_runner(only_total, 0), 0, outputs=dict.fromkeys(only_total, torch.tensor(0.0)))
    finite = {'loss': 1.0, 'loss_kd_logit': 0.5}
    hook.after_train_iter(hub_runner(finite), 0, outputs=dict.fromkeys(finite, torch.tensor(0.0)))
    hook.after_train_iter(hub_runner({}), 0, outputs=None)
