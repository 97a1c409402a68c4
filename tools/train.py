"""Train a model (a MultiTeacherDistiller or any plain mmpretrain/mmdet/mmseg model) from a config."""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401  (registries and the weights-only checkpoint allow-list)
from mtkd_rl.checkpoints import CheckpointError, check_new_run, plan_resume
from mtkd_rl.compat import cpu_ddp_wrapper_cfg, init_cpu_distributed, shutdown_distributed
from mtkd_rl.preflight import (PreflightError, check_amp, check_data_paths, check_launcher,
                               check_teacher_checkpoints)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest checkpoint in the work dir if none is given')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision training')
    parser.add_argument('--no-validate', action='store_true', help='do not validate during training')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale the learning rate to the batch size')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, e.g. model.weighting.type=AVER; a value like "[a,b]" is a list')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    # torch.distributed.launch passes --local_rank, torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP training is already enabled in your config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})['enable'] = True
    return cfg


def preflight(cfg: Config, args) -> str:
    """Check the run before building anything; fix what a resumed run starts from. Returns a line for the log."""
    check_launcher(args.launcher, 'tools/dist_train.sh CONFIG GPUS')
    check_amp(cfg)
    check_data_paths(cfg, ['train_dataloader'] + (['val_dataloader'] if cfg.get('val_cfg') else []))
    check_teacher_checkpoints(cfg)
    if not cfg.get('resume'):
        check_new_run(cfg)
        return ''
    plan = plan_resume(cfg)
    cfg.load_from = plan.checkpoint
    return plan.note


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    try:
        note = preflight(cfg, args)
    except (PreflightError, CheckpointError) as error:
        sys.exit(f'tools/train.py: error: {error}')
    if init_cpu_distributed(args.launcher):
        cfg.setdefault('model_wrapper_cfg', cpu_ddp_wrapper_cfg())
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    if note:
        runner.logger.info(note)
    runner.train()
    shutdown_distributed()


if __name__ == '__main__':
    main()
