"""Segmentation: pixel-map KD losses, the SegmentationAdapter on real (tiny) mmseg models, the configs, and
an end-to-end run on the nuclei tiles (teachers -> MTKD-RL student -> test -> export -> mmseg's test tool)."""
import copy
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmseg', reason='mmseg missing; run: bash tools/setup_env.sh')

from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmseg.registry import MODELS as SEG_MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402

import mtkd_rl  # noqa: E402,F401
from mtkd_rl.registry import build  # noqa: E402
from conftest import EVERY_OPTIONAL_TERM, assert_equal_losses, attach_acting_learner, count_calls  # noqa: E402
from mtkd_rl.tasks import IterationContext, SegmentationAdapter  # noqa: E402
from mtkd_rl.tasks.pixel_maps import resize_labels  # noqa: E402

register_all_modules(init_default_scope=False)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
NUCLEI = osp.join(REPO, 'data', 'nuclei')
SEG_CFG = osp.join(REPO, 'configs', 'seg')
MMSEG_CONFIGS = osp.join(osp.dirname(sys.modules['mmseg'].__file__), '.mim', 'configs')
IGNORE = 255


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Small models: one torch thread is faster, and much faster on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


# ----------------------------------------------------------------------------------------------------------
# tiny mmseg models and batches

def seg_model(head: str = 'ASPPHead', base: int = 4, d16: bool = False, aux: bool = True, num_classes: int = 3,
              ignore_index: int = IGNORE, out_channels=None) -> dict:
    """A ResNetV1c-18 encoder-decoder with ``base`` channels, output stride 8 (or 16), BN, no pretrained."""
    norm = dict(type='BN', requires_grad=True)
    c = [base, base * 2, base * 4, base * 8]
    common = dict(in_index=3, in_channels=c[3], channels=8, num_classes=num_classes, norm_cfg=norm,
                  dropout_ratio=0.1, align_corners=False, ignore_index=ignore_index, out_channels=out_channels,
                  loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
    heads = dict(
        ASPPHead=dict(type='ASPPHead', dilations=(1, 2)),
        PSPHead=dict(type='PSPHead', pool_scales=(1, 2)),
        FCNHead=dict(type='FCNHead', num_convs=1),
        DepthwiseSeparableASPPHead=dict(type='DepthwiseSeparableASPPHead', dilations=(1, 2), c1_in_channels=c[0],
                                        c1_channels=4))
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.0] * 3, std=[1.0] * 3, pad_val=0,
                               seg_pad_val=IGNORE),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=base, base_channels=base, out_indices=(0, 1, 2, 3),
                      strides=(1, 2, 2, 1) if d16 else (1, 2, 1, 1),
                      dilations=(1, 1, 1, 2) if d16 else (1, 1, 2, 4), norm_cfg=norm, contract_dilation=True,
                      init_cfg=None),
        decode_head=dict(common, **heads[head]),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    if aux:
        cfg['auxiliary_head'] = dict(type='FCNHead', in_index=2, in_channels=c[2], channels=4, num_convs=1,
                                     concat_input=False, num_classes=num_classes, norm_cfg=norm,
                                     ignore_index=ignore_index, align_corners=False,
                                     loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4))
    return cfg


def batch(b: int = 2, size: int = 64, num_classes: int = 3, ignored: bool = True, seed: int = 0):
    """Random images and labels; the top 8 rows of every label map are ignore_index."""
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(b, 3, size, size, generator=g)
    samples = []
    for _ in range(b):
        label = torch.randint(0, num_classes, (1, size, size), generator=g)
        if ignored:
            label[:, :8] = IGNORE
        s = SegDataSample(gt_sem_seg=PixelData(data=label))
        s.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size), ori_shape=(size, size)))
        samples.append(s)
    return inputs, samples


def save_teacher(model_cfg: dict, path, state=None) -> dict:
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = SEG_MODELS.build(copy.deepcopy(model_cfg))
    torch.save(dict(state_dict=state if state is not None else model.state_dict()), str(path))
    return dict(config=dict(model=model_cfg, default_scope='mmseg'), checkpoint=str(path))


def distiller(tmp_path, teacher_cfgs, student_cfg=None, **kwargs):
    teachers = [dict(save_teacher(c, tmp_path / f't{i}.pth'), name=f't{i}') for i, c in enumerate(teacher_cfgs)]
    torch.manual_seed(0)
    return build(dict(type='MultiTeacherDistiller', student=student_cfg or seg_model(), teachers=teachers,
                      **kwargs))


