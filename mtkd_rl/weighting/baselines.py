"""Fixed teacher weightings to compare MTKD-RL against (method.md section 9)."""
import torch

from mtkd_rl.registry import TEACHER_WEIGHTINGS
from .base import DistillationTerms, TeacherWeighting, TeacherWeights, WeightingPhase, confidence_prior


@TEACHER_WEIGHTINGS.register_module(name=['AVER', 'AverageWeighting'])
class AverageWeighting(TeacherWeighting):
    """AVER: every teacher weighs 1/M for logits and features."""
    required_terms = frozenset()

    def forward(self, terms: DistillationTerms, phase: WeightingPhase) -> TeacherWeights:
        w = torch.full_like(terms.teacher_loss, 1.0 / self.num_teachers)
        return TeacherWeights(w, w)


@TEACHER_WEIGHTINGS.register_module(name=['EBKD', 'EntropyWeighting'])
class EntropyWeighting(TeacherWeighting):
    """EBKD: per sample, ``w_m`` proportional to ``1 - H_m / sum_k H_k`` (a confident teacher weighs more).

    With M = 1 the weight is 1. If every teacher's entropy is 0, the weights are uniform.
    """
    required_terms = frozenset({'teacher_entropy'})

    def forward(self, terms: DistillationTerms, phase: WeightingPhase) -> TeacherWeights:
        h = terms.teacher_entropy
        m = self.num_teachers
        if m == 1:
            w = torch.ones_like(h)
        else:
            total = h.sum(1, keepdim=True)
            share = torch.where(total > 0, h / total.clamp_min(torch.finfo(h.dtype).tiny),
                                torch.full_like(h, 1.0 / m))
            w = (1.0 - share) / (m - 1)
        return TeacherWeights(w, w)


@TEACHER_WEIGHTINGS.register_module(name=['CA-MKD', 'ConfidenceAwareWeighting'])
class ConfidenceAwareWeighting(TeacherWeighting):
    """CA-MKD: confidence-aware weights from the teachers' losses.

    Logit weights use each teacher's own loss on the sample; feature weights use the loss of teacher m's
    head applied to the student's connected feature.
    """
    required_terms = frozenset({'feature_teacher_loss'})

    def forward(self, terms: DistillationTerms, phase: WeightingPhase) -> TeacherWeights:
        w_logit = confidence_prior(terms.teacher_loss)
        if terms.feature_teacher_loss is None:
            return TeacherWeights(w_logit, w_logit)
        return TeacherWeights(w_logit, confidence_prior(terms.feature_teacher_loss))
