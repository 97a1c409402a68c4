"""Two-stage detection (mmdet Faster/Mask/Cascade R-CNN): the TwoStageDetectionAdapter on real tiny detectors
(region-level KD on the student's sampled RoIs, per-image terms against mmdet's own losses, mixed pools and
their checks), the COCO configs, and the tree-crown run end to end through tools/.

Unit tests build tiny models from the tree-crown Faster R-CNN configs and mmdet's Mask/Cascade R-CNN configs
(8-16 base channels, a 16-channel FPN, random weights) on CPU; the end-to-end test needs data/treecrown.
"""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict

import mtkd_rl  # noqa: F401
from mtkd_rl.tasks import IterationContext
from mtkd_rl.tasks.detection import MixedPoolDetectionAdapter, TwoStageDetectionAdapter
from conftest import REPO, cfg_options, run_tool
from detection_helpers import (MMDET_TEST, MTKDRL_CFG, RCNN_MTKDRL_CFG, RCNN_STUDENT_CFG, RCNN_TEACHER_CFGS, SHAPES,
                               SMALL_RUN, STUDENT_CFG, TEACHER_CFGS, assert_same_predictions, batch, build_det,
                               build_distiller, coco_metrics, distiller_cfg, fixed_weighting_losses, samples,
                               save_teacher, tiny_model_cfg, tiny_rcnn_cfg)

mmdet = pytest.importorskip('mmdet', reason='mmdet missing; run: bash tools/setup_env.sh')

MMDET_MODELS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_', 'models')


# ---------------------------------------------------------------------------------------------- helpers
def tree_rcnn(name: str, base: int) -> ConfigDict:
    return tiny_rcnn_cfg(Config.fromfile(RCNN_TEACHER_CFGS[name]).model, base)


def mmdet_rcnn(file: str, base: int) -> ConfigDict:
    """mmdet's own base model (Mask/Cascade R-CNN) at the tree-crown student's normalisation, 1 class."""
    return tiny_rcnn_cfg(Config.fromfile(osp.join(MMDET_MODELS, file)).model, base)


@pytest.fixture(scope='module')
def rcnn_pool(tmp_path_factory):
    """Tiny random-weight teachers: two Faster R-CNNs, a Cascade R-CNN and a RetinaNet."""
    root = tmp_path_factory.mktemp('rcnn_teachers')
    torch.manual_seed(0)
    return [
        save_teacher(root, 'faster_r18', tree_rcnn('faster_rcnn_r18', 16)),
        save_teacher(root, 'faster_r34', tree_rcnn('faster_rcnn_r34', 8)),
        save_teacher(root, 'cascade', mmdet_rcnn('cascade-rcnn_r50_fpn.py', 8)),
        save_teacher(root, 'retinanet', Config(dict(model=tiny_model_cfg(TEACHER_CFGS['retinanet_r18'], 8))).model),
    ]


def rcnn_distiller_cfg(teachers, student=None, **task) -> ConfigDict:
    student = student if student is not None else tiny_rcnn_cfg(Config.fromfile(RCNN_STUDENT_CFG).model, 8)
    return distiller_cfg(RCNN_MTKDRL_CFG, student, teachers, probe_size=(64, 64), **task)


@pytest.fixture(scope='module')
def distiller(rcnn_pool):
    """MTKD-RL: tiny Faster R-CNN student; Faster R-CNN and Cascade R-CNN teachers, a feature-only RetinaNet."""
    return build_distiller(rcnn_distiller_cfg(rcnn_pool, feature_only_teachers=['retinanet']))


def run_loss(model, seed=0):
    inputs, data = batch()
    torch.manual_seed(seed)  # the RoI sampler is random
    return model.loss(inputs, data), inputs, data


# ------------------------------------------------------------------------------------------ the student
def test_default_task_of_a_two_stage_student(rcnn_pool):
    cfg = rcnn_distiller_cfg(rcnn_pool[:1])
    cfg.pop('task')
    assert type(build_det(cfg).task).__name__ == 'TwoStageDetectionAdapter'