@pytest.fixture(scope='module')
def pool_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('pool')


@pytest.fixture(scope='module')
def mixed_teachers(pool_dir):
    """Teachers PSP d8, DeepLabV3+ (logits at stride 4), FCN d16, saved once."""
    cfgs = [seg_model('PSPHead', base=8), seg_model('DepthwiseSeparableASPPHead', base=8),
            seg_model('FCNHead', base=8, d16=True)]
    return [dict(save_teacher(c, pool_dir / f'mixed{i}.pth'), name=f't{i}') for i, c in enumerate(cfgs)]


@pytest.fixture()
def mixed_pool(mixed_teachers):
    """Student DeepLabV3 d8 (+FCN aux) with the mixed teachers."""
    torch.manual_seed(0)
    return build(dict(type='MultiTeacherDistiller', student=seg_model(), teachers=copy.deepcopy(mixed_teachers)))


# ----------------------------------------------------------------------------------------------------------
# losses

PIXEL_LOSSES = [dict(type='LogitKL', temperature=2.0, class_dim=1), dict(type='ChannelWiseKL', temperature=2.0),
                dict(type='FeatureMSE')]


def _mask(b=3, h=6, w=5):
    mask = torch.ones(b, h, w, dtype=torch.bool)
    mask[:, :2] = False
    mask[1, :, :3] = False
    return mask


@pytest.mark.parametrize('cfg', PIXEL_LOSSES, ids=lambda c: c['type'])
def test_pixel_loss_shape_zero_and_ignore(cfg):
    torch.manual_seed(0)
    loss = build(cfg)
    s, t, mask = torch.randn(3, 4, 6, 5), torch.randn(3, 4, 6, 5), _mask()
    out = loss(s, t, mask)
    assert out.shape == (3, ) and torch.isfinite(out).all() and (out > 0).all()
    torch.testing.assert_close(loss(t.clone(), t, mask), torch.zeros(3), atol=1e-6, rtol=0)
    # values at ignored pixels, in student and teacher, change nothing
    s2, t2 = s.clone(), t.clone()
    s2[~mask.unsqueeze(1).expand_as(s2)] = 100.0
    t2[~mask.unsqueeze(1).expand_as(t2)] = -50.0
    torch.testing.assert_close(loss(s2, t2, mask), out)
    # a fully ignored image gives 0
    empty = mask.clone()
    empty[2] = False
    assert float(loss(s, t, empty)[2]) == 0.0


@pytest.mark.parametrize('cfg', PIXEL_LOSSES, ids=lambda c: c['type'])
def test_pixel_loss_grad_to_student_only_and_not_at_ignored(cfg):
    torch.manual_seed(0)
    loss = build(cfg)
    s = torch.randn(3, 4, 6, 5, requires_grad=True)
    t = torch.randn(3, 4, 6, 5, requires_grad=True)
    mask = _mask()
    loss(s, t, mask).sum().backward()
    assert t.grad is None
    assert s.grad.abs().sum() > 0
    assert s.grad.permute(0, 2, 3, 1)[~mask].abs().max() == 0


def test_pixel_kl_exact_per_image():
    torch.manual_seed(0)
    s, t, mask = torch.randn(3, 4, 6, 5), torch.randn(3, 4, 6, 5), _mask()
    out = build(dict(type='LogitKL', temperature=2.0))(s, t, mask)
    kl = F.kl_div(F.log_softmax(s / 2, 1), F.log_softmax(t / 2, 1), reduction='none', log_target=True).sum(1) * 4
    ref = torch.stack([kl[i][mask[i]].mean() for i in range(3)])
    torch.testing.assert_close(out, ref)


def test_loss_list_sums_weighted_losses():
    adapter = SegmentationAdapter(logit_loss=[dict(type='LogitKL', loss_weight=2.0),
                                              dict(type='ChannelWiseKL', temperature=4.0, loss_weight=3.0)])
    torch.manual_seed(0)
    s, t, mask = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4), _mask(2, 4, 4)
    ref = 2 * build(dict(type='LogitKL'))(s, t, mask) + 3 * build(dict(type='ChannelWiseKL'))(s, t, mask)
    torch.testing.assert_close(adapter.logit_loss(s, t, mask), ref)


