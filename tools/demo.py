"""`make demo`: MTKD-RL on real Fashion-MNIST on a CPU in minutes.

Trains the three Fashion-MNIST teachers from scratch for one epoch, then the MTKD-RL student with the
RL-weighted pool (the agent acts after a warm-up of 100 iterations), and prints each teacher's accuracy, the
student's accuracy and the mean teacher weights the agent chose; then draws the run's teacher weights (what
tools/analysis_tools/plot_teacher_weights.py writes) and the agent's mean weights per class (what
tools/analysis_tools/teacher_trust.py writes). Every run goes through the same configs and mmengine Runner as
tools/train.py, with the learning rate decayed per iteration, and is validated once, after its last epoch, on
the full test set.
"""
import argparse
import os
import os.path as osp
import time
from functools import partial

from mmengine.config import Config
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401
from mtkd_rl.analysis import (collect_teacher_weights, draw_trust_heatmap, load_training_log, plot_training_log,
                              sample_group)

CFG = 'configs/cls/fashion_mnist'
TEACHERS = {
    'resnet18_w16': f'{CFG}/teachers/resnet18-w16_1xb64-2e_fashion-mnist.py',
    'regnetx_s8': f'{CFG}/teachers/regnetx-s8_1xb64-2e_fashion-mnist.py',
    'mobilenetv2_w05': f'{CFG}/teachers/mobilenetv2-w0.5_1xb64-2e_fashion-mnist.py',
}
STUDENT = f'{CFG}/mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py'


class Progress:
    """Numbered stages with the time since the start."""

    def __init__(self, stages: int) -> None:
        self.start, self.stages, self.stage = time.time(), stages, 0

    def minutes(self) -> float:
        return (time.time() - self.start) / 60

    def __call__(self, message: str) -> None:
        self.stage += 1
        print(f'\n>>> [{self.stage}/{self.stages}] {message} (at {self.minutes():.1f} min)', flush=True)


def run(config: str, work_dir: str, train_size: int, epochs: int, args, **overrides) -> Runner:
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    cfg.train_dataloader.dataset.indices = train_size
    cfg.val_dataloader.dataset.indices = args.val_size
    cfg.train_dataloader.num_workers = cfg.val_dataloader.num_workers = args.workers
    cfg.train_dataloader.persistent_workers = cfg.val_dataloader.persistent_workers = args.workers > 0
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs  # validate once, after the last epoch
    # the cosine schedule decays every iteration, so a one-epoch run ends at a small learning rate
    cfg.param_scheduler.T_max = epochs
    cfg.param_scheduler.convert_to_iter_based = True
    cfg.default_hooks.logger.interval = args.log_interval
    cfg.randomness = dict(seed=0)
    cfg.merge_from_dict(overrides)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--teacher-size', type=int, default=12000, help='training images of each teacher')
    parser.add_argument('--teacher-epochs', type=int, default=1)
    parser.add_argument('--student-size', type=int, default=20000, help='training images of the student')
    parser.add_argument('--student-epochs', type=int, default=1)
    parser.add_argument('--warmup-iters', type=int, default=100,
                        help='student iterations before the agent acts (fixed weights until then)')
    parser.add_argument('--agent-interval', type=int, default=50, help='iterations between agent updates')
    parser.add_argument('--val-size', type=int, default=10000, help='test images for the accuracies (of 10000)')
    parser.add_argument('--trust-size', type=int, default=2000,
                        help='test images for the mean teacher weights per class')
    parser.add_argument('--workers', type=int, default=0, help='dataloader worker processes')
    parser.add_argument('--log-interval', type=int, default=50, help='iterations between log lines')
    return parser.parse_args()


