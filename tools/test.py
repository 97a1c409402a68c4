"""Test a checkpoint. For a MultiTeacherDistiller config the student alone is built and evaluated (its
teachers are not needed), from a distiller checkpoint or an exported student checkpoint."""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

import mtkd_rl  # noqa: F401
from mtkd_rl.checkpoints import CheckpointError, check_weights_fit, read_checkpoint
from mtkd_rl.compat import cpu_ddp_wrapper_cfg, init_cpu_distributed, shutdown_distributed
from mtkd_rl.preflight import PreflightError, check_data_paths, check_launcher
from mtkd_rl.student import is_distiller_config, to_student_config

#: Distiller checkpoints hold the student under ``student.``; exported ones hold the student's own keys.
STUDENT_KEYS = [(r'^module\.', ''), (r'^student\.', '')]
MODEL_KEYS = [(r'^module\.', '')]


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the evaluation metrics')
    parser.add_argument('--out', help='dump the predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, e.g. test_dataloader.batch_size=8')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision inference')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def peek(path: str) -> dict:
    """The checkpoint with its tensors memory-mapped (a local file) or downloaded (a URL, as mmengine does)."""
    if osp.isfile(path):
        return read_checkpoint(path, mmap=True)
    if '://' not in path:
        raise CheckpointError(f'the checkpoint {path} does not exist')
    return _load_checkpoint(path, map_location='cpu')


def check_checkpoint(runner: Runner, cfg: Config, checkpoint: dict, path: str, distiller: bool,
                     teachers: list) -> None:
    """Stop unless the checkpoint holds every weight of the model under test (mmengine would only warn)."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    known = {osp.abspath(t['checkpoint']): f"model.teachers.{i}.checkpoint (the teacher {t.get('name', i)})"
             for i, t in enumerate(teachers) if isinstance(t.get('checkpoint'), str)}
    if distiller:
        expected = (f"the student of {cfg.filename} ({cfg.model.type}): a checkpoint of this distiller config, "
                    f"or its student exported by tools/model_converters/export_student.py")
    else:
        expected = f'the model of {cfg.filename} ({cfg.model.type})'
    check_weights_fit(model, checkpoint, path, expected, STUDENT_KEYS if distiller else MODEL_KEYS, known)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    distiller = is_distiller_config(cfg)
    teachers = list(cfg.model.get('teachers') or []) if distiller else []
    if distiller:
        cfg = to_student_config(cfg)
    cfg.load_from = None
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl file')
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(cfg.test_evaluator, dict) else list(
            cfg.test_evaluator)
        cfg.test_evaluator.append(dict(type='DumpResults', out_file_path=args.out))
    try:
        check_launcher(args.launcher, 'tools/dist_test.sh CONFIG CHECKPOINT GPUS')
        check_data_paths(cfg, ['test_dataloader'])
        checkpoint = peek(args.checkpoint)
    except (PreflightError, CheckpointError) as error:
        sys.exit(f'tools/test.py: error: {error}')
    if init_cpu_distributed(args.launcher):
        cfg.setdefault('model_wrapper_cfg', cpu_ddp_wrapper_cfg())
    runner = Runner.from_cfg(cfg)
    try:
        check_checkpoint(runner, cfg, checkpoint, args.checkpoint, distiller, teachers)
    except CheckpointError as error:
        sys.exit(f'tools/test.py: error: {error}')
    runner.load_checkpoint(args.checkpoint, revise_keys=STUDENT_KEYS if distiller else MODEL_KEYS)
    runner.test()
    shutdown_distributed()


if __name__ == '__main__':
    main()
