"""The command-line tools never lose a user's work and stop bad input with a clear error (no traceback):
resume (newest checkpoint, nothing to resume, no overwrite, damaged files), a checkpoint that does not fit the
config in tools/test.py, export of a damaged checkpoint, and the launcher, --amp and data-path checks.

Runs that train or test go through subprocesses; runs that must stop before building anything call the tool's
``main`` in this process (the same code, without a second interpreter's start-up)."""
import hashlib
import os
import os.path as osp
import re
import runpy
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import MTKDRL_CONFIG, REPO, SMALL_RUN, STUDENT_CONFIG, cfg_options, run_tool

#: Both checkpoints of a 2-epoch run are kept (the shipped configs keep only the last).
KEEP_ALL = {'default_hooks.checkpoint.max_keep_ckpts': -1}
#: Appended to every run that must stop, so that a regression trains a few batches, not Fashion-MNIST.
SMALL = ['--cfg-options', *cfg_options(SMALL_RUN)]


def tool_error(monkeypatch, script, *argv):
    """Run a tool's main in this process; it must stop with one clear error line (a SystemExit with a message,
    which a process prints without a traceback and ends with status 1). Returns the message."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv('LOCAL_RANK', '0')  # the tools set it when absent
    monkeypatch.setattr(sys, 'argv', [script, *argv])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(osp.join(REPO, script), run_name='__main__')
    message = stop.value.code
    assert isinstance(message, str) and ': error: ' in message, message
    return message


def digest(path) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def accuracy(log: str) -> float:
    found = re.findall(r'accuracy/top1: ([0-9.]+)', log)
    assert found, log[-3000:]
    return float(found[-1])


@pytest.fixture(scope='session')
def student_run(fashion_mnist, tmp_path_factory):
    """The plain Fashion-MNIST student trained 2 short epochs through tools/train.py, both checkpoints kept."""
    work_dir = tmp_path_factory.mktemp('tools') / 'student'
    log = run_tool('python', 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(work_dir), '--cfg-options',
                   *cfg_options({**SMALL_RUN, **KEEP_ALL}))
    assert (work_dir / 'epoch_1.pth').is_file() and (work_dir / 'epoch_2.pth').is_file()
    return work_dir, accuracy(log)


def copy_checkpoints(run_dir, work_dir, names=('epoch_1.pth', 'epoch_2.pth')):
    """A work dir holding copies of the run's checkpoints and no last_checkpoint file."""
    work_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(run_dir / name, work_dir / name)
    return work_dir


def test_resume_without_last_checkpoint_continues_from_the_newest(student_run, tmp_path):
    """mmengine alone trains from scratch here, saving over epoch_1.pth and epoch_2.pth."""
    work_dir = copy_checkpoints(student_run[0], tmp_path / 'work')
    before = {n: digest(work_dir / n) for n in ('epoch_1.pth', 'epoch_2.pth')}
    log = run_tool('python', 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(work_dir), '--resume',
                   '--cfg-options', *cfg_options({**SMALL_RUN, 'train_cfg.max_epochs': 3}))
    assert f'resuming from {work_dir / "epoch_2.pth"}, the newest checkpoint' in log
    assert 'resumed epoch: 2' in log
    assert {n: digest(work_dir / n) for n in before} == before
    assert (work_dir / 'epoch_3.pth').is_file()


def test_resume_with_nothing_to_resume_stops(fashion_mnist, tmp_path, monkeypatch):
    (tmp_path / 'empty').mkdir()
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(tmp_path / 'empty'),
                     '--resume', *SMALL)
    assert 'nothing to resume' in err and 'without --resume' in err
    assert not os.listdir(tmp_path / 'empty')


def test_resume_of_an_older_checkpoint_refuses_to_overwrite(student_run, tmp_path, monkeypatch):
    work_dir = copy_checkpoints(student_run[0], tmp_path / 'work')
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(work_dir), '--resume',
                     str(work_dir / 'epoch_1.pth'), *SMALL)
    assert 'would overwrite epoch_2.pth' in err and '--work-dir NEW_DIR' in err
    # a checkpoint from elsewhere continues only in a directory without another run's checkpoints
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(work_dir), '--resume',
                     str(student_run[0] / 'epoch_2.pth'), *SMALL)
    assert 'would overwrite epoch_1.pth, epoch_2.pth' in err


