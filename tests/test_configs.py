"""The configs under configs/: every file parses and follows the registry prefix rule (``mtkd_rl.`` on what the
Runner builds, none on what the distiller builds); every distiller names teachers whose config resolves and
whose model builds; every classification model (plain or a distiller's student) builds and predicts, on a dummy
batch of its config's input size, as many classes as its teachers; teacher checkpoints are model-zoo URLs or
the work_dirs of their own teacher config.

Models are built on CPU without pretrained weights (backbone ``init_cfg`` set aside; building never downloads).
Teacher builds and student outputs are cached: a teacher or student shared by many configs is built once.
"""
import copy
import glob
import json
import os.path as osp
import re
from contextlib import contextmanager
from functools import lru_cache
from typing import Optional, Tuple
from unittest import mock

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.registry import MODELS, DefaultScope

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True))
MODEL_ZOO = 'https://download.openmmlab.com/'
WORK_DIR_CHECKPOINT = re.compile(r'(?:\./)?work_dirs/([^/]+)/[^/]+\.pth')


_YAML, _INSTALLED = {}, {}


@contextmanager
def _package_lookups_cached():
    """For each 'package::' base of each config, mmengine reloads pkg_resources and re-reads every metafile of
    the package (about 85 YAML files for mmpretrain): two thirds of the parse time. They do not change during
    the run, so read each once."""
    import mmengine.config.config as config_module
    import mmengine.config.utils as config_utils
    import mmengine.utils.package_utils as package_utils
    load, is_installed = config_utils.load, package_utils.is_installed

    def cached_load(file, *args, **kwargs):
        if args or kwargs or not (isinstance(file, str) and file.endswith(('.yml', '.yaml'))):
            return load(file, *args, **kwargs)
        if file not in _YAML:
            _YAML[file] = load(file)
        return _YAML[file]

    def cached_is_installed(package):
        if package not in _INSTALLED:
            _INSTALLED[package] = is_installed(package)
        return _INSTALLED[package]

    with mock.patch.object(config_utils, 'load', cached_load), \
            mock.patch.object(config_module, 'is_installed', cached_is_installed), \
            mock.patch.object(package_utils, 'is_installed', cached_is_installed):
        yield


@pytest.fixture(autouse=True, scope='module')
def _cached_lookups_one_thread():
    """Also run torch on one thread: the models are small at these batch sizes, and on a busy 2-core machine
    two threads made each forward pass 10-40x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _package_lookups_cached():
            yield
    finally:
        torch.set_num_threads(threads)


def _rel(path: str) -> str:
    return osp.relpath(path, CONFIG_DIR)


@lru_cache(maxsize=None)
def _parse(path: str) -> Config:
    return Config.fromfile(path)


def _parsed_or_none(path: str) -> Optional[Config]:
    try:
        return _parse(path)
    except Exception:  # noqa: BLE001 - test_config_parses reports it
        return None


def _is_distiller(cfg: Config) -> bool:
    model = cfg.get('model')
    return isinstance(model, dict) and str(model.get('type', '')).endswith('MultiTeacherDistiller')


@lru_cache(maxsize=None)
def _teacher_config(config: str) -> Config:
    """A teacher's ``config``: a 'package::path' packaged config, or a file path relative to the repository
    root (where tools/train.py runs)."""
    if '::' in config:
        return get_config(config)
    path = config if osp.isabs(config) else osp.join(ROOT, config)
    assert osp.isfile(path), f"teacher config '{config}' does not exist (paths are relative to the repository root)"
    return _parse(path)


def _without_pretrained(model_cfg):
    """A copy of ``model_cfg`` that cannot load pretrained weights: no backbone init_cfg or ``pretrained``."""
    cfg = copy.deepcopy(model_cfg)
    if 'pretrained' in cfg:
        cfg['pretrained'] = None
    backbone = cfg.get('backbone')
    if isinstance(backbone, dict):
        backbone.pop('init_cfg', None)
        if 'pretrained' in backbone:
            backbone['pretrained'] = None
    return cfg


@lru_cache(maxsize=None)
def _teacher_num_classes(config: str) -> Optional[int]:
    """Build a teacher's model in its config's default scope; return its head's number of classes (if any)."""
    cfg = _teacher_config(config)
    assert 'model' in cfg, f"teacher config '{config}' has no model"
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(_without_pretrained(cfg.model))
    assert isinstance(model, nn.Module)
    head = getattr(model, 'head', None)
    return getattr(head, 'num_classes', None)


