"""TeacherWeightingHook and NonFiniteLossHook in real mmengine runs on Fashion-MNIST: schedule, checkpoints, exact
resume, NaN."""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import EpochBasedTrainLoop, Runner
from torch.optim.optimizer import register_optimizer_step_post_hook

import mtkd_rl  # noqa: F401
from mtkd_rl.hooks import TeacherWeightingHook
from mtkd_rl.loops import ExactResumeEpochBasedTrainLoop
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
    cfg.custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', **(hook or {})),
                        dict(type='mtkd_rl.NonFiniteLossHook')]  # as the configs list them
    for key, value in overrides.items():
        cfg[key] = value
    return Runner.from_cfg(cfg)


#: No validation: for tests of training alone.
NO_VAL = dict(val_cfg=None, val_dataloader=None, val_evaluator=None)


def weighting_hook(runner):
    return next(h for h in runner.hooks if isinstance(h, TeacherWeightingHook))


def log_text(runner):
    return open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()


class AgentSteps:
    """Records (epoch, iteration) at every step of the agent's optimizer, through torch's step hooks."""

    def __init__(self, runner):
        self.runner, self.steps, self.handle = runner, [], None

    def __enter__(self):
        def record(optimizer, args, kwargs):
            if optimizer is weighting_hook(self.runner).learner.optimizer:
                self.steps.append((self.runner.epoch, self.runner.iter))
        self.handle = register_optimizer_step_post_hook(record)
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def test_schedule_checkpoint_and_logging(fashion_mnist, random_teachers, tmp_path):
    runner = make_runner(
        tmp_path, random_teachers, 'schedule', hook=dict(interval=3, warmup_epochs=0),
        visualizer=dict(type='UniversalVisualizer',
                        vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]))
    runner.train()
    learner = weighting_hook(runner).learner
    assert runner.model.learner is learner  # the hook handed its learner to the distiller
    # 4 iterations per epoch: updates at iterations 3 and 6 and at both epoch ends
    assert learner.num_updates == 4 and len(learner.buffer) == 0
    assert runner.message_hub.get_scalar('train/agent_updates').current() == 4
    # the agent's optimizer keeps its own lr although the student's lr followed a cosine schedule
    assert learner.optimizer.param_groups[0]['lr'] == 0.1
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
    # updates after iterations 2 (the warm-up's end), 4 and 8, and when the (single) epoch of an
    # iteration-based run ends
    assert weighting_hook(resumed).learner.num_updates == weighting_hook(full).learner.num_updates == 4
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
    # epoch 1 is warm-up, stored and learnt from (after iterations 2 and 4) except by the policy gradient, which
    # learns only from its own samples; epoch 2: after iterations 6 and 8
    expected = 2 if options.get('update') == 'policy_gradient' else 4
    assert weighting_hook(runner).learner.num_updates == expected
    assert any(not torch.equal(a, b) for a, b in zip(before, runner.model.weighting.parameters()))


@pytest.mark.parametrize('learn_during_warmup', [True, False])
def test_reference_warmup_schedule(fashion_mnist, random_teachers, tmp_path, learn_during_warmup):
    """The warm-up epoch's batches train the agent at the end of that epoch, one step per stored batch."""
    runner = make_runner(tmp_path, random_teachers, f'warmup_{learn_during_warmup}',
                         hook=dict(interval=100, warmup_epochs=1, learn_during_warmup=learn_during_warmup),
                         train_cfg=dict(by_epoch=True, max_epochs=2), **NO_VAL)
    weights = []
    runner.model.weighting.register_forward_hook(lambda m, args, out: weights.append(out.logit.detach().clone()))
    with AgentSteps(runner) as agent:
        runner.train()
    # 4 iterations per epoch; the weights are fixed to ones in the warm-up epoch, the agent's in the second
    assert len(weights) == 8 and all(torch.equal(w, torch.ones_like(w)) for w in weights[:4])
    assert all(torch.allclose(w.sum(1), torch.ones(len(w))) for w in weights[4:])
    epoch_2 = [(1, 8)] * 4  # the update at the end of epoch 2, after its 4 iterations
    if learn_during_warmup:
        assert agent.steps == [(0, 4)] * 4 + epoch_2  # first update: at the end of epoch 1, 4 stored batches
        assert weighting_hook(runner).learner.num_updates == 2
    else:
        assert agent.steps == epoch_2 and weighting_hook(runner).learner.num_updates == 1


