"""A seeded comparison of teacher weightings on one distiller config.

For every seed the study trains the student alone (optionally) and the student with each weighting variant,
each as an ordinary ``tools/train.py`` run in its own work directory, then reads the runs' scalar logs and
writes a Markdown table, a CSV and a bar chart. A finished run is never trained again; an interrupted one
resumes from its latest checkpoint, so re-running the same command continues the study.

A variant is ``NAME`` or ``NAME:key=value[,key=value]``: ``NAME`` is a registered teacher weighting (``AVER``,
``EBKD``, ``CA-MKD``, ``MTKD-RL``, ``ONES``, ...) and the pairs set ``model.weighting.<key>``. A variant of
another type than the config's weighting starts from ``dict(type=NAME)``, so keys of the config's weighting
(for example MTKD-RL's ``fusion``) do not reach it.
"""
import ast
import copy
import csv
import inspect
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys
from dataclasses import dataclass, field
from glob import glob
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config

from mtkd_rl.analysis.training_log import load_training_log
from mtkd_rl.checkpoints import checkpoint_dir, checkpoint_names, damage, list_checkpoints
from mtkd_rl.registry import TEACHER_WEIGHTINGS
from mtkd_rl.student import is_distiller_config, to_student_config
from mtkd_rl.study_process import StudyLock, stop_on_sigterm, stop_process_group, stop_with_parent
from mtkd_rl.tool_scripts import tool_script

#: The name of the student-alone runs in tables and folders.
STUDENT_ALONE = 'student alone'
#: Written into a run's folder when the run is finished and read; its presence skips the run.
RESULT_FILE = 'result.json'
#: Keys the weighting's constructor receives from the distiller, not from the config.
_DISTILLER_ARGS = {'self', 'num_teachers', 'embedding_dims', 'summary_dims'}


@dataclass(frozen=True)
class Variant:
    """One arm of the study.

    Attributes:
        spec: The variant as written on the command line (its name in tables).
        weighting: The registered weighting type, or None for the student alone.
        options: ``model.weighting`` keys set by the variant.
    """
    spec: str
    weighting: Optional[str] = None
    options: Dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """A folder name for the variant's runs."""
        if self.weighting is None:
            return 'student_alone'
        return re.sub(r'[^A-Za-z0-9_.-]+', '_', self.spec.replace('=', '-').replace(':', '_'))


def _value(text: str) -> Any:
    """A Python literal, ``true``/``false`` in any case as a boolean (as ``--cfg-options`` reads them), else
    the text."""
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _check_values(spec: str, name: str, options: Dict[str, Any]) -> None:
    """Build the weighting once on a made-up pool of two teachers, so a bad value stops the study before any
    run (a run would stop on it only after its teachers are loaded)."""
    import torch
    cls = TEACHER_WEIGHTINGS.get(name)
    with torch.random.fork_rng(devices=[]):
        try:
            cls(num_teachers=2, embedding_dims=[1, 1], summary_dims=[1, 1], **options)
        except ValueError as error:
            raise ValueError(f"--weightings '{spec}': {error}") from None


def parse_variant(spec: str) -> Variant:
    """Parse ``NAME`` or ``NAME:key=value[,key=value]``; values are Python literals or plain strings.

    Args:
        spec: The variant, e.g. ``'MTKD-RL:fusion=dynamic'``.

    Returns:
        The variant. The weighting type and its keys are checked against the registry.
    """
    name, _, rest = spec.partition(':')
    name = name.strip()
    TEACHER_WEIGHTINGS.import_from_location()
    if name not in TEACHER_WEIGHTINGS.module_dict:
        raise ValueError(f"--weightings: '{name}' (in '{spec}') is not a registered teacher weighting; choose one "
                         f'of {sorted(TEACHER_WEIGHTINGS.module_dict)}')
    options: Dict[str, Any] = {}
    for pair in filter(None, (p.strip() for p in rest.split(','))):
        key, sep, value = pair.partition('=')
        if not sep or not key.strip():
            raise ValueError(f"--weightings: '{pair}' in '{spec}' is not key=value; write e.g. "
                             f"'MTKD-RL:fusion=dynamic,update=surrogate'")
        options[key.strip()] = _value(value.strip())
    accepted = set(inspect.signature(TEACHER_WEIGHTINGS.get(name).__init__).parameters) - _DISTILLER_ARGS
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(f"--weightings: '{spec}' sets model.weighting.{unknown[0]}, which {name} does not take; "
                         f'its keys are {sorted(accepted) or "none"}')
    _check_values(spec, name, options)
    return Variant(spec, name, options)