def test_adapter_options_are_checked():
    with pytest.raises(ValueError, match='kd_size'):
        SegmentationAdapter(kd_size='teacher')
    with pytest.raises(ValueError, match='empty'):
        SegmentationAdapter(logit_loss=[])


def test_resize_labels_nearest():
    labels = torch.arange(16).view(1, 4, 4)
    assert resize_labels(labels, (2, 2)).tolist() == [[[0, 2], [8, 10]]]
    assert resize_labels(labels, (4, 4)) is labels


# ----------------------------------------------------------------------------------------------------------
# the adapter on real mmseg models

def test_default_adapter_for_mmseg_student(mixed_pool):
    assert isinstance(mixed_pool.task, SegmentationAdapter)
    assert mixed_pool.task.provides >= {'teacher_entropy', 'feature_teacher_loss'}


def test_student_pass_is_mmseg_loss_with_one_backbone_and_head_pass(mixed_pool, monkeypatch):
    student = mixed_pool.student.eval()  # dropout off, so mmseg's own loss() is comparable
    inputs, samples = batch()
    calls = {'backbone': 0, 'decode': 0, 'aux': 0}

    def counted(module, key):
        forward = module.forward

        def wrapper(*args, **kwargs):
            calls[key] += 1
            return forward(*args, **kwargs)
        monkeypatch.setattr(module, 'forward', wrapper)

    for module, key in ((student.backbone, 'backbone'), (student.decode_head, 'decode'),
                        (student.auxiliary_head, 'aux')):
        counted(module, key)
    with torch.no_grad():
        sp = mixed_pool.task.forward_student(student, IterationContext.create(inputs, samples))
    assert calls == {'backbone': 1, 'decode': 1, 'aux': 1}
    with torch.no_grad():
        ref = student.loss(inputs, samples)
    assert set(sp.losses) == set(ref) >= {'decode.loss_ce', 'decode.acc_seg', 'aux.loss_ce', 'aux.acc_seg'}
    for k in ref:
        torch.testing.assert_close(sp.losses[k], ref[k])
    assert sp.logits.shape == (2, 3, 8, 8)  # 64 / 8
    assert sp.features[0].shape == (2, 32, 8, 8)
    assert sp.valid.shape == (2, 8, 8) and not sp.valid[:, 0].any()
    assert sp.task_loss.shape == (2, ) and not sp.task_loss.requires_grad


def test_teacher_passes_aligned_to_student_size(mixed_pool):
    inputs, samples = batch()
    task = mixed_pool.task
    context = IterationContext.create(inputs, samples)
    sp = task.forward_student(mixed_pool.student, context)
    with torch.no_grad():
        tps = [task.forward_teacher(t, context, sp) for t in mixed_pool.teachers]
    # raw logits at 1/8, 1/4 and 1/16 and features at 1/8, 1/8, 1/16: all logits resized to the student's
    assert [tuple(t.features[0].shape[-2:]) for t in tps] == [(8, 8), (8, 8), (4, 4)]
    for t in tps:
        assert t.logits.shape == sp.logits.shape
        assert t.task_loss.shape == t.entropy.shape == (2, )
        assert t.embedding.shape == (2, 64) and t.summary.shape == (2, 3)
        torch.testing.assert_close(t.summary.sum(1), torch.ones(2))
    # DeepLabV3+'s stride-4 map is bilinearly resized, the d16 map upsampled
    raw = mixed_pool.teachers[1].decode_head.forward(mixed_pool.teachers[1].extract_feat(inputs))
    assert raw.shape[-2:] == (16, 16)
    torch.testing.assert_close(tps[1].logits, F.interpolate(raw, (8, 8), mode='bilinear', align_corners=False))


