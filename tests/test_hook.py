"""TeacherWeightingHook in real mmengine runs on Fashion-MNIST: schedule, checkpoints, exact resume, NaN."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401
from mtkd_rl.hooks import TeacherWeightingHook
from conftest import MTKDRL_CONFIG, SMALL_RUN


def make_runner(work_dir, teachers, name, hook=None, weighting=None, deterministic_data=False, **overrides):
    cfg = Config.fromfile(MTKDRL_CONFIG)
    cfg.merge_from_dict(SMALL_RUN)
    cfg.model.weighting.update(weighting or {})
    if deterministic_data:  # no random flips
        cfg.train_dataloader.dataset.pipeline = cfg.test_pipeline
    cfg.model.teachers = teachers
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    cfg.custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', **(hook or {}))]
    for key, value in overrides.items():
        cfg[key] = value
    return Runner.from_cfg(cfg)


def weighting_hook(runner):
    return next(h for h in runner.hooks if isinstance(h, TeacherWeightingHook))


def test_schedule_checkpoint_and_logging(fashion_mnist, random_teachers, tmp_path):
    runner = make_runner(
        tmp_path, random_teachers, 'schedule', hook=dict(interval=3, warmup_epochs=0),
        visualizer=dict(type='UniversalVisualizer',
                        vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]))
    runner.train()
    hook = weighting_hook(runner)
    # 4 iterations per epoch: updates at iterations 3 and 6 and at both epoch ends
    assert hook.num_updates == 4 and len(hook.buffer) == 0
    # the agent's optimizer keeps its own lr although the student's lr followed a cosine schedule
    assert hook.optimizer.param_groups[0]['lr'] == 0.1
    assert runner.optim_wrapper.get_lr()['lr'][0] != 0.05
    agent_ids = {id(p) for p in runner.model.weighting.parameters()}
    assert not agent_ids & {id(p) for g in runner.optim_wrapper.optimizer.param_groups for p in g['params']}

    ckpt = torch.load(osp.join(tmp_path, 'epoch_2.pth'))  # weights-only, torch's default
    state = ckpt['teacher_weighting']
    assert state['type'] == 'MTKDRLWeighting' and state['num_updates'] == 4
    live = runner.model.weighting.state_dict()
    assert state['state_dict'].keys() == live.keys()
    assert all(torch.equal(state['state_dict'][k], live[k]) for k in live)
    assert not any(k.startswith('teachers') for k in ckpt['state_dict'])

    # the agent loss and the weights reach the logger backends (TensorBoard too)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = glob.glob(osp.join(tmp_path, '*', 'vis_data', 'events.out.tfevents.*'))
    assert events
    acc = EventAccumulator(osp.dirname(events[0]))
    acc.Reload()
    tags = acc.Tags()['scalars']
    assert 'agent_loss' in tags and 'w_logit.resnet18_w16' in tags
    assert 'kd_feature.mobilenetv2_w05' in tags


def test_resume_continues_exactly(fashion_mnist, random_teachers, tmp_path):
    """An iteration-based run resumed from a mid-interval checkpoint ends where the uninterrupted one does."""
    base = Config.fromfile(MTKDRL_CONFIG)
    common = dict(
        hook=dict(interval=4, warmup_iters=2),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=10, val_interval=1000),
        param_scheduler=None, val_cfg=None, val_dataloader=None, val_evaluator=None,
        default_hooks=dict(base.default_hooks, checkpoint=dict(type='CheckpointHook', interval=6,
                                                                 by_epoch=False)))
    full = make_runner(tmp_path / 'full', random_teachers, 'full', deterministic_data=True, **common)
    full.train()
    ckpt = torch.load(osp.join(tmp_path, 'full', 'iter_6.pth'))
    assert len(ckpt['teacher_weighting']['buffer']) == 2  # iterations 5 and 6 wait for the next update

    resumed = make_runner(tmp_path / 'resumed', random_teachers, 'resumed', load_from=str(
        tmp_path / 'full' / 'iter_6.pth'), resume=True, deterministic_data=True, **common)
    resumed.train()
    # updates after iterations 4 and 8, and when the (single) epoch of an iteration-based run ends
    assert weighting_hook(resumed).num_updates == weighting_hook(full).num_updates == 3
    for a, b in zip(full.model.weighting.parameters(), resumed.model.weighting.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    sa, sb = full.model.state_dict(), resumed.model.state_dict()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=1e-5, msg=k)


def test_nan_teacher_stops_training_naming_the_term(fashion_mnist, random_teachers, tmp_path):
    teachers = [dict(t) for t in random_teachers]
    ckpt = torch.load(teachers[0]['checkpoint'])
    ckpt['state_dict']['head.fc.bias'] = torch.full_like(ckpt['state_dict']['head.fc.bias'], float('nan'))
    path = str(tmp_path / 'nan_teacher.pth')
    torch.save(ckpt, path)
    teachers[0]['checkpoint'] = path
    runner = make_runner(tmp_path, teachers, 'nan', hook=dict(warmup_epochs=0))
    with pytest.raises(FloatingPointError, match=r"iteration 1: 'loss_kd_logit' is nan.*'kd_logit.resnet18_w16'"):
        runner.train()


def test_iteration_based_run_needs_warmup_iters(fashion_mnist, random_teachers, tmp_path):
    runner = make_runner(tmp_path, random_teachers, 'iters', hook=dict(warmup_epochs=1),
                         train_cfg=dict(type='IterBasedTrainLoop', max_iters=2), param_scheduler=None,
                         val_cfg=None, val_dataloader=None, val_evaluator=None)
    with pytest.raises(ValueError, match='warmup_iters'):
        runner.train()


@pytest.mark.parametrize('options', [dict(fusion='dynamic'), dict(update='policy_gradient'),
                                     dict(warmup_weights='uniform')])
def test_agent_options_train_in_a_real_run(fashion_mnist, random_teachers, tmp_path, options):
    runner = make_runner(tmp_path, random_teachers, 'options_' + '_'.join(options.values()),
                         hook=dict(interval=2, warmup_epochs=1), weighting=options,
                         train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=10))
    before = [p.detach().clone() for p in runner.model.weighting.parameters()]
    runner.train()
    assert weighting_hook(runner).num_updates == 2  # epoch 1 is warm-up; epoch 2: after iterations 6 and 8
    assert any(not torch.equal(a, b) for a, b in zip(before, runner.model.weighting.parameters()))
