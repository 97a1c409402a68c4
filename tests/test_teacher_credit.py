"""Teacher credit: the cosine of each teacher's distillation gradient with the task gradient."""
import math

import pytest
import torch
import torch.nn as nn

from mtkd_rl.weighting.teacher_credit import (CreditAverage, averaged_across_ranks, credit_loss, credit_targets,
                                              gradient_alignment)


def test_gradient_alignment_is_the_cosine_over_all_parameters():
    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    b = nn.Parameter(torch.tensor(0.5))
    a = torch.tensor([3.0, 4.0])
    task = (w * a).sum() + 2.0 * b                      # gradient (3, 4, 2)
    teachers = [
        (w * a).sum() + 2.0 * b,                       # the same pull: 1
        -(w * a).sum() - 2.0 * b,                      # the opposite: -1
        (w * torch.tensor([4.0, -3.0])).sum(),         # orthogonal: 0
        w[0] * 1.0,                                    # (1, 0, 0): 3 / sqrt(29)
        torch.tensor(2.0),                             # no dependence: 0
        b * 1.0,                                       # (0, 0, 1): 2 / sqrt(29)
    ]
    got = gradient_alignment(teachers, task, [w, b])
    expected = torch.tensor([1.0, -1.0, 0.0, 3 / math.sqrt(29), 0.0, 2 / math.sqrt(29)])
    torch.testing.assert_close(got, expected)
    # the graph is kept for the training step's own backward
    task.backward()
    torch.testing.assert_close(w.grad, a)


def test_gradient_alignment_of_a_real_network_is_scale_free_and_bounded():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16, ))
    logits = net(x)
    task = nn.functional.cross_entropy(logits, y)
    teacher = torch.randn(16, 3)
    kd = nn.functional.kl_div(logits.log_softmax(1), teacher.softmax(1), reduction='batchmean')
    params = list(net.parameters())
    one = gradient_alignment([kd], task, params)
    scaled = gradient_alignment([5.0 * kd], 0.1 * task, params)
    torch.testing.assert_close(one, scaled)
    assert -1.0 <= float(one) <= 1.0
    # distilling towards the labels themselves agrees with the task
    onehot = nn.functional.one_hot(y, 3).float() * 20.0
    towards_labels = nn.functional.kl_div(logits.log_softmax(1), onehot.softmax(1), reduction='batchmean')
    assert float(gradient_alignment([towards_labels], task, params)) > 0.9


def test_credit_targets_prefer_the_teachers_with_most_credit():
    credit = torch.tensor([0.2, 0.5, -0.3])
    sharp = credit_targets(credit, 0.05)
    torch.testing.assert_close(sharp, torch.softmax(credit / 0.05, 0))
    assert int(sharp.argmax()) == 1 and float(sharp[1]) > 0.99
    torch.testing.assert_close(credit_targets(credit, 1e6), torch.full((3, ), 1 / 3))


def test_credit_average_is_bias_corrected():
    """After n measurements the i-th weighs (1 - m) m^(n-i) / (1 - m^n): the first is taken as it is, and it
    does not keep more weight than its place gives it (m^(n-1) = 0.53 after 7 at 0.9 without the correction)."""
    average = CreditAverage(1, momentum=0.9)
    average.add(torch.tensor([1.0]))
    torch.testing.assert_close(average.value, torch.tensor([1.0]))
    for _ in range(6):
        average.add(torch.tensor([0.0]))
    torch.testing.assert_close(average.value, torch.tensor([0.1 * 0.9 ** 6 / (1 - 0.9 ** 7)]))
    torch.testing.assert_close(average.weight, torch.tensor(1 - 0.9 ** 7))
    assert set(average.state_dict()) == {'value', 'measured', 'weight'}
    # per head, at momentum 0.75: the two measurements weigh 0.75 * 0.25 and 0.25, over 1 - 0.75^2
    heads = CreditAverage(2, momentum=0.75, heads=2)
    heads.add(torch.tensor([[0.4, -0.2], [0.1, 0.0]]))
    heads.add(torch.tensor([[0.0, 0.2], [0.3, 0.4]]))
    torch.testing.assert_close(heads.value, (0.1875 * torch.tensor([[0.4, -0.2], [0.1, 0.0]])
                                             + 0.25 * torch.tensor([[0.0, 0.2], [0.3, 0.4]])) / 0.4375)
    # no momentum: the last measurement
    last = CreditAverage(2, momentum=0.0)
    last.add(torch.tensor([0.3, 0.1]))
    last.add(torch.tensor([-0.2, 0.5]))
    torch.testing.assert_close(last.value, torch.tensor([-0.2, 0.5]))
    # an average saved before the correction (no 'weight') loads with its measurements at full weight
    restored = CreditAverage(2, momentum=0.9)
    restored.load_state_dict({'value': torch.tensor([0.4, 0.2]), 'measured': torch.tensor(True)})
    restored.add(torch.tensor([0.0, 0.0]))
    torch.testing.assert_close(restored.value, torch.tensor([0.36, 0.18]))


