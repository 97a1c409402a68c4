"""Point heads (``FCOSHead``): shared point targets and the per-image loss.

Point targets are assigned once per batch and assignment key (:func:`point_assignment_key`); the head's loss
modules are reduced per image in one batched call. The batch loss of an FCOS student is its own
``loss_by_feat`` (see :mod:`.dispatch`).
"""
from dataclasses import dataclass
from typing import Any, Hashable, Sequence, Tuple

import torch
import torch.nn as nn

from ...sample_batch import BatchLike, SampleBatch
from ..layout import flatten_levels
from .assignment import cached_assignment_key, describe_config
from .per_image import AVG_EPS, classification_per_image


def batched_point_head(head: nn.Module) -> bool:
    """Whether ``head`` computes its loss with ``FCOSHead``'s own code (point targets, centerness-weighted box
    loss), so its targets can be shared and its loss reduced per image in one call."""
    from mmdet.models.dense_heads import FCOSHead
    if not isinstance(head, FCOSHead):
        return False
    cls = type(head)
    return all(getattr(cls, name) is getattr(FCOSHead, name)
               for name in ('loss_by_feat', 'get_targets', '_get_targets_single', 'centerness_target'))


def _describe_point_assignment(head: nn.Module) -> str:
    """The text of an ``FCOSHead``'s points, regress ranges, centre sampling, box normalisation and classes."""
    gen = head.prior_generator
    return '|'.join([
        'points', describe_config([gen.strides, getattr(gen, 'offset', 0.5)]), describe_config(head.regress_ranges),
        repr(head.center_sampling), repr(head.center_sample_radius), repr(head.norm_on_bbox),
        repr(int(head.num_classes)),
    ])


def point_assignment_key(head: nn.Module) -> Hashable:
    """What an ``FCOSHead``'s targets depend on besides the batch: points, regress ranges, centre sampling,
    box normalisation, classes."""
    return cached_assignment_key(head, _describe_point_assignment)


@dataclass
class PointTargets:
    """The targets of one batch for FCOS heads of one assignment key, image-major over all levels.

    Attributes:
        points: The points of one image, all levels, ``[N, 2]``.
        labels: ``[B, N]`` (``num_classes`` for background).
        bbox_targets: ``[B, N, 4]`` distances to the box sides (divided by the stride with ``norm_on_bbox``).
    """
    points: torch.Tensor
    labels: torch.Tensor
    bbox_targets: torch.Tensor


def point_targets(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]],
                  batch: BatchLike) -> PointTargets:
    """The batch's point targets for ``head``: assigned once per batch, feature-map sizes and assignment key."""
    cls_scores, bbox_preds = outs[0], outs[1]
    sizes = tuple(tuple(int(v) for v in c.shape[-2:]) for c in cls_scores)
    dtype, device = bbox_preds[0].dtype, bbox_preds[0].device
    key = ('point_targets', point_assignment_key(head), sizes, str(dtype), str(device))
    batch = SampleBatch.of(batch)
    return batch.memoized(key, lambda: _assign_points(head, sizes, dtype, device, batch.data_samples))


def _assign_points(head: nn.Module, sizes: Sequence[Tuple[int, int]], dtype: torch.dtype, device: torch.device,
                   data_samples: Sequence[Any]) -> PointTargets:
    """``head.get_targets`` on the batch's points, regrouped image-major over all levels."""
    from mmdet.models.utils import unpack_gt_instances
    gts, _, _ = unpack_gt_instances(data_samples)
    b = len(gts)
    with torch.no_grad():
        points = head.prior_generator.grid_priors([torch.Size(s) for s in sizes], dtype=dtype, device=device)
        labels, bbox_targets = head.get_targets(points, gts)  # per level, [B * n_l], image-major
    return PointTargets(torch.cat(points), torch.cat([x.reshape(b, -1) for x in labels], 1),
                        torch.cat([x.reshape(b, -1, 4) for x in bbox_targets], 1))


def point_head_per_image_loss(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]],
                              targets: PointTargets) -> torch.Tensor:
    """An FCOS head's loss of each image alone, ``[B]``, from the batch's targets in one call per loss module.

    Equal to ``loss_by_feat`` on each image (classification and centerness divided by the image's positives,
    at least one; the centerness-weighted box loss by the image's sum of centerness targets), without
    re-assigning per image and without the cross-process averages of the normalisers that ``loss_by_feat``
    makes under DDP (each image is normalised by its own).
    """
    cls_scores, bbox_preds, centernesses = outs[0], outs[1], outs[2]
    b = cls_scores[0].shape[0]
    preds = flatten_levels(bbox_preds, 4).reshape(-1, 4)
    centerness = flatten_levels(centernesses, 1).reshape(-1)
    labels = targets.labels
    loss, positive, num_pos = classification_per_image(head, cls_scores, labels)

    index = positive.reshape(-1).nonzero().squeeze(1)  # the one host sync, as in loss_by_feat
    if index.numel() == 0:
        return loss
    image = torch.div(index, labels.shape[1], rounding_mode='floor')
    pos_targets = targets.bbox_targets.reshape(-1, 4)[index]
    centerness_targets = head.centerness_target(pos_targets)
    points = targets.points[index - image * labels.shape[1]]
    loss_bbox = head.loss_bbox(head.bbox_coder.decode(points, preds[index]),
                               head.bbox_coder.decode(points, pos_targets), weight=centerness_targets,
                               reduction_override='none')
    loss_centerness = head.loss_centerness(centerness[index], centerness_targets, reduction_override='none')
    if loss_bbox.dim() == 0:  # mmdet's IoU losses return a 0-dim zero when no weight is positive
        loss_bbox = loss_bbox.expand(index.numel())
    zeros = loss.new_zeros(b)
    denorm = zeros.index_add(0, image, centerness_targets.to(zeros.dtype)).clamp(min=1e-6)
    loss = loss + zeros.index_add(0, image, loss_bbox.reshape(index.numel(), -1).sum(1)) / (denorm + AVG_EPS)
    return loss + zeros.index_add(0, image, loss_centerness.reshape(-1)) / (num_pos + AVG_EPS)
