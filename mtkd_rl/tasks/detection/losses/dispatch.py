"""A dense head's own detection loss: the entry points, dispatched on the head's kind.

mmdet's ``loss_by_feat`` assigns targets and reduces the loss over the whole batch. The teacher-performance
term needs the loss of each image alone (normalised by that image's own positives), and the student needs
both its batch loss and its per-image losses. :data:`DENSE_HEAD_LOSSES` maps each kind of head whose loss
code this package reproduces batched (``AnchorHead``: :mod:`.anchor`, ``FCOSHead``: :mod:`.point`,
``ATSSHead``: :mod:`.atss`) to its functions; heads with other loss code (GFL, PAA, ...) run ``loss_by_feat``
on each image (:func:`~.loss_by_feat.per_image_loss_by_image`).
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ...sample_batch import BatchLike, SampleBatch
from .anchor import anchor_head_losses, anchor_head_per_image_loss, anchor_targets, batched_anchor_head
from .atss import atss_head_losses, atss_head_per_image_loss, atss_targets, batched_atss_head
from .loss_by_feat import per_image_loss_by_image
from .point import batched_point_head, point_head_per_image_loss, point_targets

HeadOutputs = Sequence[Sequence[torch.Tensor]]
StudentLosses = Tuple[Dict[str, Any], Optional[torch.Tensor]]


@dataclass(frozen=True)
class DenseHeadLosses:
    """The batched loss code of one kind of dense head.

    Attributes:
        handles: Whether a head is of this kind (computes its loss with the kind's own mmdet code).
        targets: ``f(head, outs, batch) -> targets``, the batch's targets, shared by every head of the same
            assignment in one :class:`~mtkd_rl.tasks.sample_batch.SampleBatch`.
        per_image_loss: ``f(head, outs, targets) -> [B]``, each image's loss alone.
        batch_losses: ``f(head, outs, targets) -> loss dict``, the batch loss dict from the same targets; None
            where the batch loss is the head's own ``loss_by_feat`` (FCOS).
    """
    handles: Callable[[nn.Module], bool]
    targets: Callable[[nn.Module, HeadOutputs, SampleBatch], Any]
    per_image_loss: Callable[[nn.Module, HeadOutputs, Any], torch.Tensor]
    batch_losses: Optional[Callable[[nn.Module, HeadOutputs, Any], Dict[str, Any]]] = None


#: mmdet head type -> its batched loss code, in the order the kinds are tried.
DENSE_HEAD_LOSSES: Dict[str, DenseHeadLosses] = {
    'AnchorHead': DenseHeadLosses(batched_anchor_head, lambda head, outs, batch: anchor_targets(head, outs[0], batch),
                                  anchor_head_per_image_loss, anchor_head_losses),
    'FCOSHead': DenseHeadLosses(batched_point_head, point_targets, point_head_per_image_loss),
    'ATSSHead': DenseHeadLosses(batched_atss_head, lambda head, outs, batch: atss_targets(head, outs[0], batch),
                                atss_head_per_image_loss, atss_head_losses),
}


def dense_head_losses(head: nn.Module) -> Optional[DenseHeadLosses]:
    """The batched loss functions of ``head``'s kind, or None for heads with other loss code."""
    for kind in DENSE_HEAD_LOSSES.values():
        if kind.handles(head):
            return kind
    return None


def per_image_detection_loss(head: nn.Module, outs: HeadOutputs, batch: BatchLike) -> torch.Tensor:
    """A dense head's own detection loss against the ground truth, one value per image: ``[B]``.

    Each image's loss is normalised by its own positives (mmdet counts at least one, so an image without
    boxes gives the loss of its negatives), as ``head.loss_by_feat`` on that image alone would give. Anchor
    heads share the batch's target assignment (:func:`~.anchor.anchor_targets`), FCOS heads theirs
    (:func:`~.point.point_targets`), ATSS heads theirs (:func:`~.atss.atss_targets`); other heads run per
    image.

    Args:
        head: The detector's ``bbox_head`` (in :func:`~.loss_by_feat.loss_mode` where its outputs depend on it).
        outs: The head's outputs (``head(x)``: class scores, box predictions, ... per level).
        batch: The batch's ``DetDataSample`` list; a :class:`~mtkd_rl.tasks.sample_batch.SampleBatch` shares
            its targets with every head of the same assignment.
    """
    batch = SampleBatch.of(batch)
    kind = dense_head_losses(head)
    if kind is None:
        return per_image_loss_by_image(head, outs, batch.data_samples)
    return kind.per_image_loss(head, outs, kind.targets(head, outs, batch))


def detection_losses(head: nn.Module, outs: HeadOutputs, batch: BatchLike,
                     per_image: bool = True) -> StudentLosses:
    """The student's head: its mmdet loss dict (with gradient) and its detached per-image loss ``[B]``.

    Both come from one target assignment for anchor and ATSS heads.

    Args:
        head: The student's ``bbox_head``.
        outs: The head's outputs.
        batch: The batch's ``DetDataSample`` list (a :class:`~mtkd_rl.tasks.sample_batch.SampleBatch` shares
            its targets).
        per_image: Whether to compute the per-image loss (None in its place if not).
    """
    batch = SampleBatch.of(batch)
    kind = dense_head_losses(head)
    targets = None
    if kind is not None and kind.batch_losses is not None:  # one assignment for both losses
        targets = kind.targets(head, outs, batch)
        losses = kind.batch_losses(head, outs, targets)
    else:
        from mmdet.models.utils import unpack_gt_instances
        gts, ignores, metas = unpack_gt_instances(batch.data_samples)
        losses = head.loss_by_feat(*outs, gts, metas, ignores)
    if not per_image:
        return losses, None
    detached = tuple([o.detach() for o in out] for out in outs)
    with torch.no_grad():
        if targets is not None:
            return losses, kind.per_image_loss(head, detached, targets)
        return losses, per_image_detection_loss(head, detached, batch)
