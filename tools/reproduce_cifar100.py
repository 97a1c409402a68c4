"""Reproduce MTKD-RL's CIFAR-100 comparison: train the four teachers, then compare every weighting over seeds.

On a GPU machine, from the repository root, with CIFAR-100 in ``data/cifar100`` (mmpretrain's layout: the
``cifar-100-python`` folder of the official archive)::

    python tools/reproduce_cifar100.py --work-dir work_dirs/reproduce_cifar100

1. checks the data (and says how to get it) before building anything;
2. trains the pool's teachers (RegNetY-400MF, RegNetX-400MF, ResNet-32x4, WRN-28-4) with their configs in
   ``configs/cls/cifar100/teachers`` (240 epochs each), into ``WORK_DIR/teachers/<config name>``;
3. for each student (RegNetX-200MF, MobileNetV2, ShuffleNetV2, ResNet-56), runs the seeded comparison of
   ``tools/analysis_tools/compare_weightings.py`` (:class:`weighting_study.Study`) on its MTKD-RL config with the
   trained teachers: the student alone, AVER, EBKD, CA-MKD, MTKD-RL and MTKD-RL with dynamic fusion, seeds
   0, 1, 2, and each teacher's own top-1, into ``WORK_DIR/<student>``;
4. writes ``WORK_DIR/results.md``: every student's table.

Every run is an ordinary ``tools/train.py`` run on one GPU (batch 64). Finished runs are skipped and
interrupted ones resume, so the same command continues after a stop. ``--students``, ``--weightings`` and
``--seeds`` narrow it. ``--smoke`` runs every stage for a few iterations (batch 8, one epoch of 2 iterations per
run, one seed) on random 32x32 images written to ``WORK_DIR/smoke_data``, on the CPU, with the real
architectures: a check of the whole pipeline in a few minutes.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The folder of the comparison's driver (``weighting_study.py``).
ANALYSIS_TOOLS = osp.join(osp.dirname(osp.abspath(__file__)), 'analysis_tools')
CONFIG_DIR = osp.join(REPO, 'configs', 'cls', 'cifar100')
#: The students of the paper's CIFAR-100 table and their MTKD-RL configs (which also name the teacher pool).
STUDENTS = {s: osp.join(CONFIG_DIR, f'mtkdrl_{s}_cifar-kd-pool4_1xb64-240e_cifar100.py')
            for s in ('regnetx-200mf', 'mobilenetv2', 'shufflenetv2', 'resnet56')}
WEIGHTINGS = ('AVER', 'EBKD', 'CA-MKD', 'MTKD-RL', 'MTKD-RL:fusion=dynamic')
#: What mmpretrain's CIFAR100 reads under its data_root.
CIFAR100_FILES = ('cifar-100-python/train', 'cifar-100-python/test', 'cifar-100-python/meta')
CIFAR100_URL = 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: Smoke runs: images per split and classes of the random data set.
SMOKE_TRAIN, SMOKE_TEST, SMOKE_CLASSES = 16, 8, 4


def missing_data(root: str) -> List[str]:
    """The CIFAR-100 files mmpretrain needs that ``root`` lacks."""
    return [f for f in CIFAR100_FILES if not osp.isfile(osp.join(root, f))]


def data_instructions(root: str, missing: Sequence[str]) -> str:
    """How to get CIFAR-100 into ``root``."""
    archive = osp.join(root, 'cifar-100-python.tar.gz')
    return (f"CIFAR-100 is not in '{root}' (missing {', '.join(missing)}; mmpretrain's CIFAR100 reads "
            f"{root}/cifar-100-python/{{train,test,meta}}). Get it with:\n"
            f'    mkdir -p {root}\n'
            f'    wget {CIFAR100_URL} -O {archive}    # 161 MB, md5 eb9058c3a382ffc7106e4002c42a8d85\n'
            f'    tar -xzf {archive} -C {root}\n'
            f'or point --data-root at the folder that holds cifar-100-python/.')


def write_smoke_data(root: str, seed: int = 0) -> None:
    """Random 32x32 RGB images in class folders (``train/`` and ``test/``), read by mmpretrain's CustomDataset.

    The CIFAR100 dataset class verifies its files' checksums, so the smoke runs read the same kind of images
    from PNG files instead.
    """
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    for split, count in (('train', SMOKE_TRAIN), ('test', SMOKE_TEST)):
        for i in range(count):
            folder = osp.join(root, split, f'class_{i % SMOKE_CLASSES:03d}')
            os.makedirs(folder, exist_ok=True)
            path = osp.join(folder, f'{i:05d}.png')
            if not osp.exists(path):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(path)


def data_options(cfg, data_root: str, smoke: bool) -> Dict[str, object]:
    """``--cfg-options`` that point every dataloader of ``cfg`` at ``data_root`` (smoke: the random images,
    batch 8, no worker processes)."""
    options: Dict[str, object] = {}
    for key in LOADERS:
        if not isinstance(cfg.get(key), dict):
            continue
        if not smoke:
            options[f'{key}.dataset.data_root'] = data_root
            continue
        dataset = cfg[key]['dataset']
        split = 'train' if key == 'train_dataloader' else 'test'
        pipeline = [dict(type='LoadImageFromFile')] + [dict(step) for step in dataset['pipeline']]
        options[f'{key}.dataset'] = dict(_delete_=True, type='CustomDataset', data_root=data_root,
                                         data_prefix=split, with_label=True, pipeline=pipeline)
        options.update({f'{key}.batch_size': 8, f'{key}.num_workers': 0, f'{key}.persistent_workers': False})
    return options


def smoke_schedule() -> Dict[str, object]:
    """One epoch (2 iterations at batch 8), a checkpoint and a log line per iteration."""
    return {'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1, 'default_hooks.checkpoint.interval': 1,
            'default_hooks.logger.interval': 1}


def train_teacher(config: str, work_dir: str, options: Dict[str, object], python: str, train_script: str,
                  log=print) -> str:
    """Train one teacher with tools/train.py unless its final checkpoint exists; resume an interrupted run.

    Returns:
        The final checkpoint's path.
    """
    import subprocess

    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    name = osp.splitext(osp.basename(config))[0]
    run_dir = osp.join(work_dir, name)
    final = osp.join(run_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    if osp.isfile(final):
        log(f'[teachers] {name}: finished before ({final})')
        return final
    os.makedirs(run_dir, exist_ok=True)
    run_config = osp.join(work_dir, f'{name}.py')
    cfg.dump(run_config)
    resume = ['--resume'] if osp.exists(osp.join(run_dir, 'last_checkpoint')) else []
    log(f'[teachers] {name}: {"resuming" if resume else "training"} in {run_dir}')
    with open(osp.join(run_dir, 'train.log'), 'a') as out:
        proc = subprocess.run([python, train_script, run_config, '--work-dir', run_dir] + resume,
                              stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0 or not osp.isfile(final):
        with open(osp.join(run_dir, 'train.log')) as f:
            tail = f.read()[-4000:]
        raise RuntimeError(f'teacher {name} failed ({proc.returncode}); log {run_dir}/train.log:\n{tail}')
    log(f'[teachers] {name}: {final}')
    return final


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/reproduce_cifar100', help='teachers, runs and reports')
    parser.add_argument('--data-root', default='data/cifar100',
                        help='the folder that holds cifar-100-python/ (mmpretrain layout)')
    parser.add_argument('--students', nargs='+', choices=sorted(STUDENTS), default=list(STUDENTS))
    parser.add_argument('--weightings', nargs='+', default=list(WEIGHTINGS),
                        help='variants as in compare_weightings.py: NAME or NAME:key=value')
    parser.add_argument('--seeds', nargs='+', type=int, help='default: 0 1 2 (smoke: 0)')
    parser.add_argument('--no-student-alone', action='store_true', help='skip the students trained alone')
    parser.add_argument('--smoke', action='store_true',
                        help='every stage for one 2-iteration epoch on random data, on the CPU')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    if args.smoke:
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # the runs and this process stay on the CPU
        data_root = osp.join(work_dir, 'smoke_data')
        write_smoke_data(data_root)
    else:
        data_root = args.data_root
        missing = missing_data(data_root)
        if missing:
            sys.exit(f'reproduce_cifar100.py: error: {data_instructions(data_root, missing)}')
    seeds = args.seeds or ([0] if args.smoke else [0, 1, 2])

    from mmengine.config import Config

    import mtkd_rl  # noqa: F401
    from mtkd_rl.analysis import parse_variant
    from mtkd_rl.tool_scripts import tool_script
    sys.path.insert(0, ANALYSIS_TOOLS)
    from weighting_study import Study
    variants = [parse_variant(v) for v in args.weightings]
    train_script, python = tool_script('train.py'), sys.executable
    extra = smoke_schedule() if args.smoke else {}

    # stage 2: the teacher pool (the same four teachers for every student)
    pool = Config.fromfile(STUDENTS[args.students[0]]).model.teachers
    teacher_options = {}
    for i, teacher in enumerate(pool):
        cfg = Config.fromfile(teacher['config'])
        options = {**data_options(cfg, data_root, args.smoke), **extra}
        checkpoint = train_teacher(teacher['config'], osp.join(work_dir, 'teachers'), options, python,
                                   train_script)
        teacher_options[f'model.teachers.{i}.checkpoint'] = checkpoint

    # stage 3: per student, the seeded comparison of the weightings
    reports = []
    for student in args.students:
        config = STUDENTS[student]
        cfg = Config.fromfile(config)
        if [t['config'] for t in cfg.model.teachers] != [t['config'] for t in pool]:
            raise RuntimeError(f'{config} has another teacher pool than {STUDENTS[args.students[0]]}')
        options = {**data_options(cfg, data_root, args.smoke), **teacher_options, **extra}
        if args.smoke:  # the agent acts and learns within the one epoch
            options.update({'custom_hooks.0.warmup_epochs': 0, 'custom_hooks.0.interval': 1})
        study = Study(config, variants, seeds, osp.join(work_dir, student), cfg_options=options,
                      student_alone=not args.no_student_alone, eval_teachers=True, train_script=train_script,
                      python=python)
        study.run()
        with open(osp.join(work_dir, student, 'results.md')) as f:
            reports.append(f'## {student}\n\n{f.read().strip()}\n')

    # stage 4: one report
    summary = osp.join(work_dir, 'results.md')
    header = ('# CIFAR-100: weightings compared over seeds' + (' (SMOKE RUN: random data, 2 iterations per run; '
                                                                 'the numbers mean nothing)' if args.smoke else ''))
    with open(summary, 'w') as f:
        f.write(f'{header}\n\nTeachers: {", ".join(t["name"] for t in pool)} ({work_dir}/teachers). '
                f'Seeds: {" ".join(map(str, seeds))}.\n\n' + '\n'.join(reports))
    print(open(summary).read())
    return summary


if __name__ == '__main__':
    main()
