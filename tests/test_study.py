"""The weighting comparison (mtkd_rl/analysis/comparison_*.py, and its driver tools/analysis_tools/
compare_weightings.py with weighting_study.py and study_process.py), its control weighting ONES and the
label-order transform of the mixed Fashion-MNIST pool."""
import csv
import json
import math
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time
from glob import glob

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import FMNIST_CFG, MTKDRL_CONFIG, REPO, SMALL_RUN, cfg_options, run_tool

from mtkd_rl.analysis import (STUDENT_ALONE, Variant, main_metric, parse_variant, variant_config,
                              variant_weighting)
from mtkd_rl.registry import TEACHER_WEIGHTINGS, build
from mtkd_rl.weighting import DistillationTerms, WeightingPhase

TOOL = 'tools/analysis_tools/compare_weightings.py'
#: The driver's folder: weighting_study.py and study_process.py are imported from it, as the tool does.
ANALYSIS_TOOLS = osp.join(REPO, 'tools', 'analysis_tools')
sys.path.insert(0, ANALYSIS_TOOLS)
from weighting_study import Study  # noqa: E402


# ------------------------------------------------------------------------------------------------------------
# Variants, configs and metrics (no training)
# ------------------------------------------------------------------------------------------------------------


def test_parse_variant():
    assert parse_variant('AVER') == Variant('AVER', 'AVER', {})
    v = parse_variant('MTKD-RL:fusion=dynamic, hidden_dim=64,warmup_weights=uniform')
    assert v.weighting == 'MTKD-RL' and v.options == dict(fusion='dynamic', hidden_dim=64, warmup_weights='uniform')
    assert v.slug == 'MTKD-RL_fusion-dynamic_hidden_dim-64_warmup_weights-uniform'
    with pytest.raises(ValueError, match="'AVG' .* not a registered teacher weighting"):
        parse_variant('AVG')
    with pytest.raises(ValueError, match='model.weighting.fusion, which AVER does not take'):
        parse_variant('AVER:fusion=dynamic')
    with pytest.raises(ValueError, match='is not key=value'):
        parse_variant('MTKD-RL:dynamic')


def test_fixed_variants_drop_the_configs_weighting_keys():
    base = dict(type='MTKD-RL', fusion='dynamic', warmup_weights='uniform')
    assert variant_weighting(base, parse_variant('AVER')) == dict(type='AVER')
    assert variant_weighting(base, parse_variant('ONES')) == dict(type='ONES')
    assert variant_weighting(base, parse_variant('MTKD-RL:update=surrogate')) == dict(
        type='MTKD-RL', fusion='dynamic', warmup_weights='uniform', update='surrogate')
    # aliases of the same class keep the keys
    assert variant_weighting(dict(type='MTKDRLWeighting', fusion='dynamic'), parse_variant('MTKD-RL')) == dict(
        type='MTKD-RL', fusion='dynamic')


def test_variant_config_student_alone_and_seed():
    cfg = Config.fromfile(MTKDRL_CONFIG)
    student = variant_config(cfg, Variant(STUDENT_ALONE), seed=3)
    assert student.model.type == 'ImageClassifier' and student.custom_hooks == []
    assert student.randomness.seed == 3
    aver = variant_config(cfg, parse_variant('AVER'), seed=1)
    assert aver.model.weighting == dict(type='AVER') and aver.randomness.seed == 1
    assert cfg.model.type == 'mtkd_rl.MultiTeacherDistiller'  # the input config is not changed


