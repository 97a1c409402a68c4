"""Per-image reductions shared by the batched heads: an elementwise loss summed per image, the
classification loss of each image over its own positives, and mmdet's ``avg_factor`` epsilon."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..layout import flatten_levels

#: What mmdet's ``weight_reduce_loss`` adds to an ``avg_factor``.
AVG_EPS = torch.finfo(torch.float32).eps


def per_image_sum(values: torch.Tensor, batch: int) -> torch.Tensor:
    """Sum an elementwise loss over everything but the image (the leading ``B * n`` rows are image-major)."""
    if values.dim() == 0:  # mmdet's box losses return a 0-dim sum when no weight is positive
        return values.expand(batch) / batch
    return values.reshape(batch, -1).sum(1)


def classification_per_image(head: nn.Module, cls_scores: Sequence[torch.Tensor], labels: torch.Tensor,
                             label_weights: Optional[torch.Tensor] = None
                             ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The classification loss of each image alone over its positives (at least one), as heads normalised by
    their positives compute it (FCOS, ATSS).

    Args:
        head: The head (its ``loss_cls``, ``cls_out_channels``, ``num_classes``).
        cls_scores: Per level, ``[B, A * C, H, W]``.
        labels: ``[B, N]`` over all levels (``num_classes`` for background).
        label_weights: ``[B, N]``, or None.

    Returns:
        ``[B]`` losses, the ``[B, N]`` positive mask and the ``[B]`` positive counts (at least one).
    """
    b, c = cls_scores[0].shape[0], head.cls_out_channels
    scores = flatten_levels(cls_scores, c).reshape(-1, c)
    positive = (labels >= 0) & (labels < head.num_classes)
    num_pos = positive.sum(1).clamp(min=1).to(scores.dtype)
    weights = label_weights.reshape(-1) if label_weights is not None else None
    loss_cls = head.loss_cls(scores, labels.reshape(-1), weights, reduction_override='none')
    return per_image_sum(loss_cls, b) / (num_pos + AVG_EPS), positive, num_pos