def variant_weighting(base: Dict[str, Any], variant: Variant) -> Dict[str, Any]:
    """The ``model.weighting`` dict of a variant, given the config's own.

    The config's keys are kept when the variant has the same weighting class, dropped otherwise.
    """
    same = TEACHER_WEIGHTINGS.get(str(base.get('type'))) is TEACHER_WEIGHTINGS.get(variant.weighting)
    weighting = {k: v for k, v in base.items() if k != 'type'} if same else {}
    weighting.update(copy.deepcopy(variant.options))
    return dict(type=variant.weighting, **weighting)


def variant_config(cfg: Config, variant: Variant, seed: int) -> Config:
    """The config of one run: the distiller config with the variant's weighting (or its student alone), seeded.

    Args:
        cfg: A ``MultiTeacherDistiller`` config, with the study's ``--cfg-options`` already merged.
        variant: The arm.
        seed: The value of ``randomness.seed``.

    Returns:
        A new config; ``cfg`` is not changed.
    """
    cfg = copy.deepcopy(cfg)
    if variant.weighting is None:
        cfg = to_student_config(cfg)
    else:
        cfg.model.weighting = variant_weighting(dict(cfg.model.get('weighting') or {}), variant)
    cfg.randomness = dict(cfg.get('randomness', {}) or {}, seed=seed)
    return cfg


#: The key each evaluator type logs its headline number under (without the evaluator's prefix).
_MAIN_KEYS = {
    'Accuracy': lambda ev: f"accuracy/top{_first(ev.get('topk', 1))}",
    'CocoMetric': lambda ev: f"{ev.get('prefix') or 'coco'}/{_first(ev.get('metric', 'bbox'))}_mAP",
    'IoUMetric': lambda ev: _prefixed(ev, _first(ev.get('iou_metrics', ['mIoU']))),
    'VOCMetric': lambda ev: f"{ev.get('prefix') or 'pascal_voc'}/mAP",
}


def _first(value):
    return value[0] if isinstance(value, (list, tuple)) else value


def _prefixed(ev, key):
    return f"{ev['prefix']}/{key}" if ev.get('prefix') else key


def main_metric(cfg: Config) -> str:
    """The logged key of the task's main metric, from ``val_evaluator``.

    ``accuracy/top1`` for mmpretrain's ``Accuracy``, ``coco/bbox_mAP`` for mmdet's ``CocoMetric``, ``mIoU``
    for mmseg's ``IoUMetric`` (the first of ``topk``/``metric``/``iou_metrics``, with the evaluator's prefix).
    """
    evaluator = cfg.get('val_evaluator')
    if isinstance(evaluator, (list, tuple)):
        evaluator = evaluator[0] if evaluator else None
    if not evaluator:
        raise ValueError('the config has no val_evaluator: the study compares the validation metric at the end '
                         'of each run; add one, or pass --metric with the key to read from the logs')
    kind = str(evaluator.get('type', '')).split('.')[-1]
    if kind not in _MAIN_KEYS:
        raise ValueError(f"cannot tell the main metric of val_evaluator type '{kind}'; pass --metric with the "
                         f'key it logs (known types: {sorted(_MAIN_KEYS)})')
    return _MAIN_KEYS[kind](evaluator)


@dataclass
class RunResult:
    """What one finished run's logs say.

    Attributes:
        variant: The variant's spec (``'student alone'`` for the student).
        seed: The run's seed.
        value: The main metric at the run's last validation.
        weights: Per logged weight key (``w_logit.<teacher>``, ``w_feature.<teacher>``), its mean over the
            logged training iterations.
        work_dir: The run's folder.
        weights_after_warmup: The same means over the iterations after the agent's warm-up (the hook's
            ``warmup_epochs`` / ``warmup_iters``), when the weights the agent chose; equal to ``weights`` for a
            run without warm-up.
        warmup_end: The iteration the warm-up ended at, or None for a run without warm-up.
    """
    variant: str
    seed: int
    value: float
    weights: Dict[str, float]
    work_dir: str
    weights_after_warmup: Dict[str, float] = field(default_factory=dict)
    warmup_end: Optional[float] = None