def test_new_run_refuses_a_work_dir_with_checkpoints(student_run, tmp_path, monkeypatch):
    work_dir = copy_checkpoints(student_run[0], tmp_path / 'work')
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(work_dir), *SMALL)
    assert 'holds checkpoints of an earlier run (epoch_1.pth, epoch_2.pth)' in err and '--resume' in err


def test_damaged_latest_checkpoint_names_the_newest_intact_one(student_run, tmp_path):
    """A truncated epoch_2.pth: resume and export name it and epoch_1.pth (real processes: status and stderr)."""
    work_dir = copy_checkpoints(student_run[0], tmp_path / 'work')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_2.pth'))
    data = (work_dir / 'epoch_2.pth').read_bytes()
    (work_dir / 'epoch_2.pth').write_bytes(data[:len(data) // 2])
    resume = [sys.executable, 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(work_dir), '--resume', *SMALL]
    export = [sys.executable, 'tools/model_converters/export_student.py', str(work_dir / 'epoch_2.pth'),
              str(tmp_path / 'student.pth')]
    for cmd in (resume, export):
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, PYTHONWARNINGS='ignore'))
        assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
        assert f'{work_dir / "epoch_2.pth"} cannot be read: it is truncated or damaged' in proc.stderr
        assert 'newest intact checkpoint' in proc.stderr and str(work_dir / 'epoch_1.pth') in proc.stderr
    assert not (tmp_path / 'student.pth').exists()
    assert (work_dir / 'epoch_2.pth').read_bytes() == data[:len(data) // 2]


def test_export_of_a_plain_checkpoint_says_what_it_holds(student_run, tmp_path, monkeypatch):
    ckpt = str(student_run[0] / 'epoch_2.pth')
    err = tool_error(monkeypatch, 'tools/model_converters/export_student.py', ckpt, str(tmp_path / 'out.pth'))
    assert f'the checkpoint {ckpt} holds no student weights' in err and 'a plain model checkpoint' in err
    err = tool_error(monkeypatch, 'tools/model_converters/export_student.py', ckpt, ckpt)
    assert 'is the checkpoint itself' in err
    assert not (tmp_path / 'out.pth').exists()


def test_test_tool_rejects_a_checkpoint_of_another_model(student_run, random_teachers, tmp_path, monkeypatch):
    """A teacher's checkpoint for the distiller config, or another model's for a plain config, stops with what
    the file holds; the right checkpoint still tests (the distiller and exported cases: test_e2e_classification)."""
    teacher = random_teachers[0]  # ResNet-18 w16: the student's keys, twice its widths
    err = tool_error(monkeypatch, 'tools/test.py', MTKDRL_CONFIG, teacher['checkpoint'], '--work-dir',
                     str(tmp_path / 'a'), *SMALL, f'model.teachers.0.checkpoint={teacher["checkpoint"]}')
    assert 'does not hold the weights of the student of' in err and 'have another shape' in err
    assert 'a plain model checkpoint' in err and 'model.teachers.0.checkpoint (the teacher resnet18_w16)' in err
    err = tool_error(monkeypatch, 'tools/test.py', STUDENT_CONFIG, random_teachers[1]['checkpoint'],  # a RegNet
                     '--work-dir', str(tmp_path / 'b'), *SMALL)
    assert 'does not hold the weights of the model of' in err and 'tensors are missing' in err

    run_dir, val_acc = student_run
    log = run_tool('python', 'tools/test.py', STUDENT_CONFIG, str(run_dir / 'epoch_2.pth'), '--work-dir',
                   str(tmp_path / 'plain'), *SMALL)
    assert accuracy(log) == val_acc


def test_launcher_without_its_environment_points_at_the_script(fashion_mnist, tmp_path, monkeypatch):
    for name in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--launcher', 'pytorch', '--work-dir',
                     str(tmp_path), *SMALL)
    assert 'lacks RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT' in err and 'bash tools/dist_train.sh' in err


