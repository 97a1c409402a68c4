"""The analysis tools on a real tiny MTKD-RL run on Fashion-MNIST: the scalar-log plots and the teacher trust."""
import copy
import csv
import json
import math
import os.path as osp
import time
from collections import Counter

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401
from mtkd_rl.tasks import IterationContext
from mtkd_rl.analysis import (PANELS, collect_teacher_weights, draw_figure, load_distiller_checkpoint,
                              load_training_log, panel_keys, sample_group)
from mtkd_rl.weighting import WeightingPhase
from conftest import MTKDRL_CONFIG, REPO, SMALL_RUN, run_tool

TOOLS = osp.join(REPO, 'tools', 'analysis_tools')
# 128 training images in batches of 32: 4 iterations per epoch, the agent held back in epoch 1
HOOK = dict(type='mtkd_rl.TeacherWeightingHook', interval=3, warmup_epochs=1)


def make_runner(work_dir, teachers, name, **overrides):
    cfg = Config.fromfile(MTKDRL_CONFIG)
    cfg.merge_from_dict({**SMALL_RUN, 'default_hooks.checkpoint.max_keep_ckpts': 3, 'train_cfg.val_interval': 10,
                         'val_dataloader.batch_size': 64, **overrides})
    cfg.model.teachers = teachers
    cfg.custom_hooks = [HOOK]
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    return Runner.from_cfg(cfg)


@pytest.fixture(scope='module')
def resumed_run(fashion_mnist, random_teachers, tmp_path_factory):
    """Two epochs, then a second run resuming from the epoch-1 checkpoint (it redoes epoch 2)."""
    work_dir = tmp_path_factory.mktemp('agent_run')
    first = make_runner(work_dir, random_teachers, 'analysis_first')
    first.train()
    while time.strftime('%Y%m%d_%H%M%S') <= first.timestamp:  # one timestamped folder per run
        time.sleep(0.1)
    second = make_runner(work_dir, random_teachers, 'analysis_second', resume=True,
                         load_from=str(work_dir / 'epoch_1.pth'))
    second.train()
    return work_dir, first.log_dir, second.log_dir