def test_single_teacher_arm_keeps_one_teacher_by_name_or_index():
    cfg = Config.fromfile(MTKDRL_CONFIG)
    names = [t['name'] for t in cfg.model.teachers]
    by_name = parse_variant(f'KD:{names[1]}')
    assert by_name == Variant(f'KD:{names[1]}', 'AVER', {}, names[1]) and by_name.slug == f'KD_{names[1]}'
    run = variant_config(cfg, by_name, seed=2)
    assert run.model.teachers == [cfg.model.teachers[1]] and run.model.weighting == dict(type='AVER')
    assert run.randomness.seed == 2 and len(cfg.model.teachers) == 3  # the input config is not changed
    assert variant_config(cfg, parse_variant('KD:2'), seed=0).model.teachers == [cfg.model.teachers[2]]
    with pytest.raises(ValueError, match=r"model.teachers has no teacher 'nope'; its teachers are \['resnet18"):
        variant_config(cfg, parse_variant('KD:nope'), seed=0)
    with pytest.raises(ValueError, match='no teacher 7'):
        variant_config(cfg, parse_variant('KD:7'), seed=0)
    with pytest.raises(ValueError, match='single-teacher arm; write KD:<teacher name'):
        parse_variant('KD:a=1')


@pytest.mark.parametrize('config, metric', [
    (MTKDRL_CONFIG, 'accuracy/top1'),
    ('configs/det/fashion_mnist_mosaic/mtkdrl_retinanet_r18-w16_fmnist-mosaic-pool2_1xb8-3e_fmnist-mosaic-128.py',
     'coco/bbox_mAP'),
    ('configs/seg/fashion_mnist_mosaic/'
     'mtkdrl_deeplabv3_r18-w8-d8_fmnist-mosaic-pool2_1xb8-1500i_fmnist-mosaic-128x128.py', 'mIoU'),
])
def test_main_metric_from_the_evaluator(config, metric):
    assert main_metric(Config.fromfile(osp.join(REPO, config))) == metric


def test_main_metric_unknown_evaluator():
    with pytest.raises(ValueError, match='--metric'):
        main_metric(Config(dict(val_evaluator=dict(type='MyMetric'))))


def test_the_baseline_is_an_arm(tmp_path):
    study = Study(MTKDRL_CONFIG, [parse_variant('CA-MKD'), parse_variant('AVER')], [0], str(tmp_path))
    assert study.baseline == 'AVER'  # by default, where AVER is compared
    assert Study(MTKDRL_CONFIG, [parse_variant('CA-MKD')], [0], str(tmp_path)).baseline is None
    assert Study(MTKDRL_CONFIG, [parse_variant('CA-MKD')], [0], str(tmp_path), student_alone=True,
                 baseline='student alone').baseline == 'student alone'
    with pytest.raises(ValueError, match=r"--baseline EBKD is not an arm of the study \(\['CA-MKD'\]\)"):
        Study(MTKDRL_CONFIG, [parse_variant('CA-MKD')], [0], str(tmp_path), baseline='EBKD')


def test_a_plain_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match="model.type='mtkd_rl.MultiTeacherDistiller'"):
        Study(f'{FMNIST_CFG}/students/resnet18-w8_1xb64-2e_fashion-mnist.py', [parse_variant('AVER')], [0],
              str(tmp_path))


def test_ones_weighting_weighs_every_teacher_one():
    b, m = 5, 3
    terms = DistillationTerms(logit_kd=torch.rand(b, m), teacher_loss=torch.rand(b, m), student_loss=torch.rand(b))
    ones = build(dict(type='ONES'), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=m))(terms, WeightingPhase())
    aver = build(dict(type='AVER'), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=m))(terms, WeightingPhase())
    assert torch.equal(ones.logit, torch.ones(b, m)) and torch.equal(ones.feature, torch.ones(b, m))
    assert torch.allclose(ones.logit, aver.logit * m)  # the scale of MTKD-RL's reference warm-up


# ------------------------------------------------------------------------------------------------------------
# The mixed pool's poor teacher: another label order on four classes
# ------------------------------------------------------------------------------------------------------------


