"""Detection (mmdet RetinaNet): the per-image KD losses, the DetectionAdapter on real tiny detectors, its
checks, and the tree-crown run end to end through tools/ (teachers, MTKD-RL student, test, export, mmdet test).

Unit tests build tiny RetinaNet and FCOS models (the tree-crown configs at 8-16 base channels, random weights)
on CPU; the end-to-end test needs data/treecrown (tools/setup_env.sh).
"""
import copy
import math
import os.path as osp
import re

import mmdet
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

import mtkd_rl  # noqa: F401
from mtkd_rl.registry import build
from mtkd_rl.tasks import IterationContext, SampleBatch
from mtkd_rl.tasks.detection import (DetectionAdapter, assignment_key, detection_losses, loss_mode,
                                     per_image_detection_loss, per_image_loss_by_image, valid_mask)
from conftest import EVERY_OPTIONAL_TERM, REPO, assert_equal_losses, cfg_options, count_calls, run_tool
from detection_helpers import (MMDET_TEST, MTKDRL_CFG, SHAPES, SMALL_RUN, STUDENT_CFG, TEACHER_CFGS,
                               assert_same_predictions, batch, build_det, build_distiller, coco_metrics,
                               fixed_weighting_losses, save_teacher, tiny_model_cfg)
from detection_helpers import distiller_cfg as detection_distiller_cfg


# ---------------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope='module')
def pool(tmp_path_factory):
    """Tiny random-weight teachers saved as checkpoints: 2 RetinaNets (the student's anchors) and an FCOS."""
    root = tmp_path_factory.mktemp('det_teachers')
    torch.manual_seed(0)
    return [save_teacher(root, name, tiny_model_cfg(TEACHER_CFGS[name], base), init_weights=True)
            for name, base in (('retinanet_r18', 16), ('retinanet_r34', 8), ('fcos_r18', 8))]


def distiller_cfg(teachers, **task):
    return detection_distiller_cfg(MTKDRL_CFG, tiny_model_cfg(STUDENT_CFG, 8), teachers, **task)


@pytest.fixture(scope='module')
def distiller(pool):
    """MTKD-RL distiller: tiny RetinaNet student, RetinaNet teachers and the FCOS teacher as feature-only."""
    model = build_distiller(distiller_cfg(pool, feature_only_teachers=['fcos_r18']))
    model.student.init_weights()
    return model