def test_teacher_terms_exclude_ignored_pixels(mixed_pool):
    inputs, samples = batch()
    task = mixed_pool.task
    context = IterationContext.create(inputs, samples)
    sp = task.forward_student(mixed_pool.student, context)
    teacher = mixed_pool.teachers[0]
    with torch.no_grad():
        tp = task.forward_teacher(teacher, context, sp)
        logits = teacher.decode_head.forward(teacher.extract_feat(inputs))
    labels = resize_labels(torch.stack([s.gt_sem_seg.data[0] for s in samples]), (8, 8))
    ce = F.cross_entropy(logits, labels, ignore_index=IGNORE, reduction='none')
    p = logits.softmax(1)
    for i in range(2):
        valid = labels[i] != IGNORE
        torch.testing.assert_close(tp.task_loss[i], ce[i][valid].mean())
        torch.testing.assert_close(tp.summary[i], p[i][:, valid].mean(1))
        torch.testing.assert_close(tp.entropy[i], -(p[i] * p[i].log()).sum(0)[valid].mean())
    # relabelling ignored pixels as ignored changes nothing; unignoring them does
    flipped = copy.deepcopy(samples)
    for s in flipped:
        s.gt_sem_seg.data[:, :8] = 0
    with torch.no_grad():
        tp_all = task.forward_teacher(teacher, IterationContext.create(inputs, flipped), sp)
    assert not torch.allclose(tp_all.task_loss, tp.task_loss)


def test_terms_shapes_and_ignore_invariance(mixed_pool):
    model = mixed_pool
    inputs, samples = batch()
    def terms(x):
        context = IterationContext.create(x, samples)
        sp = model.task.forward_student(model.student, context)
        with torch.no_grad():
            tps = [model.task.forward_teacher(t, context, sp) for t in model.teachers]
        conn = [[c(s, t.shape[-2:]) for c, s, t in zip(cs, sp.features, tp.features)]
                for cs, tp in zip(model.connectors, tps)]
        return model.task.terms(sp, tps, conn, context, model.teachers)

    model.eval()  # deterministic (dropout, BN statistics) for the comparison below
    out = terms(inputs)
    for name in ('logit_kd', 'teacher_loss', 'feature_kd', 'cosine', 'teacher_entropy', 'feature_teacher_loss'):
        value = getattr(out, name)
        assert value.shape == (2, 3) and torch.isfinite(value).all(), name
    assert out.student_loss.shape == (2, )
    assert [e.shape for e in out.embeddings] == [(2, 64)] * 3 and [s.shape for s in out.summaries] == [(2, 3)] * 3
    assert out.logit_kd.requires_grad and out.feature_kd.requires_grad
    assert not out.teacher_loss.requires_grad and not out.cosine.requires_grad
    # every per-image term is an average over valid pixels: with the top rows ignored, the student's mask
    # at 1/8 drops exactly the first row, and labelling those rows changes the terms
    sp = model.task.forward_student(model.student, IterationContext.create(inputs, samples))
    assert not sp.valid[:, :1].any() and sp.valid[:, 1:].all()
    samples = copy.deepcopy(samples)
    for s in samples:
        s.gt_sem_seg.data[:, :8] = 1
    relabelled = terms(inputs)
    assert not torch.allclose(relabelled.logit_kd, out.logit_kd)
    assert not torch.allclose(relabelled.teacher_loss, out.teacher_loss)


def test_feature_teacher_loss_is_teacher_loss_on_own_feature(mixed_pool):
    """Sound CA-MKD term: the teacher's decode head on a 'connected' feature equal to its own gives its CE."""
    model = mixed_pool
    inputs, samples = batch()
    context = IterationContext.create(inputs, samples)
    sp = model.task.forward_student(model.student, context)
    with torch.no_grad():
        tps = [model.task.forward_teacher(t, context, sp) for t in model.teachers]
        for teacher, tp in zip(model.teachers, tps):
            own = model.task.feature_teacher_loss(teacher, tp.features, tp, sp, context)
            torch.testing.assert_close(own, tp.task_loss)


def test_teachers_stay_in_eval_mode_dropout_off(mixed_pool):
    mixed_pool.train()
    assert mixed_pool.student.training and mixed_pool.student.decode_head.dropout.training
    for teacher in mixed_pool.teachers:
        assert not any(m.training for m in teacher.modules())
        assert not teacher.decode_head.dropout.training
    inputs, samples = batch()
    context = IterationContext.create(inputs, samples)
    sp = mixed_pool.task.forward_student(mixed_pool.student, context)
    with torch.no_grad():
        a = mixed_pool.task.forward_teacher(mixed_pool.teachers[0], context, sp)
        b = mixed_pool.task.forward_teacher(mixed_pool.teachers[0], context, sp)
    assert torch.equal(a.logits, b.logits)