def test_remap_labels_on_real_fashion_mnist(fashion_mnist):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(f'{FMNIST_CFG}/teachers/mobilenetv2-w0.5_1xb64-1e_fashion-mnist-swap4.py')
    plain_cfg = Config.fromfile(f'{FMNIST_CFG}/teachers/mobilenetv2-w0.5_1xb64-1e_fashion-mnist.py')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        swapped = DATASETS.build(dict(cfg.train_dataloader.dataset, indices=200))
        plain = DATASETS.build(dict(plain_cfg.train_dataloader.dataset, indices=200))
    mapping = {1: 8, 8: 1, 3: 7, 7: 3}
    seen = set()
    for i in range(200):
        raw = int(plain.get_data_info(i)['gt_label'])
        got = int(swapped[i]['data_samples'].gt_label)
        assert got == mapping.get(raw, raw)
        seen.add(raw)
    assert {1, 3, 7, 8} <= seen


def test_remap_labels_must_be_a_permutation():
    from mtkd_rl.datasets import RemapLabels
    with pytest.raises(ValueError, match='permutation of its keys'):
        RemapLabels({1: 8})
    assert RemapLabels({1: 2, 2: 1})(dict(gt_label=np.int64(2)))['gt_label'] == 1


def test_remap_labels_classification_values():
    from mtkd_rl.datasets import RemapLabels
    swap = RemapLabels({1: 8, 8: 1, 3: 7, 7: 3})
    # every accepted form of a single label; unmapped classes are kept
    for label, expected in [(1, 8), (8, 1), (3, 7), (7, 3), (0, 0), (9, 9), (np.int64(8), 1),
                            (np.array(3), 7), (torch.tensor(7), 3), ([1], 8), (np.array([0]), 0)]:
        out = swap(dict(gt_label=label))['gt_label']
        assert out == expected and type(out) is int, (label, out)
    with pytest.raises(ValueError, match='single-label'):
        swap(dict(gt_label=[1, 3]))


def test_remap_labels_segmentation_map():
    from mtkd_rl.datasets import RemapLabels
    # a two-class swap, as the nuclei teacher's: background <-> nucleus, the ignore index 255 kept
    seg = np.array([[0, 1, 1], [255, 0, 1]], dtype=np.uint8)
    results = RemapLabels({0: 1, 1: 0})(dict(gt_seg_map=seg, img_shape=(2, 3)))
    np.testing.assert_array_equal(results['gt_seg_map'], np.array([[1, 0, 0], [255, 1, 0]], dtype=np.uint8))
    assert results['gt_seg_map'].dtype == np.uint8 and results['img_shape'] == (2, 3)
    np.testing.assert_array_equal(seg, [[0, 1, 1], [255, 0, 1]])  # the input map is not changed in place

    # a 3-cycle on some classes of a 5-class map: the others (0, 4) and 255 untouched, nothing relabelled twice
    seg = np.array([[0, 1, 2, 3, 4, 255], [3, 3, 2, 1, 0, 4]], dtype=np.int64)
    out = RemapLabels({1: 2, 2: 3, 3: 1})(dict(gt_seg_map=seg))['gt_seg_map']
    np.testing.assert_array_equal(out, np.array([[0, 2, 3, 1, 4, 255], [1, 1, 3, 2, 0, 4]]))
    assert out.dtype == np.int64

    # a result with both a label and a map gets both relabelled
    both = RemapLabels({0: 1, 1: 0})(dict(gt_label=0, gt_seg_map=np.array([[0, 1]], dtype=np.uint8)))
    assert both['gt_label'] == 1
    np.testing.assert_array_equal(both['gt_seg_map'], [[1, 0]])

    with pytest.raises(ValueError, match='ignore index 255'):
        RemapLabels({0: 255, 255: 0})
    with pytest.raises(KeyError, match='gt_label .* or a gt_seg_map'):
        RemapLabels({0: 1, 1: 0})(dict(img=np.zeros((2, 2))))
    with pytest.raises(TypeError, match='integer class indices'):
        RemapLabels({0: 1, 1: 0})(dict(gt_seg_map=np.zeros((2, 2), dtype=np.float32)))
    with pytest.raises(ValueError, match='does not fit'):
        RemapLabels({0: 300, 300: 0}, ignore_index=-1)(dict(gt_seg_map=np.zeros((2, 2), dtype=np.uint8)))


