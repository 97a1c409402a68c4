"""Packaging the OpenMMLab way: the model index lists every distiller config and each listed config builds;
``pip install .`` (not editable) ships configs, tools and the model index under ``mtkd_rl/.mim``; the real
``mim`` lists, trains and tests them from another directory; the package metadata states what is required.

The install is made once per session with ``pip install --no-deps --target`` from a clean copy of the
repository, and used through ``PYTHONPATH`` (it comes before the venv's editable install).
"""
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
from importlib.metadata import PathDistribution, version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from conftest import REPO, SMALL_RUN, cfg_options

MODEL_INDEX = osp.join(REPO, 'model-index.yml')
FMNIST_MTKDRL = 'mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist'
#: The toolbox (default scope) and task adapters of each task named in the model index.
TASKS = {'Image Classification': ('mmpretrain', ('ClassificationAdapter', )),
         'Object Detection': ('mmdet', ('DetectionAdapter', 'TwoStageDetectionAdapter', 'MixedPoolDetectionAdapter')),
         'Semantic Segmentation': ('mmseg', ('SegmentationAdapter', ))}
#: The pins of each measured stack; every one must satisfy the package's requirements.
STACK_PINS = [osp.join(REPO, 'requirements.txt'), osp.join(REPO, 'requirements', 'torch2.1.txt')]


def _listed_models():
    """(name, config path relative to the repository, metadata) of every model in model-index.yml."""
    from modelindex.load_model_index import load
    index = load(MODEL_INDEX)
    return [(m.name, m.config, dict(m.metadata.data)) for m in index.models]


def _distiller_configs():
    """Every config under configs/ whose model is a MultiTeacherDistiller (relative paths)."""
    from test_configs import CONFIGS, _is_distiller, _package_lookups_cached, _parsed_or_none
    with _package_lookups_cached():
        return sorted(osp.relpath(p, REPO) for p in CONFIGS
                      if (cfg := _parsed_or_none(p)) is not None and _is_distiller(cfg))


# ------------------------------------------------------------------------------------------------ model index
def test_model_index_is_valid_and_lists_every_distiller():
    from modelindex.load_model_index import load
    index = load(MODEL_INDEX)
    assert index.check(silent=True) == []
    models = _listed_models()
    names = [name for name, _, _ in models]
    assert len(names) == len(set(names)), 'model names in the metafiles must be unique'
    for name, config, _ in models:
        assert osp.isfile(osp.join(REPO, config)), f'{name}: Config {config} does not exist'
        assert osp.splitext(osp.basename(config))[0] == name, f'{name}: the name must be the config name'
    listed = {config for _, config, _ in models}
    missing = sorted(set(_distiller_configs()) - listed)
    assert not missing, f'distiller configs missing from configs/**/metafile.yml: {missing}'
    metafiles = {osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', 'metafile.yml'),
                                                        recursive=True)}
    with open(MODEL_INDEX) as f:
        imported = set(yaml.safe_load(f)['Import'])
    assert metafiles == imported, 'model-index.yml must import every configs/**/metafile.yml'


_STUDENTS = {}


@pytest.mark.parametrize('name,config,metadata', [pytest.param(*m, id=m[0]) for m in _listed_models()])
def test_listed_config_builds(name, config, metadata, tmp_path, monkeypatch):
    """The config parses from any directory, its metadata says what it holds, its teachers' configs resolve
    (from any directory) and build, and its student builds. Teacher checkpoints are not loaded (the URLs and
    work_dirs they name need not exist), as in test_configs.py."""
    from mmengine.registry import MODELS, DefaultScope
    from test_configs import _is_distiller, _package_lookups_cached, _parse, _teacher_num_classes, \
        _without_pretrained

    from mtkd_rl.student import student_model_config
    monkeypatch.chdir(tmp_path)  # teacher config paths must not depend on the working directory
    with _package_lookups_cached():
        cfg = _parse(osp.join(REPO, config))
        assert _is_distiller(cfg), f'{config} is not a MultiTeacherDistiller config'
        model = cfg.model
        assert metadata['Weighting'] == model.weighting.type.split('.')[-1]
        assert len(metadata['Teachers']) == len(model.teachers), f"{name}: metadata Teachers {metadata['Teachers']}"
        scope, adapters = TASKS[metadata['Task']]
        assert cfg.get('default_scope') == scope
        if model.get('task') is not None:  # else the student's toolbox decides
            assert model.task.type.split('.')[-1] in adapters
        for i, teacher in enumerate(model.teachers):
            if '::' not in teacher.config:
                assert osp.isfile(teacher.config), \
                    f"model.teachers[{i}].config '{teacher.config}' does not resolve from {tmp_path}"
            _teacher_num_classes(teacher.config)
        student = _without_pretrained(student_model_config(cfg))
        key = (cfg.get('default_scope'), json.dumps(student.to_dict(), sort_keys=True, default=repr))
        if key not in _STUDENTS:
            with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
                _STUDENTS[key] = type(MODELS.build(student)).__name__
        assert _STUDENTS[key]


