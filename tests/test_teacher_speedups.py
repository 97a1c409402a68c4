"""Cheaper teachers (model.teacher_speedups): conv-BN fusion, low precision and channels-last memory keep what
the teachers compute, on real mmpretrain and mmdet models.

Tolerances (relative to the largest value of each output): fusion and channels-last 1e-4 (float32 rounding);
bf16 5e-2 (8-bit mantissa through a whole network). The distillation terms stay float32 in every case.
"""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample
from torch.nn.modules.batchnorm import _BatchNorm

import mtkd_rl  # noqa: F401
from mtkd_rl.tasks import IterationContext
from mtkd_rl.distillers.teacher_speedups import TeacherSpeedups, fuse_teacher_conv_bn
from conftest import attach_acting_learner, distiller_cfg

EXACT, BF16 = 1e-4, 5e-2


def assert_close_rel(actual, expected, rtol, what=''):
    assert actual.dtype == torch.float32, f'{what} is {actual.dtype}'
    scale = float(expected.abs().max())
    diff = float((actual - expected).abs().max())
    assert diff <= rtol * scale + 1e-6, f'{what}: max difference {diff} for values up to {scale}'


def randomise_bn(model: nn.Module, seed: int) -> None:
    """Give every BN layer non-trivial statistics and affine parameters, so that fusion changes the weights."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)


def build(teachers, **speedups):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MMENGINE_MODELS.build(distiller_cfg(teachers, teacher_speedups=speedups or None))
    attach_acting_learner(model)
    return model.train()


@pytest.fixture(scope='module')
def plain(random_teachers):
    """The Fashion-MNIST pool's distiller, its teachers with random BN statistics (fusion changes weights)."""
    model = build(random_teachers)
    for i, t in enumerate(model.teachers):
        randomise_bn(t, i)
    return model


def speed_up(model, **options):
    """A copy of ``model`` whose teachers get ``options`` as the distiller applies them."""
    model = copy.deepcopy(model)
    speedups = TeacherSpeedups.from_config(options)
    probe = torch.randn(2, model._probe_channels(), *model.task.probe_size,
                        generator=torch.Generator().manual_seed(0))
    for i, t in enumerate(model.teachers):
        speedups.apply(t, lambda m: model.task.probe(m, probe), f'model.teachers[{i}]')
    return model


def data(model, n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = list((torch.rand(n, 1, 28, 28, generator=g) * 255).to(torch.uint8))
    samples = [DataSample().set_gt_label(i % 10) for i in range(n)]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)


def teacher_outputs(model, batch):
    """Each teacher's pass and its head on random connected student features (CA-MKD's term)."""
    g = torch.Generator().manual_seed(1)
    out = []
    context = IterationContext.create(batch['inputs'], batch['data_samples'])
    with torch.no_grad():
        for t in model.teachers:
            p = model.task.forward_teacher(t, context, None)
            connected = [torch.randn(f.shape, generator=g) for f in p.features]
            ftl = model.task.feature_teacher_loss(t, connected, p, None, context)
            out.append(dict(features=p.features[0], logits=p.logits, task_loss=p.task_loss, embedding=p.embedding,
                            entropy=p.entropy, feature_teacher_loss=ftl))
    return out


def compare(model, reference, rtol):
    batch = data(model)
    for m, (ours, ref) in enumerate(zip(teacher_outputs(model, batch), teacher_outputs(reference, batch))):
        for key in ref:
            assert_close_rel(ours[key], ref[key], rtol, f'teacher {m} {key}')


def test_options_are_checked():
    with pytest.raises(ValueError, match=r"model\.teacher_speedups has unknown keys \['fuse_bn'\]"):
        TeacherSpeedups.from_config(dict(fuse_bn=True))
    with pytest.raises(ValueError, match=r"model\.teacher_speedups\.dtype must be one of \['bf16', 'fp16'\]"):
        TeacherSpeedups.from_config(dict(dtype='float16'))
    with pytest.raises(TypeError, match=r'model\.teacher_speedups\.channels_last must be True or False'):
        TeacherSpeedups.from_config(dict(channels_last='yes'))
    assert not TeacherSpeedups.from_config(None).enabled


def test_distiller_applies_the_options(random_teachers):
    model = build(random_teachers[:1], fuse_conv_bn=True, channels_last=True)
    assert model.teacher_speedups == TeacherSpeedups(fuse_conv_bn=True, channels_last=True)
    assert not any(isinstance(m, _BatchNorm) for m in model.teachers[0].modules())
    assert any(isinstance(m, _BatchNorm) for m in model.student.modules())  # the student is untouched
    conv = next(m for m in model.teachers[0].modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_fused_teachers_compute_the_same(plain):
    fused = speed_up(plain, fuse_conv_bn=True)
    # every BN of the pool follows its convolution: all are folded, and the new convolutions stay frozen
    assert sum(isinstance(m, _BatchNorm) for t in plain.teachers for m in t.modules()) > 20
    assert not any(isinstance(m, _BatchNorm) for t in fused.teachers for m in t.modules())
    assert all(not p.requires_grad for t in fused.teachers for p in t.parameters())
    assert fused.state_dict().keys() == plain.state_dict().keys()
    compare(fused, plain, EXACT)


def test_fusion_that_changes_outputs_is_refused():
    # a BN registered after a convolution but applied after a ReLU: mmcv would fold it into the convolution
    part = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4)).eval()
    randomise_bn(part, 0)
    teacher = nn.Sequential(part)
    x = torch.randn(2, 3, 8, 8)
    with pytest.raises(ValueError, match=r"model\.teacher_speedups\.fuse_conv_bn: fusing model\.teachers\[0\] "
                                         r"\(t\)'s BatchNorm .* Set model\.teacher_speedups\.fuse_conv_bn=False"):
        fuse_teacher_conv_bn(teacher, lambda m: m(x), 'model.teachers[0] (t)')
    ok = nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())).eval()
    randomise_bn(ok, 1)
    expected = ok(x)
    fuse_teacher_conv_bn(ok, lambda m: m(x), 'model.teachers[0] (t)')
    assert isinstance(ok[0][1], nn.Identity)
    assert_close_rel(ok(x), expected, EXACT)


def test_channels_last_teachers_compute_the_same(plain):
    model = speed_up(plain, channels_last=True)
    conv = next(m for m in model.teachers[0].modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    compare(model, plain, EXACT)


def test_bf16_teachers_give_float32_terms(plain):
    model = speed_up(plain, dtype='bf16', fuse_conv_bn=True)
    compare(model, plain, BF16)
    conv_dtypes = []
    conv = next(m for m in model.teachers[0].backbone.modules() if isinstance(m, nn.Conv2d))
    handle = conv.register_forward_hook(lambda m, a, out: conv_dtypes.append(out.dtype))
    try:
        losses = model(**data(model), mode='loss')
    finally:
        handle.remove()
    assert conv_dtypes == [torch.bfloat16]  # the teacher ran in bf16...
    assert all(v.dtype == torch.float32 for v in losses.values())  # ...and every term is float32
    state = model.learner.buffer[-1]['state']
    assert state.dtype == torch.float32 and torch.isfinite(state).all()
