"""The finished runs of a weighting comparison: the metric each config is compared on, and what a run's logs
say (its last validation and the mean teacher weights it logged)."""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from mmengine.config import Config

from .training_log import NoTrainingRecordsError, last_validation, load_training_log


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, (list, tuple)) else value


def _prefixed(evaluator: Dict[str, Any], key: str) -> str:
    return f"{evaluator['prefix']}/{key}" if evaluator.get('prefix') else key


#: The key each evaluator type logs its headline number under (without the evaluator's prefix).
_MAIN_KEYS: Dict[str, Callable[[Dict[str, Any]], str]] = {
    'Accuracy': lambda ev: f"accuracy/top{_first(ev.get('topk', 1))}",
    'CocoMetric': lambda ev: f"{ev.get('prefix') or 'coco'}/{_first(ev.get('metric', 'bbox'))}_mAP",
    'IoUMetric': lambda ev: _prefixed(ev, _first(ev.get('iou_metrics', ['mIoU']))),
    'VOCMetric': lambda ev: f"{ev.get('prefix') or 'pascal_voc'}/mAP",
}


def main_metric(cfg: Config) -> str:
    """The logged key of the task's main metric, from ``val_evaluator``.

    ``accuracy/top1`` for mmpretrain's ``Accuracy``, ``coco/bbox_mAP`` for mmdet's ``CocoMetric``, ``mIoU``
    for mmseg's ``IoUMetric`` (the first of ``topk``/``metric``/``iou_metrics``, with the evaluator's prefix).

    Args:
        cfg: A training config.

    Raises:
        ValueError: The config has no ``val_evaluator``, or one of an unknown type.
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


def read_run(work_dir: str, metric: str, variant: str, seed: int) -> RunResult:
    """Read one run's result from its scalar logs.

    The training records are those of :func:`~mtkd_rl.analysis.training_log.load_training_log` (a resumed
    run's records replacing what it re-trained); the value is the last validation of ``metric`` in any of the
    run's logs.

    Args:
        work_dir: The run's folder.
        metric: The key of the main metric.
        variant: The variant's spec, for the result.
        seed: The run's seed, for the result.

    Raises:
        RuntimeError: No log of the run holds a validation of ``metric``.
    """
    last_val = last_validation(work_dir, metric)
    if last_val is None:
        raise RuntimeError(f"{work_dir}: no validation record with '{metric}' in its logs; the study reads the "
                           f'last validation of each run: make train_cfg.val_interval divide the schedule, or '
                           f'pass --metric with the key the evaluator logs')
    try:
        log = load_training_log(work_dir)
        train = log.train
    except NoTrainingRecordsError:  # a schedule shorter than the logging interval
        log, train = None, []
    keys: List[str] = []
    for record in train:
        keys += [k for k in record if k.startswith(('w_logit.', 'w_feature.')) and k not in keys]
    warmup_end = log.warmup_end if keys else None
    weights, after = {}, {}
    for key in keys:
        values = [r[key] for r in train if key in r]
        weights[key] = sum(values) / len(values)
        later = [r[key] for r in train if key in r and (warmup_end is None or r['step'] > warmup_end)]
        if later:
            after[key] = sum(later) / len(later)
    return RunResult(variant, seed, float(last_val[metric]), weights, work_dir, after, warmup_end)