_STUDENT_OUTPUTS = {}


def _logits_shape(model_cfg, size: Tuple[int, int]) -> Tuple[int, ...]:
    """Build a classifier under default scope mmpretrain and return the shape of its logits on 2 dummy images."""
    key = (json.dumps(model_cfg.to_dict(), sort_keys=True, default=repr), size)
    if key not in _STUDENT_OUTPUTS:
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            model = MODELS.build(_without_pretrained(model_cfg))
        first_conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        channels = first_conv.in_channels if first_conv is not None else 3
        model.eval()
        with torch.no_grad():
            logits = model(torch.zeros(2, channels, *size), mode='tensor')
        _STUDENT_OUTPUTS[key] = tuple(logits.shape)
    return _STUDENT_OUTPUTS[key]


def _as_hw(value) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    w, h = value  # mmpretrain's scale and crop_size are (w, h)
    return int(h), int(w)


def _input_size(cfg: Config) -> Tuple[int, int]:
    """The image size the model sees: the last crop/resize of the test pipeline, else of the train pipeline."""
    for loader_key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = (cfg.get(loader_key) or {}).get('dataset')
        while isinstance(dataset, dict) and 'pipeline' not in dataset and 'dataset' in dataset:
            dataset = dataset['dataset']  # dataset wrappers
        size = None
        for step in (dataset or {}).get('pipeline', []):
            if step.get('type') in ('CenterCrop', 'RandomCrop') and 'crop_size' in step:
                size = _as_hw(step['crop_size'])
            elif step.get('type') in ('RandomResizedCrop', 'Resize') and 'scale' in step:
                size = _as_hw(step['scale'])
        if size is not None:
            return size
    raise AssertionError('no crop or resize in the test or train pipeline: cannot tell the input size')


# Collection: parse once (cached), list the distillers' teachers and the classification models.
DISTILLER_TEACHERS, CLS_MODELS, CLS_TEACHERS = [], [], []
for _path in CONFIGS:
    with _package_lookups_cached():
        _cfg = _parsed_or_none(_path)
    if _cfg is None or not isinstance(_cfg.get('model'), dict):
        continue
    _is_cls = _rel(_path).startswith('cls' + osp.sep)
    if _is_cls:
        CLS_MODELS.append(pytest.param(_path, id=_rel(_path)))
    if _is_distiller(_cfg):
        for _i, _teacher in enumerate(_cfg.model.get('teachers') or []):
            _name = _teacher.get('name') or f'teacher{_i}'
            DISTILLER_TEACHERS.append(pytest.param(_path, _i, id=f'{_rel(_path)}:{_name}'))
            if _is_cls:
                CLS_TEACHERS.append(pytest.param(_path, _i, id=f'{_rel(_path)}:{_name}'))


@pytest.mark.parametrize('path', CONFIGS, ids=_rel)
def test_config_parses(path):
    cfg = _parse(path)
    assert isinstance(cfg, Config)


# The registry prefix, one rule (docs/user_guides/writing_configs.md, "Why the `mtkd_rl.` prefix"): what the
# Runner builds carries 'mtkd_rl.', what the distiller builds itself is written without it.
PREFIX = 'mtkd_rl.'
#: The distiller's keys whose types it builds itself (``mtkd_rl.registry.build``): written without the prefix.
NESTED_KEYS = ('task', 'connector', 'weighting')
RULE_DOC = "docs/user_guides/writing_configs.md, 'Why the mtkd_rl. prefix'"


@lru_cache(maxsize=None)
def _runner_built_types() -> Tuple[frozenset, frozenset]:
    """Our types the Runner builds: (those of ``model.type``, those of hooks, loops, samplers and transforms)."""
    from mtkd_rl import registry
    for reg in (registry.MODELS, registry.HOOKS, registry.LOOPS, registry.DATA_SAMPLERS, registry.TRANSFORMS):
        reg.import_from_location()
    models = frozenset(n for n in registry.MODELS.module_dict if n.endswith('Distiller'))
    others = frozenset(n for reg in (registry.HOOKS, registry.LOOPS, registry.DATA_SAMPLERS, registry.TRANSFORMS)
                       for n in reg.module_dict)
    return models, others


