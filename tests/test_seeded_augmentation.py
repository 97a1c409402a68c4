"""Random augmentation seeded per sample from (seed, epoch, index): the same flips whichever worker loads a
sample, and a run killed with SIGKILL inside an epoch and resumed ends bit-identical to an uninterrupted one,
with the shipped Fashion-MNIST config's random flips on."""
import os
import os.path as osp
import pickle
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

import mtkd_rl  # noqa: F401
from mtkd_rl.datasets import SampleIndex, SeededAugmentSampler, SeededPipeline, sample_seed, seeded_generators
from conftest import MTKDRL_CONFIG, REPO, SMALL_RUN, cfg_options, run_tool


class Draws:
    """A transform that records one draw of each global generator into the sample."""

    def __call__(self, results):
        results['draws'] = (random.random(), float(np.random.rand()), float(torch.rand(())))
        return results


def test_sample_index_is_an_int_that_keeps_its_seed_through_pickle():
    index = SampleIndex(7, 123)
    assert index == 7 and isinstance(index, int) and [10, 11, 12, 13, 14, 15, 16, 17][index] == 17
    back = pickle.loads(pickle.dumps(index))
    assert type(back) is SampleIndex and back == 7 and back.seed == 123


def test_sample_seed_depends_on_seed_epoch_and_index():
    seeds = {sample_seed(s, e, i) for s in (0, 1) for e in (0, 1) for i in (0, 1)}
    assert len(seeds) == 8 and all(0 <= s < 2**32 for s in seeds)
    assert sample_seed(3, 2, 5) == sample_seed(3, 2, 5)


def test_seeded_pipeline_repeats_a_samples_draws_and_leaves_the_process_streams_alone():
    pipeline = SeededPipeline([Draws()])
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    outside = (random.random(), float(np.random.rand()), float(torch.rand(())))
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    a = pipeline(dict(sample_idx=SampleIndex(3, 11)))['draws']
    noise = np.random.rand(5)  # a different history before the same sample
    b = pipeline(dict(sample_idx=SampleIndex(3, 11)))['draws']
    c = pipeline(dict(sample_idx=SampleIndex(3, 12)))['draws']
    assert a == b and a != c and len(noise) == 5
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    pipeline(dict(sample_idx=SampleIndex(3, 11)))
    assert (random.random(), float(np.random.rand()), float(torch.rand(()))) == outside  # streams untouched
    # a plain index (another sampler) draws from the process's generators, as an unwrapped pipeline would
    with seeded_generators(5):
        plain = pipeline(dict(sample_idx=3))['draws']
    with seeded_generators(5):
        assert Draws()(dict())['draws'] == plain


def test_sampler_keeps_mmengines_order_and_seeds_each_epoch_differently():
    from mmengine.dataset import DefaultSampler
    data = list(range(10))
    ours, theirs = SeededAugmentSampler(data, shuffle=True, seed=4), DefaultSampler(data, shuffle=True, seed=4)
    first = list(ours)
    assert first == list(theirs) and all(isinstance(i, SampleIndex) for i in first)
    assert [i.seed for i in first] == [sample_seed(4, 0, int(i)) for i in first]
    ours.set_epoch(1)
    theirs.set_epoch(1)
    second = list(ours)
    assert second == list(theirs)
    assert {int(i): i.seed for i in first} != {int(i): i.seed for i in second}


