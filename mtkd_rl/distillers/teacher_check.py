"""A check of the teacher pool on the first training batches: warn about a teacher far worse than the rest."""
import statistics
from typing import List, Optional, Sequence

import torch
from mmengine.logging import print_log

from mtkd_rl.options import OptionError, check_int, check_number
from mtkd_rl.weighting import DistillationTerms


class TeacherPoolCheck:
    """Judge each teacher on the first training batches and warn once about one far worse than the others.

    A teacher trained on other classes, with another label order, on noisy labels, with another input
    normalisation, or loaded from the wrong checkpoint still produces confident outputs: its KD terms look
    normal while it teaches the student wrong answers. Its own task loss and accuracy on the training batches
    show it. Sums are kept on the device; the host reads them once, after ``iters`` batches.

    A teacher is reported when, against the median of the other teachers, its task loss is more than
    ``loss_ratio`` times larger (and larger by more than ``min_loss_gap``), or its accuracy (where the task
    has one) is lower by more than ``accuracy_gap``.

    Args:
        names: The teachers' names, in pool order.
        iters: The number of training batches to judge on.
        loss_ratio: How many times the others' median task loss counts as far worse.
        min_loss_gap: The smallest absolute task-loss gap that counts (so that near-zero losses do not).
        accuracy_gap: The accuracy gap (in [0, 1]) to the others' median that counts as far worse.
    """

    def __init__(self,
                 names: Sequence[str],
                 iters: int = 20,
                 loss_ratio: float = 2.0,
                 min_loss_gap: float = 0.1,
                 accuracy_gap: float = 0.15) -> None:
        key = 'model.teacher_check.{}'.format
        self.names = list(names)
        self.iters = check_int(iters, key('iters'), minimum=1)
        self.loss_ratio = check_number(loss_ratio, key('loss_ratio'), minimum=1.0, min_inclusive=False)
        self.min_loss_gap = check_number(min_loss_gap, key('min_loss_gap'), minimum=0.0)
        self.accuracy_gap = check_number(accuracy_gap, key('accuracy_gap'), minimum=0.0, maximum=1.0,
                                         min_inclusive=False)
        if self.accuracy_gap == 1.0:
            raise OptionError(key('accuracy_gap'), 'must be in (0, 1), got 1.0')
        self.done = len(self.names) < 2  # one teacher has no pool to be compared with
        self._batches = 0
        self._samples: Optional[torch.Tensor] = None
        self._loss: Optional[torch.Tensor] = None
        self._accuracy: Optional[torch.Tensor] = None
        #: The warnings of the check (empty until it ran, and when the pool looked consistent).
        self.findings: List[str] = []

    def update(self, terms: DistillationTerms) -> None:
        """Add one training batch; after ``iters`` batches judge the pool (one host read) and stop."""
        if self.done:
            return
        loss = terms.teacher_loss.detach().float()
        count = loss.new_tensor(float(loss.shape[0]))
        self._samples = count if self._samples is None else self._samples + count
        self._loss = loss.sum(0) if self._loss is None else self._loss + loss.sum(0)
        if terms.teacher_accuracy is not None:
            acc = terms.teacher_accuracy.detach().float().sum(0)
            self._accuracy = acc if self._accuracy is None else self._accuracy + acc
        self._batches += 1
        if self._batches >= self.iters:
            self.done = True
            self.findings = self.judge()
            for finding in self.findings:
                print_log(finding, logger='current', level=30)

    def judge(self) -> List[str]:
        """The warnings for the batches seen so far."""
        n = float(self._samples)
        loss = (self._loss / n).tolist()
        accuracy = (self._accuracy / n).tolist() if self._accuracy is not None else None
        findings = []
        for m, name in enumerate(self.names):
            others = [v for k, v in enumerate(loss) if k != m]
            ref_loss = statistics.median(others)
            reasons = []
            if loss[m] > self.loss_ratio * ref_loss and loss[m] - ref_loss > self.min_loss_gap:
                ratio = loss[m] / ref_loss if ref_loss > 0 else float('inf')
                reasons.append(f'task loss {loss[m]:.3g} vs {ref_loss:.3g} ({ratio:.1f}x)')
            if accuracy is not None:
                ref_acc = statistics.median([v for k, v in enumerate(accuracy) if k != m])
                if ref_acc - accuracy[m] > self.accuracy_gap:
                    reasons.append(f'accuracy {100 * accuracy[m]:.1f}% vs {100 * ref_acc:.1f}%')
            if reasons:
                findings.append(
                    f"teacher '{name}' (model.teachers[{m}]) is far worse than the rest of the pool on the first "
                    f"{self._batches} training batches: {'; '.join(reasons)} (the others' median). Check its "
                    f'checkpoint (model.teachers[{m}].checkpoint), that it predicts the same classes in the same '
                    f"label order as the student's data set, and that it normalises images like the student. "
                    f"If it is meant to be weak, keep it from teaching wrong answers: MTKD-RL with "
                    f"model.weighting.correctness_gate=True and warmup_weights='uniform', or CA-MKD")
        return findings