def test_identical_teacher_gives_zero_logit_kd(tmp_path):
    student_cfg = seg_model()
    torch.manual_seed(0)
    student_state = SEG_MODELS.build(copy.deepcopy(student_cfg)).state_dict()
    teacher = dict(save_teacher(student_cfg, tmp_path / 'same.pth', student_state), name='same')
    model = build(dict(type='MultiTeacherDistiller', student=student_cfg, teachers=[teacher],
                       task=dict(type='SegmentationAdapter', feature_loss=None), weighting=dict(type='AVER')))
    model.student.load_state_dict(student_state)
    model.eval()
    inputs, samples = batch()
    context = IterationContext.create(inputs, samples)
    sp = model.task.forward_student(model.student, context)
    with torch.no_grad():
        tp = model.task.forward_teacher(model.teachers[0], context, sp)
    torch.testing.assert_close(model.task.logit_kd(sp, tp, context), torch.zeros(2), atol=1e-6, rtol=0)
    torch.testing.assert_close(tp.task_loss, sp.task_loss)


def test_kd_size_label(pool_dir):
    model = distiller(pool_dir, [seg_model('DepthwiseSeparableASPPHead', base=8)],
                      task=dict(type='SegmentationAdapter', kd_size='label'), weighting=dict(type='AVER'))
    inputs, samples = batch()
    context = IterationContext.create(inputs, samples)
    sp = model.task.forward_student(model.student, context)
    with torch.no_grad():
        tp = model.task.forward_teacher(model.teachers[0], context, sp)
    assert sp.logits.shape == tp.logits.shape == (2, 3, 64, 64)
    assert not sp.valid[:, :8].any() and sp.valid[:, 8:].all()


@pytest.mark.parametrize('weighting', ['AVER', 'EBKD', 'CA-MKD', 'MTKD-RL'])
def test_distiller_loss_gradients_reach_student_and_connectors_only(mixed_pool, weighting):
    from mtkd_rl.registry import TEACHER_WEIGHTINGS
    model = mixed_pool
    model.weighting = build(dict(type=weighting), TEACHER_WEIGHTINGS, default_args=dict(
        num_teachers=3, embedding_dims=[64, 64, 64], summary_dims=[3, 3, 3]))
    if model.weighting.learnable:
        attach_acting_learner(model)
    model.train()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    assert {'student.decode.loss_ce', 'student.aux.loss_ce', 'loss_kd_logit', 'loss_kd_feature'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    model.zero_grad()
    total.backward()
    assert all(p.grad is not None for p in model.student.parameters() if p.requires_grad)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.connectors.parameters())
    for teacher in model.teachers:
        assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert all(p.grad is None for p in model.weighting.parameters())
    names = set(model.state_dict())
    assert not any(n.startswith('teachers') for n in names)
    if weighting == 'MTKD-RL':
        t = model.learner.buffer[-1]
        assert t['state'].shape == (2, 3 * (64 + 3 + 3)) and t['reward'].shape == (2, )


def test_only_the_terms_the_weighting_reads_are_computed_and_losses_stay(mixed_pool, monkeypatch):
    from mtkd_rl.tasks import pixel_maps, segmentation
    from mtkd_rl.weighting import AverageWeighting
    model = mixed_pool
    model.weighting = AverageWeighting(3)
    model.train()
    counts, captured = {}, []
    for owner, name in ((segmentation, 'masked_pixel_ce'), (segmentation, 'masked_pixel_nll'),
                        (segmentation, 'global_pool'),
                        (segmentation, 'reduce_per_sample'), (pixel_maps, 'reduce_per_sample'),
                        (model.task, 'cosine')):
        count_calls(monkeypatch, owner, name, counts)
    terms_of = model.task.terms
    monkeypatch.setattr(model.task, 'terms', lambda *a, **k: captured.append(terms_of(*a, **k)) or captured[-1])
    inputs, samples = batch()
    torch.manual_seed(0)  # the student's decode-head dropout
    aver = model.loss(inputs, samples)
    # AVER: the teachers' pixel cross-entropy and accuracy (logged as teacher_risk and teacher_acc) only; no
    # student loss, entropy, class-probability summary, embedding or cosine
    assert counts == {'masked_pixel_ce': 0, 'masked_pixel_nll': 3, 'global_pool': 0, 'reduce_per_sample': 3 + 3,
                      'cosine': 0}
    terms = captured[-1]
    assert terms.student_loss is None and terms.cosine is None and terms.teacher_entropy is None
    assert terms.embeddings == [] and terms.summaries == [] and terms.teacher_accuracy.shape == (2, 3)

    model.weighting.required_terms = EVERY_OPTIONAL_TERM
    counts.update(dict.fromkeys(counts, 0))
    torch.manual_seed(0)
    every = model.loss(inputs, samples)
    # + the student's cross-entropy; embedding, summary and cosine pooled per teacher; entropy per teacher (from
    # the log-probabilities of the teacher's cross-entropy)
    assert counts == {'masked_pixel_ce': 1, 'masked_pixel_nll': 3, 'global_pool': 3 * 3,
                      'reduce_per_sample': 4 + 3 + 3, 'cosine': 3}
    assert_equal_losses(aver, every)