def test_amp_without_cuda_stops_before_building(fashion_mnist, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--amp', '--work-dir', str(tmp_path), *SMALL)
    assert '--amp' in err and 'Drop --amp' in err
    assert not list(tmp_path.iterdir())  # nothing built, no log written


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_missing_data_root_names_the_config_key(student_run, tool, tmp_path, monkeypatch):
    loader = 'train_dataloader' if tool == 'train' else 'test_dataloader'
    args = [] if tool == 'train' else [str(student_run[0] / 'epoch_2.pth')]
    err = tool_error(monkeypatch, f'tools/{tool}.py', STUDENT_CONFIG, *args, '--work-dir', str(tmp_path / 'w'),
                     *SMALL, f'{loader}.dataset.data_root=data/no_such_dir')
    assert f"{loader}.dataset.data_root: the data directory 'data/no_such_dir' does not exist" in err
    assert 'download' not in err


def test_resume_plan_follows_last_checkpoint_and_refuses_mixed_kinds(student_run, tmp_path):
    """Epoch and iteration checkpoints together: last_checkpoint decides, without it the newest is unclear."""
    from mmengine.config import Config

    from mtkd_rl.checkpoints import CheckpointError, plan_resume
    work_dir = copy_checkpoints(student_run[0], tmp_path / 'work', names=('epoch_2.pth', ))
    shutil.copy2(student_run[0] / 'epoch_1.pth', work_dir / 'iter_4.pth')  # epoch 1 is iterations 1-4
    cfg = Config(dict(work_dir=str(work_dir), resume=True, load_from=None))
    with pytest.raises(CheckpointError, match=r'both epoch and iteration checkpoints \(epoch_2.pth, iter_4.pth\)'):
        plan_resume(cfg)
    (work_dir / 'last_checkpoint').write_text('/elsewhere/moved/epoch_2.pth')  # a work dir moved since
    plan = plan_resume(cfg)
    assert plan.checkpoint == str(work_dir / 'epoch_2.pth') and 'last_checkpoint' in plan.note
    cfg.load_from = str(work_dir / 'iter_4.pth')
    with pytest.raises(CheckpointError, match='would overwrite epoch_2.pth'):
        plan_resume(cfg)


def test_checkpoints_named_by_filename_tmpl_are_protected(student_run, tmp_path, monkeypatch):
    """Files named by default_hooks.checkpoint.filename_tmpl are checkpoints too: a new run refuses their work
    dir, and resuming finds the newest one and does not overwrite a newer one."""
    from mmengine.config import Config

    from mtkd_rl.checkpoints import CheckpointError, plan_resume
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    for epoch in (1, 2):
        shutil.copy2(student_run[0] / f'epoch_{epoch}.pth', work_dir / f'ckpt_{epoch}.pth')
    template = 'default_hooks.checkpoint.filename_tmpl=ckpt_{}.pth'
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(work_dir), *SMALL, template)
    assert 'holds checkpoints of an earlier run (ckpt_1.pth, ckpt_2.pth)' in err and '--resume' in err
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(work_dir), '--resume',
                     str(work_dir / 'ckpt_1.pth'), *SMALL, template)
    assert 'would overwrite ckpt_2.pth' in err and '--work-dir NEW_DIR' in err

    cfg = Config(dict(work_dir=str(work_dir), resume=True, load_from=None,
                      default_hooks=dict(checkpoint=dict(filename_tmpl='ckpt_{:d}.pth'))))
    plan = plan_resume(cfg)
    assert plan.checkpoint == str(work_dir / 'ckpt_2.pth') and 'the newest checkpoint' in plan.note
    cfg.default_hooks.checkpoint.filename_tmpl = 'ckpt_{}_{}.pth'
    with pytest.raises(CheckpointError, match=re.escape("default_hooks.checkpoint.filename_tmpl 'ckpt_{}_{}.pth' "
                                                        "must hold one {} for the epoch or iteration number")):
        plan_resume(cfg)


def test_resume_in_a_copied_work_dir_reads_its_own_checkpoints(student_run, tmp_path, monkeypatch):
    """last_checkpoint holds an absolute path: in a copy of a work dir it names the original's file, which must
    not be resumed (the copy's newer checkpoints would be overwritten, or the original's deleted)."""
    from mmengine.config import Config

    from mtkd_rl.checkpoints import plan_resume
    original = copy_checkpoints(student_run[0], tmp_path / 'original')
    (original / 'last_checkpoint').write_text(str(original / 'epoch_2.pth'))
    copy = tmp_path / 'copy'
    shutil.copytree(original, copy)
    plan = plan_resume(Config(dict(work_dir=str(copy), resume=True, load_from=None)))
    assert plan.checkpoint == str(copy / 'epoch_2.pth')
    assert f'names {original / "epoch_2.pth"}, read here as {copy / "epoch_2.pth"}' in plan.note