def _typed(node, key: str):
    """Yield ``(key of the type, type)`` for every dict with a string ``type`` in ``node``, dicts and lists
    walked recursively."""
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield f'{key}.type', node['type']
        for k, v in node.items():
            yield from _typed(v, f'{key}.{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _typed(v, f'{key}[{i}]')


def _written_in(path: str, type_name: str) -> str:
    """Where ``type_name`` is written: ``path`` or those of its local ``_base_`` files that spell it out."""
    import ast
    found, todo, seen = [], [path], set()
    while todo:
        current = osp.normpath(todo.pop())
        if current in seen or not osp.isfile(current):
            continue
        seen.add(current)
        with open(current) as f:
            text = f.read()
        if f"'{type_name}'" in text or f'"{type_name}"' in text:
            found.append(osp.relpath(current, ROOT))
        for node in ast.parse(text).body:
            if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '_base_' for t in node.targets):
                try:
                    bases = ast.literal_eval(node.value)
                except ValueError:
                    continue
                for base in [bases] if isinstance(bases, str) else bases:
                    if isinstance(base, str) and '::' not in base:
                        todo.append(osp.join(osp.dirname(current), base))
    return ', '.join(sorted(found)) or 'this file or one of its _base_ files'


def _prefix_rule_violations(path: str, name: str) -> list:
    """The messages of every type of the config at ``path`` (shown as ``name``) that breaks the prefix rule."""
    cfg = _parse(path)
    model_types, runner_types = _runner_built_types()
    scope = cfg.get('default_scope')
    wrong = []

    def needs_prefix(key, value, ours):
        bare = value.split('.')[-1]
        if bare in ours and value != PREFIX + bare:
            wrong.append(f"{name}: {key} is '{value}'. The Runner builds it in the config's default_scope "
                         f"({scope!r}), which finds mtkd_rl's types only with the prefix: write "
                         f"type='{PREFIX}{bare}' (in {_written_in(path, value)}); see {RULE_DOC}")

    model = cfg.get('model')
    if isinstance(model, dict) and isinstance(model.get('type'), str):
        needs_prefix('model.type', model['type'], model_types)
    for top, value in cfg.items():
        if top != 'model':
            for key, type_name in _typed(value, top):
                needs_prefix(key, type_name, runner_types)
    if _is_distiller(cfg):
        for nested in NESTED_KEYS:
            for key, type_name in _typed(model.get(nested), f'model.{nested}'):
                if type_name.startswith(PREFIX):
                    wrong.append(f"{name}: {key} is '{type_name}'. The distiller builds model.{nested} itself, "
                                 f"so write its types without the prefix: type='{type_name[len(PREFIX):]}' "
                                 f"(in {_written_in(path, type_name)}); see {RULE_DOC}")
    return wrong


@pytest.mark.parametrize('path', CONFIGS, ids=_rel)
def test_registry_prefix_rule(path):
    """Runner-built mtkd_rl types (the distiller, hooks, loops, samplers, transforms) carry the ``mtkd_rl.``
    prefix; the types nested in the distiller (``model.task`` and its losses, ``model.connector``,
    ``model.weighting``) do not."""
    wrong = _prefix_rule_violations(path, osp.relpath(path, ROOT))
    assert not wrong, '\n'.join(wrong)


