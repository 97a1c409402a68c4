"""Write randomly initialised checkpoints for the teachers of a distiller config, for smoke tests and cost
measurements that need no trained teacher (tools/check_gpu.sh). Pretrained backbone weights are not loaded.

Usage:
    python tools/misc/random_teachers.py CONFIG OUT_DIR

Prints, as its last line, the ``--cfg-options`` that point the config's teachers at the new checkpoints.
"""
import argparse
import copy
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

import mtkd_rl  # noqa: F401  (registries)
from mtkd_rl.distillers.teachers import load_teacher_config
from mtkd_rl.student import is_distiller_config


def without_pretrained(model_cfg: dict) -> dict:
    """A copy of a model config that loads no pretrained weights (backbone ``init_cfg`` and ``pretrained``)."""
    cfg = copy.deepcopy(model_cfg)
    if 'pretrained' in cfg:
        cfg['pretrained'] = None
    backbone = cfg.get('backbone')
    if isinstance(backbone, dict):
        backbone.pop('init_cfg', None)
        if 'pretrained' in backbone:
            backbone['pretrained'] = None
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a MultiTeacherDistiller config')
    parser.add_argument('out_dir', help='where to write <teacher name>.pth')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if not is_distiller_config(cfg):
        raise SystemExit(f'{args.config}: model.type is not MultiTeacherDistiller; give a distiller config')
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(args.seed)
    options = []
    for i, teacher in enumerate(cfg.model.teachers):
        teacher_cfg = load_teacher_config(teacher['config'], f'model.teachers[{i}]')
        with DefaultScope.overwrite_default_scope(teacher_cfg.get('default_scope')):
            model = MODELS.build(without_pretrained(teacher_cfg.model))
        model.init_weights()
        name = teacher.get('name') or f'teacher{i}'
        path = osp.abspath(osp.join(args.out_dir, f'{name}.pth'))
        torch.save(dict(state_dict=model.state_dict(), meta=dict(random_init=True)), path)
        options.append(f'model.teachers.{i}.checkpoint={path}')
    print(' '.join(options))


if __name__ == '__main__':
    main()