def scalar_logs(work_dir: str) -> List[str]:
    """The ``scalars.json`` files of a run folder, oldest first (one per start of the run)."""
    return sorted(glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))


def read_scalars(work_dir: str, metric: str):
    """The training records (by step, a resumed start replacing what it re-trained) and the last validation
    record holding ``metric``, from all of a run's scalar logs."""
    train: Dict[int, dict] = {}
    last_val = None
    for path in scalar_logs(work_dir):
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                record = json.loads(line)
                if metric in record:
                    last_val = record
                elif 'loss' in record:
                    train[int(record['step'])] = record
    return train, last_val


def read_run(work_dir: str, metric: str, variant: str, seed: int) -> RunResult:
    """Read one run's result from its scalar logs.

    Args:
        work_dir: The run's folder.
        metric: The key of the main metric.
        variant: The variant's spec, for the result.
        seed: The run's seed, for the result.
    """
    train, last_val = read_scalars(work_dir, metric)
    if last_val is None:
        raise RuntimeError(f"{work_dir}: no validation record with '{metric}' in its logs; the study reads the "
                           f'last validation of each run: make train_cfg.val_interval divide the schedule, or '
                           f'pass --metric with the key the evaluator logs')
    keys: List[str] = []
    for record in train.values():
        keys += [k for k in record if k.startswith(('w_logit.', 'w_feature.')) and k not in keys]
    warmup_end = load_training_log(work_dir).warmup_end if keys else None
    weights, after = {}, {}
    for key in keys:
        values = [r[key] for r in train.values() if key in r]
        weights[key] = sum(values) / len(values)
        later = [r[key] for step, r in train.items() if key in r and (warmup_end is None or step > warmup_end)]
        if later:
            after[key] = sum(later) / len(later)
    return RunResult(variant, seed, float(last_val[metric]), weights, work_dir, after, warmup_end)