# ----------------------------------------------------------------------------------------------- losses
def test_dense_sigmoid_kl_exact():
    torch.manual_seed(0)
    s, t = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    loss = build(dict(type='DenseSigmoidKL', temperature=2.0))
    p = torch.sigmoid(t / 2)
    per_anchor = (F.binary_cross_entropy_with_logits(s / 2, p, reduction='none')
                  - F.binary_cross_entropy_with_logits(t / 2, p, reduction='none')).sum(-1) * 4
    torch.testing.assert_close(loss(s, t), per_anchor.mean(1))
    mask = torch.tensor([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.bool)
    torch.testing.assert_close(loss(s, t, mask), torch.stack([per_anchor[0, :2].mean(), torch.tensor(0.0)]))


def test_box_giou_kd_exact():
    loss = build(dict(type='BoxGIoUKD', score_thr=0.5))
    teacher = torch.tensor([[[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]]])
    student = torch.tensor([[[1.0, 0.0, 3.0, 2.0], [0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]]])
    scores = torch.tensor([[0.8, 0.6, 0.4]])  # the third anchor is below the threshold
    giou0 = 2.0 / 6.0  # IoU 2/6, the enclosing box 3x2 = the union: no penalty
    expected = (0.8 * (1 - giou0) + 0.6 * 0.0) / (0.8 + 0.6)
    torch.testing.assert_close(loss(student, teacher, scores), torch.tensor([expected]), atol=1e-5, rtol=0)


def _random_boxes(*shape, generator=None):
    xy = torch.rand(*shape, 2, generator=generator) * 50
    wh = torch.rand(*shape, 2, generator=generator) * 30 + 2
    return torch.cat([xy, xy + wh], -1)


#: name -> (loss config, make(student, teacher, mask) inputs); masked positions are the last ones.
LOSSES = {
    'DenseSigmoidKL': dict(type='DenseSigmoidKL', temperature=2.0),
    'BoxGIoUKD': dict(type='BoxGIoUKD', score_thr=0.3),
    'FeatureMSE': dict(type='FeatureMSE'),
}


def _loss_inputs(name, seed=0):
    """(student, teacher, extra args before the mask, mask) for a batch of 3 with padding and one masked image."""
    g = torch.Generator().manual_seed(seed)
    if name == 'FeatureMSE':
        s, t = torch.randn(3, 4, 6, 6, generator=g), torch.randn(3, 4, 6, 6, generator=g)
        mask = valid_mask([(6, 6), (4, 3), (0, 0)], (6, 6), (6, 6), torch.device('cpu'))
        return s, t, (), mask
    mask = torch.ones(3, 20, dtype=torch.bool)
    mask[1, 12:] = False
    mask[2] = False  # an image whose anchors are all padding
    if name == 'DenseSigmoidKL':
        return torch.randn(3, 20, 2, generator=g), torch.randn(3, 20, 2, generator=g), (), mask
    scores = torch.rand(3, 20, generator=g) * 0.7 + 0.3
    return _random_boxes(3, 20, generator=g), _random_boxes(3, 20, generator=g), (scores, ), mask


@pytest.mark.parametrize('name', list(LOSSES))
def test_detection_kd_losses_per_image(name):
    loss = build(LOSSES[name])
    s, t, args, mask = _loss_inputs(name)
    out = loss(s, t, *args, mask)
    assert out.shape == (3, ) and torch.isfinite(out).all()
    assert (out[:2] > 0).all() and out[2] == 0  # the all-padding image gives 0
    # zero when the student equals the teacher
    torch.testing.assert_close(loss(t.clone(), t, *args, mask), torch.zeros(3), atol=1e-6, rtol=0)
    # padding does not count: changing masked positions changes nothing
    s2, t2 = s.clone(), t.clone()
    if name == 'FeatureMSE':
        s2.permute(0, 2, 3, 1)[~mask] = 100.0
        t2.permute(0, 2, 3, 1)[~mask] = -100.0
    else:
        s2[~mask] = s2[~mask] * 3 + 7
        t2[~mask] = t2[~mask] * 2 + 5
    torch.testing.assert_close(loss(s2, t2, *args, mask), out)
    # gradients reach the student only, finite also for the all-padding image
    s = s.clone().requires_grad_(True)
    t = t.clone().requires_grad_(True)
    loss(s, t, *args, mask).sum().backward()
    assert t.grad is None and s.grad is not None and torch.isfinite(s.grad).all()
    assert s.grad.abs().sum() > 0 and s.grad[2].abs().sum() == 0


def test_box_kd_without_confident_anchors_is_zero():
    loss = build(dict(type='BoxGIoUKD', score_thr=0.9))
    s = _random_boxes(2, 7).requires_grad_(True)
    out = loss(s, _random_boxes(2, 7), torch.full((2, 7), 0.5))
    assert torch.equal(out, torch.zeros(2))
    out.sum().backward()
    assert torch.isfinite(s.grad).all()


def test_valid_mask_matches_mmdet_anchor_valid_flags():
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    gen = AnchorGenerator(strides=[8, 16, 32, 64, 128], ratios=[1.0], scales=[4])
    sizes = [(40, 36), (20, 18), (10, 9), (5, 5), (3, 3)]  # FPN levels of a 320x288 padded batch
    for img_shape in [(320, 288), (250, 190), (17, 300)]:
        flags = gen.valid_flags(sizes, img_shape, device='cpu')
        for size, flag, stride in zip(sizes, flags, (8, 16, 32, 64, 128)):
            ours = valid_mask([img_shape], (320, 288), size, torch.device('cpu'), (stride, stride))[0]
            assert torch.equal(ours.flatten(), flag.bool()), (img_shape, size)


# ----------------------------------------------------------------------------------- per-image task loss
#: RetinaNet's head as configured, and one that regresses decoded boxes with a GIoU loss.
HEAD_VARIANTS = {
    'delta_l1': {},
    'decoded_giou': dict(reg_decoded_bbox=True, loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
}


def mmdet_loss_of_each_image(head, outs, data):
    """The reference: mmdet's loss_by_feat on each image alone (its own target assignment each time)."""
    alone = []
    for i in range(len(data)):
        one = head.loss_by_feat(*[[o[i:i + 1] for o in out] for out in outs], [data[i].gt_instances],
                                [data[i].metainfo], [None])
        alone.append(sum(sum(v) if isinstance(v, (list, tuple)) else v for v in one.values()))
    return torch.stack(alone)


@pytest.mark.parametrize('variant', list(HEAD_VARIANTS))
def test_per_image_loss_is_mmdets_loss_of_each_image_alone(variant):
    torch.manual_seed(0)
    cfg = tiny_model_cfg(TEACHER_CFGS['retinanet_r18'], 8)
    cfg['bbox_head'].update(HEAD_VARIANTS[variant])
    model = build_det(cfg)
    model.init_weights()
    inputs, data = batch()
    with torch.no_grad():
        outs = model.bbox_head(model.extract_feat(inputs))
        ours = per_image_detection_loss(model.bbox_head, outs, data)  # one batched assignment and reduction
        assert ours.shape == (3, ) and torch.isfinite(ours).all()
        expected = mmdet_loss_of_each_image(model.bbox_head, outs, data)
        by_image = per_image_loss_by_image(model.bbox_head, outs, data)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(by_image, expected, rtol=1e-5, atol=1e-6)
    # the image without boxes is valid: the loss of its negatives (mmdet counts at least one positive)
    assert 0 < ours[2] < ours[0]


#: FCOS heads: the tree-crown teacher's, with centre sampling and normalised boxes, and with a GIoU box loss.
FCOS_VARIANTS = {
    'plain': {},
    'center_sampling_norm_on_bbox': dict(center_sampling=True, center_sample_radius=1.5, norm_on_bbox=True,
                                         centerness_on_reg=True),
    'giou': dict(loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    'zero_centerness': {},  # every positive's centerness target 0: mmdet's IoU loss returns a 0-dim zero
}


@pytest.mark.parametrize('variant', list(FCOS_VARIANTS))
def test_fcos_per_image_loss_is_mmdets_loss_of_each_image_alone(variant, monkeypatch):
    """FCOS: one batched point assignment and one call per loss module give loss_by_feat on each image."""
    from mmdet.models.dense_heads import FCOSHead
    torch.manual_seed(0)
    cfg = tiny_model_cfg(TEACHER_CFGS['fcos_r18'], 8)
    cfg['bbox_head'].update(FCOS_VARIANTS[variant])
    model = build_det(cfg)
    model.init_weights()
    if variant == 'zero_centerness':
        model.bbox_head.centerness_target = lambda targets: targets.new_zeros(len(targets))
    inputs, data = batch()
    calls = []
    get_targets = FCOSHead.get_targets
    monkeypatch.setattr(FCOSHead, 'get_targets', lambda *a, **k: calls.append(1) or get_targets(*a, **k))
    with torch.no_grad(), loss_mode(model.bbox_head) as head:
        outs = head(model.extract_feat(inputs))
        shared = SampleBatch(data)
        ours = per_image_detection_loss(head, outs, shared)
        assert len(calls) == 1 and ours.shape == (3, ) and torch.isfinite(ours).all()
        assert torch.equal(per_image_detection_loss(head, outs, shared), ours) and len(calls) == 1  # memoized
        per_image_detection_loss(head, outs, data)  # a plain list: a memo of its own
        assert len(calls) == 2
        expected = mmdet_loss_of_each_image(head, outs, data)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)
    # the image without boxes: the loss of its negatives only (no box or centerness term)
    assert 0 < ours[2] < ours[0]


def tiny_atss_cfg(**head) -> dict:
    """The tree-crown RetinaNet at 8 base channels with mmdet's ATSS head and train_cfg (one class)."""
    atss = Config.fromfile(osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'atss',
                                    'atss_r50_fpn_1x_coco.py')).model
    cfg = tiny_model_cfg(TEACHER_CFGS['retinanet_r18'], 8)
    cfg['bbox_head'] = dict(atss.bbox_head.to_dict(), num_classes=1, in_channels=16, feat_channels=16,
                            stacked_convs=2, norm_cfg=dict(type='GN', num_groups=4, requires_grad=True), **head)
    cfg['train_cfg'] = atss.train_cfg.to_dict()
    return cfg


#: ATSS heads: mmdet's (GIoU on decoded boxes, centerness), DIoU with a lighter centerness loss, and a head
#: whose centerness targets are all 0 (mmdet's IoU loss then returns a 0-dim zero).
ATSS_VARIANTS = {
    'giou': {},
    'diou': dict(loss_bbox=dict(type='DIoULoss', loss_weight=1.0),
                 loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.5)),
    'zero_centerness': {},
}


