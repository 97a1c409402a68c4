"""The scalar log of a training run: what mmengine's ``LocalVisBackend`` wrote, read back as series.

mmengine writes one timestamped folder per run under the work dir, ``WORK_DIR/<timestamp>/vis_data/`` with
``scalars.json`` (one JSON object per logging step) and ``config.py`` (the run's config), next to the text log
``WORK_DIR/<timestamp>/<timestamp>.log``. A resumed training continues in a new folder; its text log says where
it resumed from.
"""
import json
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

#: The per-teacher series the distiller logs, by prefix (``w_logit.<teacher>`` ...).
TEACHER_SERIES = ('w_logit', 'w_feature', 'kd_logit', 'kd_feature')
#: The series the teacher-weighting hook logs after each agent update.
AGENT_SERIES = ('agent_loss', 'agent_updates')

_RESUMED = re.compile(r'resumed epoch: (\d+), iter: (\d+)')
_TRAIN_LINE = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\[\s*\d+/(\d+)\]')


@dataclass
class RunFolder:
    """One run (one ``tools/train.py`` call) of a work dir.

    Attributes:
        path: ``WORK_DIR/<timestamp>``.
        train: The training records of ``scalars.json`` (those with an ``iter``), in file order.
        val: The validation records (``step`` is the epoch, or the iteration for iteration-based runs).
        resumed_iter: The iteration this run resumed from, or None for a run that started from scratch.
        iters_per_epoch: Training iterations per epoch, read from the text log, or None.
    """
    path: str
    train: List[dict]
    val: List[dict]
    resumed_iter: Optional[int] = None
    iters_per_epoch: Optional[int] = None

    @property
    def config_path(self) -> str:
        return osp.join(self.path, 'vis_data', 'config.py')


@dataclass
class TrainingLog:
    """The training records of one training, over all runs of a resumed training, in iteration order.

    Attributes:
        runs: The runs the records come from, oldest first.
        train: Training records; each has ``step`` (the iteration, 1-based) and the logged scalars.
        val: Validation records.
        teachers: Teacher names found in the ``w_logit.<teacher>`` keys, in the order of the log.
        warmup_end: The iteration at which the agent took over (end of the hook's warm-up), or None.
        warmup_source: Where ``warmup_end`` comes from (the hook's config or the weights in the log).
    """
    runs: List[RunFolder]
    train: List[dict]
    val: List[dict]
    teachers: List[str] = field(default_factory=list)
    warmup_end: Optional[float] = None
    warmup_source: str = ''

    def series(self, key: str) -> Tuple[np.ndarray, np.ndarray]:
        """The logged values of ``key`` and their iterations (only the records that have the key).

        Args:
            key: A logged scalar, e.g. ``'w_logit.resnet18_w16'`` or ``'agent_loss'``.

        Returns:
            ``(steps, values)``, two float arrays of one length.
        """
        rows = [(r['step'], r[key]) for r in self.train if key in r]
        if not rows:
            return np.zeros(0), np.zeros(0)
        steps, values = zip(*rows)
        return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)

    def has(self, key: str) -> bool:
        return any(key in r for r in self.train)


def read_scalars(path: str) -> List[dict]:
    """The records of an mmengine ``scalars.json`` (one JSON object per line)."""
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records


def _read_run(path: str) -> RunFolder:
    records = read_scalars(osp.join(path, 'vis_data', 'scalars.json'))
    run = RunFolder(path=path, train=[r for r in records if 'iter' in r], val=[r for r in records if 'iter' not in r])
    text_log = osp.join(path, osp.basename(path) + '.log')
    if osp.isfile(text_log):
        with open(text_log, errors='replace') as f:
            text = f.read()
        resumed = _RESUMED.search(text)
        if resumed:
            run.resumed_iter = int(resumed.group(2))
        line = _TRAIN_LINE.search(text)
        if line:
            run.iters_per_epoch = int(line.group(2))
    return run


class NoTrainingRecordsError(FileNotFoundError):
    """The work dir holds no scalar log with training records."""


def scalar_logs(work_dir: str) -> List[str]:
    """The ``scalars.json`` of every run in ``work_dir``, oldest first (timestamps sort by time).

    Args:
        work_dir: The work dir of a training.

    Returns:
        The paths ``WORK_DIR/<timestamp>/vis_data/scalars.json``; none for a missing work dir.
    """
    if not osp.isdir(work_dir):
        return []
    paths = (osp.join(work_dir, name, 'vis_data', 'scalars.json') for name in sorted(os.listdir(work_dir)))
    return [path for path in paths if osp.isfile(path)]


def find_runs(work_dir: str) -> List[RunFolder]:
    """All runs of ``work_dir`` that logged training scalars, oldest first (timestamps sort by time).

    Raises:
        FileNotFoundError: ``work_dir`` does not exist.
        NoTrainingRecordsError: No run of ``work_dir`` logged a training record.
    """
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'WORK_DIR {work_dir} does not exist: give the work_dir of a training run')
    runs = [run for run in (_read_run(osp.dirname(osp.dirname(path))) for path in scalar_logs(work_dir))
            if run.train]
    if not runs:
        raise NoTrainingRecordsError(
            f'no training scalars under {work_dir}: expected WORK_DIR/<timestamp>/vis_data/scalars.json with '
            f"training records (mmengine's LocalVisBackend writes it; keep it in the config's visualizer)")
    return runs