def test_credit_is_left_alone_in_one_process():
    credit = torch.tensor([0.1, 0.2])
    assert averaged_across_ranks(credit) is credit


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_gradient_alignment_returns_float32(dtype):
    w = nn.Parameter(torch.ones(2, dtype=dtype))
    got = gradient_alignment([w.sum()], w.sum(), [w])
    assert got.dtype == torch.float32 and float(got) == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------------------------
# MTKD-RL's credit update through the distiller and the learner


def credit_distiller(random_teachers, **options):
    from mmengine.registry import MODELS as MMENGINE_MODELS
    from mmengine.registry import DefaultScope

    from conftest import attach_acting_learner, distiller_cfg
    weighting = dict(type='MTKD-RL', update='credit', **options)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MMENGINE_MODELS.build(distiller_cfg(random_teachers, weighting=weighting))
    learner = attach_acting_learner(model, interval=1000, update_at_epoch_end=False)
    return model.train(), learner


def training_batch(model, n=6, seed=0):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    inputs = list(torch.rand(n, 1, 28, 28, generator=g) * 255)
    samples = [DataSample().set_gt_label(int(i % 10)) for i in range(n)]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)


def test_the_learner_asks_for_credit_every_interval_on_collected_batches(random_teachers):
    model, learner = credit_distiller(random_teachers, credit_interval=3)
    measured = []
    for i in range(7):
        learner.begin_iteration(i, 0)
        measured.append(learner.phase().measuring_credit)
    assert measured == [True, False, False, True, False, False, True]
    warm = type(learner)(model.weighting, warmup_epochs=1, learn_during_warmup=False)
    warm.begin_iteration(0, 0)
    assert not warm.phase().collecting and not warm.phase().measuring_credit
    reference, reference_learner = credit_distiller(random_teachers)
    reference.weighting.credit_interval = None  # as every other weighting: no credit asked for
    reference_learner.begin_iteration(0, 0)
    assert not reference_learner.phase().measuring_credit


def test_credit_is_measured_logged_stored_and_averaged(random_teachers):
    model, learner = credit_distiller(random_teachers, credit_interval=2, credit_momentum=0.5)
    names = model.teacher_names
    credits = []
    for i in range(3):
        learner.begin_iteration(i, 0)
        losses = model(**training_batch(model, seed=i), mode='loss')
        logged = [k for k in losses if k.startswith('credit.')]
        if i % 2 == 0:
            assert logged == [f'credit.{n}' for n in names]
            credit = torch.stack([losses[f'credit.{n}'] for n in names])
            assert credit.shape == (3, ) and bool(((credit >= -1) & (credit <= 1)).all())
            assert not credit.requires_grad
            credits.append(credit)
        else:
            assert logged == []
        # the training step's backward still runs on the kept graph
        sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert len(learner.buffer) == 3 and all('credit' not in t for t in learner.buffer)
    # folded into the weighting's average as measured (bias-corrected at momentum 0.5: weights 0.25 and 0.5 over
    # 0.75), not again at the agent's update
    assert bool(model.weighting.credit.measured)
    torch.testing.assert_close(model.weighting.credit.value, credits[0] / 3 + 2 * credits[1] / 3)
    learner.update()
    torch.testing.assert_close(model.weighting.credit.value, credits[0] / 3 + 2 * credits[1] / 3)


def test_credit_update_moves_the_weights_towards_the_target(random_teachers):
    model, learner = credit_distiller(random_teachers, credit_temperature=0.05)
    learner.begin_iteration(0, 0)
    model(**training_batch(model), mode='loss')
    transition = dict(learner.buffer[0])
    weighting = model.weighting
    # a made-up credit average: the second teacher helps, the third pulls against the labels
    weighting.credit.load_state_dict(dict(value=torch.tensor([0.1, 0.6, -0.4]), measured=torch.tensor(True),
                                          weight=torch.tensor(1.0)))
    optimizer = torch.optim.SGD(weighting.parameters(), lr=0.5)
    losses = []
    for _ in range(20):
        loss = weighting.update_loss(transition)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    with torch.no_grad():
        w_logit, _ = weighting._weights(weighting.policy(transition['state']), transition['ce'], transition['kl'],
                                        transition.get('cos'))
    mean = w_logit.mean(0)
    assert int(mean.argmax()) == 1 and int(mean.argmin()) == 2


