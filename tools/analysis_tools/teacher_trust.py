"""Which teacher the trained agent trusts for what: mean teacher weights per class or image group.

Builds the distiller of CONFIG (its teachers from their configs and checkpoints), loads CHECKPOINT (student,
connectors and the agent TeacherWeightingHook saved), runs it over a data split as in a training iteration with
the agent in eval mode, and writes ``teacher_trust.csv`` and ``teacher_trust.png`` (a heat map): per group, the
mean logit and feature weight of each teacher. Groups: the class (classification), the most frequent class of
an image (segmentation, detection) or its number of objects (detection, ``--group-by objects``). See
docs/user_guides/analysis_tools.md.

Example::

    python tools/analysis_tools/teacher_trust.py \\
        work_dirs/demo/mtkdrl_student/mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py \\
        work_dirs/demo/mtkdrl_student/epoch_2.pth --split val
"""
import argparse
import copy
import os
import os.path as osp
from functools import partial

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401
from mtkd_rl.analysis import (GROUP_BY, collect_teacher_weights, draw_trust_heatmap, load_distiller_checkpoint,
                              sample_group)
from mtkd_rl.student import is_distiller_config


def parse_args():
    parser = argparse.ArgumentParser(description='Mean teacher weights of a trained distiller per class or group')
    parser.add_argument('config', help='the training config (the one dumped in the work dir has the overrides)')
    parser.add_argument('checkpoint', help='a checkpoint tools/train.py saved with this config')
    parser.add_argument('--split', choices=['val', 'train', 'test'], default='val',
                        help="the dataloader to run over: val_dataloader (default), train_dataloader (with the "
                        "training pipeline and preprocessing, as the agent saw it) or test_dataloader")
    parser.add_argument('--group-by', choices=GROUP_BY, default='class',
                        help='class: the label, or the most frequent class of an image; objects: the number '
                        'of objects of a detection image')
    parser.add_argument('--num-samples', type=int, help='stop after this many samples (whole batches)')
    parser.add_argument('--out', help='output folder (default: teacher_trust/ next to the checkpoint)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, e.g. val_dataloader.batch_size=64')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if not is_distiller_config(cfg):
        raise SystemExit(f"CONFIG {args.config}: model.type is {cfg.model.get('type')}, not "
                         f"'mtkd_rl.MultiTeacherDistiller'")
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:  # as the Runner passes it
        model_cfg.setdefault('data_preprocessor', copy.deepcopy(cfg.data_preprocessor))
    model = MODELS.build(model_cfg)
    load_distiller_checkpoint(model, args.checkpoint)
    model.to(args.device)

    loader_cfg = copy.deepcopy(cfg.get(f'{args.split}_dataloader'))
    if not loader_cfg:
        raise SystemExit(f'--split {args.split}: CONFIG has no {args.split}_dataloader')
    loader_cfg.sampler = dict(type='DefaultSampler', shuffle=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    decode_head = cfg.model.student.get('decode_head') or {}
    group = partial(sample_group, by=args.group_by, classes=loader.dataset.metainfo.get('classes'),
                    ignore_index=decode_head.get('ignore_index', 255))
    trust = collect_teacher_weights(model, loader, group, training_preprocess=args.split == 'train',
                                    max_samples=args.num_samples)

    out = args.out or osp.join(osp.dirname(osp.abspath(args.checkpoint)), 'teacher_trust')
    os.makedirs(out, exist_ok=True)
    csv_path, png_path = osp.join(out, 'teacher_trust.csv'), osp.join(out, 'teacher_trust.png')
    trust.to_csv(csv_path)
    title = (f'{type(model.weighting).__name__} teacher weights by {args.group_by}, {args.split} split, '
             f'{len(trust.groups)} samples\n{args.checkpoint}')
    draw_trust_heatmap(trust, title).savefig(png_path, dpi=100)

    table = trust.by_group()
    width = max(len(g) for g in table) + 2
    print(f'{"group":<{width}}{"samples":>8}' + ''.join(f'{"logit." + t:>24}' for t in trust.teachers))
    for g, row in table.items():
        print(f'{g:<{width}}{row["samples"]:>8}' + ''.join(f'{v:>24.3f}' for v in row['logit'].tolist()))
    if trust.correctness is not None:
        rho = trust.correctness_correlation()
        print(f'{"rank corr.":<{width}}{"":>8}' + ''.join(f'{rho[t]:>24.3f}' for t in trust.teachers)
              + '   (Spearman, over samples, of the logit weight and the teacher being right)')
    print(csv_path)
    print(png_path)


if __name__ == '__main__':
    main()