def test_student_gradient_ignores_ignored_pixels(pool_dir):
    """Through the whole distiller: logit KD never pushes the student's logits at ignored pixels."""
    model = distiller(pool_dir, [seg_model('PSPHead', base=8)], task=dict(type='SegmentationAdapter',
                      feature_loss=None, logit_loss=[dict(type='LogitKL'), dict(type='ChannelWiseKL')]),
                      weighting=dict(type='AVER'))
    model.eval()
    inputs, samples = batch()
    context = IterationContext.create(inputs, samples)
    sp = model.task.forward_student(model.student, context)
    sp.logits.retain_grad()
    with torch.no_grad():
        tp = model.task.forward_teacher(model.teachers[0], context, sp)
    model.task.logit_kd(sp, tp, context).sum().backward()
    grad = sp.logits.grad
    assert grad[:, :, 0].abs().max() == 0 and grad[:, :, 1:].abs().sum() > 0


def test_validation_errors(pool_dir):
    with pytest.raises(ValueError, match='ignore_index'):
        distiller(pool_dir, [seg_model(ignore_index=0)])
    with pytest.raises(ValueError, match='predicts 4 classes'):
        distiller(pool_dir, [seg_model(num_classes=4)])
    with pytest.raises(ValueError, match='out_channels'):
        distiller(pool_dir, [seg_model(num_classes=2, out_channels=1)], student_cfg=seg_model(num_classes=2))


# ----------------------------------------------------------------------------------------------------------
# configs

CITYSCAPES = ['mtkdrl_deeplabv3_r18-d8_cityscapes-512x1024', 'mtkdrl_deeplabv3_r18-d8_cityscapes-512x1024_bn',
              'aver_deeplabv3_r18-d8_cityscapes-512x1024', 'ebkd_deeplabv3_r18-d8_cityscapes-512x1024',
              'camkd_deeplabv3_r18-d8_cityscapes-512x1024', 'mtkdrl_pspnet_r18-d8_cityscapes-512x1024']


def _no_scope(d):
    if isinstance(d, dict):
        return {k: _no_scope(v) for k, v in d.items() if k != '_scope_'}
    if isinstance(d, (list, tuple)):
        return type(d)(_no_scope(v) for v in d)
    return d


@pytest.mark.parametrize('name', CITYSCAPES)
def test_cityscapes_configs(name):
    import yaml
    from mmengine.hub import get_config
    cfg = Config.fromfile(osp.join(SEG_CFG, f'{name}.py'))
    assert cfg.default_scope == 'mmseg' and cfg.model.type == 'mtkd_rl.MultiTeacherDistiller'
    assert cfg.train_cfg.max_iters == 80000 and cfg.train_dataloader.dataset.type == 'CityscapesDataset'
    assert tuple(cfg.crop_size) == (512, 1024) and cfg.val_evaluator.type == 'IoUMetric'
    plain = 'pspnet/pspnet' if 'pspnet' in name else 'deeplabv3/deeplabv3'
    student = _no_scope(get_config(f'mmseg::{plain}_r18-d8_4xb2-80k_cityscapes-512x1024.py').model.to_dict())
    ours = _no_scope(cfg.model.student.to_dict())
    if name.endswith('_bn'):
        assert ours['backbone']['norm_cfg']['type'] == 'BN' and ours['decode_head']['norm_cfg']['type'] == 'BN'
    else:
        assert ours == student
    if name.startswith('mtkdrl'):
        hook, nan_check = cfg.custom_hooks
        assert hook.type == 'mtkd_rl.TeacherWeightingHook' and hook.warmup_iters > 0
        assert nan_check.type == 'mtkd_rl.NonFiniteLossHook'
    else:
        assert cfg.model.weighting.type == {'aver': 'AVER', 'ebkd': 'EBKD', 'camkd': 'CA-MKD'}[name.split('_')[0]]
    # teachers: mmseg's 512x1024, 80k R101-D8 configs with their model-zoo checkpoints
    assert len(cfg.model.teachers) == 3
    for teacher in cfg.model.teachers:
        algo, file = teacher.config.split('::')[1].split('/')
        assert 'r101-d8_4xb2-80k_cityscapes-512x1024' in file and osp.isfile(osp.join(MMSEG_CONFIGS, algo, file))
        with open(osp.join(MMSEG_CONFIGS, algo, 'metafile.yaml')) as f:
            zoo = {m['Config']: m['Weights'] for m in yaml.safe_load(f)['Models']}
        assert zoo[f'configs/{algo}/{file}'] == teacher.checkpoint


