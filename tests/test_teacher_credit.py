"""Teacher credit: the cosine of each teacher's distillation gradient with the task gradient."""
import math

import pytest
import torch
import torch.nn as nn

from mtkd_rl.weighting.teacher_credit import averaged_across_ranks, credit_targets, gradient_alignment


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


def test_credit_is_left_alone_in_one_process():
    credit = torch.tensor([0.1, 0.2])
    assert averaged_across_ranks(credit) is credit


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_gradient_alignment_returns_float32(dtype):
    w = nn.Parameter(torch.ones(2, dtype=dtype))
    got = gradient_alignment([w.sum()], w.sum(), [w])
    assert got.dtype == torch.float32 and float(got) == pytest.approx(1.0)