def test_registry_prefix_rule_names_the_file_the_key_and_the_fix(tmp_path):
    """The rule's check finds every kind of break, nested in lists included, and names where to fix it."""
    base = tmp_path / 'base.py'
    base.write_text("custom_hooks = [dict(type='TeacherWeightingHook')]\n"
                    "train_cfg = dict(type='ExactResumeEpochBasedTrainLoop', max_epochs=1)\n"
                    "train_dataloader = dict(\n"
                    "    sampler=dict(type='SeededAugmentSampler'),\n"
                    "    dataset=dict(pipeline=[dict(type='SeededPipeline', transforms=[\n"
                    "        dict(type='RemapLabels', mapping={1: 2}), dict(type='PackInputs')])]))\n")
    config = tmp_path / 'distiller.py'
    config.write_text("_base_ = './base.py'\n"
                      "model = dict(\n"
                      "    type='MultiTeacherDistiller',\n"
                      "    task=dict(type='mtkd_rl.SegmentationAdapter', logit_loss=[\n"
                      "        dict(type='LogitKL'), dict(type='mtkd_rl.ChannelWiseKL')]),\n"
                      "    connector=dict(type='mtkd_rl.ConvBNReLUConnector'),\n"
                      "    weighting=dict(type='mtkd_rl.MTKD-RL'))\n")
    wrong = _prefix_rule_violations(str(config), 'distiller.py')
    expected = {
        'model.type': "type='mtkd_rl.MultiTeacherDistiller'",
        'custom_hooks[0].type': "type='mtkd_rl.TeacherWeightingHook'",
        'train_cfg.type': "type='mtkd_rl.ExactResumeEpochBasedTrainLoop'",
        'train_dataloader.sampler.type': "type='mtkd_rl.SeededAugmentSampler'",
        'train_dataloader.dataset.pipeline[0].type': "type='mtkd_rl.SeededPipeline'",
        'train_dataloader.dataset.pipeline[0].transforms[0].type': "type='mtkd_rl.RemapLabels'",
        'model.task.type': "type='SegmentationAdapter'",
        'model.task.logit_loss[1].type': "type='ChannelWiseKL'",
        'model.connector.type': "type='ConvBNReLUConnector'",
        'model.weighting.type': "type='MTKD-RL'",
    }
    assert len(wrong) == len(expected), '\n'.join(wrong)
    for key, fix in expected.items():
        message, = [m for m in wrong if m.startswith(f'distiller.py: {key} is ')]
        assert fix in message, message
        written_in = osp.relpath(str(config if key.startswith('model.') else base), ROOT)
        assert f'(in {written_in})' in message, message
    assert all(RULE_DOC in m for m in wrong)


@pytest.mark.parametrize('path,index', DISTILLER_TEACHERS)
def test_teacher_config_resolves_and_builds(path, index):
    teacher = _parse(path).model.teachers[index]
    assert set(teacher) <= {'name', 'config', 'checkpoint'}, f'unknown keys in model.teachers[{index}]'
    assert isinstance(teacher.get('config'), str) and isinstance(teacher.get('checkpoint'), str)
    _teacher_num_classes(teacher['config'])


@pytest.mark.parametrize('path,index', CLS_TEACHERS)
def test_teacher_checkpoint(path, index):
    """Model-zoo teachers load the metafile's URL; trained teachers load from their own config's work_dir."""
    teacher = _parse(path).model.teachers[index]
    config, checkpoint = teacher['config'], teacher['checkpoint']
    if checkpoint.startswith(('http://', 'https://')):
        assert checkpoint.startswith(MODEL_ZOO), f'{checkpoint} is not an OpenMMLab model-zoo URL ({MODEL_ZOO})'
        if '::' in config:
            expected = get_config(config, pretrained=True).get('model_path')
            assert expected is None or checkpoint == expected, \
                f"{config}'s metafile gives {expected}, the config says {checkpoint}"
        return
    match = WORK_DIR_CHECKPOINT.fullmatch(checkpoint)
    assert match, f"'{checkpoint}' is neither a model-zoo URL nor work_dirs/<teacher config name>/<file>.pth"
    config_name = osp.splitext(osp.basename(config.split('::')[-1]))[0]
    assert match.group(1) == config_name, \
        f"'{checkpoint}' is not in the work_dir of its teacher config '{config}' (work_dirs/{config_name}/)"
    assert any(osp.basename(p) == config_name + '.py' for p in CONFIGS)