@pytest.mark.parametrize('variant', list(ATSS_VARIANTS))
def test_atss_per_image_loss_is_mmdets_loss_of_each_image_alone(variant, monkeypatch):
    """ATSS: one batched assignment and one call per loss module give loss_by_feat on each image."""
    from mmdet.models.dense_heads import ATSSHead
    from mtkd_rl.tasks.detection.losses.atss import batched_atss_head
    torch.manual_seed(0)
    model = build_det(tiny_atss_cfg(**ATSS_VARIANTS[variant]))
    model.init_weights()
    head = model.bbox_head
    assert batched_atss_head(head)
    if variant == 'zero_centerness':
        head.centerness_target = lambda anchors, gts: gts.new_zeros(len(gts))
    inputs, data = batch()
    calls = []
    get_targets = ATSSHead.get_targets
    monkeypatch.setattr(ATSSHead, 'get_targets', lambda *a, **k: calls.append(1) or get_targets(*a, **k))
    with torch.no_grad():
        outs = head(model.extract_feat(inputs))
        shared = SampleBatch(data)
        ours = per_image_detection_loss(head, outs, shared)
        assert len(calls) == 1 and ours.shape == (3, ) and torch.isfinite(ours).all()
        assert torch.equal(per_image_detection_loss(head, outs, shared), ours) and len(calls) == 1  # memoized
        per_image_detection_loss(head, outs, data)  # a plain list: a memo of its own
        assert len(calls) == 2
        expected = mmdet_loss_of_each_image(head, outs, data)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)
    assert 0 < ours[2] < ours[0]  # the image without boxes: the loss of its negatives only