def test_student_losses_are_mmdets_computed_once(distiller, monkeypatch):
    """The student's loss dict is ``TwoStageDetector.loss``'s, from one backbone and one RoI-head pass."""
    student = distiller.student
    calls = {'extract_feat': 0, 'roi_loss': 0}
    extract, roi_loss = type(student).extract_feat, type(student.roi_head).loss

    def count_extract(self, *args):
        calls['extract_feat'] += self is student
        return extract(self, *args)

    def count_roi(self, *args, **kwargs):
        calls['roi_loss'] += self is student.roi_head
        return roi_loss(self, *args, **kwargs)

    monkeypatch.setattr(type(student), 'extract_feat', count_extract)
    monkeypatch.setattr(type(student.roi_head), 'loss', count_roi)
    losses, inputs, data = run_loss(distiller)
    assert calls == {'extract_feat': 1, 'roi_loss': 1}
    monkeypatch.undo()
    # the watching wrappers are gone after the call
    assert 'extract_feat' not in vars(student) and 'loss_and_target' not in vars(student.roi_head.bbox_head)
    torch.manual_seed(0)
    own = student.loss(inputs, data)
    assert {f'student.{k}' for k in own} == {k for k in losses if k.startswith('student.')}
    for key, value in own.items():
        ours = losses[f'student.{key}']
        for a, b in zip(ours if isinstance(ours, list) else [ours], value if isinstance(value, list) else [value]):
            torch.testing.assert_close(a, b)


def test_teachers_score_the_students_sampled_rois(distiller):
    losses, inputs, data = run_loss(distiller)
    task = distiller.task
    context = IterationContext.create(inputs, data)
    student = task.forward_student(distiller.student, context)
    rois = student.roi.rois
    assert rois.shape[1] == 5 and set(rois[:, 0].long().tolist()) == {0, 1, 2}
    with torch.no_grad():
        for index in (0, 2):  # a Faster R-CNN and the Cascade R-CNN (its first stage)
            teacher = distiller.teachers[index]
            tp = task.forward_teacher(teacher, context, student)
            feats = teacher.extract_feat(inputs)
            if index == 2:
                own = teacher.roi_head._bbox_forward(0, feats, rois)
            else:
                own = teacher.roi_head._bbox_forward(feats, rois)
            torch.testing.assert_close(tp.logits, own['cls_score'])
            assert tp.logits.shape == student.logits.shape == (rois.shape[0], 2)
            # summary: per class, the maximum softmax score over the image's RoIs
            p = own['cls_score'].softmax(1)
            for i in range(3):
                torch.testing.assert_close(tp.summary[i, 0], p[rois[:, 0] == i, 0].max())
            assert tp.entropy.shape == (3, ) and tp.embedding.shape == (3, 16)


def test_region_kl_is_averaged_per_image(distiller):
    _, inputs, data = run_loss(distiller)
    task = distiller.task
    context = IterationContext.create(inputs, data)
    student = task.forward_student(distiller.student, context)
    with torch.no_grad():
        teacher = task.forward_teacher(distiller.teachers[0], context, student)
    got = task.logit_kd(student, teacher, context)
    image = student.roi.image
    kl = F.kl_div(student.logits.log_softmax(1), teacher.logits.log_softmax(1), log_target=True,
                  reduction='none').sum(1)
    box = torch.zeros_like(kl)
    labels = student.roi.targets[0]
    pos = labels == 0  # the only foreground class
    box[pos] = (student.bbox_pred[pos] - teacher.bbox_pred[pos]).abs().sum(1)
    expected = torch.stack([kl[image == i].mean() + task.box_weight * box[image == i].mean() for i in range(3)])
    torch.testing.assert_close(got, expected)
    got.sum().backward()
    assert distiller.student.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0
    distiller.student.zero_grad()


