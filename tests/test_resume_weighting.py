"""A checkpoint records the teacher weighting (type and options) that wrote it; resuming with another one stops
before anything is built, naming both and the two ways on."""
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401
from mtkd_rl.checkpoints import CheckpointError
from mtkd_rl.checkpoints.weighting_record import (META_KEY, check_resume_weighting, recorded_weighting,
                                                  weighting_record)
from conftest import MTKDRL_CONFIG, SMALL_RUN, cfg_options, run_tool
from test_tools import tool_error

ONE_EPOCH = {**SMALL_RUN, 'train_cfg.max_epochs': 1, 'val_cfg': None, 'val_dataloader': None,
             'val_evaluator': None}


def teacher_options(teachers):
    return {f'model.teachers.{i}.checkpoint': t['checkpoint'] for i, t in enumerate(teachers)}


@pytest.fixture(scope='module')
def mtkdrl_run(fashion_mnist, random_teachers, tmp_path_factory):
    """One short epoch of the Fashion-MNIST MTKD-RL config through tools/train.py."""
    work_dir = tmp_path_factory.mktemp('resume_weighting') / 'mtkdrl'
    run_tool('python', 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(work_dir), '--cfg-options',
             *cfg_options({**ONE_EPOCH, **teacher_options(random_teachers)}))
    return work_dir


def test_record_fills_in_defaults_and_the_short_name():
    assert weighting_record(dict(type='mtkd_rl.MTKDRLWeighting', fusion='dynamic')) == weighting_record(
        dict(type='MTKD-RL', fusion='dynamic', update='surrogate'))
    record = weighting_record(dict(type='MTKD-RL', std_range=(0.01, 1.0)))
    assert record['type'] == 'MTKD-RL' and record['options']['correctness_gate'] is False
    assert record['options']['std_range'] == [0.01, 1.0] and 'num_teachers' not in record['options']
    assert weighting_record(dict(type='AverageWeighting')) == dict(type='AVER', options={})


def test_checkpoint_records_its_weighting(mtkdrl_run):
    ckpt = torch.load(mtkdrl_run / 'epoch_1.pth', mmap=True)
    assert ckpt['meta'][META_KEY] == weighting_record(dict(type='MTKD-RL'))


@pytest.mark.parametrize('options,expected', [
    ({'model.weighting.type': 'AVER'}, "this run sets model.weighting.type='AVER', but the checkpoint was "
                                       "written with 'MTKD-RL'"),
    ({'model.weighting.correctness_gate': True}, 'model.weighting.correctness_gate=True (the checkpoint: False)'),
])
def test_resume_with_another_weighting_stops_before_building(mtkdrl_run, random_teachers, options, expected,
                                                             tmp_path, monkeypatch):
    """Once this trained to the end and dropped the agent without a word."""
    work_dir = tmp_path / 'copy'
    work_dir.mkdir()
    (work_dir / 'epoch_1.pth').write_bytes((mtkdrl_run / 'epoch_1.pth').read_bytes())
    err = tool_error(monkeypatch, 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(work_dir), '--resume',
                     '--cfg-options', *cfg_options({**ONE_EPOCH, 'train_cfg.max_epochs': 2,
                                                    **teacher_options(random_teachers), **options}))
    assert expected in err and 'a resumed run must continue with the weighting it started with' in err
    assert f'--work-dir NEW_DIR --cfg-options load_from={work_dir / "epoch_1.pth"}' in err
    assert sorted(p.name for p in work_dir.iterdir()) == ['epoch_1.pth']  # nothing built, nothing written


def test_aver_checkpoint_resumed_as_mtkdrl_stops(fashion_mnist, random_teachers, tmp_path, monkeypatch):
    """Once this continued with a fresh agent half-way. Also through mmengine's Runner directly (the hook)."""
    work_dir = tmp_path / 'aver'
    base = {**ONE_EPOCH, **teacher_options(random_teachers)}
    run_tool('python', 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(work_dir), '--cfg-options',
             *cfg_options({**base, 'model.weighting.type': 'AVER'}))
    err = tool_error(monkeypatch, 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(work_dir), '--resume',
                     '--cfg-options', *cfg_options({**base, 'train_cfg.max_epochs': 2}))
    assert "model.weighting.type='MTKD-RL', but the checkpoint was written with 'AVER'" in err

    cfg = Config.fromfile(MTKDRL_CONFIG)
    cfg.merge_from_dict({**base, 'train_cfg.max_epochs': 2})
    cfg.work_dir, cfg.resume, cfg.load_from = str(tmp_path / 'runner'), True, str(work_dir / 'epoch_1.pth')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(CheckpointError, match="written with 'AVER'"):
        runner.train()


def test_checkpoints_without_a_record_are_read_from_their_saved_config(mtkdrl_run):
    ckpt = torch.load(mtkdrl_run / 'epoch_1.pth', mmap=True)
    del ckpt['meta'][META_KEY]  # as saved before the record existed: meta['cfg'] holds the config
    assert recorded_weighting(ckpt) == weighting_record(dict(type='MTKD-RL'))
    with pytest.raises(CheckpointError, match="written with 'MTKD-RL'"):
        check_resume_weighting(ckpt, dict(type='CA-MKD'), 'old.pth')
    check_resume_weighting(ckpt, dict(type='MTKDRLWeighting'), 'old.pth')  # the same weighting by another name
    assert recorded_weighting(dict(state_dict={}, meta=dict(epoch=1))) is None  # a plain model's: no check