def test_resume_with_a_stale_last_checkpoint_names_it(student_run, tmp_path):
    from mmengine.config import Config

    from mtkd_rl.checkpoints import plan_resume
    work_dir = copy_checkpoints(student_run[0], tmp_path / 'work')
    (work_dir / 'last_checkpoint').write_text('/gone/epoch_9.pth')
    plan = plan_resume(Config(dict(work_dir=str(work_dir), resume=True, load_from=None)))
    assert plan.checkpoint == str(work_dir / 'epoch_2.pth')
    assert 'no last_checkpoint file' not in plan.note and 'names /gone/epoch_9.pth, which does not exist' in plan.note


def test_resume_refusal_after_last_checkpoint_names_a_path_to_resume(student_run, tmp_path, monkeypatch):
    """--resume without a path chose a checkpoint that would overwrite newer ones: the fix it suggests is a
    path, not the same command again."""
    work_dir = copy_checkpoints(student_run[0], tmp_path / 'work', names=('epoch_2.pth', ))
    (work_dir / 'last_checkpoint').write_text(str(student_run[0] / 'epoch_1.pth'))  # another run's, by name
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(work_dir), '--resume',
                     *SMALL)
    assert 'would overwrite epoch_2.pth' in err and f'--resume {work_dir / "epoch_2.pth"}' in err
    assert '--resume without a path' not in err


def test_empty_data_root_stops_before_building_naming_the_install_command(fashion_mnist, tmp_path, monkeypatch):
    empty = tmp_path / 'fashion_mnist'
    empty.mkdir()
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(tmp_path / 'w'), *SMALL,
                     f'train_dataloader.dataset.data_root={empty}')
    assert f"train_dataloader.dataset.data_root: the data directory '{empty}' is empty" in err
    assert 'make demo' in err and 'dataset-fashion-mnist' in err
    assert not (tmp_path / 'w').exists()
    # a root with some of the files: the missing ones are named
    (empty / 'train-images-idx3-ubyte').write_bytes(b'')
    err = tool_error(monkeypatch, 'tools/train.py', STUDENT_CONFIG, '--work-dir', str(tmp_path / 'w'), *SMALL,
                     f'train_dataloader.dataset.data_root={empty}')
    assert 'lacks train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte' in err


@pytest.mark.parametrize('name,command', [
    ('treecrown', 'bash tools/dataset_converters/prepare_offline_data.sh treecrown data'),
    ('nuclei', 'bash tools/dataset_converters/prepare_offline_data.sh nuclei data'),
    ('fashion_mnist_mosaic', 'tools/dataset_converters/fashion_mnist_mosaic.py'),
    ('fashion_mnist', 'make demo')])
def test_missing_data_names_the_command_that_installs_it(name, command, tmp_path):
    from mmengine.config import Config

    from mtkd_rl.preflight import PreflightError, check_data_paths
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='CocoDataset', data_root=str(tmp_path / name)))))
    with pytest.raises(PreflightError, match='does not exist') as error:
        check_data_paths(cfg, ['train_dataloader'])
    assert command in str(error.value)


def test_missing_teacher_checkpoints_are_all_named(fashion_mnist, random_teachers, tmp_path, monkeypatch):
    err = tool_error(monkeypatch, 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(tmp_path / 'w'), *SMALL,
                     'model.teachers.0.checkpoint=no/such_a.pth', 'model.teachers.2.checkpoint=no/such_c.pth',
                     f'model.teachers.1.checkpoint={random_teachers[1]["checkpoint"]}')
    assert '2 of 3 teacher checkpoints do not exist' in err
    assert "model.teachers[0].checkpoint (resnet18_w16): 'no/such_a.pth'" in err
    assert "model.teachers[2].checkpoint (mobilenetv2_w05): 'no/such_c.pth'" in err
    assert 'tools/misc/random_teachers.py' in err and 'python tools/train.py' in err
    assert not (tmp_path / 'w').exists()