def test_nothing_is_learnt_before_the_first_measurement(random_teachers):
    model, learner = credit_distiller(random_teachers, credit_interval=2)
    learner.begin_iteration(1, 0)  # not a measuring iteration
    model(**training_batch(model), mode='loss')
    transition = learner.buffer[0]
    assert not bool(model.weighting.credit.measured)
    loss = model.weighting.update_loss(transition)
    assert float(loss) == 0.0 and loss.requires_grad


@pytest.mark.parametrize('option, value, message', [
    ('credit_interval', 0, 'credit_interval'),
    ('credit_momentum', 1.0, 'must be below 1'),
    ('credit_temperature', 0.0, 'must be above 0'),
    ('credit_heads', 'both', "credit_heads must be one of"),
])
def test_credit_options_are_checked(option, value, message):
    from mtkd_rl.weighting import MTKDRLWeighting
    with pytest.raises(ValueError, match=message):
        MTKDRLWeighting(2, [4, 4], [3, 3], update='credit', **{option: value})
    with pytest.raises(ValueError, match="components='priors' uses no agent.*update='credit'"):
        MTKDRLWeighting(2, [4, 4], [3, 3], update='credit', components='priors')


def test_the_guides_weighting_with_parameters_learns_from_the_credit(random_teachers):
    """The example of docs/advanced_guides/adding_a_weighting.md, run as written, end to end in one process."""
    import os.path as osp
    import re

    from mmengine.registry import MODELS as MMENGINE_MODELS
    from mmengine.registry import DefaultScope

    from conftest import REPO, attach_acting_learner, distiller_cfg
    with open(osp.join(REPO, 'docs', 'advanced_guides', 'adding_a_weighting.md')) as f:
        code = re.search(r'<!-- weighting-example -->\n```python\n(.*?)```', f.read(), re.S).group(1)
    assert len(code.splitlines()) < 60
    namespace = {}
    exec(code.replace("register_module(name='CREDIT-PREFERENCE')",
                      "register_module(name='CREDIT-PREFERENCE', force=True)"), namespace)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MMENGINE_MODELS.build(
            distiller_cfg(random_teachers, weighting=dict(type='CREDIT-PREFERENCE', credit_interval=2)))
    assert isinstance(model.weighting, namespace['CreditPreference'])
    learner = attach_acting_learner(model, interval=4, update_at_epoch_end=False)
    model.train()
    credits = []
    for i in range(4):
        learner.begin_iteration(i, 0)
        losses = model(**training_batch(model, seed=i), mode='loss')
        if i % 2 == 0:
            credits.append(torch.stack([losses[f'credit.{n}'] for n in model.teacher_names]))
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        if learner.end_iteration():
            learner.update()
    assert learner.num_updates == 1 and len(learner.buffer) == 0
    # one SGD step (lr 0.1) per stored batch, each toward softmax(credit / 0.1) of the latest measurement
    assert len(credits) == 2
    expected = torch.zeros(3)
    for _ in range(4):
        expected = expected - 0.1 * (torch.softmax(expected, 0) - credit_targets(credits[-1], 0.1))
    torch.testing.assert_close(model.weighting.preference.detach(), expected)
    assert float(expected.abs().sum()) > 0


def test_separate_heads_credit_the_logit_and_the_feature_kd_apart(random_teachers):
    """``credit_heads='separate'``: a measurement is ``[2, M]`` (the logit KD's alignment, the feature KD's), each
    row the cosine of that head's KD gradient alone; each head's weights learn from its own row."""
    model, learner = credit_distiller(random_teachers, credit_interval=1, credit_heads='separate')
    learner.begin_iteration(0, 0)
    losses = model(**training_batch(model), mode='loss')
    names = model.teacher_names
    stored = model.weighting.credit.value.clone()  # the first measurement: the bias-corrected average is it
    assert stored.shape == (2, 3)
    torch.testing.assert_close(torch.stack([losses[f'credit.{n}'] for n in names]), stored[0])
    torch.testing.assert_close(torch.stack([losses[f'credit_feature.{n}'] for n in names]), stored[1])
    # row 0 is the alignment of each teacher's logit KD alone, row 1 of its feature KD alone (the same batch
    # again: no step was taken)
    from mtkd_rl.losses.loss_dict import sum_loss_dict
    batch = training_batch(model)
    student, terms, _ = model._weigh(batch['inputs'], batch['data_samples'], learner.phase())
    params = [p for p in model.student.parameters() if p.requires_grad]
    for row, kd in enumerate((terms.logit_kd, terms.feature_kd)):
        expected = gradient_alignment([kd[:, m].mean() for m in range(3)], sum_loss_dict(student.losses), params)
        torch.testing.assert_close(stored[row], expected, rtol=1e-4, atol=1e-5)
    # the update: each head's cross-entropy against the softmax of its own row
    weighting = model.weighting
    weighting.credit.add(torch.tensor([[0.3, 0.0, -0.2], [-0.2, 0.0, 0.3]]))
    transition = learner.buffer[0]
    w_logit, w_feature = weighting._weights(weighting.policy(transition['state']), transition['ce'],
                                            transition['kl'], transition.get('cos'), transition.get('accuracy'))
    value = weighting.credit.value
    expected = (credit_loss(w_logit, credit_targets(value[0], 0.1))
                + credit_loss(w_feature, credit_targets(value[1], 0.1)))
    torch.testing.assert_close(weighting.update_loss(transition), expected)