def test_per_image_loss_is_mmdets_loss_of_each_image_alone(tmp_path):
    """RPN loss of the image alone plus the RoI head's loss on the image's sampled RoIs alone."""
    cfg = tree_rcnn('faster_rcnn_r34', 8)
    cfg.train_cfg.rpn.sampler = None  # mmdet's RPN samples anchors at random; compare without sampling
    distiller = build_distiller(rcnn_distiller_cfg([save_teacher(tmp_path, 'unsampled', cfg)]))
    _, inputs, data = run_loss(distiller)
    task = distiller.task
    teacher_model = distiller.teachers[0]
    with torch.no_grad():
        context = IterationContext.create(inputs, data)
        student = task.forward_student(distiller.student, context)
        tp = task.forward_teacher(teacher_model, context, student)
        roi = student.roi
        feats = teacher_model.extract_feat(inputs)
        rpn_outs = teacher_model.rpn_head(feats)
        out = teacher_model.roi_head._bbox_forward(feats, roi.rois)
        for i, sample in enumerate(roi.rpn_batch.data_samples):
            meta = sample.metainfo
            one = tuple([level[i:i + 1] for level in o] for o in rpn_outs)
            rpn = teacher_model.rpn_head.loss_by_feat(*one, [sample.gt_instances], [meta])
            rows = roi.rois[:, 0] == i
            rcnn = teacher_model.roi_head.bbox_head.loss_and_target(
                out['cls_score'][rows], out['bbox_pred'][rows], roi.rois[rows], roi.sampling_results[i:i + 1],
                teacher_model.roi_head.train_cfg)['loss_bbox']
            expected = sum(rpn['loss_rpn_cls']) + sum(rpn['loss_rpn_bbox']) + rcnn['loss_cls'] + rcnn['loss_bbox']
            torch.testing.assert_close(tp.task_loss[i], expected)


def test_batch_without_boxes(distiller):
    """Images without trees are valid samples: every term is finite, and no RoI is positive."""
    inputs, _ = batch()
    data = samples(SHAPES, (64, 64), [[], [], []])
    torch.manual_seed(0)
    losses = distiller.loss(inputs, data)
    assert all(torch.isfinite(v).all() for k, v in losses.items() if not isinstance(v, list))
    student = distiller.task.forward_student(distiller.student, IterationContext.create(inputs, data))
    assert bool((student.roi.targets[0] == 1).all())  # all background


def test_distiller_trains_student_and_connectors_not_teachers(distiller):
    losses, _, _ = run_loss(distiller)
    total = sum(v.sum() for k, v in losses.items() if 'loss' in k
                for v in (v if isinstance(v, list) else [v]))
    total.backward()
    assert distiller.connectors[0][0].conv.weight.grad.abs().sum() > 0
    assert distiller.student.rpn_head.rpn_conv.weight.grad.abs().sum() > 0
    assert all(p.grad is None for t in distiller.teachers for p in t.parameters())
    # the feature-only RetinaNet passes its logit weight on; the Cascade R-CNN teaches logits
    assert float(losses['w_logit.retinanet']) == 0.0 and float(losses['kd_logit.cascade']) > 0
    assert float(losses['kd_feature.retinanet']) > 0
    assert distiller.learner.buffer[-1]['reward'].shape == (3, )
    distiller.student.zero_grad()
    distiller.connectors.zero_grad()


@pytest.fixture(scope='module')
def aver_distiller(rcnn_pool):
    return build_det(dict(rcnn_distiller_cfg(rcnn_pool[:2]), weighting=dict(type='AVER')))


@pytest.mark.parametrize('weighting', ['AVER', 'EBKD', 'CA-MKD'])
def test_fixed_weightings(aver_distiller, weighting):
    fixed_weighting_losses(aver_distiller, weighting)


def test_camkd_feature_loss_runs_the_teachers_heads_on_connected_features(distiller):
    _, inputs, data = run_loss(distiller)
    task = distiller.task
    context = IterationContext.create(inputs, data, frozenset({'feature_teacher_loss', 'teacher_entropy'}))
    student = task.forward_student(distiller.student, context)
    with torch.no_grad():
        teachers = [task.forward_teacher(t, context, student) for t in distiller.teachers]
    connected = [[c(s, t.shape[-2:]) for c, s, t in zip(conns, student.features, tp.features)]
                 for conns, tp in zip(distiller.connectors, teachers)]
    terms = task.terms(student, teachers, connected, context, distiller.teachers)
    assert terms.feature_teacher_loss.shape == (3, 4) and torch.isfinite(terms.feature_teacher_loss).all()
    # the teacher's own features give its own loss
    own = task.feature_teacher_loss(distiller.teachers[0], teachers[0].features, teachers[0], student, context)
    torch.testing.assert_close(own, teachers[0].task_loss)


