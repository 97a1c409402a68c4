"""Plot what the teacher-weighting agent did during a training run, from the run's scalar log.

Writes, under ``--out`` (default ``WORK_DIR/plots``):

* ``weights.png``: each teacher's mean logit and feature weight over training,
* ``kd_terms.png``: each teacher's logit and feature distillation term,
* ``agent.png``: the agent's loss and its number of updates,
* ``overview.png``: all of the above in one picture,

with the hook's warm-up (the agent held back) shaded. The values are the scalars mmengine logged
every ``default_hooks.logger.interval`` iterations (batch means of the logging iteration; the agent loss is
mmengine's mean over its log window). See docs/user_guides/analysis_tools.md.

Example::

    python tools/analysis_tools/plot_teacher_weights.py work_dirs/demo/mtkdrl_student
"""
import argparse
import os.path as osp

from mtkd_rl.analysis import load_training_log, plot_training_log


def parse_args():
    parser = argparse.ArgumentParser(description='Plot the teacher weights, KD terms and agent of a training run')
    parser.add_argument('work_dir', help='the work dir of the training run (tools/train.py --work-dir)')
    parser.add_argument('--out', help='folder for the PNGs (default: WORK_DIR/plots)')
    parser.add_argument('--run', help='the timestamp folder of the run to plot (default: the newest, with the '
                        'runs a resumed training continues)')
    return parser.parse_args()


def main():
    args = parse_args()
    log = load_training_log(args.work_dir, run=args.run)
    if not log.teachers:
        raise SystemExit(f'no w_logit.<teacher> scalars in {log.runs[-1].path}: is this the work dir of a '
                         f'MultiTeacherDistiller run?')
    paths = plot_training_log(log, args.out or osp.join(args.work_dir, 'plots'))
    print(f'{len(log.train)} logged iterations from {", ".join(r.path for r in log.runs)}')
    if log.warmup_end is not None:
        print(f'warm-up until iteration {log.warmup_end:g} ({log.warmup_source})')
    for path in paths.values():
        print(path)


if __name__ == '__main__':
    main()
