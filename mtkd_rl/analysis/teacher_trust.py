"""Which teacher the agent trusts for what: per-sample teacher weights over a data split, grouped.

The distiller weighs the batches of a dataloader as in a training iteration (student, teachers, task terms,
weighting: ``MultiTeacherDistiller.weigh_batch``), in eval mode and in the phase where the agent acts and nothing
is learnt: the student's normalisation layers use their running statistics and a sampling policy acts with its
mean. The weights are the ones the distiller's loss uses.
"""
import csv
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mtkd_rl.weighting import WeightingPhase
from mtkd_rl.weighting.learner import CHECKPOINT_KEY

#: A sample's group: ``(order, label)``; groups are listed by ``order``.
Group = Tuple[float, str]
GROUP_BY = ('class', 'objects')


@dataclass
class TeacherTrust:
    """Per-sample teacher weights of a data split.

    Attributes:
        teachers: Teacher names, in the order of the weight columns.
        groups: Each sample's group.
        logit: Logit weights, ``[N, M]`` (on the CPU).
        feature: Feature weights, ``[N, M]``, or None when the distiller has no feature distillation.
        correctness: Each teacher's accuracy on each sample, ``[N, M]`` in [0, 1], or None where the task has
            none (detection).
    """
    teachers: List[str]
    groups: List[Group]
    logit: torch.Tensor
    feature: Optional[torch.Tensor]
    correctness: Optional[torch.Tensor] = None

    def correctness_correlation(self) -> Dict[str, float]:
        """Per teacher, the rank correlation (Spearman, ties averaged) over samples between its logit weight and
        its correctness on the sample: positive where the weighting gives a teacher more weight on the samples it
        gets right. NaN where either side is constant (a fixed weighting, a teacher right everywhere)."""
        if self.correctness is None:
            raise ValueError('these weights were collected without teacher correctness (the task has none)')
        return {name: rank_correlation(self.logit[:, m], self.correctness[:, m])
                for m, name in enumerate(self.teachers)}

    def by_group(self) -> 'OrderedDict[str, Dict[str, object]]':
        """Per group (in group order, then ``'all'``): ``samples`` and the mean ``logit``/``feature`` weights."""
        index: Dict[Group, List[int]] = {}
        for i, group in enumerate(self.groups):
            index.setdefault(group, []).append(i)
        table = OrderedDict()
        for group in sorted(index):
            rows = torch.tensor(index[group])
            table[group[1]] = self._row(rows)
        table['all'] = self._row(torch.arange(len(self.groups)))
        return table

    def to_csv(self, path: str) -> None:
        """Write :meth:`by_group` as CSV: ``group, samples, logit.<teacher>..., feature.<teacher>...``."""
        kinds = ['logit'] + (['feature'] if self.feature is not None else [])
        with open(path, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['group', 'samples'] + [f'{k}.{t}' for k in kinds for t in self.teachers])
            for group, row in self.by_group().items():
                values = [v for k in kinds for v in row[k].tolist()]
                writer.writerow([group, row['samples']] + [f'{v:.6f}' for v in values])

    def _row(self, rows: torch.Tensor) -> Dict[str, object]:
        return dict(samples=int(rows.numel()),
                    logit=self.logit[rows].double().mean(0),
                    feature=self.feature[rows].double().mean(0) if self.feature is not None else None)


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """The ranks (1-based) of ``values`` ``[N]``, tied values sharing the mean of their ranks."""
    unique, inverse, counts = torch.unique(values, sorted=True, return_inverse=True, return_counts=True)
    first = torch.cumsum(counts, 0) - counts  # 0-based rank of each unique value's first occurrence
    return (first.double() + (counts.double() + 1) / 2)[inverse]


def rank_correlation(x: torch.Tensor, y: torch.Tensor) -> float:
    """Spearman's rank correlation of ``x`` and ``y`` (``[N]`` each), ties averaged; NaN if either is constant."""
    rx, ry = average_ranks(x.flatten().double()), average_ranks(y.flatten().double())
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = float((rx.pow(2).sum() * ry.pow(2).sum()).sqrt())
    return float((rx * ry).sum()) / denominator if denominator > 0 else float('nan')