def test_nuclei_swap2_teacher_learns_swapped_maps():
    """The swapped nuclei teacher's training pipeline gives every tile's map with background and nucleus
    exchanged (after the same flips as its standard twin's), and its validation pipeline the true maps."""
    from mmengine.registry import DATASETS, DefaultScope
    nuclei = osp.join(REPO, 'data', 'nuclei')
    if not osp.isdir(osp.join(nuclei, 'ann_dir', 'train')):
        pytest.skip('the nuclei tiles are not in data/nuclei (tools/setup_env.sh)')
    teachers = osp.join(REPO, 'configs', 'seg', 'nuclei', 'teachers')
    cfg = Config.fromfile(f'{teachers}/deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128-swap2.py')
    plain_cfg = Config.fromfile(f'{teachers}/deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128.py')
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        import mmseg.datasets  # noqa: F401  (registers the mmseg datasets and transforms)
        with DefaultScope.overwrite_default_scope('mmseg'):
            swapped = DATASETS.build(cfg.train_dataloader.dataset)
            plain = DATASETS.build(plain_cfg.train_dataloader.dataset)
            swapped_val = DATASETS.build(cfg.val_dataloader.dataset)
            plain_val = DATASETS.build(plain_cfg.val_dataloader.dataset)
        from mtkd_rl.datasets.seeded_augmentation import SampleIndex
        for i in range(3):  # the same seeded flips in both pipelines
            a = swapped[SampleIndex(i, 1234 + i)]['data_samples'].gt_sem_seg.data
            b = plain[SampleIndex(i, 1234 + i)]['data_samples'].gt_sem_seg.data
            assert set(b.unique().tolist()) <= {0, 1, 255}
            assert torch.equal(a, torch.where(b == 255, b, 1 - b))
        assert torch.equal(swapped_val[0]['data_samples'].gt_sem_seg.data,
                           plain_val[0]['data_samples'].gt_sem_seg.data)
    finally:
        os.chdir(cwd)


# ------------------------------------------------------------------------------------------------------------
# The study end to end on real Fashion-MNIST
# ------------------------------------------------------------------------------------------------------------