# ------------------------------------------------------------------------------------------ other students
def test_mask_rcnn_student_keeps_its_mask_branch(rcnn_pool):
    model = build_distiller(rcnn_distiller_cfg(rcnn_pool[:1], student=mmdet_rcnn('mask-rcnn_r50_fpn.py', 8)))
    inputs, data = batch()
    for sample, boxes in zip(data, [s.gt_instances.bboxes for s in data]):
        from mmdet.structures.mask import BitmapMasks
        masks = torch.zeros(len(boxes), 64, 64, dtype=torch.uint8)
        for j, (x1, y1, x2, y2) in enumerate(boxes.long().tolist()):
            masks[j, y1:y2, x1:x2] = 1
        sample.gt_instances.masks = BitmapMasks(masks.numpy(), 64, 64)
    torch.manual_seed(0)
    losses = model.loss(inputs, data)
    assert 'student.loss_mask' in losses and float(losses['kd_logit.faster_r18']) > 0
    losses['student.loss_mask'].backward()
    assert model.student.roi_head.mask_head.conv_logits.weight.grad.abs().sum() > 0


def test_cascade_rcnn_student_distils_its_first_stage(rcnn_pool):
    model = build_distiller(rcnn_distiller_cfg(rcnn_pool[:1], student=mmdet_rcnn('cascade-rcnn_r50_fpn.py', 8)))
    losses, _, _ = run_loss(model)
    assert {'student.s0.loss_cls', 'student.s2.loss_bbox'} <= set(losses)
    losses['loss_kd_logit'].backward()
    heads = model.student.roi_head.bbox_head
    assert heads[0].fc_cls.weight.grad.abs().sum() > 0 and heads[1].fc_cls.weight.grad is None


# ------------------------------------------------------------------------------- one-stage student
def retinanet_distiller_cfg(teachers, **task) -> ConfigDict:
    return distiller_cfg(MTKDRL_CFG, tiny_model_cfg(STUDENT_CFG, 8), teachers,
                         type='mtkd_rl.MixedPoolDetectionAdapter', **task)


def test_two_stage_teacher_in_a_retinanet_pool_teaches_features(rcnn_pool):
    """A Faster R-CNN teacher of a RetinaNet student: feature-only, scored on its own sampled RoIs."""
    with pytest.raises(ValueError, match=r"model\.teachers\[1\] \(faster_r18\) is a two-stage detector.*"
                                         r"feature_only_teachers=\['faster_r18'\]"):
        build_det(retinanet_distiller_cfg([rcnn_pool[3], rcnn_pool[0]]))
    cfg = retinanet_distiller_cfg([rcnn_pool[3], rcnn_pool[0]], feature_only_teachers=['faster_r18'])
    model = build_distiller(cfg)
    assert isinstance(model.task, MixedPoolDetectionAdapter) and model.task.logit_teachers == [True, False]
    losses, inputs, data = run_loss(model)
    assert float(losses['w_logit.faster_r18']) == 0.0 and float(losses['kd_feature.faster_r18']) > 0
    context = IterationContext.create(inputs, data)
    with torch.no_grad():
        tp = model.task.forward_teacher(model.teachers[1], context, None)
    roi = tp.roi
    assert set(roi.image.tolist()) == {0, 1, 2} and tp.summary.shape == (3, 1)
    assert torch.isfinite(tp.task_loss).all() and tp.task_loss.shape == (3, )
    # CA-MKD's feature-side loss: the teacher's heads on its own levels give its own loss
    own = model.task.feature_teacher_loss(model.teachers[1], tp.features, tp, None, context)
    torch.testing.assert_close(own, tp.task_loss)


# ------------------------------------------------------------------------------------------ build-time checks
def validate_pool(task, student, teachers, names):
    """``task.probe`` on each model (as the distiller does at build time), then ``task.validate``."""
    dummy = torch.zeros(2, 3, 64, 64)
    modes = [m.training for m in [student] + list(teachers)]
    try:
        with torch.no_grad():
            shapes = [task.probe(m.eval(), dummy) for m in [student] + list(teachers)]
    finally:
        for m, mode in zip([student] + list(teachers), modes):
            m.train(mode)
    task.validate(shapes[0], shapes[1:], names)
    return task


