"""A poor teacher in the pool: the pool check that names it, and the options that keep it from teaching."""
import math
import re

import pytest
import torch

from mtkd_rl.distillers.teacher_check import TeacherPoolCheck
from mtkd_rl.registry import TEACHER_WEIGHTINGS, build
from mtkd_rl.weighting import DistillationTerms, WeightingPhase, confidence_prior
from mtkd_rl.weighting.correctness import correct_teachers_kl_prior, gate_weights, teacher_correctness

from conftest import MTKDRL_CONFIG, SMALL_RUN, TEACHER_CONFIGS, cfg_options, run_tool

#: A training iteration's phase after the warm-up: the agent acts and the batch is learnt from.
COLLECT = WeightingPhase(acting=True, collecting=True)


def terms_of(loss, accuracy=None, kl=None):
    loss = torch.as_tensor(loss, dtype=torch.float32)
    b, m = loss.shape
    return DistillationTerms(
        logit_kd=torch.as_tensor(kl, dtype=torch.float32) if kl is not None else torch.ones(b, m),
        teacher_loss=loss,
        student_loss=torch.ones(b),
        embeddings=[torch.zeros(b, 2) for _ in range(m)],
        summaries=[torch.zeros(b, 3) for _ in range(m)],
        teacher_accuracy=torch.as_tensor(accuracy, dtype=torch.float32) if accuracy is not None else None)


# ----------------------------------------------------------------------------- the KL prior

def test_correct_teachers_prior_exact():
    kl = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    ce = torch.tensor([[0.5, 0.2, 4.0], [0.5, 0.2, 4.0]])
    accuracy = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    w = correct_teachers_kl_prior(kl, ce, accuracy)
    e1, e2 = math.exp(1), math.exp(2)
    torch.testing.assert_close(w, torch.tensor([[e1 / (e1 + e2), e2 / (e1 + e2), 0.0], [0.0, 1.0, 0.0]]))


def test_correct_teachers_prior_when_no_teacher_is_right():
    kl = torch.tensor([[1.0, 2.0, 3.0]])
    ce = torch.tensor([[0.5, 0.2, 4.0]])
    w = correct_teachers_kl_prior(kl, ce, torch.zeros(1, 3))
    torch.testing.assert_close(w, confidence_prior(ce))


def test_correct_teachers_prior_without_accuracy_uses_relative_likelihood():
    kl = torch.tensor([[0.0, math.log(2.0)]])
    ce = torch.tensor([[1.0, 1.0 + math.log(4.0)]])  # teacher 1 is 4x less likely than teacher 0
    w = correct_teachers_kl_prior(kl, ce)
    # softmax(kl) = [1/3, 2/3]; gate = [1, 1/4] -> [1/3, 1/6] / (1/2)
    torch.testing.assert_close(w, torch.tensor([[2 / 3, 1 / 3]]))


def test_reference_prior_favours_the_confidently_wrong_teacher_and_the_option_does_not():
    # teacher 2 is confidently wrong: far from the student (large KL) and a large loss
    kl = torch.tensor([[2.0, 2.5, 30.0]])
    ce = torch.tensor([[0.3, 0.4, 8.0]])
    accuracy = torch.tensor([[1.0, 1.0, 0.0]])
    make = lambda prior: build(  # noqa: E731
        dict(type='MTKD-RL', kl_prior=prior), TEACHER_WEIGHTINGS,
        default_args=dict(num_teachers=3, embedding_dims=[2] * 3, summary_dims=[3] * 3))
    terms = terms_of(ce, accuracy, kl)
    torch.manual_seed(0)
    reference = make('reference')
    torch.manual_seed(0)
    gated = make('correct_teachers')
    a_logit = reference.policy(reference.build_state(terms))[0].softmax(1)
    w_ce = confidence_prior(ce)
    # the reference KL prior is all on the wrong teacher: it gets more than AVER's 1/3
    torch.testing.assert_close(reference(terms, COLLECT).logit[0, 2], (a_logit[0, 2] + w_ce[0, 2] + 1.0) / 3)
    assert reference(terms, COLLECT).logit[0, 2] > 1 / 3
    # the option gives it none of the KL prior: only the agent's and the confidence prior's shares
    torch.testing.assert_close(gated(terms, COLLECT).logit[0, 2], (a_logit[0, 2] + w_ce[0, 2]) / 3)


def test_unknown_kl_prior():
    with pytest.raises(ValueError, match='model.weighting.kl_prior'):
        build(dict(type='MTKD-RL', kl_prior='nope'), TEACHER_WEIGHTINGS,
              default_args=dict(num_teachers=2, embedding_dims=[2, 2], summary_dims=[3, 3]))