# --------------------------------------------------------------------------------------------------- install
@pytest.fixture(scope='session')
def installed(tmp_path_factory):
    """``pip install --no-deps --target`` of a clean copy of the repository: (target, env to use it)."""
    root = tmp_path_factory.mktemp('pkg')
    src, target = root / 'src', root / 'site'
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(
        '.git', '.venv*', 'data', 'work_dirs', 'build', '*.egg-info', '.mim', '__pycache__', '.pytest_cache'))
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation', '--no-cache-dir', '-q',
         '--disable-pip-version-check', '--target', str(target), str(src)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    env = dict(os.environ, PYTHONPATH=str(target), PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
    return target, env


def _run(args, cwd, env, timeout=600):
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{" ".join(args)} failed ({proc.returncode}):\n{out[-8000:]}'
    return out


def test_wheel_ships_configs_tools_and_index(installed, tmp_path):
    target, env = installed
    mim = target / 'mtkd_rl' / '.mim'
    for tool in ('train.py', 'test.py', 'dist_train.sh', 'dist_test.sh'):
        assert (mim / 'tools' / tool).is_file(), f'.mim/tools/{tool} is missing'
    assert (mim / 'model-index.yml').is_file()
    shipped = {str(p.relative_to(mim)) for p in mim.rglob('*') if p.is_file()}
    in_repo = {osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.*'), recursive=True)}
    assert in_repo <= shipped, f'configs missing from the wheel: {sorted(in_repo - shipped)[:5]}'
    assert not [p for p in mim.rglob('*') if p.is_symlink()], 'a wheel holds copies, not links'
    where = _run(['-c', 'import mtkd_rl; print(mtkd_rl.__file__)'], tmp_path, env)
    assert where.strip().startswith(str(target)), f'mtkd_rl was not imported from the install: {where}'


def _metadata_requirements(target: Path):
    (dist_info,) = target.glob('mtkd_rl-*.dist-info')
    return [Requirement(r) for r in PathDistribution(dist_info).requires or []]


def test_metadata_states_requirements_and_extras(installed):
    """The wheel's METADATA requires what every task needs, each toolbox behind its extra, in ranges that hold
    the measured stacks' pins and the packages installed here."""
    reqs = _metadata_requirements(installed[0])
    base = {r.name.lower(): r for r in reqs if r.marker is None}
    assert {'torch', 'numpy', 'mmengine', 'mmcv'} <= set(base)
    assert not base['numpy'].specifier.contains('2.0.0'), 'numpy must be < 2'
    assert not base['mmcv'].specifier.contains('2.2.0'), 'mmdet 3.3 and mmseg 1.2 refuse mmcv >= 2.2'
    assert not {'mmpretrain', 'mmdet', 'mmsegmentation'} & set(base), 'toolboxes belong in extras'
    extras = {}
    for r in reqs:
        for extra in re.findall(r'extra == "([^"]+)"', str(r.marker or '')):
            extras.setdefault(extra, set()).add(r.name.lower())
    assert 'mmpretrain' in extras['cls'] and 'mmdet' in extras['det'] and 'mmsegmentation' in extras['seg']
    assert extras['cls'] | extras['det'] | extras['seg'] <= extras['all']
    pins_checked = 0
    for path in STACK_PINS:
        if not osp.isfile(path):
            continue
        with open(path) as f:
            lines = [line.split('#')[0].strip() for line in f]
        pins = {(req := Requirement(line)).name.lower(): req for line in lines if line and not line.startswith('-')}
        for r in reqs:
            pin = pins.get(r.name.lower())
            if pin is None or not str(pin.specifier).startswith('=='):
                continue
            pinned = str(pin.specifier)[2:].split('+')[0]
            assert r.specifier.contains(pinned, prereleases=True), \
                f'{osp.basename(path)} pins {pin}, outside the package requirement {r}'
            pins_checked += 1
    assert pins_checked >= 8
    for r in reqs:  # this environment is a measured one: pip must find nothing missing
        if r.marker is None or 'extra == "all"' in str(r.marker):
            assert r.specifier.contains(version(r.name).split('+')[0], prereleases=True), \
                f'installed {r.name} {version(r.name)} does not satisfy {r}'


def test_mim_search_lists_the_configs(installed, tmp_path):
    target, env = installed
    out = _run(['-m', 'mim', 'search', 'mtkd_rl', '--display-width', '300'], tmp_path, env, timeout=300)
    for name, _, metadata in _listed_models():
        assert f'config id: {name.lower()}' in out
    assert 'weighting' in out and 'teachers' in out and 'student' in out and '2502.18510' in out


def test_mim_train_and_test_from_another_directory(installed, fashion_mnist, random_teachers, tmp_path):
    """``mim train mtkd_rl <config name>`` finds the packaged config and tools; the distiller's teacher configs
    resolve inside the install (not the working directory); ``mim test`` evaluates the student."""
    target, env = installed
    run_dir = tmp_path / 'elsewhere'
    run_dir.mkdir()
    (run_dir / 'data').symlink_to(osp.join(REPO, 'data'), target_is_directory=True)
    options = dict(SMALL_RUN, **{'train_cfg.max_epochs': 1})
    options.update({f'model.teachers.{i}.checkpoint': t['checkpoint'] for i, t in enumerate(random_teachers)})
    work_dir = run_dir / 'work'
    out = _run(['-m', 'mim', 'train', 'mtkd_rl', f'{FMNIST_MTKDRL}.py', '--work-dir', str(work_dir),
                '--no-validate', '--cfg-options', *cfg_options(options)], run_dir, env)
    packaged = target / 'mtkd_rl' / '.mim' / 'configs' / 'cls' / 'fashion_mnist'
    assert f'will use {packaged / FMNIST_MTKDRL}.py' in out
    assert (work_dir / 'epoch_1.pth').is_file()
    from mmengine.config import Config
    dumped = Config.fromfile(work_dir / f'{FMNIST_MTKDRL}.py')
    for teacher in dumped.model.teachers:
        assert teacher.config.startswith(f'{packaged}/teachers/'), teacher.config
    test_options = {k: v for k, v in SMALL_RUN.items() if k.startswith('test_dataloader')}
    out = _run(['-m', 'mim', 'test', 'mtkd_rl', f'{FMNIST_MTKDRL}.py', '--checkpoint',
                str(work_dir / 'epoch_1.pth'), '--work-dir', str(run_dir / 'test'), '--cfg-options',
                *cfg_options(test_options)], run_dir, env)
    assert re.search(r'accuracy/top1: \d+\.\d+', out), out[-3000:]


def test_comparison_harness_runs_from_the_install(installed, fashion_mnist, random_teachers, tmp_path):
    """The installed compare_weightings.py, run from another directory, trains its arms with the install's own
    tools/train.py (mtkd_rl/.mim/tools), not a checkout's."""
    target, env = installed
    run_dir = tmp_path / 'elsewhere'
    run_dir.mkdir()
    (run_dir / 'data').symlink_to(osp.join(REPO, 'data'), target_is_directory=True)
    tools = target / 'mtkd_rl' / '.mim' / 'tools'
    config = target / 'mtkd_rl' / '.mim' / 'configs' / 'cls' / 'fashion_mnist' / f'{FMNIST_MTKDRL}.py'
    options = dict(SMALL_RUN, **{'train_cfg.max_epochs': 1})
    options.update({f'model.teachers.{i}.checkpoint': t['checkpoint'] for i, t in enumerate(random_teachers)})
    out = _run([str(tools / 'analysis_tools' / 'compare_weightings.py'), str(config), '--weightings', 'AVER',
                '--seeds', '0', '--work-dir', str(run_dir / 'study'), '--cfg-options', *cfg_options(options)],
               run_dir, env)
    assert f'with {tools / "train.py"}' in out and '| AVER |' in out
    assert (run_dir / 'study' / 'AVER' / 'seed_0' / 'epoch_1.pth').is_file()


# --------------------------------------------------------------------------------------------- stack switch
@pytest.mark.parametrize('stack,pins', [('', 'requirements.txt'), ('torch2.1', 'requirements/torch2.1.txt')])
def test_setup_env_stack_switch(stack, pins, tmp_path):
    """STACK picks the pins whose hash stamps the venv (the default stack keeps requirements.txt); a venv whose
    stamp matches is left as it is."""
    import hashlib
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    (venv / 'bin' / 'python').symlink_to(sys.executable)
    key = b''.join(Path(REPO, p).read_bytes() for p in (pins, 'requirements/tests.txt', 'tools/setup_env.sh'))
    (venv / '.mtkd_rl_stack').write_text(hashlib.sha1(key).hexdigest() + '\n')
    env = dict(os.environ, STACK=stack, VENV=str(venv), SKIP_DATA='1')
    proc = subprocess.run(['bash', 'tools/setup_env.sh'], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and f'stack present in {venv}' in proc.stdout, proc.stdout + proc.stderr


def test_setup_env_refuses_an_unknown_stack(tmp_path):
    env = dict(os.environ, STACK='torch1.13', VENV=str(tmp_path / 'venv'), SKIP_DATA='1')
    proc = subprocess.run(['bash', 'tools/setup_env.sh'], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and 'STACK=torch2.1' in proc.stderr
    assert not (tmp_path / 'venv').exists()