def test_atss_student_losses_from_one_assignment(monkeypatch):
    """An ATSS student's batch loss dict (with gradient) and per-image losses come from one assignment."""
    from mmdet.models.dense_heads import ATSSHead
    from mmdet.models.utils import unpack_gt_instances
    torch.manual_seed(0)
    model = build_det(tiny_atss_cfg())
    model.init_weights()
    inputs, data = batch(1)
    outs = model.bbox_head(model.extract_feat(inputs))
    gts, ignores, metas = unpack_gt_instances(data)
    expected = model.bbox_head.loss_by_feat(*outs, gts, metas, ignores)
    calls = []
    get_targets = ATSSHead.get_targets
    monkeypatch.setattr(ATSSHead, 'get_targets', lambda *a, **k: calls.append(1) or get_targets(*a, **k))
    losses, per_image = detection_losses(model.bbox_head, outs, data)
    assert len(calls) == 1 and losses.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(torch.stack(losses[key]), torch.stack(expected[key]))
    assert losses['loss_cls'][0].requires_grad and not per_image.requires_grad
    with torch.no_grad():
        torch.testing.assert_close(per_image, mmdet_loss_of_each_image(model.bbox_head, outs, data), rtol=1e-5,
                                   atol=1e-6)


def test_atss_with_a_sampler_or_own_loss_code_runs_per_image():
    """An ATSS head normalised otherwise than by its positives, or with its own loss code, keeps mmdet's
    loss_by_feat on each image."""
    from mmdet.models.dense_heads import ATSSHead
    from mtkd_rl.tasks.detection.losses.atss import batched_atss_head
    sampled = tiny_atss_cfg()
    sampled['train_cfg']['sampler'] = dict(type='RandomSampler', num=64, pos_fraction=0.5)
    assert not batched_atss_head(build_det(sampled).bbox_head)

    class OwnLoss(ATSSHead):
        def loss_by_feat_single(self, *args, **kwargs):
            return super().loss_by_feat_single(*args, **kwargs)

    head = build_det(tiny_atss_cfg()).bbox_head
    head.__class__ = OwnLoss
    assert not batched_atss_head(head)


def test_student_losses_are_mmdets_batch_losses_and_per_image_losses():
    """One assignment gives the student's batch loss dict (with gradient) and its per-image losses."""
    from mmdet.models.utils import unpack_gt_instances
    torch.manual_seed(0)
    model = build_det(tiny_model_cfg(STUDENT_CFG, 8))
    model.init_weights()
    inputs, data = batch(1)
    outs = model.bbox_head(model.extract_feat(inputs))
    losses, per_image = detection_losses(model.bbox_head, outs, data)
    gts, ignores, metas = unpack_gt_instances(data)
    expected = model.bbox_head.loss_by_feat(*outs, gts, metas, ignores)
    assert losses.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(torch.stack(losses[key]), torch.stack(expected[key]))
    assert losses['loss_cls'][0].requires_grad and not per_image.requires_grad
    with torch.no_grad():
        torch.testing.assert_close(per_image, mmdet_loss_of_each_image(model.bbox_head, outs, data), rtol=1e-5,
                                   atol=1e-6)


def test_one_target_assignment_per_batch_for_the_shared_layout(distiller, monkeypatch):
    """Student and the RetinaNet teachers share one assignment; the FCOS teacher assigns its own, once."""
    from mmdet.models.dense_heads import AnchorHead, FCOSHead
    calls = {'anchor': 0, 'fcos': 0}
    anchor_targets, fcos_targets = AnchorHead.get_targets, FCOSHead.get_targets

    def count(kind, original):
        def wrapped(*a, **k):
            calls[kind] += 1
            return original(*a, **k)
        return wrapped

    monkeypatch.setattr(AnchorHead, 'get_targets', count('anchor', anchor_targets))
    monkeypatch.setattr(FCOSHead, 'get_targets', count('fcos', fcos_targets))
    distiller.train()
    inputs, data = batch()
    with torch.no_grad():
        distiller.loss(inputs, data)
    assert calls == {'anchor': 1, 'fcos': 1}
    # a new batch (new data samples) assigns again
    inputs, data = batch()
    context = IterationContext.create(inputs, data)
    with torch.no_grad():
        teachers = [distiller.task.forward_teacher(t, context, None) for t in distiller.teachers]
    assert calls == {'anchor': 2, 'fcos': 2}
    for t, model in zip(teachers[:2], distiller.teachers[:2]):
        with torch.no_grad(), loss_mode(model.bbox_head) as head:
            outs = head(model.extract_feat(inputs))
            torch.testing.assert_close(t.task_loss, mmdet_loss_of_each_image(head, outs, data), rtol=1e-5,
                                       atol=1e-6)


