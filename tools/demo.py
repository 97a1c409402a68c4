"""`make demo`: MTKD-RL on real Fashion-MNIST on a CPU in minutes.

Trains the three Fashion-MNIST teachers briefly, then the MTKD-RL student with the RL-weighted pool, and prints
each teacher's accuracy, the student's accuracy and the final mean teacher weights. Every run goes through the
same configs and mmengine Runner as tools/train.py.
"""
import argparse
import os.path as osp
import time

from mmengine.config import Config
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401

CFG = 'configs/cls/fashion_mnist'
TEACHERS = {
    'resnet18_w16': f'{CFG}/teachers/resnet18-w16_1xb64-2e_fashion-mnist.py',
    'regnetx_s8': f'{CFG}/teachers/regnetx-s8_1xb64-2e_fashion-mnist.py',
    'mobilenetv2_w05': f'{CFG}/teachers/mobilenetv2-w0.5_1xb64-2e_fashion-mnist.py',
}
STUDENT = f'{CFG}/mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py'


def run(config: str, work_dir: str, train_size: int, epochs: int, **overrides) -> Runner:
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    cfg.train_dataloader.dataset.indices = train_size
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler.T_max = epochs
    cfg.default_hooks.logger.interval = 100
    cfg.randomness = dict(seed=0)
    cfg.merge_from_dict(overrides)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--train-size', type=int, default=20000, help='training images used (of 60000)')
    parser.add_argument('--epochs', type=int, default=2, help='epochs of every run (the agent acts from epoch 2)')
    args = parser.parse_args()
    start = time.time()

    results, teachers = {}, {}
    for name, config in TEACHERS.items():
        runner = run(config, osp.join(args.work_dir, name), args.train_size, args.epochs)
        results[name] = runner.message_hub.get_scalar('val/accuracy/top1').current()
        teachers[name] = osp.join(runner.work_dir, f'epoch_{args.epochs}.pth')

    overrides = {f'model.teachers.{i}.checkpoint': teachers[n] for i, n in enumerate(TEACHERS)}
    overrides['custom_hooks'] = [dict(type='mtkd_rl.TeacherWeightingHook', interval=100, warmup_epochs=1)]
    student = run(STUDENT, osp.join(args.work_dir, 'mtkdrl_student'), args.train_size, args.epochs, **overrides)
    student_acc = student.message_hub.get_scalar('val/accuracy/top1').current()
    last_epoch = len(student.train_dataloader)
    hub = student.message_hub

    print('\n' + '=' * 72)
    print(f'MTKD-RL on Fashion-MNIST ({args.train_size} training images, {args.epochs} epochs per run, '
          f'10000 test images), {(time.time() - start) / 60:.1f} min')
    print(f'{"model":<28}{"top-1 (%)":>10}{"mean logit weight":>19}{"mean feature weight":>21}')
    for name in TEACHERS:
        w_logit = hub.get_scalar(f'train/w_logit.{name}').mean(last_epoch)
        w_feature = hub.get_scalar(f'train/w_feature.{name}').mean(last_epoch)
        print(f'{"teacher " + name:<28}{results[name]:>10.2f}{w_logit:>19.3f}{w_feature:>21.3f}')
    print(f'{"student resnet18_w8":<28}{student_acc:>10.2f}')
    print(f'weights: mean over the last epoch, in which the agent chose them '
          f'({hub.get_scalar("train/agent_updates").current():.0f} agent updates)')
    print(f'checkpoints in {args.work_dir}; export the student with\n  python '
          f'tools/model_converters/export_student.py {student.work_dir}/epoch_{args.epochs}.pth student.pth')
    print('=' * 72)


if __name__ == '__main__':
    main()