def test_infinite_sampler_keeps_mmengines_order_and_counts_the_passes():
    """Iteration-based runs: the order of mmengine's InfiniteSampler, pass k seeded as epoch k; a fresh sampler
    (what a resumed IterBasedTrainLoop draws its skipped batches from) repeats the same indices and seeds."""
    import itertools

    from mmengine.dataset import InfiniteSampler

    from mtkd_rl.datasets import SeededAugmentInfiniteSampler
    data = list(range(5))
    ours = list(itertools.islice(iter(SeededAugmentInfiniteSampler(data, shuffle=True, seed=3)), 12))
    theirs = list(itertools.islice(iter(InfiniteSampler(data, shuffle=True, seed=3)), 12))
    assert ours == theirs and all(isinstance(i, SampleIndex) for i in ours)
    assert [i.seed for i in ours] == [sample_seed(3, k // 5, int(i)) for k, i in enumerate(ours)]
    again = list(itertools.islice(iter(SeededAugmentInfiniteSampler(data, shuffle=True, seed=3)), 12))
    assert [(int(i), i.seed) for i in again] == [(int(i), i.seed) for i in ours]


@pytest.mark.parametrize('config', ['configs/_base_/datasets/nuclei_128x128.py',
                                    'configs/_base_/datasets/fashion_mnist_mosaic_seg_128x128.py',
                                    'configs/_base_/datasets/treecrown_320.py',
                                    'configs/_base_/datasets/fashion_mnist_mosaic_det_128x128.py'])
def test_shipped_dense_data_configs_seed_their_augmentation(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    loader = cfg.train_dataloader
    assert loader.sampler.type in ('mtkd_rl.SeededAugmentSampler', 'mtkd_rl.SeededAugmentInfiniteSampler')
    assert [t['type'] for t in loader.dataset.pipeline] == ['mtkd_rl.SeededPipeline']
    assert any('Random' in t['type'] for t in loader.dataset.pipeline[0]['transforms'])


def test_shipped_fashion_mnist_config_flips_the_same_images_in_every_loader(fashion_mnist):
    """Two dataloaders with different worker counts give the same augmented batches."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    import mmpretrain.datasets  # noqa: F401  (registers FashionMNIST)
    cfg = Config.fromfile(MTKDRL_CONFIG)
    cfg.merge_from_dict({**SMALL_RUN, 'train_dataloader.dataset.indices': 16, 'train_dataloader.batch_size': 8})
    batches = []
    for workers in (0, 2):
        loader_cfg = cfg.train_dataloader.copy()
        loader_cfg.update(num_workers=workers, persistent_workers=workers > 0)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            loader = Runner.build_dataloader(loader_cfg, seed=0)
            batches.append([torch.stack(b['inputs']) for b in loader])
    for x, y in zip(*batches):
        assert torch.equal(x, y)
    flips = sum(int(not torch.equal(x, x.flip(-1))) for b in batches[0] for x in b)
    assert flips > 0  # the pipeline does flip


@pytest.mark.parametrize('workers', [2])
def test_kill_9_inside_an_epoch_then_resume_ends_bit_identical(fashion_mnist, random_teachers, tmp_path, workers):
    """The shipped Fashion-MNIST MTKD-RL config with its random flips: a run SIGKILLed after iteration 6 (2 of
    epoch 2's 4 batches, and 2 batches into the agent's interval) and resumed with --resume ends with the same
    student, connectors and agent, bit for bit, as the uninterrupted run. Persistent loader workers make the
    point: the resumed run's workers start afresh."""
    options = {**SMALL_RUN, 'train_dataloader.num_workers': workers, 'train_dataloader.persistent_workers': True,
               'train_cfg.max_epochs': 2, 'default_hooks.checkpoint.by_epoch': False,
               'default_hooks.checkpoint.interval': 2, 'default_hooks.checkpoint.max_keep_ckpts': -1,
               'custom_hooks.0.interval': 3, 'custom_hooks.0.warmup_epochs': 1,
               'val_cfg': None, 'val_dataloader': None, 'val_evaluator': None}
    options.update({f'model.teachers.{i}.checkpoint': t['checkpoint'] for i, t in enumerate(random_teachers)})
    env = dict(PYTHONPATH=os.pathsep.join([osp.join(REPO, 'tests'), os.environ.get('PYTHONPATH', '')]))
    full, killed = tmp_path / 'full', tmp_path / 'killed'
    run_tool('python', 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(full), '--cfg-options',
             *cfg_options(options), env=env)
    kill_config = tmp_path / 'kill_at_6.py'  # the same run, with a hook that SIGKILLs it after iteration 6
    kill_config.write_text(f"_base_ = '{MTKDRL_CONFIG}'\n"
                           "custom_imports = dict(imports=['kill_switch'], allow_failed_imports=False)\n"
                           "custom_hooks = _base_.custom_hooks + [dict(type='KillSwitchHook', at_iter=6)]\n")
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', str(kill_config), '--work-dir', str(killed), '--cfg-options',
         *cfg_options(options)], cwd=REPO, env=dict(os.environ, PYTHONWARNINGS='ignore', **env),
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == -9, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (killed / 'iter_6.pth').is_file() and not (killed / 'iter_8.pth').exists()
    log = run_tool('python', 'tools/train.py', MTKDRL_CONFIG, '--work-dir', str(killed), '--resume',
                   '--cfg-options', *cfg_options(options), env=env)
    assert 'skipping its first 2 of 4 batches' in log
    a, b = torch.load(full / 'iter_8.pth'), torch.load(killed / 'iter_8.pth')
    assert a['meta']['iter'] == b['meta']['iter'] == 8
    assert list(a['state_dict']) == list(b['state_dict'])
    for key in a['state_dict']:  # bit-identity of the same computation is the point here
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key
    agent_a, agent_b = a['teacher_weighting']['state_dict'], b['teacher_weighting']['state_dict']
    assert a['teacher_weighting']['num_updates'] == b['teacher_weighting']['num_updates']
    for key in agent_a:
        assert torch.equal(agent_a[key], agent_b[key]), key
