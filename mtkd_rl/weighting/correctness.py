"""Which teachers are right on each sample, and weights that follow it: MTKD-RL's correctness gate and its KL
prior restricted to the teachers that are right."""
from typing import Optional

import torch

from .base import confidence_prior, restrict_weights


def teacher_correctness(ce: torch.Tensor, accuracy: Optional[torch.Tensor] = None) -> torch.Tensor:
    """How right each teacher is on each sample, ``[B, M]`` in [0, 1].

    Its accuracy on the sample where the task has one (1/0 for a classified image, the share of correct pixels
    for a segmented one), else its likelihood relative to the best teacher, ``exp(-(CE_m - min_k CE_k))``.

    Args:
        ce: ``[B, M]`` teacher task losses.
        accuracy: ``[B, M]`` teacher accuracies in [0, 1], or None.
    """
    return accuracy if accuracy is not None else torch.exp(-(ce - ce.min(1, keepdim=True).values))


def gate_weights(weights: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """Move, per sample, the weight of the teachers that are wrong onto those that are right.

    :func:`restrict_weights` with a per-sample gate (``w_m * g_m``, rescaled so each row keeps its total), except
    that a row where every gated weight is 0 (no teacher right) keeps its weights.

    Args:
        weights: ``[B, M]`` weights.
        gate: ``[B, M]`` correctness in [0, 1] (:func:`teacher_correctness`).

    Returns:
        ``[B, M]`` weights with the same row totals.
    """
    kept = (weights * gate).sum(1, keepdim=True)
    return torch.where(kept > torch.finfo(weights.dtype).tiny, restrict_weights(weights, gate), weights)


def correct_teachers_kl_prior(kl: torch.Tensor, ce: torch.Tensor,
                              accuracy: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The KL prior restricted to the teachers that are right on the sample: ``softmax_m(KL) * g_m``,
    renormalised per sample.

    The reference prior ``softmax_m(KL)`` gives most weight to the teacher furthest from the student, which is
    the confidently wrong one when the pool holds such a teacher. Here each teacher's share is multiplied by
    its correctness ``g_m`` on the sample (:func:`teacher_correctness`). A sample on which no teacher is right
    gets the confidence prior.

    Args:
        kl: ``[B, M]`` logit KD terms.
        ce: ``[B, M]`` teacher task losses.
        accuracy: ``[B, M]`` teacher accuracies in [0, 1], or None.

    Returns:
        ``[B, M]`` weights whose rows sum to 1.
    """
    gated = torch.softmax(kl, dim=1) * teacher_correctness(ce, accuracy)
    total = gated.sum(1, keepdim=True)
    tiny = torch.finfo(gated.dtype).tiny
    return torch.where(total > tiny, gated / total.clamp_min(tiny), confidence_prior(ce))
