"""MultiTeacherDistiller on real mmpretrain models: teachers frozen and hidden, one pass per model, errors."""
import copy
import re

import pytest
import torch
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

import mtkd_rl  # noqa: F401
from mtkd_rl.distillers import MultiTeacherDistiller
from mtkd_rl.registry import HOOKS, build
from mtkd_rl.weighting import WeightingPhase
from conftest import EVERY_OPTIONAL_TERM, assert_equal_losses, attach_acting_learner, count_calls, distiller_cfg


def build_distiller(cfg, scope='mmpretrain'):
    with DefaultScope.overwrite_default_scope(scope):
        return MMENGINE_MODELS.build(cfg)


def batch(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.rand(n, 3, 32, 32, generator=g) * 255
    samples = [DataSample().set_gt_label(int(i % 10)) for i in range(n)]
    return inputs, samples


@pytest.fixture(scope='module')
def distiller(random_teachers):
    model = build_distiller(distiller_cfg(random_teachers))
    attach_acting_learner(model)
    return model


def test_teachers_hidden_from_state_dict_optimizer_and_modules(distiller):
    keys = distiller.state_dict().keys()
    assert keys and all(k.startswith(('student.', 'connectors.', 'data_preprocessor.')) for k in keys)
    teacher_params = {id(p) for t in distiller.teachers for p in t.parameters()}
    agent_params = {id(p) for p in distiller.weighting.parameters()}
    own = {id(p) for p in distiller.parameters()}
    assert not own & teacher_params and not own & agent_params
    assert len(distiller.connectors) == 3
    assert all(not p.requires_grad for t in distiller.teachers for p in t.parameters())


def test_teachers_stay_in_eval_mode(distiller):
    distiller.train()
    assert distiller.student.training and distiller.weighting.training
    assert all(not m.training for t in distiller.teachers for m in t.modules())
    distiller.eval()
    distiller.train(True)
    assert all(not m.training for t in distiller.teachers for m in t.modules())


def test_to_moves_teachers_and_agent(distiller):
    distiller.to(torch.float64)
    try:
        assert all(p.dtype == torch.float64 for t in distiller.teachers for p in t.parameters())
        assert all(p.dtype == torch.float64 for p in distiller.weighting.parameters())
    finally:
        distiller.to(torch.float32)


def test_predict_and_tensor_modes_are_the_students(distiller):
    distiller.eval()
    inputs, samples = batch()
    data = distiller.data_preprocessor(dict(inputs=list(inputs), data_samples=samples))
    out = distiller(data['inputs'], copy.deepcopy(data['data_samples']), mode='predict')
    ref = distiller.student(data['inputs'], copy.deepcopy(data['data_samples']), mode='predict')
    torch.testing.assert_close(torch.stack([o.pred_score for o in out]), torch.stack([o.pred_score for o in ref]))
    torch.testing.assert_close(distiller(data['inputs'], mode='tensor'), distiller.student(data['inputs']))
    assert distiller.data_preprocessor is distiller.student.data_preprocessor


def test_loss_keys_gradients_and_transition(distiller):
    distiller.train()
    stored = len(distiller.learner.buffer)
    inputs, samples = batch()
    data = distiller.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), training=True)
    losses = distiller(**data, mode='loss')
    for name in distiller.teacher_names:
        for kind in ('kd_logit', 'w_logit', 'kd_feature', 'w_feature'):
            assert f'{kind}.{name}' in losses
    w_sum = sum(losses[f'w_logit.{n}'] for n in distiller.teacher_names)
    torch.testing.assert_close(w_sum, torch.tensor(1.0))
    assert {'student.loss', 'loss_kd_logit', 'loss_kd_feature'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    distiller.zero_grad()
    total.backward()
    assert all(p.grad is not None for p in distiller.student.parameters() if p.requires_grad)
    assert all(p.grad is not None for p in distiller.connectors.parameters())
    assert all(p.grad is None for t in distiller.teachers for p in t.parameters())
    assert all(p.grad is None for p in distiller.weighting.parameters())
    assert len(distiller.learner.buffer) == stored + 1  # the batch went to the learner, with its reward
    tr = distiller.learner.buffer[-1]
    assert tr['state'].shape == (4, distiller.weighting.state_dim) and tr['reward'].shape == (4, )
    assert ((tr['reward'] >= 0) & (tr['reward'] <= 1)).all()


def test_each_model_runs_once_and_kd_terms_are_computed_once(distiller, monkeypatch):
    distiller.train()
    calls = {'backbone': 0, 'kl': 0, 'mse': 0}

    def counting(module, key):
        forward = module.forward

        def wrapped(*args, **kwargs):
            calls[key] += 1
            return forward(*args, **kwargs)
        monkeypatch.setattr(module, 'forward', wrapped)
    for model in [distiller.student] + distiller.teachers:
        counting(model.backbone, 'backbone')
    counting(distiller.task.logit_loss, 'kl')
    counting(distiller.task.feature_loss, 'mse')
    inputs, samples = batch()
    data = distiller.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), training=True)
    distiller(**data, mode='loss')
    assert calls == {'backbone': 4, 'kl': 3, 'mse': 3}