@dataclass
class Study:
    """Train and compare the arms of a study, each seed of each arm in its own folder of ``work_dir``.

    Args:
        config: The path of a ``MultiTeacherDistiller`` config.
        variants: The weighting variants (see :func:`parse_variant`).
        seeds: The seeds; every arm runs once per seed.
        work_dir: The study's folder: per run ``<variant>/seed_<seed>/`` and its config
            ``<variant>/seed_<seed>.py``, and the reports.
        cfg_options: ``--cfg-options`` for every run (merged before the variant's changes).
        student_alone: Also train the student without teachers.
        eval_teachers: Also evaluate each teacher of the pool on the validation set (once, not per seed).
        metric: The logged key to compare; by default the main metric of ``val_evaluator``.
        train_script: ``tools/train.py``; by default the one of this package (:func:`tool_script`).
        python: The interpreter of the runs.
        log: Where progress lines go.
    """
    config: str
    variants: Sequence[Variant]
    seeds: Sequence[int]
    work_dir: str
    cfg_options: Optional[Dict[str, Any]] = None
    student_alone: bool = False
    eval_teachers: bool = False
    metric: Optional[str] = None
    train_script: Optional[str] = None
    python: str = sys.executable
    log: Any = print

    def __post_init__(self) -> None:
        self.train_script = self.train_script or tool_script('train.py')
        self.base = Config.fromfile(self.config)
        if self.cfg_options:
            self.base.merge_from_dict(self.cfg_options)
        if not is_distiller_config(self.base):
            raise ValueError(f"{self.config}: model.type is '{self.base.get('model', {}).get('type')}'; the study "
                             f"needs a config with model.type='mtkd_rl.MultiTeacherDistiller'")
        if not self.seeds:
            raise ValueError('--seeds: give at least one seed')
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f'--seeds has duplicates: {list(self.seeds)}')
        arms = ([Variant(STUDENT_ALONE)] if self.student_alone else []) + list(self.variants)
        if not arms:
            raise ValueError('nothing to compare: give --weightings and/or --student-alone')
        slugs = [v.slug for v in arms]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f'--weightings names a variant twice: {[v.spec for v in arms]}')
        self.arms: List[Variant] = arms
        self.metric = self.metric or main_metric(self.base)

    def run_dir(self, variant: Variant, seed: int) -> str:
        return osp.join(self.work_dir, variant.slug, f'seed_{seed}')

    def run(self) -> List[RunResult]:
        """Train what is not finished, then write the reports; returns every run's result.

        The study folder is locked for the whole call: a second study on it stops with an error. A run is a
        child process in its own process group; when the study is stopped (Ctrl-C, SIGTERM) the run's whole
        group is stopped with it, and when the study is killed outright (SIGKILL) the kernel stops the run.

        Raises:
            StudyBusyError: Another study holds the folder.
        """
        with StudyLock(self.work_dir) as lock, stop_on_sigterm():
            self._lock = lock
            results = []
            for variant in self.arms:
                for seed in self.seeds:
                    results.append(self._run_one(variant, seed))
            teachers = self._eval_teachers() if self.eval_teachers else {}
            write_reports(self.work_dir, self.metric, results, teachers, [v.spec for v in self.arms], self.seeds,
                          title=osp.basename(self.config))
        return results

    def _prepare(self, run_dir: str, cfg: Config) -> str:
        """Write the run's config as ``<run_dir>.py`` (the Runner dumps its own copy into the run folder); a
        run of another config is an error, never overwritten."""
        os.makedirs(run_dir, exist_ok=True)
        path = run_dir.rstrip('/') + '.py'
        text = cfg.pretty_text
        if osp.exists(path):
            with open(path) as f:
                if f.read() != text:
                    raise ValueError(
                        f'{run_dir} holds a run of another config (the config, --cfg-options or the variant '
                        f'changed since it ran); its results are kept: choose a new --work-dir, or remove '
                        f'{run_dir} to train it again')
        else:
            with open(path, 'w') as f:
                f.write(text)
        return path

    def _run_one(self, variant: Variant, seed: int) -> RunResult:
        run_dir = self.run_dir(variant, seed)
        config = self._prepare(run_dir, variant_config(self.base, variant, seed))
        done = osp.join(run_dir, RESULT_FILE)
        if osp.exists(done):
            if scalar_logs(run_dir):  # what the logs say now (a result written by an older version lacks keys)
                result = read_run(run_dir, self.metric, variant.spec, seed)
            else:
                with open(done) as f:
                    result = RunResult(**json.load(f))
            self.log(f'[study] {variant.spec} seed {seed}: finished before, {self.metric} = {result.value}')
            return result
        # an interrupted run continues from its latest checkpoint; a new one keeps the config's load_from
        resume = ['--resume'] if self._resumable(run_dir, Config.fromfile(config), variant, seed) else []
        self.log(f'[study] {variant.spec} seed {seed}: {"resuming" if resume else "training"} in {run_dir} '
                 f'with {self.train_script}')
        self._call([self.python, self.train_script, config, '--work-dir', run_dir] + resume,
                   osp.join(run_dir, 'train.log'))
        result = read_run(run_dir, self.metric, variant.spec, seed)
        with open(done, 'w') as f:
            json.dump(result.__dict__, f, indent=1)
        self.log(f'[study] {variant.spec} seed {seed}: {self.metric} = {result.value}')
        return result

    def _resumable(self, run_dir: str, cfg: Config, variant: Variant, seed: int) -> bool:
        """Whether an interrupted run left a checkpoint to continue from.

        A run stopped while it saved a checkpoint can leave that file truncated: it is moved aside
        (``<name>.damaged``, named in the log) so the run continues from the newest intact one. A run stopped
        before its first checkpoint, or while mmengine replaced its only kept one (``max_keep_ckpts=1`` deletes
        the old file before writing the new), has none left: it trains again from the start.
        """
        cfg.work_dir = run_dir
        directory, naming = checkpoint_dir(cfg), checkpoint_names(cfg)
        for checkpoint in list_checkpoints(directory, naming):
            problem = damage(checkpoint.path)
            if problem is not None:
                os.replace(checkpoint.path, checkpoint.path + '.damaged')
                self.log(f'[study] {variant.spec} seed {seed}: {checkpoint.path} was cut short when the run was '
                         f'stopped ({problem}); moved aside to {checkpoint.name}.damaged')
        if list_checkpoints(directory, naming):
            return True
        if osp.exists(osp.join(run_dir, 'last_checkpoint')):
            self.log(f'[study] {variant.spec} seed {seed}: the stopped run left no checkpoint; training it again '
                     f'from the start')
        return False

    def _call(self, cmd: List[str], log_file: str) -> None:
        with open(log_file, 'a') as log:
            # the child holds the study's lock too: the folder stays locked until the run has really ended
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                    pass_fds=(self._lock.fd, ), preexec_fn=stop_with_parent)
            self.log(f'[study] run pid {proc.pid}, log {log_file}')
            try:
                proc.wait()
            except BaseException:
                stop_process_group(proc)
                raise
        if proc.returncode != 0:
            with open(log_file) as f:
                tail = f.read()[-4000:]
            raise RuntimeError(f'{" ".join(cmd)} failed ({proc.returncode}); its log is {log_file}:\n{tail}')

    def _eval_teachers(self) -> Dict[str, float]:
        """Each teacher's metric on the students' validation set (the study's data options), tested once with
        mmengine's Runner in this process; the result is kept in ``teachers/<name>/result.json``."""
        from mmengine.runner import Runner
        out = {}
        for teacher in self.base.model.teachers:
            name = teacher.get('name') or osp.splitext(osp.basename(str(teacher['config'])))[0]
            run_dir = osp.join(self.work_dir, 'teachers', re.sub(r'[^A-Za-z0-9_.-]+', '_', name))
            cfg = Config.fromfile(teacher['config'])
            for key in ('val_dataloader', 'val_evaluator'):  # the images and evaluator of the students' runs
                cfg[key] = copy.deepcopy(self.base[key])
            cfg.test_dataloader, cfg.test_evaluator = cfg.val_dataloader, cfg.val_evaluator
            cfg.test_cfg = cfg.get('test_cfg') or dict(type='TestLoop')
            cfg.load_from, cfg.work_dir = str(teacher['checkpoint']), run_dir
            self._prepare(run_dir, cfg)
            done = osp.join(run_dir, RESULT_FILE)
            if not osp.exists(done):
                self.log(f'[study] testing teacher {name} ({teacher["checkpoint"]})')
                metrics = Runner.from_cfg(cfg).test()
                if self.metric not in metrics:
                    raise RuntimeError(f"teacher {name}: its test gave {sorted(metrics)}, not '{self.metric}'")
                with open(done, 'w') as f:
                    json.dump(dict(name=name, value=float(metrics[self.metric])), f, indent=1)
            with open(done) as f:
                out[name] = json.load(f)['value']
        return out


