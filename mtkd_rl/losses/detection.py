"""Per-image distillation losses for dense detectors (RetinaNet-style heads with sigmoid class scores).

Both losses take the head outputs of all FPN levels flattened to one anchor axis, ``[B, N, ...]`` with
``N = sum_l H_l * W_l * A`` in mmdet's ``(h, w, anchor)`` order, and a validity mask ``[B, N]`` that removes
the anchors lying on the padding mmdet adds to batch images of different sizes. FPN feature distillation uses
:class:`~mtkd_rl.losses.FeatureMSE` with a spatial mask.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mtkd_rl.options import check_number
from mtkd_rl.registry import MODELS
from .logit import reduce_per_sample


@MODELS.register_module()
class DenseSigmoidKL(nn.Module):
    """Binary KL divergence between teacher and student sigmoid class scores at aligned anchors.

    For every anchor and class, with ``p = sigmoid(z / T)``:
    ``KL = p_t (log p_t - log p_s) + (1 - p_t) (log(1 - p_t) - log(1 - p_s))``. The loss of an image is
    ``T^2`` times the per-anchor sum over classes, averaged over the image's valid anchors (0 when it has
    none).

    Args:
        temperature: The softening temperature T.
        loss_weight: The weight of this term in the student objective, applied to the returned loss.
    """

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = check_number(temperature, 'DenseSigmoidKL.temperature', minimum=0, min_inclusive=False)
        self.loss_weight = check_number(loss_weight, 'DenseSigmoidKL.loss_weight', minimum=0)

    def forward(self,
                student: torch.Tensor,
                teacher: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the per-image loss.

        Args:
            student: Student class logits, ``[B, N, C]``.
            teacher: Teacher class logits of the same shape (no gradient flows into them).
            mask: Optional anchor validity mask ``[B, N]`` (true = counted).

        Returns:
            ``loss_weight`` times the loss, shape ``[B]``.
        """
        if student.shape != teacher.shape:
            raise ValueError(f'DenseSigmoidKL compares aligned anchors: student scores {tuple(student.shape)} '
                             f'and teacher scores {tuple(teacher.shape)} differ')
        t = self.temperature
        s = student / t
        q = teacher.detach() / t
        p_t = torch.sigmoid(q)
        kl = p_t * (F.logsigmoid(q) - F.logsigmoid(s)) + (1.0 - p_t) * (F.logsigmoid(-q) - F.logsigmoid(-s))
        return self.loss_weight * reduce_per_sample(kl.sum(-1) * t**2, mask)


@MODELS.register_module()
class BoxGIoUKD(nn.Module):
    """Regression distillation toward the teacher's decoded boxes on the teacher's confident anchors.

    An anchor counts when it is valid and the teacher's highest class score there is at least
    ``score_thr``; it weighs that score. The loss of an image is the score-weighted mean of
    ``1 - GIoU(student box, teacher box)`` over the counted anchors, 0 when none counts.

    Args:
        score_thr: Smallest teacher score (max over classes, after sigmoid) of a counted anchor.
        loss_weight: The weight of this term in the student objective, applied to the returned loss.
        eps: Guards the weight normalisation and the GIoU union.
    """

    def __init__(self, score_thr: float = 0.5, loss_weight: float = 1.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.score_thr = check_number(score_thr, 'BoxGIoUKD.score_thr', minimum=0, maximum=1)
        self.loss_weight = check_number(loss_weight, 'BoxGIoUKD.loss_weight', minimum=0)
        self.eps = check_number(eps, 'BoxGIoUKD.eps', minimum=0, min_inclusive=False)

    def forward(self,
                student_boxes: torch.Tensor,
                teacher_boxes: torch.Tensor,
                teacher_scores: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the per-image loss.

        Args:
            student_boxes: Student boxes decoded at each anchor, ``[B, N, 4]`` (x1, y1, x2, y2).
            teacher_boxes: Teacher boxes decoded at the same anchors, ``[B, N, 4]``.
            teacher_scores: The teacher's highest class probability at each anchor, ``[B, N]``.
            mask: Optional anchor validity mask ``[B, N]``.

        Returns:
            ``loss_weight`` times the loss, shape ``[B]``.
        """
        from mmdet.structures.bbox import bbox_overlaps
        if student_boxes.shape != teacher_boxes.shape or student_boxes.shape[:-1] != teacher_scores.shape:
            raise ValueError(f'BoxGIoUKD compares aligned anchors: student boxes {tuple(student_boxes.shape)}, '
                             f'teacher boxes {tuple(teacher_boxes.shape)}, teacher scores '
                             f'{tuple(teacher_scores.shape)}')
        scores = teacher_scores.detach()
        weight = scores * (scores >= self.score_thr).to(scores.dtype)
        if mask is not None:
            weight = weight * mask.to(scores.dtype)
        b = student_boxes.shape[0]
        giou = bbox_overlaps(student_boxes.reshape(-1, 4), teacher_boxes.detach().reshape(-1, 4), mode='giou',
                             is_aligned=True, eps=self.eps).reshape(b, -1)
        return self.loss_weight * ((1.0 - giou) * weight).sum(1) / weight.sum(1).clamp_min(self.eps)