def test_heads_share_targets_only_with_the_same_assignment(pool):
    heads = [build_det(t['config']['model']).bbox_head for t in pool]
    assert assignment_key(heads[0]) == assignment_key(heads[1])  # RetinaNets with the student's anchors
    other = copy.deepcopy(pool[0]['config']['model'])
    other['train_cfg']['assigner']['pos_iou_thr'] = 0.6
    assert assignment_key(build_det(other).bbox_head) != assignment_key(heads[0])
    other = copy.deepcopy(pool[0]['config']['model'])
    other['bbox_head']['bbox_coder']['target_stds'] = [0.1, 0.1, 0.2, 0.2]
    assert assignment_key(build_det(other).bbox_head) != assignment_key(heads[0])


def test_per_image_loss_of_other_heads_runs_each_image_in_loss_mode():
    torch.manual_seed(0)
    cfg = tiny_model_cfg(TEACHER_CFGS['fcos_r18'], 8)
    cfg['bbox_head']['norm_on_bbox'] = True  # FCOS then scales boxes by the stride at inference only
    model = build_det(cfg)
    model.init_weights()
    model.eval()
    inputs, data = batch()
    adapter = DetectionAdapter()
    with torch.no_grad():
        teacher = adapter.forward_teacher(model, IterationContext.create(inputs, data), None)
        head = model.bbox_head
        head.training = True
        outs = head(model.extract_feat(inputs))
        head.training = False
        expected = [sum(sum(v) if isinstance(v, list) else v for v in head.loss_by_feat(
            *[[o[i:i + 1] for o in out] for out in outs], [data[i].gt_instances], [data[i].metainfo],
            [None]).values()) for i in range(3)]
    torch.testing.assert_close(teacher.task_loss, torch.stack(expected))
    assert torch.isfinite(teacher.task_loss).all()
    assert not any(m.training for m in model.modules())  # loss_mode restored the head's flag
    with loss_mode(head):
        assert head.training and not any(m.training for m in head.children())


# ------------------------------------------------------------------------------------------- adapter
def test_probe_reports_fpn_levels_and_anchor_layout(distiller):
    adapter = distiller.task
    assert adapter.logit_teachers == [True, True, False]
    shapes = adapter.probe(distiller.student, torch.zeros(2, 3, 128, 128))
    assert [s[0] for s in shapes.feature_shapes] == [16] * 5
    assert shapes.embedding_dim == 16 and shapes.summary_dim == 1 and shapes.num_classes == 1
    assert shapes.layout.priors_per_location == [9] * 5
    assert shapes.layout.strides == [(8, 8), (16, 16), (32, 32), (64, 64), (128, 128)]
    assert len(distiller.connectors) == 3 and all(len(c) == 5 for c in distiller.connectors)


def test_terms_shapes_on_tiny_detectors(distiller):
    adapter = distiller.task
    inputs, data = batch()
    context = IterationContext.create(inputs, data)
    student = adapter.forward_student(distiller.student, context)
    with torch.no_grad():
        teachers = [adapter.forward_teacher(t, context, student) for t in distiller.teachers]
    connected = [[conn(s, t.shape[-2:]) for conn, s, t in zip(conns, student.features, tp.features)]
                 for conns, tp in zip(distiller.connectors, teachers)]
    terms = adapter.terms(student, teachers, connected, context, distiller.teachers)
    for field in ('logit_kd', 'feature_kd', 'teacher_loss', 'cosine', 'teacher_entropy', 'feature_teacher_loss'):
        value = getattr(terms, field)
        assert value.shape == (3, 3), field
        assert torch.isfinite(value).all(), field
    assert terms.student_loss.shape == (3, )
    assert [e.shape for e in terms.embeddings] == [(3, 16)] * 3
    assert [s.shape for s in terms.summaries] == [(3, 1)] * 3
    assert torch.equal(terms.logit_kd[:, 2], torch.zeros(3))  # the feature-only FCOS teacher
    assert (terms.logit_kd[:, :2] > 0).all() and (terms.feature_kd > 0).all()
    assert (terms.teacher_entropy > 0).all() and (terms.teacher_entropy <= math.log(2) + 1e-6).all()
    assert ((terms.summaries[0] >= 0) & (terms.summaries[0] <= 1)).all()
    for summary, teacher in zip(terms.summaries, teachers):  # the maximum score over each image's valid anchors
        valid = teacher.anchor_mask.unsqueeze(-1)
        # sigmoid(max logit) against max(sigmoid): equal in exact arithmetic, but torch's sigmoid kernels for a
        # large and a small tensor may differ in the last bit on some CPUs
        torch.testing.assert_close(summary, torch.sigmoid(teacher.logits).masked_fill(~valid, 0.0).amax(1),
                                   rtol=1e-6, atol=1e-7)
    # the anchors counted per image are those inside its img_shape, 9 per location
    expected = [9 * sum(math.ceil(h / s) * math.ceil(w / s) for s in (8, 16, 32, 64, 128)) for h, w in SHAPES]
    assert student.anchor_mask.sum(1).tolist() == expected