def capture_terms(monkeypatch, task) -> list:
    """Keep every DistillationTerms the adapter assembles."""
    captured, terms_of = [], task.terms

    def capturing(*args, **kwargs):
        captured.append(terms_of(*args, **kwargs))
        return captured[-1]
    monkeypatch.setattr(task, 'terms', capturing)
    return captured


def test_only_the_terms_the_weighting_reads_are_computed_and_losses_stay(distiller, monkeypatch):
    from mtkd_rl.tasks import classification
    from mtkd_rl.weighting import AverageWeighting
    monkeypatch.setattr(distiller, 'weighting', AverageWeighting(3))
    distiller.train()
    inputs, samples = batch()
    data = distiller.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), training=True)
    counts = {}
    for owner, name in ((classification, 'prediction_entropy'), (classification, 'soft_cross_entropy'),
                        (distiller.task, 'cosine')):
        count_calls(monkeypatch, owner, name, counts)
    captured = capture_terms(monkeypatch, distiller.task)
    aver = distiller(**data, mode='loss')
    # AVER: the teachers' own losses (logged as teacher_risk) only; no entropy, student loss or cosine
    assert counts == {'prediction_entropy': 0, 'soft_cross_entropy': 3, 'cosine': 0}
    terms = captured[-1]
    assert terms.student_loss is None and terms.cosine is None and terms.teacher_entropy is None
    assert terms.embeddings == [] and terms.summaries == []
    assert terms.teacher_loss.shape == terms.teacher_accuracy.shape == (4, 3)
    assert {f'teacher_risk.{n}' for n in distiller.teacher_names} <= set(aver)
    assert {f'teacher_acc.{n}' for n in distiller.teacher_names} <= set(aver)

    monkeypatch.setattr(distiller.weighting, 'required_terms', EVERY_OPTIONAL_TERM)
    counts.update(dict.fromkeys(counts, 0))
    every = distiller(**data, mode='loss')
    assert counts == {'prediction_entropy': 3, 'soft_cross_entropy': 4, 'cosine': 3}
    assert_equal_losses(aver, every)


def test_learnable_weighting_without_hook_is_an_error(random_teachers):
    model = build_distiller(distiller_cfg(random_teachers))
    inputs, samples = batch()
    data = model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), training=True)
    with pytest.raises(RuntimeError, match=r"model.weighting 'MTKDRLWeighting' learns, but no TeacherWeightingHook "
                                           r"is registered: add dict\(type='mtkd_rl.TeacherWeightingHook'\) to "
                                           r"custom_hooks"):
        model(**data, mode='loss')
    # reading the weights needs no learner
    terms, weights = model.weigh_batch(**data)
    torch.testing.assert_close(weights.logit.sum(1), torch.ones(4))


def test_a_learner_of_another_weighting_is_refused(distiller, random_teachers):
    from mtkd_rl.weighting import WeightingLearner
    other = build_distiller(distiller_cfg(random_teachers))
    with pytest.raises(ValueError, match="not this distiller's model.weighting"):
        distiller.attach_learner(WeightingLearner(other.weighting))