def last_validation(work_dir: str, key: str) -> Optional[dict]:
    """The newest validation record that holds ``key``, over every run of ``work_dir``.

    Unlike :func:`load_training_log`, this reads every run, also one that only validated.

    Args:
        work_dir: The work dir of a training.
        key: A validation metric as logged, e.g. ``'accuracy/top1'`` (training records never hold it).

    Returns:
        The record, or None when no run logged ``key``.
    """
    last = None
    for path in scalar_logs(work_dir):
        for record in read_scalars(path):
            if key in record:
                last = record
    return last


def _hook_warmup(config_path: str) -> Optional[Tuple[str, int]]:
    """``('iters', n)`` or ``('epochs', n)`` of the run's TeacherWeightingHook, ``('none', 0)`` for a weighting
    that does not learn (no warm-up), None when the config or the hook is not found."""
    if not osp.isfile(config_path):
        return None
    from mmengine.config import Config
    cfg = Config.fromfile(config_path)
    weighting = (cfg.get('model', None) or {}).get('weighting', None)
    if weighting is not None:
        from mtkd_rl.registry import TEACHER_WEIGHTINGS
        TEACHER_WEIGHTINGS.import_from_location()
        module = TEACHER_WEIGHTINGS.get(str(weighting.get('type', '')).replace('mtkd_rl.', ''))
        if module is not None and not module.learnable:
            return 'none', 0  # the hook holds back only a learnable weighting
    for hook in cfg.get('custom_hooks', None) or []:
        if str(hook.get('type', '')).endswith('TeacherWeightingHook'):
            if hook.get('warmup_iters') is not None:
                return 'iters', int(hook['warmup_iters'])
            return 'epochs', int(hook.get('warmup_epochs', 1))
    return None


def _weights_change(train: List[dict], teachers: List[str]) -> Optional[float]:
    """The iteration between the last record with the first record's weights and the next one."""
    keys = [f'w_logit.{t}' for t in teachers]
    rows = [r for r in train if all(k in r for k in keys)]
    if not rows:
        return None
    first = [rows[0][k] for k in keys]
    for previous, row in zip(rows, rows[1:]):
        if [row[k] for k in keys] != first:
            return (previous['step'] + row['step']) / 2.0
    return None


def load_training_log(work_dir: str, run: Optional[str] = None) -> TrainingLog:
    """Read the training records of the newest training in ``work_dir``.

    If the newest run resumed an earlier one, the earlier runs it continues are read too; records an earlier
    run wrote after the iteration the later run resumed from are dropped (the later run redid them).

    Args:
        work_dir: The work dir of a training (``--work-dir`` of ``tools/train.py``).
        run: The timestamp folder of the run to read instead of the newest.

    Returns:
        The training log.
    """
    runs = find_runs(work_dir)
    if run is not None:
        names = [osp.basename(r.path) for r in runs]
        if osp.basename(run.rstrip('/')) not in names:
            raise FileNotFoundError(f'--run {run}: no training scalars in {work_dir}/{run}; runs: {names}')
        runs = runs[:names.index(osp.basename(run.rstrip('/'))) + 1]
    chain = [runs[-1]]
    for earlier in reversed(runs[:-1]):
        later = chain[0]
        if later.resumed_iter is None or earlier.train[0]['step'] > later.resumed_iter:
            break
        chain.insert(0, earlier)
    train: List[dict] = []
    val: List[dict] = []
    for i, r in enumerate(chain):
        end = chain[i + 1].resumed_iter if i + 1 < len(chain) else None
        train += [rec for rec in r.train if end is None or rec['step'] <= end]
        val += r.val
    teachers = []
    for rec in train:
        for key in rec:
            if key.startswith('w_logit.') and key[len('w_logit.'):] not in teachers:
                teachers.append(key[len('w_logit.'):])
    log = TrainingLog(runs=chain, train=train, val=val, teachers=teachers)

    warmup = _hook_warmup(chain[-1].config_path)
    per_epoch = next((r.iters_per_epoch for r in reversed(chain) if r.iters_per_epoch), None)
    if warmup is not None and warmup[0] == 'none':
        pass
    elif warmup is not None and warmup[0] == 'iters':
        log.warmup_end, log.warmup_source = float(warmup[1]), f'warmup_iters={warmup[1]} (config)'
    elif warmup is not None and per_epoch is not None:
        log.warmup_end = float(warmup[1] * per_epoch)
        log.warmup_source = f'warmup_epochs={warmup[1]} x {per_epoch} iterations (config)'
    elif teachers:
        change = _weights_change(train, teachers)
        if change is not None:
            log.warmup_end, log.warmup_source = change, 'first change of the logged weights'
    if log.warmup_end is not None and log.warmup_end <= 0:
        log.warmup_end = None
    return log