def _log_records(run_dir):
    """The run's last validation top-1 and its logged training records, read straight from the scalar logs."""
    train, top1 = {}, None
    for path in sorted(glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json'))):
        for line in open(path):
            record = json.loads(line)
            if 'accuracy/top1' in record:
                top1 = record['accuracy/top1']
            elif 'loss' in record:
                train[record['step']] = record
    return top1, list(train.values())


def test_study_on_fashion_mnist(fashion_mnist, random_teachers, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    work_dir = tmp_path / 'study'
    options = {**SMALL_RUN, 'train_cfg.max_epochs': 1,
               # an MTKD-RL-only key in the config: the AVER runs must not receive it
               'model.weighting.fusion': 'dynamic'}
    for i, teacher in enumerate(random_teachers):
        options[f'model.teachers.{i}.checkpoint'] = teacher['checkpoint']
    out = run_tool('python', TOOL, MTKDRL_CONFIG, '--weightings', 'AVER', '--seeds', '0', '1', '--student-alone',
                   '--eval-teachers', '--work-dir', str(work_dir), '--cfg-options', *cfg_options(options),
                   timeout=1800)
    arms = {STUDENT_ALONE: 'student_alone', 'AVER': 'AVER'}
    assert out.count('training in') == 4 and out.count('testing teacher') == 3 and 'finished before' not in out
    aver = Config.fromfile(str(work_dir / 'AVER' / 'seed_1.py'))
    assert aver.model.weighting == dict(type='AVER') and aver.randomness.seed == 1

    # the CSV holds what each run's logs say
    rows = list(csv.DictReader(open(work_dir / 'results.csv')))
    teachers = [t['name'] for t in random_teachers]
    assert [r['variant'] for r in rows] == [v for v in arms for _ in (0, 1)] + [f'teacher {n}' for n in teachers]
    summary = {}
    for row in rows[:4]:
        run_dir = work_dir / arms[row['variant']] / f'seed_{row["seed"]}'
        top1, train = _log_records(str(run_dir))
        assert float(row['accuracy/top1']) == top1
        assert f'accuracy/top1: {top1:.4f}' in open(run_dir / 'train.log').read()
        for name in teachers:
            for kind in ('w_logit', 'w_feature'):
                key = f'{kind}.{name}'
                if row['variant'] == STUDENT_ALONE:
                    assert row[key] == ''
                else:
                    assert float(row[key]) == pytest.approx(np.mean([r[key] for r in train]), rel=1e-12)
                    assert float(row[key]) == pytest.approx(1 / 3)
        summary.setdefault(row['variant'], []).append(top1)
    for row, teacher in zip(rows[4:], random_teachers):  # each teacher tested on the same validation images
        result = json.load(open(work_dir / 'teachers' / teacher['name'] / 'result.json'))
        assert float(row['accuracy/top1']) == result['value']
        assert f"accuracy/top1: {result['value']:.4f}" in out

    # the Markdown table: mean ± sample std, the paired difference to AVER (± its standard error) and each seed
    table = open(work_dir / 'results.md').read()
    diffs = np.subtract(summary[STUDENT_ALONE], summary['AVER'])
    paired = {'AVER': '(baseline)',
              STUDENT_ALONE: f'{np.mean(diffs):+.2f} ± {np.std(diffs, ddof=1) / np.sqrt(2):.2f}'}
    for variant, values in summary.items():
        cells = f'| {variant} | {np.mean(values):.2f} ± {np.std(values, ddof=1):.2f} | {paired[variant]} | ' \
                f'{values[0]:.2f} | {values[1]:.2f} |'
        assert cells in table, table
    assert '0.333 / 0.333' in table
    png = open(work_dir / 'results.png', 'rb').read()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000

    # a re-run trains nothing; an interrupted run resumes from its checkpoint
    starts = str(work_dir / '*' / 'seed_*' / '20*_*')  # one timestamped folder per start of a run
    logs_before = sorted(glob(starts))
    (work_dir / 'AVER' / 'seed_1' / 'result.json').unlink()
    lines = []
    Study(MTKDRL_CONFIG, [parse_variant('AVER')], [0, 1], str(work_dir), cfg_options=options, student_alone=True,
          eval_teachers=True, log=lines.append).run()
    assert sum('finished before' in line for line in lines) == 3 and 'AVER seed 1: resuming' in lines[-3]
    assert lines[-2].startswith('[study] run pid ')
    assert not any('testing teacher' in line for line in lines)
    logs_after = sorted(glob(starts))
    new = set(logs_after) - set(logs_before)
    assert len(new) == 1 and '/AVER/seed_1/' in new.pop()
    assert 'resumed epoch: 1' in open(work_dir / 'AVER' / 'seed_1' / 'train.log').read()
    assert list(csv.DictReader(open(work_dir / 'results.csv'))) == rows

    # another config in the same study folder is refused, and nothing is overwritten
    with pytest.raises(ValueError, match='holds a run of another config'):
        Study(MTKDRL_CONFIG, [parse_variant('AVER')], [0, 1], str(work_dir),
              cfg_options={**options, 'train_cfg.max_epochs': 2}, student_alone=True).run()
    assert re.search(r'max_epochs=1\b', open(work_dir / 'AVER' / 'seed_0.py').read())


# ------------------------------------------------------------------------------------------------------------
# The harness's processes: one study per folder, no run outliving its study, the package's own tools
# ------------------------------------------------------------------------------------------------------------


def test_tool_script_is_the_packages_own(tmp_path, monkeypatch):
    """A wheel ships the tools as mtkd_rl/.mim/tools; a bare checkout has tools/ beside the package."""
    from mtkd_rl import tool_scripts
    assert tool_scripts.tool_script('train.py') in (osp.join(REPO, 'mtkd_rl', '.mim', 'tools', 'train.py'),
                                                    osp.join(REPO, 'tools', 'train.py'))
    site = tmp_path / 'site-packages'
    (site / 'mtkd_rl' / '.mim' / 'tools').mkdir(parents=True)
    (site / 'mtkd_rl' / '.mim' / 'tools' / 'train.py').write_text('')
    monkeypatch.setattr(tool_scripts, 'PACKAGE_DIR', str(site / 'mtkd_rl'))
    assert tool_scripts.tool_script('train.py') == str(site / 'mtkd_rl' / '.mim' / 'tools' / 'train.py')
    with pytest.raises(FileNotFoundError, match=r'tools/test\.py of mtkd_rl is not installed'):
        tool_scripts.tool_script('test.py')


def _lock_holder(folder):
    """A process that holds the study lock on ``folder`` until killed."""
    code = ('import sys, time; sys.path.insert(0, sys.argv[2]); from study_process import StudyLock;'
            ' lock = StudyLock(sys.argv[1]).__enter__(); print("locked", flush=True); time.sleep(600)')
    proc = subprocess.Popen([sys.executable, '-c', code, str(folder), ANALYSIS_TOOLS], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == 'locked'
    return proc


def test_a_second_study_on_a_locked_folder_stops(tmp_path):
    from study_process import StudyBusyError
    holder = _lock_holder(tmp_path / 'study')
    try:
        study = Study(MTKDRL_CONFIG, [parse_variant('AVER')], [0], str(tmp_path / 'study'))
        with pytest.raises(StudyBusyError, match=rf'is in use by another comparison \(pid {holder.pid}\).*'
                                                 r'another --work-dir'):
            study.run()
        assert not (tmp_path / 'study' / 'AVER').exists()
    finally:
        holder.kill()
        holder.wait()


def _gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie that nobody reaps counts as ended)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except FileNotFoundError:
        return True


def _start_harness(work_dir, options):
    cmd = [sys.executable, '-u', TOOL, MTKDRL_CONFIG, '--weightings', 'AVER', '--seeds', '0', '--work-dir',
           str(work_dir), '--cfg-options', *cfg_options(options)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONWARNINGS='ignore'))
    for line in proc.stdout:
        found = re.match(r'\[study\] run pid (\d+)', line)
        if found:
            return proc, int(found.group(1))
    raise AssertionError(f'the harness ended without starting a run ({proc.wait()})')


@pytest.mark.parametrize('stop', ['SIGKILL', 'SIGTERM'])
def test_stopping_the_harness_stops_its_run(fashion_mnist, random_teachers, tmp_path, stop):
    """Once the run went on as an orphan, and a second harness started a second train.py --resume in the same
    run folder. Now the run ends with the harness (SIGTERM: the harness stops its run's process group; SIGKILL:
    the kernel signals the run), and a study started at once waits for it, then resumes the run cleanly."""
    work_dir = tmp_path / 'study'
    options = {**SMALL_RUN, 'train_cfg.max_epochs': 3, 'train_dataloader.num_workers': 1,
               'train_dataloader.persistent_workers': True, 'default_hooks.checkpoint.by_epoch': False,
               'default_hooks.checkpoint.interval': 2}
    options.update({f'model.teachers.{i}.checkpoint': t['checkpoint'] for i, t in enumerate(random_teachers)})
    harness, run_pid = _start_harness(work_dir, options)
    run_dir = work_dir / 'AVER' / 'seed_0'
    deadline = time.monotonic() + 300
    while not (run_dir / 'last_checkpoint').exists():  # the run is training and has saved a checkpoint
        assert time.monotonic() < deadline and harness.poll() is None
        time.sleep(0.5)
    harness.send_signal(getattr(signal, stop))
    harness.wait(timeout=60)
    deadline = time.monotonic() + 30
    while not _gone(run_pid):
        assert time.monotonic() < deadline, f'the run {run_pid} outlived its harness'
        time.sleep(0.2)
    out = run_tool('python', TOOL, MTKDRL_CONFIG, '--weightings', 'AVER', '--seeds', '0', '--work-dir',
                   str(work_dir), '--cfg-options', *cfg_options(options), timeout=900)
    # stopped between checkpoints it resumes; stopped while mmengine replaced its only kept checkpoint (the
    # old file is deleted first) it has none left and trains again
    assert re.search(r'AVER seed 0: (resuming|training) in ', out) and '| AVER |' in out, out
    log = (run_dir / 'train.log').read_text()
    assert 'FileNotFoundError' not in log and 'Traceback' not in log
    assert (run_dir / 'result.json').is_file()


def test_report_of_one_seed_has_no_std_and_says_so(tmp_path):
    """The sample std of one value is undefined: the table says so instead of printing ± 0.00."""
    from mtkd_rl.analysis import RunResult, write_reports
    runs = [RunResult('AVER', 0, 71.5, {'w_logit.a': 0.5, 'w_logit.b': 0.5}, 'x', {'w_logit.a': 0.5,
                                                                                   'w_logit.b': 0.5}),
            RunResult('CA-MKD', 0, 72.25, {}, 'y'), RunResult('CA-MKD', 1, 73.75, {}, 'z')]
    write_reports(str(tmp_path), 'accuracy/top1', runs, {}, ['AVER', 'CA-MKD'], [0, 1])
    table = (tmp_path / 'results.md').read_text()
    assert '| AVER | 71.50 (1 seed, no std) | 71.50 |  |' in table and '± 0.00' not in table
    assert '| CA-MKD | 73.00 ± 1.06 | 72.25 | 73.75 |' in table


def test_paired_difference_to_the_baseline_seed_by_seed():
    from mtkd_rl.analysis import paired_difference
    mean, se, n = paired_difference({0: 72.0, 1: 75.0, 2: 71.0, 3: 80.0}, {0: 70.0, 1: 74.0, 2: 71.5})
    # differences 2.0, 1.0, -0.5 (seed 3 has no baseline): mean 5/6, std sqrt(19/12), se std / sqrt(3)
    assert n == 3 and mean == pytest.approx(5 / 6) and se == pytest.approx(math.sqrt(19 / 12) / math.sqrt(3))
    mean, se, n = paired_difference({0: 72.0}, {0: 70.0})
    assert (mean, n) == (2.0, 1) and math.isnan(se)
    mean, se, n = paired_difference({1: 72.0}, {0: 70.0})
    assert n == 0 and math.isnan(mean) and math.isnan(se)


def test_report_gives_the_paired_difference_to_the_baseline(tmp_path):
    """Each arm's difference to AVER seed by seed, with the standard error of the mean difference; a teacher's
    row keeps the columns aligned."""
    from mtkd_rl.analysis import RunResult, write_reports
    runs = [RunResult('AVER', 0, 70.0, {}, 'a'), RunResult('AVER', 1, 74.0, {}, 'b'),
            RunResult('CA-MKD', 0, 72.0, {}, 'c'), RunResult('CA-MKD', 1, 75.0, {}, 'd'),
            RunResult('EBKD', 1, 73.0, {}, 'e')]
    write_reports(str(tmp_path), 'accuracy/top1', runs, {'t1': 88.0}, ['AVER', 'CA-MKD', 'EBKD'], [0, 1],
                  baseline='AVER')
    table = (tmp_path / 'results.md').read_text()
    assert '| run | accuracy/top1 (mean ± std) | - AVER, paired (± SE) | seed 0 | seed 1 |' in table
    assert '| AVER | 72.00 ± 2.83 | (baseline) | 70.00 | 74.00 |' in table
    # differences 2 and 1: mean 1.5, std 0.7071, se 0.5
    assert '| CA-MKD | 73.50 ± 2.12 | +1.50 ± 0.50 | 72.00 | 75.00 |' in table
    assert '| EBKD | 73.00 (1 seed, no std) | -1.00 (1 seed, no SE) |  | 73.00 |' in table
    assert '| teacher t1 | 88.00 |  |  |  |' in table
    write_reports(str(tmp_path), 'accuracy/top1', runs, {}, ['AVER', 'CA-MKD', 'EBKD'], [0, 1])
    assert 'paired' not in (tmp_path / 'results.md').read_text()


def test_report_says_when_a_run_never_left_the_warm_up(tmp_path):
    """An MTKD-RL run whose every logged iteration was warm-up has no weights the agent chose: its weight cells
    say so and a note under the table names the fix, instead of blank cells."""
    from mtkd_rl.analysis import RunResult, write_reports
    warm = {'w_logit.a': 1.0, 'w_feature.a': 1.0}
    runs = [RunResult('MTKD-RL', 0, 60.0, warm, 'x', {}, 100.0), RunResult('AVER', 0, 61.0, {
        'w_logit.a': 1.0, 'w_feature.a': 1.0}, 'y', {'w_logit.a': 1.0, 'w_feature.a': 1.0})]
    write_reports(str(tmp_path), 'accuracy/top1', runs, {}, ['MTKD-RL', 'AVER'], [0])
    table = (tmp_path / 'results.md').read_text()
    assert '| MTKD-RL | 60.00 (1 seed, no std) | 60.00 | warm-up only |' in table
    assert ('- MTKD-RL: every logged iteration of 1 of its 1 runs was in the warm-up (which lasts 100 iterations), '
            'so the agent never chose the weights') in table
    assert "lower the hook's warmup_epochs / warmup_iters" in table
    assert '| AVER | 61.00 (1 seed, no std) | 61.00 | 1.000 / 1.000 |' in table


def test_a_run_without_training_records_is_read(tmp_path):
    """A schedule shorter than the logging interval leaves validation records only: the run's value is read,
    with no weights; a metric no log holds is an error naming it."""
    from mtkd_rl.analysis import read_run
    log_dir = tmp_path / '20240101_000000' / 'vis_data'
    log_dir.mkdir(parents=True)
    (log_dir / 'scalars.json').write_text(json.dumps({'accuracy/top1': 40.0, 'step': 1}) + '\n')
    result = read_run(str(tmp_path), 'accuracy/top1', STUDENT_ALONE, 0)
    assert result.value == 40.0 and result.weights == {} and result.warmup_end is None
    with pytest.raises(RuntimeError, match="no validation record with 'coco/bbox_mAP'"):
        read_run(str(tmp_path), 'coco/bbox_mAP', STUDENT_ALONE, 0)


def test_an_interrupted_run_resumes_from_an_intact_checkpoint_or_starts_again(tmp_path):
    """What a run stopped at any moment leaves: a truncated newest checkpoint is moved aside (the older intact
    one resumes); no checkpoint at all (stopped while its only kept one was replaced) trains from the start."""
    lines = []
    study = Study(MTKDRL_CONFIG, [parse_variant('AVER')], [0], str(tmp_path / 'study'), log=lines.append)
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    cfg = Config.fromfile(MTKDRL_CONFIG)
    variant = parse_variant('AVER')
    assert not study._resumable(str(run_dir), cfg, variant, 0) and lines == []  # a new run
    (run_dir / 'last_checkpoint').write_text(str(run_dir / 'iter_2.pth'))
    assert not study._resumable(str(run_dir), cfg, variant, 0)
    assert 'left no checkpoint; training it again from the start' in lines[-1]
    torch.save(dict(meta=dict(iter=2), state_dict={}), run_dir / 'iter_2.pth')
    data = (run_dir / 'iter_2.pth').read_bytes()
    (run_dir / 'iter_4.pth').write_bytes(data[:len(data) // 2])
    assert study._resumable(str(run_dir), cfg, variant, 0)
    assert (run_dir / 'iter_4.pth.damaged').is_file() and not (run_dir / 'iter_4.pth').exists()
    assert 'iter_4.pth was cut short when the run was stopped' in lines[-1]