def sample_group(data_sample, by: str = 'class', classes: Optional[Sequence[str]] = None,
                 ignore_index: int = 255) -> Group:
    """The group of one sample.

    Args:
        data_sample: An mmpretrain ``DataSample`` (``gt_label``), mmdet ``DetDataSample`` (``gt_instances``) or
            mmseg ``SegDataSample`` (``gt_sem_seg``).
        by: ``'class'``: the label of a classification sample, the most frequent object class of a detection
            image, the most frequent labelled class of a segmentation image (ties: the lower class index);
            ``'objects'``: the number of objects of a detection image, in bins 0, 1, 2-3, 4-7, ...
        classes: Class names, to label class groups.
        ignore_index: Segmentation label of unlabelled pixels.

    Returns:
        ``(order, label)``.
    """
    if by not in GROUP_BY:
        raise ValueError(f'--group-by must be one of {GROUP_BY}, got {by!r}')

    def class_group(label: int) -> Group:
        name = classes[label] if classes is not None and 0 <= label < len(classes) else str(label)
        return float(label), name

    if 'gt_instances' in data_sample:
        labels = data_sample.gt_instances.labels
        if by == 'objects':
            n = int(labels.numel())
            if n < 2:
                return float(n), f'{n} object' + ('s' if n == 0 else '')
            low = 1 << (n.bit_length() - 1)
            return float(low), f'{low}-{2 * low - 1} objects'
        if labels.numel() == 0:
            return -1.0, 'no objects'
        return class_group(int(torch.bincount(labels.long()).argmax()))
    if by == 'objects':
        raise ValueError("--group-by objects needs detection samples (gt_instances); use --group-by class")
    if 'gt_sem_seg' in data_sample:
        labels = data_sample.gt_sem_seg.data.flatten().long()
        labels = labels[(labels != ignore_index) & (labels >= 0)]
        if labels.numel() == 0:
            return -1.0, 'unlabelled'
        return class_group(int(torch.bincount(labels).argmax()))
    if 'gt_label' in data_sample:
        return class_group(int(data_sample.gt_label.flatten()[0]))
    raise ValueError(f'{type(data_sample).__name__} has no gt_label, gt_instances or gt_sem_seg to group by')


def load_distiller_checkpoint(model: nn.Module, checkpoint: str) -> dict:
    """Load a distiller checkpoint: the student and connectors, and the agent the hook saved.

    Args:
        model: A ``MultiTeacherDistiller`` built from the training config.
        checkpoint: A checkpoint ``tools/train.py`` saved for that config.

    Returns:
        The loaded checkpoint dict.
    """
    from mmengine.runner import load_checkpoint

    try:
        state = load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                                revise_keys=[(r'^module\.', '')])
    except RuntimeError as e:
        raise RuntimeError(f'CHECKPOINT {checkpoint} does not fit the distiller of CONFIG ({e}); give a '
                           f'checkpoint that tools/train.py saved with this config (not an exported '
                           f'student)') from None
    weighting = model.weighting
    if weighting.learnable:
        agent = state.get(CHECKPOINT_KEY)
        if agent is None:
            raise KeyError(f"CHECKPOINT {checkpoint} holds no '{CHECKPOINT_KEY}' agent state, which "
                           f'{type(weighting).__name__} needs; give a checkpoint saved by a run with '
                           f'TeacherWeightingHook in custom_hooks')
        if agent['type'] != type(weighting).__name__:
            raise ValueError(f"CHECKPOINT {checkpoint} holds a {agent['type']} agent but CONFIG's "
                             f'model.weighting builds {type(weighting).__name__}; use the config of that run')
        weighting.load_state_dict(agent['state_dict'])
    return state


def collect_teacher_weights(model: nn.Module,
                            batches: Iterable[dict],
                            group: Callable[[object], Group],
                            training_preprocess: bool = False,
                            max_samples: Optional[int] = None) -> TeacherTrust:
    """Run the distiller over batches and keep each sample's teacher weights and group.

    Args:
        model: A ``MultiTeacherDistiller`` with its student, connectors and agent loaded.
        batches: Batches of a dataloader (what ``collate`` gives).
        group: The group of one data sample as the dataloader gives it, e.g. a partial of :func:`sample_group`.
        training_preprocess: Preprocess as in training (batch augmentations, padding of labels): for the
            training split.
        max_samples: Stop after this many samples (whole batches).

    Returns:
        The per-sample weights and groups.
    """
    was_training = model.training
    model.eval()
    # the agent the run saved acts (past its warm-up), and nothing is learnt from these batches
    phase = WeightingPhase(acting=True, collecting=False)
    logit, feature, correctness, groups = [], [], [], []
    try:
        with torch.no_grad():
            for batch in batches:
                data = model.data_preprocessor(batch, training_preprocess)
                terms, weights = model.weigh_batch(data['inputs'], data['data_samples'], phase)
                logit.append(weights.logit.float())
                if terms.teacher_accuracy is not None:
                    correctness.append(terms.teacher_accuracy.float())
                if model.with_feature_kd:
                    feature.append(weights.feature.float())
                groups += [group(s) for s in batch['data_samples']]
                if max_samples is not None and len(groups) >= max_samples:
                    break
    finally:
        model.train(was_training)
    if not groups:
        raise ValueError('the data split gave no batches')
    return TeacherTrust(teachers=list(model.teacher_names), groups=groups, logit=torch.cat(logit).cpu(),
                        feature=torch.cat(feature).cpu() if feature else None,
                        correctness=torch.cat(correctness).cpu() if correctness else None)