@pytest.mark.parametrize('acting', [True, False])
def test_weigh_batch_gives_the_training_weights_without_side_effects(distiller, monkeypatch, acting):
    """The terms and weights of a batch as the loss of a training iteration uses them; nothing stored or checked."""
    distiller.train()
    learner = distiller.learner
    monkeypatch.setattr(learner, 'warmup_epochs', 0 if acting else 1)
    learner.begin_iteration(0, 0)
    phase = learner.phase()
    assert phase == WeightingPhase(acting=acting, collecting=True)
    inputs, samples = batch(seed=3)
    data = distiller.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), training=True)
    counts = {}
    count_calls(monkeypatch, distiller.teacher_check, 'update', counts)
    stored = len(learner.buffer)
    terms, weights = distiller.weigh_batch(**data, phase=phase)
    assert len(learner.buffer) == stored and counts['update'] == 0
    assert weights.rollout is not None and terms.student_loss is not None  # what the learner would be given
    losses = distiller(**data, mode='loss')
    assert len(learner.buffer) == stored + 1 and counts['update'] == 1
    for m, name in enumerate(distiller.teacher_names):
        torch.testing.assert_close(losses[f'w_logit.{name}'], weights.logit[:, m].mean(), rtol=0, atol=0)
        torch.testing.assert_close(losses[f'w_feature.{name}'], weights.feature[:, m].mean(), rtol=0, atol=0)
    transition = learner.buffer[-1]
    assert all(torch.equal(transition[k], v) for k, v in weights.rollout.items())


@pytest.mark.parametrize('weighting', ['AVER', 'EBKD', 'CA-MKD'])
def test_fixed_weightings_train(random_teachers, weighting):
    model = build_distiller(distiller_cfg(random_teachers, weighting=dict(type=weighting)))
    model.train()
    inputs, samples = batch()
    data = model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), training=True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_kd_logit'])
    w = torch.stack([losses[f'w_logit.{n}'] for n in model.teacher_names])
    torch.testing.assert_close(w.sum(), torch.tensor(1.0))
    # nothing to learn: no learner, and no rollout even in a phase that collects
    collecting = WeightingPhase(acting=True, collecting=True)
    assert model.learner is None and model.weigh_batch(**data, phase=collecting)[1].rollout is None


def test_single_teacher_without_feature_kd(random_teachers):
    cfg = distiller_cfg(random_teachers[:1])
    cfg['task'] = dict(type='ClassificationAdapter', feature_loss=None)
    model = build_distiller(cfg)
    attach_acting_learner(model)
    assert model.connectors is None and model.weighting.state_dim == 128 + 10 + 3
    inputs, samples = batch()
    data = model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), training=True)
    losses = model(**data, mode='loss')
    assert 'loss_kd_feature' not in losses
    assert losses['w_logit.resnet18_w16'] == 1.0


def test_default_task_from_the_students_toolbox(random_teachers):
    cfg = distiller_cfg(random_teachers[:1])
    del cfg['task']
    assert type(build_distiller(cfg).task).__name__ == 'ClassificationAdapter'


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet', 'mmseg'])
def test_builds_from_every_default_scope(random_teachers, scope):
    cfg = distiller_cfg(random_teachers[:2])
    cfg['student'] = dict(cfg['student'], _scope_='mmpretrain')
    cfg['data_preprocessor'] = dict(cfg['data_preprocessor'], type='mmpretrain.ClsDataPreprocessor')
    model = build_distiller(cfg, scope)
    assert isinstance(model, MultiTeacherDistiller)
    with DefaultScope.overwrite_default_scope(scope):
        hook = HOOKS.build(dict(type='mtkd_rl.TeacherWeightingHook'))
        loss = build(dict(type='LogitKL'))
        also = MMENGINE_MODELS.build(dict(type='mtkd_rl.FeatureMSE'))
    assert type(hook).__name__ == 'TeacherWeightingHook'
    assert type(loss).__name__ == 'LogitKL' and type(also).__name__ == 'FeatureMSE'


def _prefixed(cfg):
    """``cfg`` with ``mtkd_rl.`` before every ``type``, in nested dicts and lists too."""
    if isinstance(cfg, dict):
        return {k: f'mtkd_rl.{v}' if k == 'type' else _prefixed(v) for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_prefixed(v) for v in cfg)
    return cfg


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet', 'mmseg'])
def test_nested_types_are_accepted_with_the_prefix(random_teachers, scope):
    """Configs write the distiller's task, losses, connector and weighting without the ``mtkd_rl.`` prefix; the
    prefixed form, which older configs use, builds the same distiller under every default scope."""
    plain = distiller_cfg(random_teachers[:2])
    prefixed = dict(plain, **{k: _prefixed(plain[k]) for k in ('task', 'connector', 'weighting')})
    assert prefixed['task']['logit_loss']['type'] == 'mtkd_rl.LogitKL'
    assert prefixed['weighting']['type'] == 'mtkd_rl.MTKD-RL'
    for cfg in (plain, prefixed):
        cfg['student'] = dict(cfg['student'], _scope_='mmpretrain')
        cfg['data_preprocessor'] = dict(cfg['data_preprocessor'], type='mmpretrain.ClsDataPreprocessor')
    models = [build_distiller(copy.deepcopy(cfg), scope) for cfg in (plain, prefixed)]

    def parts(model):
        return [type(m) for m in (model.task, model.task.logit_loss, model.task.feature_loss, model.weighting,
                                  *model.connectors.modules())]
    assert parts(models[0]) == parts(models[1])
    assert type(models[1].weighting).__name__ == 'MTKDRLWeighting'
    shapes = [{k: v.shape for k, v in m.state_dict().items()} for m in models]
    assert shapes[0] == shapes[1]
    with DefaultScope.overwrite_default_scope(scope):
        for name in ('LogitKL', 'FeatureMSE', 'ClassificationAdapter'):
            assert type(build(dict(type=name))) is type(build(dict(type=f'mtkd_rl.{name}')))