def test_one_stage_teacher_must_be_feature_only(rcnn_pool, distiller):
    with pytest.raises(ValueError, match=r"model\.teachers\[1\] \(retinanet\) is a one-stage detector.*"
                                         r"feature_only_teachers=\['retinanet'\]"):
        build_det(rcnn_distiller_cfg([rcnn_pool[0], rcnn_pool[3]]))
    student, teachers, names = distiller.student, distiller.teachers, distiller.teacher_names
    with pytest.raises(ValueError, match=r"feature_only_teachers names 'retina'.*teacher names"):
        validate_pool(TwoStageDetectionAdapter(feature_only_teachers=['retina']), student, teachers, names)
    with pytest.raises(ValueError, match=r'feature_only_teachers has index 4, but model.teachers has 4 entries'):
        validate_pool(TwoStageDetectionAdapter(feature_only_teachers=[4]), student, teachers, names)
    with pytest.raises(ValueError, match=r'feature_loss is None: they would teach nothing'):
        validate_pool(TwoStageDetectionAdapter(feature_only_teachers=[3], feature_loss=None), student, teachers,
                      names)
    # by index; a two-stage teacher may be feature-only too
    task = validate_pool(TwoStageDetectionAdapter(feature_only_teachers=[3, 'cascade']), student, teachers, names)
    assert task.logit_teachers == [True, True, False, False]


def test_one_stage_student_is_refused(distiller):
    with pytest.raises(ValueError, match=r"TwoStageDetectionAdapter but model.student.*type='DetectionAdapter'"):
        validate_pool(TwoStageDetectionAdapter(), distiller.teachers[3], distiller.teachers[:1], ['faster_r18'])


def test_adapter_options_are_checked():
    with pytest.raises(ValueError, match=r'model\.task\.box_weight must be a number >= 0, got -1\.0'):
        TwoStageDetectionAdapter(box_weight=-1.0)
    # box KD alone: it scales itself, so a logit loss weight of 0 leaves it its own weight
    assert TwoStageDetectionAdapter(logit_loss=dict(type='LogitKL', loss_weight=0.0), box_weight=1.0).box_weight == 1


def test_pools_that_cannot_work_are_refused(distiller, tmp_path):
    fewer = tree_rcnn('faster_rcnn_r18', 8)
    fewer.neck.num_outs = 4
    fewer.rpn_head.anchor_generator.strides = [4, 8, 16, 32]
    with pytest.raises(ValueError, match=r'model\.teachers\[0\] \(p2p5\) gives 4 feature levels'):
        build_det(rcnn_distiller_cfg([save_teacher(tmp_path, 'p2p5', fewer)]))
    other = tree_rcnn('faster_rcnn_r18', 8)
    other.roi_head.bbox_head.num_classes = 3
    with pytest.raises(ValueError, match=r'model\.teachers\[0\] \(three\) predicts 3 classes'):
        validate_pool(TwoStageDetectionAdapter(), distiller.student, [build_det(other)], ['three'])
    coder = tree_rcnn('faster_rcnn_r18', 8)
    coder.roi_head.bbox_head.bbox_coder.target_stds = [0.2, 0.2, 0.4, 0.4]
    coder = build_det(coder)
    with pytest.raises(ValueError, match=r'model\.teachers\[0\] \(stds\) encodes boxes .*box_weight=0'):
        validate_pool(TwoStageDetectionAdapter(box_weight=1.0), distiller.student, [coder], ['stds'])
    validate_pool(TwoStageDetectionAdapter(box_weight=0.0), distiller.student, [coder], ['stds'])
    no_train_cfg = tree_rcnn('faster_rcnn_r18', 8)
    no_train_cfg.train_cfg = None  # a test-only config
    with pytest.raises(ValueError, match=r'model\.teachers\[0\] \(test_only\) has no train_cfg'):
        validate_pool(TwoStageDetectionAdapter(), distiller.student, [build_det(no_train_cfg)], ['test_only'])


# ------------------------------------------------------------------------------------------ configs
COCO_CFG = osp.join(REPO, 'configs', 'det')
COCO_VARIANTS = {
    'mtkdrl_faster-rcnn_r50_fpn_r101-x101-pool_1x_coco.py': ('FasterRCNN', 'MTKD-RL', 'faster_rcnn'),
    'aver_faster-rcnn_r50_fpn_r101-x101-pool_1x_coco.py': ('FasterRCNN', 'AVER', 'faster_rcnn'),
    'camkd_faster-rcnn_r50_fpn_r101-x101-pool_1x_coco.py': ('FasterRCNN', 'CA-MKD', 'faster_rcnn'),
    'mtkdrl_faster-rcnn_r50_fpn_r101-x101-retinanet-pool_1x_coco.py': ('FasterRCNN', 'MTKD-RL', 'faster_rcnn'),
    'mtkdrl_mask-rcnn_r50_fpn_r101-x101-pool_1x_coco.py': ('MaskRCNN', 'MTKD-RL', 'mask_rcnn'),
    'mtkdrl_cascade-rcnn_r50_fpn_r101-x101-pool_1x_coco.py': ('CascadeRCNN', 'MTKD-RL', 'cascade_rcnn'),
}