def test_box_kd_enters_the_logit_column_at_its_own_weight(distiller):
    adapter = distiller.task
    inputs, data = batch()
    context = IterationContext.create(inputs, data)
    with torch.no_grad():
        student = adapter.forward_student(distiller.student, context)
        teacher = adapter.forward_teacher(distiller.teachers[0], context, student)
        alpha, weight = 2.0, 3.0
        with_box = DetectionAdapter(logit_loss=dict(type='DenseSigmoidKL', loss_weight=alpha),
                                    box_loss=dict(type='BoxGIoUKD', score_thr=0.0, loss_weight=weight))
        without = DetectionAdapter(logit_loss=dict(type='DenseSigmoidKL', loss_weight=alpha), box_loss=None)
        student.decoded_boxes = teacher.decoded_boxes = None
        logit = without.logit_kd(student, teacher, context)
        box = with_box.logit_kd(student, teacher, context) - logit
        from mtkd_rl.tasks.detection import decode_boxes
        unit = build(dict(type='BoxGIoUKD', score_thr=0.0))
        expected = unit(decode_boxes(student.head, student.outs[1]), decode_boxes(teacher.head, teacher.outs[1]),
                        torch.sigmoid(teacher.logits).amax(-1), student.anchor_mask)
        unit_logit = build(dict(type='DenseSigmoidKL'))(student.logits, teacher.logits, student.anchor_mask)
    # each loss applies its own loss_weight: alpha to the KL, the box loss's weight to the box KD
    torch.testing.assert_close(box, weight * expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logit, alpha * unit_logit, rtol=1e-6, atol=1e-7)
    assert (expected > 0).all()


def test_distiller_loss_runs_the_student_once_and_trains_student_and_connectors(distiller, monkeypatch):
    calls = {'extract_feat': 0, 'head': 0}
    student = distiller.student
    original_extract, original_head = student.extract_feat, student.bbox_head.forward

    def extract(*a, **k):
        calls['extract_feat'] += 1
        return original_extract(*a, **k)

    def head(*a, **k):
        calls['head'] += 1
        return original_head(*a, **k)

    monkeypatch.setattr(student, 'extract_feat', extract)
    monkeypatch.setattr(student.bbox_head, 'forward', head)
    distiller.train()
    distiller.zero_grad()
    inputs, data = batch()
    losses = distiller.loss(inputs, data)
    assert calls == {'extract_feat': 1, 'head': 1}
    assert {'student.loss_cls', 'student.loss_bbox', 'loss_kd_logit', 'loss_kd_feature'} <= set(losses)
    assert float(losses['kd_logit.fcos_r18']) == 0.0 and 'w_feature.fcos_r18' in losses
    total = sum(v if isinstance(v, torch.Tensor) else sum(v) for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert all(p.grad is not None for p in distiller.connectors.parameters())
    assert distiller.student.bbox_head.retina_cls.weight.grad.abs().sum() > 0
    assert distiller.student.backbone.conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for t in distiller.teachers for p in t.parameters())
    assert distiller.learner.buffer and distiller.learner.buffer[-1]['reward'].shape == (3, )


