"""Compare teacher weightings on one distiller config over several seeds.

Example::

    python tools/analysis_tools/compare_weightings.py \\
        configs/cls/fashion_mnist/mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py \\
        --weightings AVER EBKD CA-MKD ONES MTKD-RL MTKD-RL:fusion=dynamic MTKD-RL:update=policy_gradient \\
        --seeds 0 1 2 --student-alone --eval-teachers --work-dir work_dirs/study_fmnist

Each run is an ordinary ``tools/train.py`` run in ``WORK_DIR/<variant>/seed_<seed>``. Finished runs are
skipped and interrupted ones resume, so the same command continues a study. ``WORK_DIR`` gets
``results.md``, ``results.csv`` and ``results.png``. Every arm at a seed starts from the same student (the
weightings' parameters draw from a random stream of their own), so ``results.md`` gives each arm's difference to
``--baseline`` (AVER by default) seed by seed, with the standard error of that paired difference.

The driver is :class:`weighting_study.Study`, beside this script (Python puts the script's folder on
``sys.path``, in a checkout and in a wheel's ``mtkd_rl/.mim/tools`` alike).
"""
import argparse

from mmengine.config import DictAction

import mtkd_rl  # noqa: F401
from mtkd_rl.analysis import parse_variant
from weighting_study import Study


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train and compare teacher weightings over seeds')
    parser.add_argument('config', help='a MultiTeacherDistiller config')
    parser.add_argument('--weightings', nargs='*', default=[],
                        help="variants: NAME or NAME:key=value[,key=value] setting model.weighting.<key>, e.g. "
                             "AVER CA-MKD MTKD-RL MTKD-RL:fusion=dynamic MTKD-RL:warmup_weights=uniform ONES; "
                             "KD:<teacher name or index> distils that teacher alone")
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2], help='one run per seed per variant')
    parser.add_argument('--work-dir', required=True, help='the study folder (runs and reports)')
    parser.add_argument('--student-alone', action='store_true', help='also train the student without teachers')
    parser.add_argument('--eval-teachers', action='store_true',
                        help="also evaluate each teacher on the study's validation set")
    parser.add_argument('--metric', help='the logged key to compare (default: from val_evaluator)')
    parser.add_argument('--baseline', help='the arm every arm is compared to, seed by seed, with the standard '
                        'error of the paired difference (default: AVER when it is compared)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='settings for every run, e.g. train_cfg.max_epochs=1')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    study = Study(args.config, [parse_variant(v) for v in args.weightings], args.seeds, args.work_dir,
                  cfg_options=args.cfg_options, student_alone=args.student_alone,
                  eval_teachers=args.eval_teachers, metric=args.metric, baseline=args.baseline)
    study.run()
    print(open(f'{args.work_dir}/results.md').read())


if __name__ == '__main__':
    main()