# ----- bad input: each error names the config key and the fix -----

def test_missing_checkpoint(random_teachers, tmp_path):
    teachers = copy.deepcopy(random_teachers)
    teachers[1]['checkpoint'] = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match=r'model\.teachers\[1\]\.checkpoint.*Train the teacher first'):
        build_distiller(distiller_cfg(teachers))


def test_unreadable_checkpoint(random_teachers, tmp_path):
    bad = tmp_path / 'broken.pth'
    bad.write_bytes(b'not a checkpoint at all')
    teachers = copy.deepcopy(random_teachers)
    teachers[0]['checkpoint'] = str(bad)
    with pytest.raises(RuntimeError, match=r'model\.teachers\[0\]\.checkpoint.*could not be read'):
        build_distiller(distiller_cfg(teachers))


def test_checkpoint_of_another_model(random_teachers):
    teachers = copy.deepcopy(random_teachers)
    teachers[0]['checkpoint'] = random_teachers[1]['checkpoint']
    with pytest.raises(RuntimeError, match=r'model\.teachers\[0\]\.checkpoint.*does not match'):
        build_distiller(distiller_cfg(teachers))


def test_class_count_mismatch(random_teachers):
    cfg = distiller_cfg(random_teachers[:2])
    cfg['student']['head']['num_classes'] = 7
    with pytest.raises(ValueError, match=r'model\.teachers\[0\].*10 classes.*model\.student.*7'):
        build_distiller(cfg)


def test_unknown_weighting(random_teachers):
    with pytest.raises(KeyError, match=r"model\.weighting\.type 'MTKD' is unknown.*MTKD-RL"):
        build_distiller(distiller_cfg(random_teachers[:1], weighting=dict(type='MTKD')))


@pytest.mark.parametrize('teachers', [[], None])
def test_empty_pool(teachers):
    from conftest import MTKDRL_CONFIG
    from mmengine.config import Config
    cfg = Config.fromfile(MTKDRL_CONFIG).model.to_dict()
    cfg['teachers'] = teachers
    with pytest.raises(ValueError, match=r'model\.teachers is empty'):
        build_distiller(cfg)


def test_feature_the_connector_cannot_map(random_teachers):
    cfg = distiller_cfg(random_teachers[:1])
    # a ConvNeXt that pools before its final norm: a [B, 16] vector, not a map
    cfg['student'] = dict(
        type='ImageClassifier',
        backbone=dict(type='ConvNeXt', arch=dict(depths=[1, 1, 1, 1], channels=[8, 8, 16, 16])),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=16))
    cfg['task'] = dict(type='ClassificationAdapter', probe_size=(32, 32))
    with pytest.raises(ValueError, match=r"model\.student's backbone gives a pooled vector.*feature_loss=None"):
        build_distiller(cfg)


def test_duplicate_teacher_names(random_teachers):
    teachers = copy.deepcopy(random_teachers[:2])
    teachers[1]['name'] = teachers[0]['name']
    with pytest.raises(ValueError, match='duplicate names'):
        build_distiller(distiller_cfg(teachers))


def test_malformed_teacher_entry(random_teachers):
    with pytest.raises(ValueError, match=r'model\.teachers\[0\] has no config: it must be dict\(config='):
        build_distiller(distiller_cfg([dict(checkpoint=random_teachers[0]['checkpoint'])]))


