"""A fixed weighting of one per teacher: the scale control for MTKD-RL's reference warm-up."""
import torch

from mtkd_rl.registry import TEACHER_WEIGHTINGS
from .base import DistillationTerms, TeacherWeighting, TeacherWeights, WeightingPhase


@TEACHER_WEIGHTINGS.register_module(name=['ONES', 'OnesWeighting'])
class OnesWeighting(TeacherWeighting):
    """ONES: every teacher weighs 1 for logits and features, so the KD terms are summed, not averaged.

    These are the weights MTKD-RL uses while its agent is held back (``warmup_weights='ones'``, the reference).
    The total KD weight is M times AVER's; comparing against ``ONES`` tells how much of a result comes from
    that larger scale of distillation rather than from the learnt weights.
    """
    required_terms = frozenset()

    def forward(self, terms: DistillationTerms, phase: WeightingPhase) -> TeacherWeights:
        w = torch.ones_like(terms.teacher_loss)
        return TeacherWeights(w, w)