def test_only_the_terms_the_weighting_reads_are_computed_and_losses_stay(distiller, monkeypatch):
    import dataclasses

    from mtkd_rl.tasks.detection import adapter, detector_adapter
    from mtkd_rl.tasks.detection.losses import dispatch
    from mtkd_rl.weighting import AverageWeighting
    monkeypatch.setattr(distiller, 'weighting', AverageWeighting(3))
    distiller.train()
    counts, captured = {}, []
    for owner, name in ((adapter, 'binary_entropy'), (adapter, 'global_pool'), (detector_adapter, 'global_pool'),
                        (distiller.task, 'cosine')):
        count_calls(monkeypatch, owner, name, counts)
    # the anchor heads' per-image loss, as the dispatch table calls it
    anchor_kind = dispatch.DENSE_HEAD_LOSSES['AnchorHead']
    counts['anchor_head_per_image_loss'] = 0

    def counting(*args):
        counts['anchor_head_per_image_loss'] += 1
        return anchor_kind.per_image_loss(*args)

    monkeypatch.setitem(dispatch.DENSE_HEAD_LOSSES, 'AnchorHead',
                        dataclasses.replace(anchor_kind, per_image_loss=counting))
    terms_of = distiller.task.terms
    monkeypatch.setattr(distiller.task, 'terms', lambda *a, **k: captured.append(terms_of(*a, **k)) or captured[-1])
    inputs, data = batch()
    aver = distiller.loss(inputs, data)
    # AVER: the two RetinaNet teachers' own losses (logged as teacher_risk), not the student's; no entropy,
    # embedding or cosine
    assert counts == {'binary_entropy': 0, 'global_pool': 0, 'anchor_head_per_image_loss': 2, 'cosine': 0}
    terms = captured[-1]
    assert terms.student_loss is None and terms.cosine is None and terms.teacher_entropy is None
    assert terms.embeddings == [] and terms.summaries == [] and terms.teacher_loss.shape == (3, 3)

    monkeypatch.setattr(distiller.weighting, 'required_terms', EVERY_OPTIONAL_TERM)
    counts.update(dict.fromkeys(counts, 0))
    every = distiller.loss(inputs, data)
    # the embedding pools each teacher's FPN levels, the cosine reuses them and pools the student's side
    levels = len(distiller.connectors[0])
    assert counts == {'binary_entropy': 3, 'global_pool': 2 * 3 * levels, 'anchor_head_per_image_loss': 3,
                      'cosine': 3}
    assert captured[-1].student_loss.shape == (3, ) and len(captured[-1].embeddings) == 3
    assert_equal_losses(aver, every)
    # the cosine without the embedding's pooled levels (pooled again) is the same
    monkeypatch.setattr(distiller.weighting, 'required_terms', frozenset({'cosine'}))
    distiller.loss(inputs, data)
    assert captured[-1].embeddings == [] and torch.equal(captured[-1].cosine, captured[-2].cosine)


@pytest.fixture(scope='module')
def aver_distiller(pool):
    return build_det(dict(distiller_cfg(pool[:2]), weighting=dict(type='AVER')))


@pytest.mark.parametrize('weighting', ['AVER', 'EBKD', 'CA-MKD'])
def test_fixed_weightings(aver_distiller, weighting):
    losses = fixed_weighting_losses(aver_distiller, weighting)
    assert float(losses['w_logit.retinanet_r18']) > 0


def test_default_task_of_an_mmdet_student(pool):
    cfg = distiller_cfg(pool[:1])
    cfg.pop('task')
    assert type(build_det(cfg).task).__name__ == 'DetectionAdapter'


def test_anchor_layout_mismatch_names_the_teacher(pool, tmp_path):
    with pytest.raises(ValueError, match=r"model\.teachers\[2\] \(fcos_r18\) has another anchor layout.*"
                                         r"priors_per_location.*feature_only_teachers=\['fcos_r18'\]"):
        build_det(distiller_cfg(pool))
    # a RetinaNet with 3 anchors per location (one octave scale) is refused as well
    other = copy.deepcopy(pool[1])
    other['config']['model']['bbox_head']['anchor_generator'].update(scales_per_octave=1)
    other['checkpoint'] = str(tmp_path / 'three_anchors.pth')
    torch.save(dict(state_dict=build_det(other['config']['model']).state_dict()), other['checkpoint'])
    with pytest.raises(ValueError, match=r'model\.teachers\[1\] \(retinanet_r34\).*priors_per_location'):
        build_det(distiller_cfg([pool[0], other]))


def test_feature_only_teacher_checks(pool):
    with pytest.raises(ValueError, match=r"feature_only_teachers names 'fcos'.*teacher names"):
        build_det(distiller_cfg(pool, feature_only_teachers=['fcos']))
    with pytest.raises(ValueError, match=r'feature_loss is None: they would teach nothing'):
        build_det(distiller_cfg(pool, feature_only_teachers=[2], feature_loss=None))
    # by index, and the RetinaNets may be feature-only too
    model = build_det(distiller_cfg(pool, feature_only_teachers=[2, 'retinanet_r34']))
    assert model.task.logit_teachers == [True, False, False]


def test_feature_only_teachers_pass_their_logit_weight_on(pool):
    model = build_det(dict(distiller_cfg(pool, feature_only_teachers=['fcos_r18']), weighting=dict(type='AVER')))
    inputs, data = batch()
    losses = model.loss(inputs, data)
    torch.testing.assert_close(losses['w_logit.fcos_r18'], torch.tensor(0.0))
    torch.testing.assert_close(losses['w_logit.retinanet_r18'], torch.tensor(0.5))
    torch.testing.assert_close(losses['w_feature.fcos_r18'], torch.tensor(1 / 3))


def test_teacher_with_other_input_normalisation_is_refused(pool):
    """A caffe-style teacher would see pytorch-normalised images (the distiller's check, on mmdet models)."""
    caffe = copy.deepcopy(pool[0])
    caffe['config']['model']['data_preprocessor'].update(mean=[102.98, 115.95, 122.77], std=[1.0, 1.0, 1.0],
                                                         bgr_to_rgb=False)
    with pytest.raises(ValueError, match=r'model\.teachers\[0\] \(retinanet_r18\) was trained on .* normalised'):
        build_det(distiller_cfg([caffe]))


