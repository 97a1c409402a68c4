"""Per-sample KD losses and connectors."""
import math

import pytest
import torch
import torch.nn.functional as F

from mtkd_rl.connectors import ConvBNReLUConnector, resize_to
from mtkd_rl.registry import MODELS, build


def test_logit_kl_exact():
    loss = build(dict(type='LogitKL', temperature=2.0))
    s = torch.tensor([[0.0, 0.0], [1.0, 3.0]])
    t = torch.tensor([[2.0, 0.0], [1.0, 3.0]])
    p = torch.softmax(torch.tensor([1.0, 0.0]), 0)
    expected0 = 4.0 * float((p * (p.log() - math.log(0.5))).sum())
    out = loss(s, t)
    assert out.shape == (2, )
    torch.testing.assert_close(out, torch.tensor([expected0, 0.0]))


def test_logit_kl_matches_torch_kl_div():
    torch.manual_seed(0)
    s, t = torch.randn(6, 10), torch.randn(6, 10)
    ref = F.kl_div(F.log_softmax(s / 4, 1), F.log_softmax(t / 4, 1), reduction='none', log_target=True).sum(1) * 16
    torch.testing.assert_close(build(dict(type='LogitKL'))(s, t), ref)


def test_logit_kl_dense_mask():
    torch.manual_seed(0)
    loss = build(dict(type='LogitKL', temperature=1.0))
    s, t = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[0, :2] = True
    out = loss(s, t, mask)
    per_pixel = (F.softmax(t, 1) * (F.log_softmax(t, 1) - F.log_softmax(s, 1))).sum(1)
    torch.testing.assert_close(out, torch.stack([per_pixel[0, :2].mean(), torch.tensor(0.0)]))


@pytest.mark.parametrize('cfg', [dict(type='LogitKL'), dict(type='FeatureMSE'), dict(type='ChannelWiseKL')])
def test_zero_when_equal_and_grad_to_student_only(cfg):
    torch.manual_seed(0)
    loss = build(cfg)
    shape = (3, 4) if cfg['type'] == 'LogitKL' else (3, 4, 5, 5)
    t = torch.randn(*shape, requires_grad=True)
    out = loss(t.detach().clone(), t)
    torch.testing.assert_close(out, torch.zeros(3), atol=1e-6, rtol=0)
    s = torch.randn(*shape, requires_grad=True)
    loss(s, t).sum().backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None


@pytest.mark.parametrize('kind', ['LogitKL', 'FeatureMSE', 'ChannelWiseKL', 'DenseSigmoidKL', 'BoxGIoUKD'])
def test_loss_weight_is_applied_inside_the_loss(kind):
    """As in OpenMMLab: ``loss_weight`` scales the returned per-sample loss (alpha, beta, the box KD weight)."""
    torch.manual_seed(0)
    if kind == 'BoxGIoUKD':
        xy = torch.rand(2, 6, 2) * 10
        student, teacher = torch.cat([xy, xy + 5], -1), torch.cat([xy + 1, xy + 4], -1)
        args = (student, teacher, torch.rand(2, 6))
    elif kind == 'DenseSigmoidKL':
        args = (torch.randn(2, 6, 3), torch.randn(2, 6, 3))
    else:
        args = (torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4))
    unit = build(dict(type=kind, loss_weight=1.0))(*args)
    assert (unit > 0).all()
    torch.testing.assert_close(build(dict(type=kind, loss_weight=2.5))(*args), 2.5 * unit)
    torch.testing.assert_close(build(dict(type=kind, loss_weight=0.0))(*args), torch.zeros(2))


def test_feature_mse_exact():
    s = torch.zeros(2, 2, 1, 2)
    t = torch.tensor([[[[1.0, 1.0]], [[1.0, 1.0]]], [[[2.0, 0.0]], [[0.0, 0.0]]]])
    torch.testing.assert_close(build(dict(type='FeatureMSE'))(s, t), torch.tensor([1.0, 1.0]))


def test_channel_wise_kl_exact():
    s = torch.zeros(1, 1, 1, 2)
    t = torch.tensor([[[[2.0, 0.0]]]])
    p = torch.softmax(torch.tensor([1.0, 0.0]), 0)  # tau = 2
    expected = 4.0 * float((p * (p.log() - math.log(0.5))).sum())
    torch.testing.assert_close(build(dict(type='ChannelWiseKL', temperature=2.0))(s, t), torch.tensor([expected]))


def test_channel_wise_kl_mask_and_empty_image():
    torch.manual_seed(0)
    loss = build(dict(type='ChannelWiseKL', temperature=1.0))
    s = torch.randn(2, 3, 4, 4, requires_grad=True)
    t = torch.randn(2, 3, 4, 4)
    mask = torch.ones(2, 4, 4, dtype=torch.bool)
    mask[1] = False
    mask[0, 0] = False
    out = loss(s, t, mask)
    ref = loss(s[:1, :, 1:], t[:1, :, 1:])
    torch.testing.assert_close(out, torch.stack([ref[0], torch.tensor(0.0)]))
    out.sum().backward()
    assert torch.isfinite(s.grad).all()


def test_bad_temperature():
    with pytest.raises(ValueError, match='temperature'):
        build(dict(type='LogitKL', temperature=0))


def test_connector_resizes_both_ways():
    c = ConvBNReLUConnector(4, 6)
    assert c(torch.randn(2, 4, 8, 8), (4, 4)).shape == (2, 6, 4, 4)
    assert c(torch.randn(2, 4, 2, 2), (4, 4)).shape == (2, 6, 4, 4)
    x = torch.arange(16.0).view(1, 1, 4, 4)
    torch.testing.assert_close(resize_to(x, (2, 2)), F.adaptive_avg_pool2d(x, 2))
    assert resize_to(x, (4, 4)) is x


@pytest.mark.parametrize('student_size, teacher_size', [((4, 4), (8, 8)), ((8, 8), (4, 4)), ((3, 5), (6, 4)),
                                                        ((4, 4), (4, 4))])
def test_connector_convolves_at_the_smaller_size_with_the_same_result(student_size, teacher_size):
    """Convolving before a growth (after a shrink) gives the map of resizing first, values and gradients."""
    torch.manual_seed(0)
    c = ConvBNReLUConnector(5, 7, relu=False).train()
    x = torch.randn(3, 5, *student_size, dtype=torch.float64, requires_grad=True)
    c.double()
    out = c(x, teacher_size)
    reference = c.bn(c.conv(resize_to(x, teacher_size)))  # the order of the definition: resize, then conv
    torch.testing.assert_close(out, reference)
    grad = torch.randn_like(out)
    g_ours = torch.autograd.grad(out, (x, c.conv.weight), grad)
    g_ref = torch.autograd.grad(reference, (x, c.conv.weight), grad)
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b)


def test_registered_under_our_scope():
    for name in ('LogitKL', 'FeatureMSE', 'ChannelWiseKL', 'ConvBNReLUConnector', 'MultiTeacherDistiller',
                 'ClassificationAdapter'):
        assert MODELS.get(name) is not None, name