def test_logit_heads_credit_the_logit_kd_alone_for_both_heads(random_teachers):
    """``credit_heads='logit'``: a measurement is ``[M]``, the cosine of each teacher's logit KD gradient alone (its
    feature KD left out), and both heads' weights learn from it."""
    model, learner = credit_distiller(random_teachers, credit_interval=1, credit_heads='logit')
    learner.begin_iteration(0, 0)
    losses = model(**training_batch(model), mode='loss')
    names = model.teacher_names
    stored = model.weighting.credit.value.clone()  # the first measurement: the bias-corrected average is it
    assert stored.shape == (3, ) and not any(k.startswith('credit_feature.') for k in losses)
    torch.testing.assert_close(torch.stack([losses[f'credit.{n}'] for n in names]), stored)
    from mtkd_rl.losses.loss_dict import sum_loss_dict
    batch = training_batch(model)
    student, terms, _ = model._weigh(batch['inputs'], batch['data_samples'], learner.phase())
    assert terms.feature_kd is not None
    params = [p for p in model.student.parameters() if p.requires_grad]
    logit_only = gradient_alignment([terms.logit_kd[:, m].mean() for m in range(3)], sum_loss_dict(student.losses),
                                    params)
    torch.testing.assert_close(stored, logit_only, rtol=1e-4, atol=1e-5)
    joint = gradient_alignment([terms.logit_kd[:, m].mean() + terms.feature_kd[:, m].mean() for m in range(3)],
                               sum_loss_dict(student.losses), params)
    assert not torch.allclose(stored, joint, rtol=1e-3, atol=1e-4)
    weighting = model.weighting
    transition = learner.buffer[0]
    loss = weighting.update_loss(transition)
    w_logit, w_feature = weighting._weights(weighting.policy(transition['state']), transition['ce'],
                                            transition['kl'], transition.get('cos'), transition.get('accuracy'))
    target = credit_targets(stored, 0.1)
    torch.testing.assert_close(loss, credit_loss(w_logit, target) + credit_loss(w_feature, target))


def test_credit_warmup_weights_are_the_credit_target_from_the_first_measurement(random_teachers):
    """``warmup_weights='credit'``: while the agent is held back, each head's weights are the credit's target
    (1/M before the first measurement), so the credit acts from its first measurement; gated like the others."""
    from mtkd_rl.weighting import WeightingPhase
    from mtkd_rl.weighting.correctness import gate_weights, teacher_correctness
    model, learner = credit_distiller(random_teachers, credit_interval=2, credit_heads='separate',
                                      warmup_weights='credit', correctness_gate=True)
    weighting = model.weighting
    warmup = WeightingPhase(acting=False, collecting=True)
    batch = training_batch(model)
    _, terms, _ = model._weigh(batch['inputs'], batch['data_samples'], warmup)
    correct = teacher_correctness(terms.teacher_loss.detach(), terms.teacher_accuracy)
    before = weighting(terms, warmup)
    uniform = torch.full_like(terms.teacher_loss, 1 / 3)
    torch.testing.assert_close(before.logit, gate_weights(uniform, correct))
    torch.testing.assert_close(before.feature, gate_weights(uniform, correct))
    credit = torch.tensor([[0.5, 0.1, -0.3], [0.05, 0.2, 0.0]])
    weighting.observe_credit(credit)
    after = weighting(terms, warmup)
    target = torch.softmax(credit / 0.1, dim=-1)
    torch.testing.assert_close(after.logit, gate_weights(target[0].expand_as(uniform), correct))
    torch.testing.assert_close(after.feature, gate_weights(target[1].expand_as(uniform), correct))
    with pytest.raises(ValueError, match="warmup_weights 'credit' takes the credit's target"):
        from mtkd_rl.weighting import MTKDRLWeighting
        MTKDRLWeighting(2, [4, 4], [3, 3], warmup_weights='credit')