@pytest.mark.parametrize('path', CLS_MODELS)
def test_cls_model_builds_and_predicts(path):
    cfg = _parse(path)
    size = _input_size(cfg)
    if _is_distiller(cfg):
        shape = _logits_shape(cfg.model.student, size)
        expected = {t['name'] if 'name' in t else t['config']: _teacher_num_classes(t['config'])
                    for t in cfg.model.teachers}
        for name, num_classes in expected.items():
            assert num_classes is not None, f'teacher {name} has no classification head'
            assert shape == (2, num_classes), f'student logits {shape} at {size}; teacher {name}: {num_classes}'
    else:
        shape = _logits_shape(cfg.model, size)
        assert shape == (2, cfg.model.head.num_classes), f'logits {shape} at input size {size}'


def _metafile_weights(config: str) -> set:
    """The model-zoo checkpoints a toolbox's metafile lists for a 'package::algo/file.py' config."""
    import importlib

    import yaml
    package, rel = config.split('::')
    root = osp.join(osp.dirname(importlib.import_module(package).__file__), '.mim')
    algo = rel.split('/')[0]
    metafiles = [p for p in (osp.join(root, 'configs', algo, f'metafile.{e}') for e in ('yml', 'yaml'))
                 if osp.isfile(p)]
    assert metafiles, f'{package} has no metafile for {algo}'
    with open(metafiles[0]) as f:
        models = yaml.safe_load(f)['Models']
    return {m['Weights'] for m in models if m.get('Config') == f'configs/{rel}' and m.get('Weights')}


ZOO_TEACHERS = [p for p in DISTILLER_TEACHERS
                if _rel(p.values[0]).startswith(('cls', 'seg'))
                and str(_parse(p.values[0]).model.teachers[p.values[1]]['checkpoint']).startswith('http')]


@pytest.mark.parametrize('path,index', ZOO_TEACHERS)
def test_zoo_teacher_checkpoint_is_in_its_metafile(path, index):
    """A model-zoo teacher's checkpoint is one its toolbox's metafile lists for its config."""
    teacher = _parse(path).model.teachers[index]
    assert '::' in teacher['config'], f"a model-zoo checkpoint needs the toolbox's config ('package::...')"
    assert teacher['checkpoint'] in _metafile_weights(teacher['config'])


SEG_DATASETS = {'ade20k': ('ADE20KDataset', 150, 'ade20k'),
                'coco_stuff': ('COCOStuffDataset', 171, 'coco-stuff164k')}
SEG_DATASET_DISTILLERS = [pytest.param(p, id=_rel(p)) for p in CONFIGS
                          if _rel(p).split(osp.sep)[:2] in (['seg', 'ade20k'], ['seg', 'coco_stuff'])
                          and osp.sep + 'students' + osp.sep not in p]


@pytest.mark.parametrize('path', SEG_DATASET_DISTILLERS)
def test_seg_dataset_distillers(path):
    """ADE20K and COCO-Stuff-164k: an R18-D8 student (the plain student config beside it) with mmseg's R101-D8
    teachers of the same data set and classes; mmseg's own dataset, pipeline and IoUMetric."""
    cfg = _parse(path)
    dataset_type, num_classes, name = SEG_DATASETS[_rel(path).split(osp.sep)[1]]
    assert _is_distiller(cfg) and cfg.default_scope == 'mmseg'
    assert cfg.train_dataloader.dataset.type == dataset_type and cfg.val_evaluator.type == 'IoUMetric'
    assert tuple(cfg.crop_size) == (512, 512) and cfg.train_cfg.max_iters == 80000
    algo = 'pspnet' if '_pspnet_' in osp.basename(path) else 'deeplabv3'
    plain = _parse(osp.join(osp.dirname(path), 'students', f'{algo}_r18-d8_4xb4-80k_{name}-512x512.py'))
    assert cfg.model.student == plain.model
    assert plain.model.backbone.depth == 18 and plain.model.decode_head.type == \
        {'pspnet': 'PSPHead', 'deeplabv3': 'ASPPHead'}[algo]
    assert plain.model.decode_head.num_classes == plain.model.auxiliary_head.num_classes == num_classes
    assert len(cfg.model.teachers) == 2
    for teacher in cfg.model.teachers:
        teacher_cfg = _teacher_config(teacher['config'])
        assert teacher_cfg.model.backbone.depth == 101 and f'80k_{name}-512x512' in teacher['config']
        assert teacher_cfg.train_dataloader.dataset.type == dataset_type
        assert teacher_cfg.model.decode_head.num_classes == num_classes
    if osp.basename(path).startswith('mtkdrl'):
        hook, nan_check = cfg.custom_hooks
        assert hook.type == 'mtkd_rl.TeacherWeightingHook' and hook.warmup_iters > 0
        assert nan_check.type == 'mtkd_rl.NonFiniteLossHook'