def test_correct_teachers_prior_is_used_in_the_agent_update():
    agent = build(dict(type='MTKD-RL', kl_prior='correct_teachers'), TEACHER_WEIGHTINGS,
                  default_args=dict(num_teachers=3, embedding_dims=[2] * 3, summary_dims=[3] * 3))
    terms = terms_of([[0.3, 0.4, 8.0]] * 4, [[1.0, 1.0, 0.0]] * 4, [[2.0, 2.5, 30.0]] * 4)
    rollout = agent(terms, COLLECT).rollout
    assert torch.equal(rollout['accuracy'], terms.teacher_accuracy)
    loss = agent.update_loss(dict(rollout, reward=torch.ones(4)))
    assert torch.isfinite(loss)


# ----------------------------------------------------------------------------- the correctness gate

def test_gate_weights_keeps_each_row_total():
    w = torch.tensor([[1.0, 1.0, 1.0], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])
    g = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.5, 0.0]])
    torch.testing.assert_close(gate_weights(w, g), torch.tensor(
        [[3.0, 0.0, 0.0], [0.0, 0.6, 0.4], [0.2, 0.3, 0.5], [6 / 7, 1 / 7, 0.0]]))


def test_teacher_correctness():
    ce = torch.tensor([[1.0, 1.0 + math.log(4.0)]])
    torch.testing.assert_close(teacher_correctness(ce), torch.tensor([[1.0, 0.25]]))
    accuracy = torch.tensor([[0.0, 1.0]])
    assert teacher_correctness(ce, accuracy) is accuracy


def make_agent(**options):
    torch.manual_seed(0)
    return build(dict(type='MTKD-RL', **options), TEACHER_WEIGHTINGS,
                 default_args=dict(num_teachers=3, embedding_dims=[2] * 3, summary_dims=[3] * 3))