@pytest.mark.parametrize('name', sorted(COCO_VARIANTS))
def test_coco_configs_use_the_model_zoo(name):
    """mmdet's R-50-FPN 1x students; teachers with the checkpoint URLs of mmdet's metafiles."""
    from mmengine.hub import get_config
    kind, weighting, family = COCO_VARIANTS[name]
    cfg = Config.fromfile(osp.join(COCO_CFG, name))
    student = cfg.model.student
    assert student.type == kind and student.backbone.depth == 50
    assert cfg.train_cfg.max_epochs == 12 and cfg.val_evaluator.type == 'CocoMetric'
    assert cfg.model.weighting.type == weighting and cfg.model.task.type == 'TwoStageDetectionAdapter'
    names = [t.name for t in cfg.model.teachers]
    assert names[:3] == [f'{family}_r101', f'{family}_x101_32x4d', f'{family}_x101_64x4d']
    for teacher in cfg.model.teachers:
        assert teacher.checkpoint == get_config(teacher.config, pretrained=True).model_path
    assert cfg.model.task.get('feature_only_teachers', []) == (names[3:] if 'retinanet' in name else [])
    assert [h.type for h in cfg.custom_hooks] == ['mtkd_rl.TeacherWeightingHook', 'mtkd_rl.NonFiniteLossHook']
    if kind == 'MaskRCNN':
        assert cfg.val_evaluator.metric == ['bbox', 'segm']


# --------------------------------------------------------------------------------------- end to end
def test_train_test_export_and_mmdet_test(treecrown_data, tmp_path):
    """Faster R-CNN teachers, the MTKD-RL student with its hook, tools/test.py, export, mmdet's test."""
    options = {}
    for i, name in enumerate(('faster_rcnn_r18', 'faster_rcnn_r34')):
        run_tool('python', 'tools/train.py', RCNN_TEACHER_CFGS[name], '--work-dir', str(tmp_path / name),
                 '--no-validate', '--cfg-options', *cfg_options(SMALL_RUN))
        options[f'model.teachers.{i}.checkpoint'] = str(tmp_path / name / 'epoch_1.pth')
    # random-ish detectors score below mmdet's 0.05 test threshold: keep every box so mAP is computed
    student_thr = {'model.student.test_cfg.rcnn.score_thr': 0.0}
    log = run_tool('python', 'tools/train.py', RCNN_MTKDRL_CFG, '--work-dir', str(tmp_path / 'mtkdrl'),
                   '--cfg-options', *cfg_options({**SMALL_RUN, **options, **student_thr,
                                                  'custom_hooks.0.warmup_epochs': 0, 'custom_hooks.0.interval': 2}))
    assert 'agent_updates: 1' in log and 'w_logit.faster_rcnn_r34' in log and 'kd_feature.faster_rcnn_r18' in log
    val = coco_metrics(log)
    print(f'tree-crown MTKD-RL Faster R-CNN student after 2 iterations, val bbox mAP (copypaste): {val}')
    ckpt = str(tmp_path / 'mtkdrl' / 'epoch_1.pth')

    ours_out = str(tmp_path / 'ours.pkl')
    test_log = run_tool('python', 'tools/test.py', RCNN_MTKDRL_CFG, ckpt, '--work-dir', str(tmp_path / 'test'),
                        '--out', ours_out, '--cfg-options', *cfg_options({**SMALL_RUN, **student_thr}))
    assert coco_metrics(test_log) == val

    exported = str(tmp_path / 'student.pth')
    run_tool('python', 'tools/model_converters/export_student.py', ckpt, exported)
    own_out = str(tmp_path / 'own.pkl')
    own_log = run_tool('python', MMDET_TEST, RCNN_STUDENT_CFG, exported, '--work-dir', str(tmp_path / 'own'),
                       '--out', own_out, '--cfg-options',
                       *cfg_options({**SMALL_RUN, 'model.test_cfg.rcnn.score_thr': 0.0}))
    assert coco_metrics(own_log) == val
    assert_same_predictions(ours_out, own_out, 4)