def test_cityscapes_distiller_builds_and_trains_one_step(monkeypatch):
    """The full Cityscapes pool (3 x R101, SyncBN, 19 classes) with untrained weights, one small CPU step."""
    import mtkd_rl.distillers.teachers as teachers_mod
    monkeypatch.setattr(teachers_mod, '_load_weights', lambda *a, **k: None)  # no download in tests
    cfg = Config.fromfile(osp.join(SEG_CFG, 'camkd_deeplabv3_r18-d8_cityscapes-512x1024.py'))
    cfg.model.student.pretrained = None
    model = build(cfg.model)
    assert model.teacher_names == ['deeplabv3_r101', 'pspnet_r101', 'deeplabv3plus_r101']
    assert [c[0].conv.weight.shape[:2] for c in model.connectors] == [(2048, 512)] * 3
    model.train()
    inputs, samples = batch(b=2, size=48, num_classes=19)
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert {'student.decode.loss_ce', 'student.aux.loss_ce', 'loss_kd_logit', 'loss_kd_feature'} <= set(losses)


NUCLEI_CFG = osp.join(SEG_CFG, 'nuclei')
NUCLEI_TEACHERS = ['deeplabv3', 'pspnet', 'deeplabv3plus']


def _teacher_cfg(name):
    return osp.join(NUCLEI_CFG, 'teachers', f'{name}_r18-w16-d8_1xb4-400i_nuclei-128x128.py')


@pytest.mark.parametrize('weighting', ['aver', 'ebkd'])
def test_nuclei_baseline_configs(weighting):
    cfg = Config.fromfile(osp.join(NUCLEI_CFG, f'{weighting}_deeplabv3_r18-w8-d8_nuclei-pool3_1xb4-400i_'
                                               'nuclei-128x128.py'))
    assert cfg.model.weighting.type == weighting.upper()
    # the weighting record and the NaN/inf check
    assert [h.type for h in cfg.custom_hooks] == ['mtkd_rl.TeacherWeightingHook', 'mtkd_rl.NonFiniteLossHook']
    assert cfg.model.student.type == 'EncoderDecoder' and len(cfg.model.teachers) == 3


@pytest.mark.parametrize('weighting', ['mtkdrl', 'camkd'])
def test_nuclei_configs_build(tmp_path, weighting):
    cfg = Config.fromfile(osp.join(NUCLEI_CFG, f'{weighting}_deeplabv3_r18-w8-d8_nuclei-pool3_1xb4-400i_'
                                               'nuclei-128x128.py'))
    for i, teacher in enumerate(cfg.model.teachers):
        plain = Config.fromfile(teacher.config)
        assert plain.model.backbone.norm_cfg.type == 'BN' and plain.model.decode_head.num_classes == 2
        teacher.checkpoint = save_teacher(plain.model.to_dict(), tmp_path / f't{i}.pth')['checkpoint']
    model = build(cfg.model)
    assert [type(t.decode_head).__name__ for t in model.teachers] == ['ASPPHead', 'PSPHead',
                                                                      'DepthwiseSeparableASPPHead']
    if model.weighting.learnable:
        attach_acting_learner(model)
    model.train()
    inputs, samples = batch(b=2, size=128, num_classes=2)
    losses = model.loss(inputs, samples)
    assert torch.isfinite(sum(v for k, v in losses.items() if 'loss' in k))


# ----------------------------------------------------------------------------------------------------------
# end to end on the nuclei tiles