def test_warmup_ends_inside_an_iteration_based_run(fashion_mnist, random_teachers, tmp_path):
    """The agent learns from the warm-up at the end of warm-up even when that is not on the update interval."""
    runner = make_runner(tmp_path, random_teachers, 'warmup_iters', hook=dict(interval=4, warmup_iters=3),
                         train_cfg=dict(type='IterBasedTrainLoop', max_iters=4, val_interval=1000),
                         param_scheduler=None, val_cfg=None, val_dataloader=None, val_evaluator=None)
    with AgentSteps(runner) as agent:
        runner.train()
    assert agent.steps == [(0, 2)] * 3 + [(0, 3)]  # after iteration 3 (3 warm-up batches), after iteration 4


@pytest.mark.parametrize('loop', ['epochs', 'iters'])
def test_warning_when_warmup_covers_the_whole_run(fashion_mnist, random_teachers, tmp_path, loop):
    if loop == 'epochs':
        hook, train_cfg, keys = dict(warmup_epochs=2), dict(by_epoch=True, max_epochs=2), (
            'warmup_epochs=2', 'train_cfg.max_epochs=2')
        extra = {}
    else:
        hook, train_cfg, keys = dict(warmup_iters=5), dict(type='IterBasedTrainLoop', max_iters=5), (
            'warmup_iters=5', 'train_cfg.max_iters=5')
        extra = dict(param_scheduler=None, val_cfg=None, val_dataloader=None, val_evaluator=None)
    runner = make_runner(tmp_path, random_teachers, f'never_{loop}', hook=hook, train_cfg=train_cfg, **extra)
    runner.call_hook('before_run')
    text = log_text(runner)
    assert 'never weights the teachers' in text and all(k in text for k in keys)


@pytest.mark.parametrize('kw,key', [(dict(warmup_epochs=-1), 'warmup_epochs'),
                                    (dict(warmup_epochs=0.5), 'warmup_epochs'), (dict(warmup_iters=-3), 'warmup_iters'), (dict(interval=0), 'interval'),
                                    (dict(buffer_size=0), 'buffer_size'),
                                    (dict(learn_during_warmup='yes'), 'learn_during_warmup'),
                                    (dict(optimizer=dict(lr=0.1)), 'optimizer'),
                                    (dict(buffer_device='gpu'), 'buffer_device')])
def test_bad_hook_values_name_the_key(kw, key):
    from mmengine.registry import HOOKS
    with pytest.raises(ValueError, match=rf'custom_hooks\[i\]\.{key}, where custom_hooks\[i\] is the '
                                         r'TeacherWeightingHook, must be'):
        HOOKS.build(dict(type='mtkd_rl.TeacherWeightingHook', **kw))


def test_policy_gradient_trains_stably_and_the_agent_is_checked(fashion_mnist, random_teachers, tmp_path):
    """Many policy-gradient updates on real batches: finite weights on the simplex, a bounded spread; then an
    update that makes the agent non-finite stops training, naming the update, the loss and the parameters."""
    runner = make_runner(tmp_path, random_teachers, 'pg', hook=dict(interval=1, warmup_epochs=0),
                         weighting=dict(update='policy_gradient'), train_cfg=dict(by_epoch=True, max_epochs=3),
                         **NO_VAL)
    outputs = []
    runner.model.weighting.register_forward_hook(lambda m, args, out: outputs.append(out))
    runner.train()
    hook, weighting = weighting_hook(runner), runner.model.weighting
    assert hook.learner.num_updates == 12 and len(outputs) == 12
    for out in outputs:
        for w in (out.logit, out.feature):
            assert torch.isfinite(w).all() and (w >= 0).all()
            torch.testing.assert_close(w.sum(1), torch.ones(len(w)))
    assert all(torch.isfinite(p).all() for p in weighting.parameters())
    std = weighting.log_std.exp()
    assert (std >= 0.01).all() and (std <= 1.0).all()
    assert math.isfinite(runner.message_hub.get_scalar('train/agent_loss').current())

    rollout = outputs[-1].rollout
    hook.learner.buffer.append(dict(rollout, reward=torch.full((len(rollout['state']), ), float('nan'))))
    with pytest.raises(FloatingPointError, match=r'agent update 13 \(after iteration 12\): its loss is nan on '
                                                 r'stored batch 1 of 1; parameters policy\.hidden\.weight'):
        hook.update_agent(runner)

    with torch.no_grad():
        for p in weighting.parameters():
            p.zero_()
        weighting.spread.raw.fill_(float('inf'))  # the spread stays bounded, but the parameter is not finite
    hook.learner.buffer.append(dict(rollout, reward=torch.ones(len(rollout['state']))))
    with pytest.raises(FloatingPointError, match=r'agent update 14 .*parameters spread\.raw hold NaN or inf'):
        hook.update_agent(runner)


