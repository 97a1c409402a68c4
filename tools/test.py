"""Test a checkpoint. For a MultiTeacherDistiller config the student alone is built and evaluated (its
teachers are not needed), from a distiller checkpoint or an exported student checkpoint."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401
from mtkd_rl.compat import cpu_ddp_wrapper_cfg, init_cpu_distributed, shutdown_distributed
from mtkd_rl.student import is_distiller_config, to_student_config


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
    if distiller:
        cfg = to_student_config(cfg)
    cfg.load_from = None if distiller else args.checkpoint
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError('--out must be a .pkl file')
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(cfg.test_evaluator, dict) else list(
            cfg.test_evaluator)
        cfg.test_evaluator.append(dict(type='DumpResults', out_file_path=args.out))
    if init_cpu_distributed(args.launcher):
        cfg.setdefault('model_wrapper_cfg', cpu_ddp_wrapper_cfg())
    runner = Runner.from_cfg(cfg)
    if distiller:
        # distiller checkpoints hold student.* weights; exported ones hold the student's own keys
        runner.load_checkpoint(args.checkpoint, revise_keys=[(r'^module\.', ''), (r'^student\.', '')])
    runner.test()
    shutdown_distributed()


if __name__ == '__main__':
    main()