@pytest.mark.parametrize('key,hint', [('ckpt', 'checkpoint'), ('chekpoint', 'checkpoint'), ('cfg', 'config')])
def test_unknown_teacher_key_suggests_the_close_one(random_teachers, key, hint):
    teachers = copy.deepcopy(random_teachers)
    other = 'config' if hint == 'checkpoint' else 'checkpoint'
    teachers[1] = {other: teachers[1][other], key: teachers[1][hint]}
    with pytest.raises(ValueError, match=rf"model\.teachers\[1\] has unknown key '{key}' \(did you mean '{hint}'\?\)"):
        build_distiller(distiller_cfg(teachers))


def _random_checkpoint(model_cfg: dict, path, scope: str) -> str:
    with DefaultScope.overwrite_default_scope(scope):
        model = MMENGINE_MODELS.build(copy.deepcopy(model_cfg))
    torch.save(dict(state_dict=model.state_dict()), str(path))
    return str(path)


def test_detector_teacher_for_a_classifier(random_teachers, tmp_path):
    from detection_helpers import TEACHER_CFGS, tiny_model_cfg
    detector = tiny_model_cfg(TEACHER_CFGS['retinanet_r18'], 8)
    teachers = copy.deepcopy(random_teachers[:2])
    teachers[1] = dict(name='retinanet', config=dict(model=detector, default_scope='mmdet'),
                       checkpoint=_random_checkpoint(detector, tmp_path / 'det.pth', 'mmdet'))
    with pytest.raises(ValueError, match=r'model\.teachers\[1\] \(retinanet\) is an mmdet detector \(RetinaNet\), '
                                         r'but model\.student is an mmpretrain classifier \(ImageClassifier\).*'
                                         r'an mmpretrain classifier'):
        build_distiller(distiller_cfg(teachers))


def test_classifier_teacher_for_a_segmentor(random_teachers):
    from test_segmentation import seg_model
    cfg = distiller_cfg(random_teachers[:1])
    cfg['student'] = seg_model()
    cfg['task'] = None
    del cfg['data_preprocessor']
    with pytest.raises(ValueError, match=r'model\.teachers\[0\] \(resnet18_w16\) is an mmpretrain classifier '
                                         r'\(ImageClassifier\), but model\.student is an mmseg segmentor '
                                         r'\(EncoderDecoder\).*an mmseg segmentor'):
        build_distiller(cfg, scope='mmseg')


@pytest.fixture(scope='module')
def pools_of_one(random_teachers, tmp_path_factory):
    """Per kind of student: its tiny model config, a one-teacher pool of the same model and the default scope."""
    from detection_helpers import RCNN_STUDENT_CFG, STUDENT_CFG, tiny_model_cfg, tiny_rcnn_cfg
    from mmengine.config import Config
    from test_segmentation import seg_model
    root = tmp_path_factory.mktemp('pools_of_one')
    pools = dict(classifier=(distiller_cfg(random_teachers)['student'], random_teachers[:1], 'mmpretrain'))
    for kind, model, scope in (
            ('detector', tiny_model_cfg(STUDENT_CFG, 8), 'mmdet'),
            ('two_stage', tiny_rcnn_cfg(Config.fromfile(RCNN_STUDENT_CFG).model, 8), 'mmdet'),
            ('segmentor', seg_model(), 'mmseg')):
        checkpoint = _random_checkpoint(model, root / f'{kind}.pth', scope)
        pools[kind] = (model, [dict(name=kind, config=dict(model=model, default_scope=scope),
                                    checkpoint=checkpoint)], scope)
    return pools


STUDENTS = dict(classifier='an mmpretrain classifier (ImageClassifier)', detector='an mmdet detector (RetinaNet)',
                two_stage='an mmdet detector (FasterRCNN)', segmentor='an mmseg segmentor (EncoderDecoder)')
RIGHT_ADAPTERS = dict(classifier='ClassificationAdapter', detector='DetectionAdapter',
                      two_stage='TwoStageDetectionAdapter', segmentor='SegmentationAdapter')
ADAPTER_MODELS = dict(ClassificationAdapter='mmpretrain classifiers', DetectionAdapter='mmdet detectors',
                      TwoStageDetectionAdapter='mmdet detectors', SegmentationAdapter='mmseg segmentors')


@pytest.mark.parametrize('kind,adapter', [
    ('detector', 'ClassificationAdapter'), ('two_stage', 'ClassificationAdapter'),
    ('segmentor', 'ClassificationAdapter'), ('classifier', 'DetectionAdapter'), ('segmentor', 'DetectionAdapter'),
    ('classifier', 'TwoStageDetectionAdapter'), ('classifier', 'SegmentationAdapter'),
    ('detector', 'SegmentationAdapter')])