# ------------------------------------------------------------------------------------------------------------
# Reports
# ------------------------------------------------------------------------------------------------------------


def mean_std(values: Sequence[float]):
    """The mean and the sample standard deviation (``ddof=1``; 0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std


def _fmt(value: float, digits: int) -> str:
    return f'{value:.{digits}f}'


def write_reports(work_dir: str, metric: str, results: Sequence[RunResult], teachers: Dict[str, float],
                  order: Sequence[str], seeds: Sequence[int], title: str = '') -> Dict[str, str]:
    """Write ``results.md``, ``results.csv`` and ``results.png`` in ``work_dir``; returns their paths."""
    os.makedirs(work_dir, exist_ok=True)
    by_variant: Dict[str, List[RunResult]] = {v: [] for v in order}
    for r in results:
        by_variant.setdefault(r.variant, []).append(r)
    weight_keys: List[str] = []
    for r in results:
        weight_keys += [k for k in r.weights if k not in weight_keys]
    values = [r.value for r in results] + list(teachers.values())
    digits = 4 if all(abs(v) <= 1.0 for v in values) else 2

    paths = dict(md=osp.join(work_dir, 'results.md'), csv=osp.join(work_dir, 'results.csv'),
                 png=osp.join(work_dir, 'results.png'))
    with open(paths['csv'], 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['variant', 'seed', metric] + weight_keys + [f'{k} after warm-up' for k in weight_keys])
        for r in results:
            writer.writerow([r.variant, r.seed, repr(r.value)]
                            + [repr(r.weights[k]) if k in r.weights else '' for k in weight_keys]
                            + [repr(r.weights_after_warmup[k]) if k in r.weights_after_warmup else ''
                               for k in weight_keys])
        for name, value in teachers.items():
            writer.writerow([f'teacher {name}', '', repr(value)] + [''] * (2 * len(weight_keys)))

    teacher_names: List[str] = []
    for key in weight_keys:
        name = key.split('.', 1)[1]
        if name not in teacher_names:
            teacher_names.append(name)
    header = ['run', f'{metric} (mean ± std)'] + [f'seed {s}' for s in seeds] + [
        f'w {n} (logit / feature)' for n in teacher_names]
    lines = [f'# Weighting comparison{": " + title if title else ""}', '',
             f'`{metric}` at the last validation of each run; mean ± sample std (ddof=1) over seeds '
             f'{", ".join(map(str, seeds))}. Weights: the mean of the logged `w_logit.<teacher>` / '
             f'`w_feature.<teacher>` values over the logged training iterations after the agent\'s warm-up '
             f'(all iterations for a weighting without one), averaged over seeds; `results.csv` also has the '
             f'means over all iterations.', '',
             '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    notes: List[str] = []
    for variant, runs in by_variant.items():
        if not runs:
            continue
        mean, std = mean_std([r.value for r in runs])
        per_seed = {r.seed: r.value for r in runs}
        # the sample std of one value is undefined: say so instead of printing 0
        spread = f'± {_fmt(std, digits)}' if len(runs) > 1 else '(1 seed, no std)'
        cells = [variant, f'{_fmt(mean, digits)} {spread}']
        cells += [_fmt(per_seed[s], digits) if s in per_seed else '' for s in seeds]
        warmup_only = [r for r in runs if r.weights and not r.weights_after_warmup]
        if warmup_only:
            notes.append(f'{variant}: every logged iteration of {len(warmup_only)} of its {len(runs)} runs was in '
                         f'the warm-up (which lasts {warmup_only[0].warmup_end:.0f} iterations), so the agent never '
                         f'chose the weights; their weight cells read "warm-up only". Raise the schedule '
                         f'(train_cfg.max_*) or lower the hook\'s warmup_epochs / warmup_iters.')
        for name in teacher_names:
            parts = []
            for kind in ('w_logit', 'w_feature'):
                ws = [r.weights_after_warmup[f'{kind}.{name}'] for r in runs
                      if f'{kind}.{name}' in r.weights_after_warmup]
                parts.append(f'{sum(ws) / len(ws):.3f}' if ws else '-')
            if any(p != '-' for p in parts):
                cells.append(' / '.join(parts))
            else:
                cells.append('warm-up only' if warmup_only else '')
        lines.append('| ' + ' | '.join(cells) + ' |')
    for name, value in teachers.items():
        cells = [f'teacher {name}', _fmt(value, digits)] + [''] * (len(seeds) + len(teacher_names))
        lines.append('| ' + ' | '.join(cells) + ' |')
    if notes:
        lines += [''] + [f'- {note}' for note in notes]
    with open(paths['md'], 'w') as f:
        f.write('\n'.join(lines) + '\n')

    _plot(paths['png'], metric, by_variant, teachers, title)
    return paths


def _plot(path: str, metric: str, by_variant: Dict[str, List[RunResult]], teachers: Dict[str, float],
          title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = [v for v, runs in by_variant.items() if runs]
    stats = [mean_std([r.value for r in by_variant[v]]) for v in names]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(names) + 1.5), 4.0))
    xs = list(range(len(names)))
    ax.bar(xs, [m for m, _ in stats], yerr=[s for _, s in stats], capsize=4, color='#8fb3d9',
           edgecolor='#33557a', label='mean ± std')
    for x, v in zip(xs, names):
        seeds = [r.value for r in by_variant[v]]
        ax.plot([x] * len(seeds), seeds, 'o', color='#1f3b5a', markersize=3,
                label='one seed' if x == 0 else None)
    for i, (name, value) in enumerate(teachers.items()):
        ax.axhline(value, linestyle='--', linewidth=1, color=f'C{i + 1}', label=f'teacher {name}')
    lows = [m - s for m, s in stats] + [r.value for v in names for r in by_variant[v]] + list(teachers.values())
    highs = [m + s for m, s in stats] + [r.value for v in names for r in by_variant[v]] + list(teachers.values())
    span = max(highs) - min(lows) or abs(max(highs)) or 1.0
    ax.set_ylim(min(lows) - 0.3 * span, max(highs) + 0.15 * span)
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=30, ha='right', fontsize=8)
    ax.set_ylabel(metric)
    if title:
        ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7, loc='best')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