def test_correctness_gate_mutes_the_wrong_teachers_on_both_heads():
    kl = torch.tensor([[2.0, 2.5, 30.0], [1.0, 1.0, 1.0]])
    ce = torch.tensor([[0.3, 0.4, 8.0], [2.0, 3.0, 4.0]])
    accuracy = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    cos = torch.tensor([[0.1, 0.2, 0.9], [0.3, 0.3, 0.3]])
    terms = terms_of(ce, accuracy, kl)
    terms.cosine = cos
    reference, gated = make_agent(), make_agent(correctness_gate=True)
    ref, out = reference(terms, COLLECT), gated(terms, COLLECT)
    # only teacher 0 is right on sample 0: it takes the whole weight of both heads
    torch.testing.assert_close(out.logit[0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(out.feature[0], torch.tensor([1.0, 0.0, 0.0]))
    # no teacher is right on sample 1: the reference weights
    torch.testing.assert_close(out.logit[1], ref.logit[1])
    torch.testing.assert_close(out.feature[1], ref.feature[1])
    assert torch.equal(out.rollout['accuracy'], accuracy)
    loss = gated.update_loss(dict(out.rollout, reward=torch.ones(2)))
    assert torch.isfinite(loss)


def test_correctness_gate_with_soft_correctness_matches_gate_weights():
    ce = torch.tensor([[0.5, 0.9, 2.0]])
    accuracy = torch.tensor([[0.9, 0.6, 0.2]])  # shares of correct pixels
    terms = terms_of(ce, accuracy, [[1.0, 2.0, 3.0]])
    ref, out = make_agent()(terms, COLLECT), make_agent(correctness_gate=True)(terms, COLLECT)
    torch.testing.assert_close(out.logit, gate_weights(ref.logit, accuracy))
    torch.testing.assert_close(out.feature, gate_weights(ref.feature, accuracy))
    torch.testing.assert_close(out.logit.sum(1), torch.ones(1))


@pytest.mark.parametrize('warmup_weights,value', [('ones', 1.0), ('uniform', 1 / 3)])
def test_correctness_gate_in_warmup(warmup_weights, value):
    agent = make_agent(correctness_gate=True, warmup_weights=warmup_weights)
    terms = terms_of([[0.3, 0.4, 8.0], [0.3, 0.4, 8.0]], [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    w = agent(terms, WeightingPhase(acting=False))
    torch.testing.assert_close(w.logit, torch.tensor([[1.5, 1.5, 0.0], [1.0, 1.0, 1.0]]) * value)
    torch.testing.assert_close(w.feature, w.logit)


# ----------------------------------------------------------------------------- the pool check

def test_pool_check_names_the_far_worse_teacher():
    check = TeacherPoolCheck(['a', 'b', 'c'], iters=2)
    for _ in range(2):
        check.update(terms_of([[0.3, 0.4, 6.0], [0.5, 0.3, 5.0]], [[1, 1, 0], [1, 0, 0]]))
    assert check.done and len(check.findings) == 1
    finding = check.findings[0]
    assert finding.startswith("teacher 'c' (model.teachers[2]) is far worse than the rest of the pool on the "
                              'first 2 training batches')
    assert 'task loss 5.5 vs 0.375 (14.7x)' in finding and 'accuracy 0.0% vs 75.0%' in finding


def test_pool_check_is_quiet_for_a_consistent_pool_and_a_single_teacher():
    check = TeacherPoolCheck(['a', 'b', 'c'], iters=1)
    check.update(terms_of([[0.3, 0.4, 0.5], [0.2, 0.6, 0.3]], [[1, 1, 1], [1, 1, 1]]))
    assert check.done and check.findings == []
    single = TeacherPoolCheck(['a'], iters=1)
    assert single.done


def test_pool_check_without_accuracy_uses_the_loss():
    check = TeacherPoolCheck(['a', 'b'], iters=1)
    check.update(terms_of([[0.2, 3.0]]))
    assert len(check.findings) == 1 and "teacher 'b'" in check.findings[0]


@pytest.mark.parametrize('kw,key', [(dict(iters=0), 'iters'), (dict(loss_ratio=1.0), 'loss_ratio'),
                                    (dict(accuracy_gap=1.5), 'accuracy_gap')])
def test_pool_check_bad_settings(kw, key):
    with pytest.raises(ValueError, match=f'model.teacher_check.{key}'):
        TeacherPoolCheck(['a', 'b'], **kw)


# ----------------------------------------------------------------------------- real data

@pytest.fixture(scope='module')
def pool_with_a_wrong_teacher(fashion_mnist, tmp_path_factory):
    """A Fashion-MNIST teacher trained for one short epoch, and a copy whose classifier rows are rolled by
    one class: it predicts with the same confidence, in another label order."""
    root = tmp_path_factory.mktemp('poor')
    config = TEACHER_CONFIGS['resnet18_w16']
    run_tool('python', 'tools/train.py', config, '--work-dir', str(root / 'teacher'), '--cfg-options',
             *cfg_options({**SMALL_RUN, 'train_dataloader.dataset.indices': 256, 'train_cfg.max_epochs': 1,
                           'train_cfg.val_interval': 10}))
    good = root / 'teacher' / 'epoch_1.pth'
    ckpt = torch.load(good)
    for key in ('head.fc.weight', 'head.fc.bias'):
        ckpt['state_dict'][key] = ckpt['state_dict'][key].roll(1, 0)
    wrong = root / 'wrong.pth'
    torch.save(ckpt, wrong)
    teachers = [('good_a', good), ('good_b', good), ('wrong', wrong)]
    options = {}
    for i, (name, path) in enumerate(teachers):
        options[f'model.teachers.{i}.config'] = config
        options[f'model.teachers.{i}.checkpoint'] = str(path)
        options[f'model.teachers.{i}.name'] = name
    return root, options


def mean_logged(log, key):
    values = [float(v) for v in re.findall(rf'{re.escape(key)}: ([0-9.]+)', log)]
    assert values, key
    return sum(values) / len(values)


def test_real_pool_check_and_correctness_gate(pool_with_a_wrong_teacher):
    root, teachers = pool_with_a_wrong_teacher
    options = {**SMALL_RUN, **teachers, 'train_cfg.max_epochs': 1, 'model.teacher_check.iters': 3,
               'custom_hooks.0.warmup_epochs': 0, 'model.weighting.correctness_gate': True,
               'val_dataloader.dataset.indices': 32, 'test_dataloader.dataset.indices': 32}
    log = run_tool('python', 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(root / 'student'),
                   '--cfg-options', *cfg_options(options))
    assert "teacher 'wrong' (model.teachers[2]) is far worse than the rest of the pool" in log
    assert "teacher 'good_a'" not in log and "teacher 'good_b'" not in log
    assert mean_logged(log, 'teacher_acc.wrong') < mean_logged(log, 'teacher_acc.good_a')
    assert mean_logged(log, 'teacher_risk.wrong') > mean_logged(log, 'teacher_risk.good_a')
    # gated, the wrong teacher teaches only where no teacher is right: less than AVER's 1/3 on both heads
    for head in ('w_logit', 'w_feature'):
        assert mean_logged(log, f'{head}.wrong') < 1 / 3 < mean_logged(log, f'{head}.good_a')