@pytest.mark.parametrize('path', CONFIGS, ids=_rel)
def test_the_nan_check_goes_with_the_weighting_hook(path):
    """Every config with TeacherWeightingHook stops at a NaN/inf term (NonFiniteLossHook), the hook listed first
    (commands set custom_hooks.0.interval)."""
    cfg = _parse(path)
    types = [h.get('type') for h in cfg.get('custom_hooks', None) or []]
    if 'mtkd_rl.TeacherWeightingHook' in types:
        assert types == ['mtkd_rl.TeacherWeightingHook', 'mtkd_rl.NonFiniteLossHook']
    if cfg.get('model', {}).get('type') == 'mtkd_rl.MultiTeacherDistiller':
        # fixed weightings too: the NaN stop, and the exact resume the weighting hook installs
        assert types == ['mtkd_rl.TeacherWeightingHook', 'mtkd_rl.NonFiniteLossHook'], _rel(path)


def test_seg_students_build_with_their_class_count():
    for path in CONFIGS:
        if _rel(path).split(osp.sep)[:2] in (['seg', 'ade20k'], ['seg', 'coco_stuff']) and 'students' in path:
            cfg = _parse(path)
            with DefaultScope.overwrite_default_scope('mmseg'):
                model = MODELS.build(_without_pretrained(cfg.model))
            model.eval()
            with torch.no_grad():
                logits = model(torch.zeros(1, 3, 64, 64), mode='tensor')
            assert logits.shape[1] == cfg.model.decode_head.num_classes, _rel(path)


def _without_scope(d):
    if isinstance(d, dict):
        return {k: _without_scope(v) for k, v in d.items() if k != '_scope_'}
    if isinstance(d, (list, tuple)):
        return type(d)(_without_scope(v) for v in d)
    return d


def test_cityscapes_mobilenetv2_student_is_mmsegs():
    """The MobileNetV2 variant's student is mmseg's MobileNetV2 DeepLabV3 (exports load into it); the teachers
    are those of the ResNet-18 student."""
    cfg = _parse(osp.join(CONFIG_DIR, 'seg', 'mtkdrl_mobilenet-v2-d8_deeplabv3_cityscapes-512x1024.py'))
    r18 = _parse(osp.join(CONFIG_DIR, 'seg', 'mtkdrl_deeplabv3_r18-d8_cityscapes-512x1024.py'))
    plain = get_config('mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3_4xb2-80k_cityscapes-512x1024.py')
    assert _without_scope(cfg.model.student.to_dict()) == _without_scope(plain.model.to_dict())
    assert cfg.model.teachers == r18.model.teachers


def test_seg_dataset_distiller_builds_and_trains_one_step(monkeypatch):
    """The ADE20K pool (2 x R101-D8, 150 classes) with untrained weights and CA-MKD: one small CPU step."""
    import mtkd_rl  # noqa: F401
    import mtkd_rl.distillers.teachers as teachers_module
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    from mtkd_rl.registry import build
    monkeypatch.setattr(teachers_module, '_load_weights', lambda *a, **k: None)  # no download in tests
    cfg = _parse(osp.join(CONFIG_DIR, 'seg', 'ade20k', 'camkd_deeplabv3_r18-d8_ade20k-pool2_4xb4-80k_ade20k-'
                                                        '512x512.py'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = build(dict(cfg.model.to_dict(), student=_without_pretrained(cfg.model.student)))
    assert [c[0].conv.weight.shape[:2] for c in model.connectors] == [(2048, 512)] * 2
    model.train()
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(48, 48), ori_shape=(48, 48), pad_shape=(48, 48)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, 48, 48), generator=g))
        samples.append(sample)
    losses = model.loss(torch.randn(2, 3, 48, 48, generator=g), samples)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert {'loss_kd_logit', 'loss_kd_feature', 'w_feature.pspnet_r101'} <= set(losses)