def test_adapter_of_another_toolbox_than_the_students(pools_of_one, kind, adapter):
    student, teachers, scope = pools_of_one[kind]
    cfg = distiller_cfg(teachers, student=student, task=dict(type=f'mtkd_rl.{adapter}'))
    del cfg['data_preprocessor']
    message = (f"model.task.type is {adapter}, which runs {ADAPTER_MODELS[adapter]}, but model.student is "
               f"{STUDENTS[kind]}: set model.task.type='{RIGHT_ADAPTERS[kind]}' (or leave model.task.type "
               f"out to get the adapter of the student's toolbox)")
    with pytest.raises(ValueError, match=f'^{re.escape(message)}$'):
        build_distiller(cfg, scope)


@pytest.mark.parametrize('preprocessor', [True, False], ids=['own-normaliser', 'student-normaliser'])
def test_teacher_with_another_channel_count(random_teachers, tmp_path, preprocessor):
    """A gray-image teacher for an RGB student; whether or not its data_preprocessor shows it, the error says
    so (and does not blame the probe size)."""
    from mmengine.config import Config
    from conftest import TEACHER_CONFIGS
    text = f"_base_ = '{TEACHER_CONFIGS['resnet18_w16']}'\nmodel = dict(backbone=dict(in_channels=1))\n"
    if preprocessor:
        text += "data_preprocessor = dict(mean=[72.94], std=[90.02])\n"
    config = tmp_path / 'gray_teacher.py'
    config.write_text(text)
    teachers = copy.deepcopy(random_teachers[:2])
    teachers[1] = dict(name='gray', config=str(config), checkpoint=_random_checkpoint(
        Config.fromfile(str(config)).model.to_dict(), tmp_path / 'gray.pth', 'mmpretrain'))
    with pytest.raises(ValueError, match=r'model\.teachers\[1\] \(gray\) takes 1-channel images but '
                                         r'model\.student takes 3-channel images') as error:
        build_distiller(distiller_cfg(teachers))
    assert 'probe_size' not in str(error.value)


@pytest.mark.parametrize('weighting,match', [
    (dict(type='AVER', fusion='dynamic'),
     r"model\.weighting\.fusion is set for AVER, but it is an option of MTKD-RL, not of AVER: remove it"),
    (dict(type='CA-MKD', update='policy_gradient', hidden_dim=64),
     r'model\.weighting\.hidden_dim is set for CA-MKD, but it is an option of MTKD-RL.*also unknown: update'),
    (dict(type='MTKD-RL', fuson='dynamic'), r"model\.weighting\.fuson .* no weighting takes it; did you mean 'fusion'"),
    (dict(type='EBKD', num_teachers=2), r'model\.weighting\.num_teachers .* the distiller fills it in'),
])
def test_weighting_option_of_another_weighting(random_teachers, weighting, match):
    with pytest.raises(ValueError, match=match):
        build_distiller(distiller_cfg(random_teachers[:1], weighting=weighting))


def test_weighting_without_type_is_mtkd_rl(random_teachers):
    model = build_distiller(distiller_cfg(random_teachers[:1], weighting=dict(fusion='dynamic')))
    assert type(model.weighting).__name__ == 'MTKDRLWeighting' and model.weighting.fusion == 'dynamic'


def test_model_that_cannot_take_the_probe(random_teachers):
    cfg = distiller_cfg(random_teachers[:1])
    cfg['student'] = dict(type='ImageClassifier', backbone=dict(type='LeNet5', num_classes=10),
                          head=dict(type='ClsHead'))
    with pytest.raises(ValueError, match=r'model\.student failed on a probe batch.*model\.task\.probe_size'):
        build_distiller(cfg)


def test_teacher_with_another_input_normalisation(random_teachers, tmp_path):
    from conftest import TEACHER_CONFIGS
    config = tmp_path / 'teacher_other_norm.py'
    config.write_text(f"_base_ = '{TEACHER_CONFIGS['resnet18_w16']}'\n"
                      "data_preprocessor = dict(mean=[0, 0, 0], std=[255, 255, 255])\n")
    teachers = copy.deepcopy(random_teachers)
    teachers[2]['config'] = str(config)
    teachers[2]['checkpoint'] = random_teachers[0]['checkpoint']
    with pytest.raises(ValueError, match=r'model\.teachers\[2\].*normalised with.*student\'s data_preprocessor'):
        build_distiller(distiller_cfg(teachers))
