"""End to end on real Fashion-MNIST through tools/: teachers, MTKD-RL student, test, export, resume, 2 ranks."""
import os.path as osp
import re
import socket

import pytest
import torch

import mtkd_rl  # noqa: F401  (torch.load of mmengine checkpoints under the weights-only default)

from conftest import (MTKDRL_CONFIG, REPO, SMALL_RUN, STUDENT_CONFIG, TEACHER_CONFIGS, cfg_options, run_tool)

MMPRETRAIN_TEST = osp.join(osp.dirname(__import__('mmpretrain').__file__), '.mim', 'tools', 'test.py')


def accuracy(log: str) -> float:
    found = re.findall(r'accuracy/top1: ([0-9.]+)', log)
    assert found, log[-3000:]
    return float(found[-1])


@pytest.fixture(scope='module')
def trained_teachers(fashion_mnist, tmp_path_factory):
    """The Fashion-MNIST pool trained for a few real iterations with tools/train.py."""
    root = tmp_path_factory.mktemp('e2e')
    options = {}
    for i, (name, config) in enumerate(TEACHER_CONFIGS.items()):
        work_dir = root / name
        run_tool('python', 'tools/train.py', config, '--work-dir', str(work_dir), '--cfg-options',
                 *cfg_options({**SMALL_RUN, 'train_cfg.max_epochs': 1}))
        options[f'model.teachers.{i}.checkpoint'] = str(work_dir / 'epoch_1.pth')
    return root, options


def test_train_test_and_export(trained_teachers):
    root, teacher_options = trained_teachers
    work_dir = root / 'mtkdrl'
    log = run_tool('python', 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(work_dir), '--cfg-options',
                   *cfg_options({**SMALL_RUN, **teacher_options, 'custom_hooks.0.interval': 2}))
    assert 'agent_updates: 1' in log and 'w_logit.regnetx_s8' in log
    ckpt = str(work_dir / 'epoch_2.pth')
    state = torch.load(ckpt)
    # the warm-up epoch's batches after iterations 2 and 4, then after iterations 6 and 8 (epoch 2)
    assert state['teacher_weighting']['num_updates'] == 4

    val_acc = accuracy(log)
    test_log = run_tool('python', 'tools/test.py', MTKDRL_CONFIG, ckpt, '--work-dir', str(root / 'test'),
                        '--cfg-options', *cfg_options(SMALL_RUN))
    assert accuracy(test_log) == val_acc

    exported = str(root / 'student.pth')
    run_tool('python', 'tools/model_converters/export_student.py', ckpt, exported)
    plain = torch.load(exported)  # weights-only
    assert set(plain) == {'state_dict', 'meta'}
    assert not any(k.startswith(('student.', 'connectors.')) for k in plain['state_dict'])
    # mmpretrain's own test tool, with the plain student config, gives the distiller's accuracy
    own_log = run_tool('python', MMPRETRAIN_TEST, STUDENT_CONFIG, exported, '--work-dir', str(root / 'own'),
                       '--cfg-options', *cfg_options(SMALL_RUN))
    assert accuracy(own_log) == val_acc
    # and so does our test tool given the exported checkpoint with the distiller config
    again = run_tool('python', 'tools/test.py', MTKDRL_CONFIG, exported, '--work-dir', str(root / 'test2'),
                     '--cfg-options', *cfg_options(SMALL_RUN))
    assert accuracy(again) == val_acc


def test_resume_and_load_from_through_tools(trained_teachers):
    root, teacher_options = trained_teachers
    work_dir = root / 'resume'
    options = {**SMALL_RUN, **teacher_options, 'custom_hooks.0.warmup_epochs': 0,
               'custom_hooks.0.interval': 100}
    run_tool('python', 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(work_dir), '--cfg-options',
             *cfg_options({**options, 'train_cfg.max_epochs': 1}))
    first = torch.load(str(work_dir / 'epoch_1.pth'))['teacher_weighting']
    assert first['num_updates'] == 1
    log = run_tool('python', 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(work_dir), '--resume',
                   '--cfg-options', *cfg_options(options))
    assert 'resumed epoch: 1' in log
    assert torch.load(str(work_dir / 'epoch_2.pth'))['teacher_weighting']['num_updates'] == 2

    log = run_tool('python', 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(root / 'load_from'),
                   '--cfg-options', *cfg_options({**options, 'train_cfg.max_epochs': 1,
                                                  'load_from': str(work_dir / 'epoch_2.pth')}))
    assert 'Load checkpoint from' in log


@pytest.mark.parametrize('weighting', ['EBKD'])
def test_fixed_weighting_variant_trains(trained_teachers, weighting):
    root, teacher_options = trained_teachers
    config = MTKDRL_CONFIG.replace('/mtkdrl_', f'/{weighting.lower().replace("-", "")}_')
    log = run_tool('python', 'tools/train.py', config, '--work-dir', str(root / weighting), '--cfg-options',
                   *cfg_options({**SMALL_RUN, **teacher_options, 'train_cfg.max_epochs': 1}))
    assert 'accuracy/top1' in log and 'agent_loss' not in log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_ranks_keep_one_agent(trained_teachers):
    """2 processes, gloo on CPU, through tools/dist_train.sh: the agents stay identical after updates."""
    import sys
    root, teacher_options = trained_teachers
    log = run_tool('bash', 'tools/dist_train.sh', MTKDRL_CONFIG, '2', '--work-dir', str(root / 'dist'),
                   '--cfg-options', *cfg_options({**SMALL_RUN, **teacher_options,
                                                  'custom_hooks.0.warmup_epochs': 0,
                                                  'custom_hooks.0.interval': 1}),
                   env=dict(PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1'))
    assert 'agent parameters identical on 2 ranks after update 1' in log
    ckpt = torch.load(str(root / 'dist' / 'epoch_2.pth'))
    # 128 images, batch 32, 2 ranks: 2 iterations per epoch, an update after each, none left at epoch end
    assert ckpt['teacher_weighting']['num_updates'] == 4
    assert REPO


def test_fashion_mnist_splits(fashion_mnist):
    """Validation and test read the 10000 test images, training the 60000 others (mmpretrain picks the files
    by test_mode)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(MTKDRL_CONFIG)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        sizes = {k: len(DATASETS.build(cfg[k].dataset))
                 for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    assert sizes == {'train_dataloader': 60000, 'val_dataloader': 10000, 'test_dataloader': 10000}