def test_resume_inside_an_epoch_continues_exactly(fashion_mnist, random_teachers, tmp_path):
    """An epoch-based run resumed from an iteration checkpoint in the middle (or at the last iteration) of an
    epoch ends where the uninterrupted run does: same iteration count, agent steps, agent and student."""
    base = Config.fromfile(MTKDRL_CONFIG)
    common = dict(hook=dict(interval=3, warmup_epochs=1), deterministic_data=True,
                  train_cfg=dict(by_epoch=True, max_epochs=2), **NO_VAL,
                  default_hooks=dict(base.default_hooks, checkpoint=dict(type='CheckpointHook', interval=2,
                                                                           by_epoch=False)))
    full = make_runner(tmp_path / 'full', random_teachers, 'full', **common)
    with AgentSteps(full) as full_steps:
        full.train()
    assert full.iter == 8 and weighting_hook(full).learner.num_updates == 4  # after iterations 3, 4 (epoch end), 6, 8

    # iteration 6: 2 of epoch 2's 4 batches done; iteration 4: the checkpoint before epoch 1's end-of-epoch update
    for iteration in (6, 4):
        name = f'resumed_{iteration}'
        resumed = make_runner(tmp_path / name, random_teachers, name, resume=True,
                              load_from=str(tmp_path / 'full' / f'iter_{iteration}.pth'), **common)
        with AgentSteps(resumed) as agent:
            resumed.train()
        steps = agent.steps
        assert resumed.iter == 8 and weighting_hook(resumed).learner.num_updates == 4
        assert steps == [s for s in full_steps.steps if s[1] >= iteration]
        for a, b in zip(full.model.weighting.parameters(), resumed.model.weighting.parameters()):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
        sa, sb = full.model.state_dict(), resumed.model.state_dict()
        for k in sa:
            torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=1e-5, msg=k)
    assert 'skipping its first 4 of 4 batches' in log_text(resumed)

    # with exact_resume=False, mmengine's own loop would train epoch 2 again from its first batch: the hook warns
    loop = full.train_loop
    assert type(loop) is ExactResumeEpochBasedTrainLoop  # made so by the hook
    loop.__class__, loop._epoch, loop._iter = EpochBasedTrainLoop, 1, 6  # as resumed from iter_6.pth
    weighting_hook(full).before_train(full)
    assert 'trains this epoch again from its first batch, so the run does 2 more iterations' in log_text(full)


def test_transition_copy_to_the_buffer_is_one_transfer_of_equal_values():
    from mtkd_rl.weighting.transition_copy import packed_copy, to_host
    g = torch.Generator().manual_seed(0)
    transition = dict(state=torch.rand(4, 9, generator=g), ce=torch.rand(4, 3, generator=g),
                      kl=torch.rand(4, 3, generator=g).requires_grad_(True), reward=torch.rand(4, generator=g))
    # on the CPU the buffer takes the tensors themselves, detached
    host = to_host(transition)
    assert all(not v.requires_grad and v.data_ptr() == transition[k].data_ptr() for k, v in host.items())
    # from a device: one packed copy, viewed back into the same keys, shapes and values
    packed = packed_copy(transition, torch.device('cpu'))
    assert list(packed) == list(transition)
    assert all(torch.equal(packed[k], v) and packed[k].shape == v.shape for k, v in transition.items())
    storages = {v.untyped_storage().data_ptr() for v in packed.values()}
    assert len(storages) == 1 and storages.isdisjoint(v.untyped_storage().data_ptr() for v in transition.values())