def main():
    args = parse_args()
    progress = Progress(len(TEACHERS) + 2)
    results, teachers = {}, {}
    for name, config in TEACHERS.items():
        progress(f'teacher {name}: {args.teacher_epochs} epoch(s) on {args.teacher_size} training images, then '
                 f'top-1 on {args.val_size} test images')
        runner = run(config, osp.join(args.work_dir, name), args.teacher_size, args.teacher_epochs, args)
        results[name] = runner.message_hub.get_scalar('val/accuracy/top1').current()
        teachers[name] = osp.join(runner.work_dir, f'epoch_{args.teacher_epochs}.pth')
        print(f'>>> teacher {name}: top-1 {results[name]:.2f} %', flush=True)

    progress(f'MTKD-RL student resnet18_w8 from the {len(TEACHERS)} teachers: {args.student_epochs} epoch(s) on '
             f'{args.student_size} training images, the agent acting after iteration {args.warmup_iters}')
    overrides = {f'model.teachers.{i}.checkpoint': teachers[n] for i, n in enumerate(TEACHERS)}
    overrides['custom_hooks'] = [dict(type='mtkd_rl.TeacherWeightingHook', interval=args.agent_interval,
                                      warmup_iters=args.warmup_iters), dict(type='mtkd_rl.NonFiniteLossHook')]
    student = run(STUDENT, osp.join(args.work_dir, 'mtkdrl_student'), args.student_size, args.student_epochs,
                  args, **overrides)
    hub = student.message_hub
    student_acc = hub.get_scalar('val/accuracy/top1').current()
    acting = max(1, student.iter - args.warmup_iters)  # iterations in which the agent chose the weights

    progress(f'pictures: teacher weights over training, and per class on {args.trust_size} test images')
    # what tools/analysis_tools/plot_teacher_weights.py and teacher_trust.py do, on the runner's model
    pictures = plot_training_log(load_training_log(student.work_dir), osp.join(student.work_dir, 'plots'))
    group = partial(sample_group, classes=student.val_dataloader.dataset.metainfo['classes'])
    trust = collect_teacher_weights(student.model, student.val_dataloader, group, max_samples=args.trust_size)
    table = trust.by_group()
    trust_dir = osp.join(student.work_dir, 'teacher_trust')
    os.makedirs(trust_dir, exist_ok=True)
    trust.to_csv(osp.join(trust_dir, 'teacher_trust.csv'))
    trust_png = osp.join(trust_dir, 'teacher_trust.png')
    draw_trust_heatmap(trust, f'MTKD-RL teacher weights by class, {len(trust.groups)} test images').savefig(
        trust_png, dpi=100)

    names = list(TEACHERS)
    print('\n' + '=' * 76)
    print(f'MTKD-RL on Fashion-MNIST: teachers {args.teacher_epochs} epoch(s) on {args.teacher_size} images, '
          f'student {args.student_epochs} epoch(s) on {args.student_size}, top-1 on {args.val_size} test images; '
          f'{progress.minutes():.1f} min')
    print(f'{"model":<28}{"top-1 (%)":>10}{"mean logit weight":>19}{"mean feature weight":>21}')
    for name in names:
        w_logit = hub.get_scalar(f'train/w_logit.{name}').mean(acting)
        w_feature = hub.get_scalar(f'train/w_feature.{name}').mean(acting)
        print(f'{"teacher " + name:<28}{results[name]:>10.2f}{w_logit:>19.3f}{w_feature:>21.3f}')
    print(f'{"student resnet18_w8":<28}{student_acc:>10.2f}')
    print(f'weights: mean over the {acting} training iterations in which the agent chose them '
          f'({hub.get_scalar("train/agent_updates").current():.0f} agent updates)')
    print(f'\nmean logit weight per class ({len(trust.groups)} test images):')
    width = max(len(g) for g in table) + 2
    print(f'{"class":<{width}}' + ''.join(f'{n:>18}' for n in names))
    for group_name, row in table.items():
        print(f'{group_name:<{width}}' + ''.join(f'{v:>18.3f}' for v in row['logit'].tolist()))
    print(f'\npictures:\n  {pictures["overview"]}\n  {trust_png}')
    print(f'checkpoints in {args.work_dir}; export the student with\n  python '
          f'tools/model_converters/export_student.py {student.work_dir}/epoch_{args.student_epochs}.pth '
          f'student.pth')
    print('=' * 76)


if __name__ == '__main__':
    main()