# ------------------------------------------------------------------------------------------ configs
COCO_CFG = osp.join(REPO, 'configs', 'det')


@pytest.mark.parametrize('name', ['mtkdrl_retinanet_r50.py', 'mtkdrl_retinanet_r50_fpn_r101-x101-pool_1x_coco.py',
                                  'aver_retinanet_r50_fpn_r101-x101-pool_1x_coco.py',
                                  'ebkd_retinanet_r50_fpn_r101-x101-pool_1x_coco.py',
                                  'camkd_retinanet_r50_fpn_r101-x101-pool_1x_coco.py',
                                  'mtkdrl_retinanet_r50_fpn_r101-x101-fcos-pool_1x_coco.py'])
def test_coco_configs_use_the_model_zoo(name):
    """The RetinaNet-R50 student of mmdet's 1x config; teachers with the checkpoint URLs of mmdet's metafiles."""
    from mmengine.hub import get_config
    cfg = Config.fromfile(osp.join(COCO_CFG, name))
    student = cfg.model.student
    assert student.type == 'RetinaNet' and student.backbone.depth == 50 and student.bbox_head.num_classes == 80
    assert cfg.train_cfg.max_epochs == 12 and cfg.val_evaluator.type == 'CocoMetric'
    names = [t.name for t in cfg.model.teachers]
    assert names[:3] == ['retinanet_r101', 'retinanet_x101_32x4d', 'retinanet_x101_64x4d']
    for teacher in cfg.model.teachers:
        assert teacher.checkpoint == get_config(teacher.config, pretrained=True).model_path
    assert cfg.model.connector.relu is False
    assert cfg.model.task.get('feature_only_teachers', []) == (['fcos_x101_64x4d'] if 'fcos' in name else [])
    # every variant keeps the hooks: one trains MTKD-RL's agent, the other stops any run at a NaN/inf term
    assert [h.type for h in cfg.custom_hooks] == ['mtkd_rl.TeacherWeightingHook', 'mtkd_rl.NonFiniteLossHook']


# --------------------------------------------------------------------------------------- end to end
def test_train_test_export_and_mmdet_test(treecrown_data, tmp_path):
    """Teachers, then the MTKD-RL student with its hook, tools/test.py (CocoMetric), export, mmdet's test."""
    options = {}
    for i, name in enumerate(('retinanet_r18', 'retinanet_r34')):
        run_tool('python', 'tools/train.py', TEACHER_CFGS[name], '--work-dir', str(tmp_path / name), '--no-validate',
                 '--cfg-options', *cfg_options(SMALL_RUN))
        options[f'model.teachers.{i}.checkpoint'] = str(tmp_path / name / 'epoch_1.pth')
    # random-ish detectors score below mmdet's 0.05 test threshold: keep every box so mAP is computed
    student_thr = {'model.student.test_cfg.score_thr': 0.0}
    log = run_tool('python', 'tools/train.py', MTKDRL_CFG, '--work-dir', str(tmp_path / 'mtkdrl'), '--cfg-options',
                   *cfg_options({**SMALL_RUN, **options, **student_thr, 'custom_hooks.0.warmup_epochs': 0,
                                 'custom_hooks.0.interval': 2}))
    assert 'agent_updates: 1' in log and 'w_logit.retinanet_r34' in log and 'kd_feature.retinanet_r18' in log
    val = coco_metrics(log)
    print(f'tree-crown MTKD-RL student after 2 iterations, val bbox mAP (copypaste): {val}')
    ckpt = str(tmp_path / 'mtkdrl' / 'epoch_1.pth')
    assert torch.load(ckpt)['teacher_weighting']['num_updates'] == 1  # at iteration 2, which empties the buffer

    ours_out = str(tmp_path / 'ours.pkl')
    test_log = run_tool('python', 'tools/test.py', MTKDRL_CFG, ckpt, '--work-dir', str(tmp_path / 'test'),
                        '--out', ours_out, '--cfg-options', *cfg_options({**SMALL_RUN, **student_thr}))
    assert coco_metrics(test_log) == val
    assert re.search(r'coco/bbox_mAP: [0-9.]+', test_log)

    exported = str(tmp_path / 'student.pth')
    run_tool('python', 'tools/model_converters/export_student.py', ckpt, exported)
    own_out = str(tmp_path / 'own.pkl')
    own_log = run_tool('python', MMDET_TEST, STUDENT_CFG, exported, '--work-dir', str(tmp_path / 'own'), '--out',
                       own_out, '--cfg-options', *cfg_options({**SMALL_RUN, 'model.test_cfg.score_thr': 0.0}))
    assert coco_metrics(own_log) == val
    assert_same_predictions(ours_out, own_out, 4)