def scalars(log_dir):
    with open(osp.join(log_dir, 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_plotted_series_are_the_logged_scalars(resumed_run, tmp_path):
    work_dir, first, second = resumed_run
    # the resumed run continues the first one; the first run's epoch 2 is replaced by the second run's
    expected = [r for r in scalars(first) if 'iter' in r and r['step'] <= 4] + \
        [r for r in scalars(second) if 'iter' in r]
    assert [r['step'] for r in expected] == list(range(1, 9))
    log = load_training_log(str(work_dir))
    assert [r.path for r in log.runs] == [first, second]
    assert log.teachers == ['resnet18_w16', 'regnetx_s8', 'mobilenetv2_w05']
    assert log.warmup_end == 4

    fig = draw_figure(log, tuple(PANELS))
    axes = {ax.get_title(): ax for ax in fig.axes}
    checked = 0
    for panel, (title, _) in PANELS.items():
        lines = [line for line in axes[title].get_lines()]
        keys = panel_keys(log, panel)
        assert len(lines) == len(keys)
        for line, key in zip(lines, keys):
            rows = [r for r in expected if key in r]
            assert rows, key
            assert line.get_xdata().tolist() == [r['step'] for r in rows]
            assert line.get_ydata().tolist() == [r[key] for r in rows]
            checked += 1
    assert checked == 4 * 3 + 2
    # fixed weights (all ones) during the warm-up, weights on the simplex after it
    for r in expected:
        total = sum(r[f'w_logit.{t}'] for t in log.teachers)
        assert total == pytest.approx(3.0 if r['step'] <= 4 else 1.0, abs=1e-5)
    # updates on warm-up batches too: after iterations 3, 4 (the end of the warm-up) and 6; the epoch-end update
    # is logged later
    assert expected[-1]['agent_updates'] == 3

    out = run_tool('python', osp.join(TOOLS, 'plot_teacher_weights.py'), str(work_dir), '--out', str(tmp_path))
    for name in ('weights', 'kd_terms', 'agent', 'overview'):
        path = tmp_path / f'{name}.png'
        assert str(path) in out and path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert 'warm-up until iteration 4 (warmup_epochs=1 x 4 iterations (config))' in out

    # the first run alone is the newest run before the resume
    only_first = load_training_log(str(work_dir), run=osp.basename(first))
    assert [r['step'] for r in only_first.train] == list(range(1, 9)) and len(only_first.runs) == 1


def test_teacher_trust_tool_and_per_sample_weights(resumed_run, tmp_path):
    work_dir, _, _ = resumed_run
    config = str(work_dir / osp.basename(MTKDRL_CONFIG))  # the config the run dumped, with its overrides
    checkpoint = str(work_dir / 'epoch_2.pth')
    out = run_tool('python', osp.join(TOOLS, 'teacher_trust.py'), config, checkpoint, '--out', str(tmp_path),
                   '--num-samples', '128')
    assert str(tmp_path / 'teacher_trust.png') in out
    assert (tmp_path / 'teacher_trust.png').read_bytes()[:4] == b'\x89PNG'
    with open(tmp_path / 'teacher_trust.csv') as f:
        rows = list(csv.DictReader(f))

    cfg = Config.fromfile(config)
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope('mmpretrain')
    loader = Runner.build_dataloader(cfg.val_dataloader)
    classes = loader.dataset.metainfo['classes']
    counts = Counter(int(loader.dataset.get_data_info(i)['gt_label']) for i in range(128))
    assert [r['group'] for r in rows] == [classes[c] for c in sorted(counts)] + ['all']
    assert [int(r['samples']) for r in rows] == [counts[c] for c in sorted(counts)] + [128]
    teachers = ['resnet18_w16', 'regnetx_s8', 'mobilenetv2_w05']
    for row in rows:  # MTKD-RL's static fusion puts each sample's weights on the simplex
        for kind in ('logit', 'feature'):
            assert sum(float(row[f'{kind}.{t}']) for t in teachers) == pytest.approx(1.0, abs=1e-5)

    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    untrained_agent = copy.deepcopy(model.weighting.state_dict())
    state = load_distiller_checkpoint(model, checkpoint)
    agent = state['teacher_weighting']['state_dict']
    assert all(torch.equal(v, model.weighting.state_dict()[k]) for k, v in agent.items())
    trust = collect_teacher_weights(model, loader, sample_group, max_samples=128)
    assert trust.logit.shape == (128, 3) and trust.feature.shape == (128, 3)
    assert [float(rows[-1][f'logit.{t}']) for t in teachers] == pytest.approx(trust.logit.mean(0).tolist(),
                                                                              abs=1e-6)
    model.weighting.load_state_dict(untrained_agent)  # the weights are the loaded agent's
    assert not torch.allclose(collect_teacher_weights(model, loader, sample_group, max_samples=1).logit,
                              trust.logit[:64])
    model.weighting.load_state_dict(agent)

    # each sample's weights are the weighting's output on the terms of a training iteration
    batch = next(iter(loader))
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        context = IterationContext.create(data['inputs'], data['data_samples'])
        student = model.task.forward_student(model.student, context)
        passes = [model.task.forward_teacher(t, context, student) for t in model.teachers]
        connected = [[c(s, t.shape[-2:]) for c, s, t in zip(conns, student.features, tp.features)]
                     for conns, tp in zip(model.connectors, passes)]
        terms = model.task.terms(student, passes, connected, context, model.teachers)
        weights = model.weighting(terms, WeightingPhase())  # the agent acts; nothing is learnt
    assert torch.allclose(weights.logit, trust.logit[:len(weights.logit)], atol=1e-6)
    assert torch.allclose(weights.feature, trust.feature[:len(weights.feature)], atol=1e-6)
    assert [g[0] for g in trust.groups[:8]] == [float(s.gt_label) for s in batch['data_samples'][:8]]

    del state['teacher_weighting']
    torch.save(state, tmp_path / 'no_agent.pth')
    with pytest.raises(KeyError, match="no 'teacher_weighting' agent state"):
        load_distiller_checkpoint(model, str(tmp_path / 'no_agent.pth'))


def test_groups_of_detection_and_segmentation_images():
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData, PixelData
    from mmseg.structures import SegDataSample
    det = DetDataSample()
    det.gt_instances = InstanceData(labels=torch.tensor([2, 0, 2, 1, 2]), bboxes=torch.zeros(5, 4))
    assert sample_group(det, 'class', classes=['a', 'b', 'c']) == (2.0, 'c')
    assert sample_group(det, 'objects') == (4.0, '4-7 objects')
    det.gt_instances = InstanceData(labels=torch.zeros(0, dtype=torch.long), bboxes=torch.zeros(0, 4))
    assert sample_group(det, 'class') == (-1.0, 'no objects') and sample_group(det, 'objects') == (0.0, '0 objects')
    seg = SegDataSample()
    labels = torch.full((1, 4, 4), 255)
    labels[0, :2] = 1
    labels[0, 2, :3] = 0
    seg.gt_sem_seg = PixelData(data=labels)
    assert sample_group(seg, 'class', classes=['bg', 'nucleus']) == (1.0, 'nucleus')
    with pytest.raises(ValueError, match='--group-by objects needs detection samples'):
        sample_group(seg, 'objects')


def test_study_weights_after_the_warmup(resumed_run, tmp_path):
    """The study reports the mean weights the agent chose, after its warm-up, next to the mean over the run."""
    import shutil
    from mtkd_rl.analysis import read_run
    work_dir, first, second = resumed_run
    run_dir = tmp_path / 'run'
    shutil.copytree(work_dir, run_dir)
    last = run_dir / osp.basename(second) / 'vis_data' / 'scalars.json'
    with open(last, 'a') as f:  # the run's validation (this tiny run validates every 10 epochs)
        f.write(json.dumps({'accuracy/top1': 12.5, 'step': 2}) + '\n')
    result = read_run(str(run_dir), 'accuracy/top1', 'MTKD-RL', 0)
    expected = [r for r in scalars(first) if 'iter' in r and r['step'] <= 4] + \
        [r for r in scalars(second) if 'iter' in r]
    assert result.value == 12.5 and result.warmup_end == 4
    for name in ('resnet18_w16', 'regnetx_s8', 'mobilenetv2_w05'):
        for kind in ('w_logit', 'w_feature'):
            key = f'{kind}.{name}'
            assert result.weights[key] == pytest.approx(sum(r[key] for r in expected) / 8, rel=1e-12)
            after = [r[key] for r in expected if r['step'] > 4]
            assert result.weights_after_warmup[key] == pytest.approx(sum(after) / 4, rel=1e-12)
    # during the warm-up every teacher weighs 1; after it the logit weights are on the simplex
    assert sum(result.weights_after_warmup[f'w_logit.{n}']
               for n in ('resnet18_w16', 'regnetx_s8', 'mobilenetv2_w05')) == pytest.approx(1.0, abs=1e-5)


def test_rank_correlation_averages_ties():
    from mtkd_rl.analysis.teacher_trust import average_ranks, rank_correlation
    torch.testing.assert_close(average_ranks(torch.tensor([3.0, 1.0, 3.0, 2.0])),
                               torch.tensor([3.5, 1.0, 3.5, 2.0], dtype=torch.float64))
    weight = torch.tensor([0.9, 0.1, 0.8, 0.2])
    right = torch.tensor([1.0, 0.0, 1.0, 0.0])
    assert rank_correlation(weight, right) == pytest.approx(4 / math.sqrt(20))  # ranks (4, 1, 3, 2), (3.5, 1.5, 3.5, 1.5)
    assert rank_correlation(weight, 1 - right) == pytest.approx(-rank_correlation(weight, right))
    assert rank_correlation(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 9.0])) == pytest.approx(1.0)
    assert math.isnan(rank_correlation(torch.full((4, ), 0.25), right))