def _run(args, **kwargs):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    env.setdefault('OMP_NUM_THREADS', '1')  # on a shared 2-core machine one thread is much faster
    proc = subprocess.run([sys.executable] + args, cwd=REPO, env=env, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f'{args}\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}'
    return proc


def _metrics(work_dir):
    """The metrics of the last test run in ``work_dir`` (mmengine writes <timestamp>/<timestamp>.json)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    assert files, f'no metrics json in {work_dir}'
    with open(files[-1]) as f:
        return json.loads(f.read().strip().splitlines()[-1])


@pytest.mark.skipif(not osp.isdir(osp.join(NUCLEI, 'img_dir', 'train')), reason='run: bash tools/setup_env.sh')
def test_end_to_end_nuclei(tmp_path):
    iters = 'default_hooks.logger.interval=1'
    # 1. three teachers, a few iterations each, in one process through tools/train.py
    runs = [[
        'tools/train.py', _teacher_cfg(t), '--work-dir', str(tmp_path / t), '--no-validate', '--cfg-options',
        'train_cfg.max_iters=3', 'default_hooks.checkpoint.interval=3', iters
    ] for t in NUCLEI_TEACHERS]
    driver = ('import runpy, sys\n'
              f'for argv in {runs!r}:\n'
              '    sys.argv = argv\n'
              "    runpy.run_path('tools/train.py', run_name='__main__')\n")
    _run(['-c', driver], timeout=300)
    ckpts = [tmp_path / t / 'iter_3.pth' for t in NUCLEI_TEACHERS]
    assert all(c.is_file() for c in ckpts)

    # 2. the MTKD-RL student with the agent: warm-up 2 iterations, agent updates at iterations 2, 4 and 6
    config = osp.join(NUCLEI_CFG, 'mtkdrl_deeplabv3_r18-w8-d8_nuclei-pool3_1xb4-400i_nuclei-128x128.py')
    work = tmp_path / 'student'
    options = [f'model.teachers.{i}.checkpoint={c}' for i, c in enumerate(ckpts)] + [
        'train_cfg.max_iters=6', 'train_cfg.val_interval=6', 'default_hooks.checkpoint.interval=6', iters,
        'custom_hooks.0.warmup_iters=2', 'custom_hooks.0.interval=2'
    ]
    log = _run(['tools/train.py', config, '--work-dir', str(work), '--cfg-options'] + options, timeout=300)
    out = log.stdout + log.stderr
    assert 'student.aux.loss_ce' in out and 'loss_kd_logit' in out and 'w_logit.deeplabv3plus_w16' in out
    assert 'agent_updates: 2' in out or 'agent_updates: 2.0' in out
    ckpt = work / 'iter_6.pth'
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert 'teacher_weighting' in state and state['teacher_weighting']['num_updates'] >= 2
    assert not any(k.startswith('teachers') for k in state['state_dict'])

    # 3. our test tool on the distiller checkpoint, 4. the export, 5. mmseg's own test tool on the export
    _run(['tools/test.py', config, str(ckpt), '--work-dir', str(tmp_path / 'test_ours')], timeout=200)
    ours = _metrics(tmp_path / 'test_ours')
    exported = tmp_path / 'student.pth'
    _run(['tools/model_converters/export_student.py', str(ckpt), str(exported)], timeout=100)
    export = torch.load(exported, map_location='cpu')  # weights-only readable
    assert set(export) == {'state_dict', 'meta'}
    student_cfg = osp.join(NUCLEI_CFG, 'students', 'deeplabv3_r18-w8-d8_1xb4-400i_nuclei-128x128.py')
    plain = SEG_MODELS.build(Config.fromfile(student_cfg).model)
    assert set(export['state_dict']) == set(plain.state_dict())
    for k, v in export['state_dict'].items():
        assert torch.equal(v, state['state_dict'][f'student.{k}']), k
    _run([osp.join(MMSEG_CONFIGS, '..', 'tools', 'test.py'), student_cfg, str(exported), '--work-dir',
          str(tmp_path / 'test_mmseg')], timeout=200)
    theirs = _metrics(tmp_path / 'test_mmseg')
    print(f'nuclei e2e: ours {ours}, mmseg {theirs}')
    assert 0.0 <= ours['mIoU'] <= 100.0
    assert ours['mIoU'] == theirs['mIoU'] and ours['aAcc'] == theirs['aAcc']
