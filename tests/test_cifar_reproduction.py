"""tools/reproduce_cifar100.py and the CIFAR-100 distiller configs, on random CIFAR-shaped data on the CPU.

* The reproduction's ``--smoke`` run: the four teachers trained (2 iterations each), then the seeded comparison of
  the student alone and every weighting for one student, each through tools/train.py, and the report.
* Each CIFAR-100 distiller config (4 students x AVER, EBKD, CA-MKD, MTKD-RL static and dynamic) trains one
  iteration through tools/train.py's ``main`` (in this process, to save 20 interpreter starts), with randomly
  initialised teachers of the real architectures.
* Without the data the script stops before building anything and says how to get CIFAR-100.
"""
import glob
import importlib.util
import json
import os.path as osp
import sys
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

import mtkd_rl  # noqa: F401

from conftest import REPO, run_tool


def _load(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reproduce = _load('reproduce_cifar100', 'tools/reproduce_cifar100.py')
train_tool = _load('mtkd_rl_train_tool', 'tools/train.py')
DISTILLERS = sorted(glob.glob(osp.join(REPO, 'configs', 'cls', 'cifar100', '*_cifar-kd-pool4_1xb64-240e_cifar100.py')))


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_twenty_distiller_configs():
    names = {osp.basename(p).split('_')[0] for p in DISTILLERS}
    students = {osp.basename(p).split('_')[1] for p in DISTILLERS}
    assert names == {'aver', 'ebkd', 'camkd', 'mtkdrl', 'mtkdrl-dynamic'}
    assert students == set(reproduce.STUDENTS)
    assert len(DISTILLERS) == 20


def test_missing_data_is_explained_before_anything_is_built(tmp_path):
    root = str(tmp_path / 'cifar100')
    with pytest.raises(SystemExit) as stop, mock.patch.object(reproduce, 'train_teacher') as train:
        reproduce.main(['--work-dir', str(tmp_path / 'work'), '--data-root', root])
    message = str(stop.value)
    assert 'cifar-100-python/train' in message
    assert f'wget {reproduce.CIFAR100_URL} -O {root}/cifar-100-python.tar.gz' in message
    assert f'tar -xzf {root}/cifar-100-python.tar.gz -C {root}' in message
    assert not train.called and not (tmp_path / 'work').exists()


@pytest.fixture(scope='module')
def pool_checkpoints(tmp_path_factory):
    """Randomly initialised checkpoints of the four CIFAR teachers (real architectures) and the random data."""
    root = tmp_path_factory.mktemp('cifar_pool')
    reproduce.write_smoke_data(str(root / 'data'))
    options = {}
    for i, teacher in enumerate(Config.fromfile(DISTILLERS[0]).model.teachers):
        cfg = Config.fromfile(teacher['config'])
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            model = MODELS.build(cfg.model)
        model.init_weights()
        path = str(root / f'{teacher["name"]}.pth')
        torch.save(dict(state_dict=model.state_dict(), meta=dict(random_init=True)), path)
        options[f'model.teachers.{i}.checkpoint'] = path
    return str(root / 'data'), options


_FROMFILE = Config.fromfile


def _fromfile_unformatted(filename, *args, **kwargs):
    """``Config.fromfile`` without yapf formatting of ``pretty_text``: formatting the config text (for the run's
    log, its config dump and each checkpoint's meta) was 60% of each run's time here."""
    kwargs.setdefault('format_python_code', False)
    return _FROMFILE(filename, *args, **kwargs)


@pytest.mark.parametrize('config', DISTILLERS, ids=lambda p: osp.basename(p).split('_cifar-kd')[0])
@mock.patch.object(Config, 'fromfile', staticmethod(_fromfile_unformatted))
def test_distiller_config_trains_one_iteration(config, pool_checkpoints, tmp_path):
    data_root, teacher_options = pool_checkpoints
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({**reproduce.data_options(cfg, data_root, smoke=True), **teacher_options,
                         **reproduce.smoke_schedule(), 'train_dataloader.batch_size': reproduce.SMOKE_TRAIN,
                         'experiment_name': osp.basename(config)[:-3]})
    if cfg.custom_hooks:
        cfg.merge_from_dict({'custom_hooks.0.warmup_epochs': 0, 'custom_hooks.0.interval': 1})
    run_config = str(tmp_path / 'run.py')
    cfg.dump(run_config)
    work_dir = tmp_path / 'work'
    with mock.patch.object(sys, 'argv', ['tools/train.py', run_config, '--work-dir', str(work_dir),
                                         '--no-validate']):
        train_tool.main()
    checkpoint = torch.load(str(work_dir / 'epoch_1.pth'), map_location='cpu')
    assert checkpoint['meta']['iter'] == 1  # one iteration: the 16 random images in one batch
    assert any(k.startswith('student.backbone.') for k in checkpoint['state_dict'])
    assert not any(k.startswith('teachers') for k in checkpoint['state_dict'])
    scalars = [json.loads(line) for line in open(glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))[0])]
    losses = [v for row in scalars for k, v in row.items() if k == 'loss']
    assert losses and all(v == v and abs(v) < 1e6 for v in losses)  # finite


def test_smoke_reproduction(tmp_path):
    work_dir = tmp_path / 'reproduce'
    log = run_tool('python', 'tools/reproduce_cifar100.py', '--smoke', '--students', 'resnet56',
                   '--work-dir', str(work_dir), env=dict(OMP_NUM_THREADS='1'), timeout=900)
    for name in ('regnety-400mf-cifar', 'regnetx-400mf-cifar', 'resnet32x4', 'wrn-28-4'):
        assert osp.isfile(work_dir / 'teachers' / f'{name}_1xb64-240e_cifar100' / 'epoch_1.pth'), name
    for arm in ('student_alone', 'AVER', 'EBKD', 'CA-MKD', 'MTKD-RL', 'MTKD-RL_fusion-dynamic'):
        result = json.load(open(work_dir / 'resnet56' / arm / 'seed_0' / 'result.json'))
        assert 0.0 <= result['value'] <= 100.0, (arm, result)
    for name in ('regnety_400mf', 'regnetx_400mf', 'resnet32x4', 'wrn_28_4'):
        assert osp.isfile(work_dir / 'resnet56' / 'teachers' / name / 'result.json'), name
    summary = open(work_dir / 'results.md').read()
    assert 'SMOKE RUN' in summary and '## resnet56' in summary
    for variant in ('AVER', 'EBKD', 'CA-MKD', 'MTKD-RL', 'MTKD-RL:fusion=dynamic', 'student alone'):
        assert variant in summary, variant
    # MTKD-RL's agent acted and learnt in its run
    mtkdrl_log = open(work_dir / 'resnet56' / 'MTKD-RL' / 'seed_0' / 'train.log').read()
    assert 'agent_updates' in mtkdrl_log, mtkdrl_log[-3000:]
    assert 'resnet56' in log
