"""ATSS heads' detection loss, one value per image, with one target assignment per batch.

``ATSSHead`` assigns with its own ``get_targets`` (adaptive training sample selection, the number of anchors
per level) and adds a centerness branch, so it gets its own targets (:class:`ATSSTargets`, shared by ATSS
heads of one assignment key) and its own per-image reduction (:func:`atss_head_per_image_loss`). The batch
loss of an ATSS student comes from the same targets (:func:`atss_head_losses`).
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from ..layout import flatten_levels
from ...sample_batch import BatchLike, SampleBatch
from .assignment import memoized_targets
from .per_image import AVG_EPS, classification_per_image


def batched_atss_head(head: nn.Module) -> bool:
    """Whether ``head`` computes its loss with ``ATSSHead``'s own code and a ``PseudoSampler`` (each image
    normalised by its own positives), so its targets can be shared and its loss reduced per image in one
    call."""
    from mmdet.models.dense_heads import ATSSHead
    from mmdet.models.task_modules.samplers import PseudoSampler
    if not isinstance(head, ATSSHead) or getattr(head, 'train_cfg', None) is None:
        return False
    if not isinstance(getattr(head, 'sampler', None), PseudoSampler):
        return False
    cls = type(head)
    return all(getattr(cls, name) is getattr(ATSSHead, name)
               for name in ('loss_by_feat', 'loss_by_feat_single', 'get_targets', '_get_targets_single',
                            'centerness_target', 'get_anchors'))


@dataclass
class ATSSTargets:
    """The targets of one batch for ATSS heads of one assignment key (``ATSSHead.get_targets``, per level).

    Attributes:
        anchors: Per level, ``[B, n_l, 4]``.
        labels: Per level, ``[B, n_l]`` (``num_classes`` for background).
        label_weights: Per level, ``[B, n_l]``.
        bbox_targets: Per level, ``[B, n_l, 4]``.
        avg_factor: The batch's positives (what mmdet divides the batch loss by).
    """
    anchors: List[torch.Tensor]
    labels: List[torch.Tensor]
    label_weights: List[torch.Tensor]
    bbox_targets: List[torch.Tensor]
    avg_factor: Any


def atss_targets(head: nn.Module, cls_scores: Sequence[torch.Tensor], batch: BatchLike) -> ATSSTargets:
    """The batch's ATSS targets for ``head``: assigned once per batch, feature-map sizes and assignment key."""
    return memoized_targets('atss_targets', head, cls_scores, SampleBatch.of(batch), _assign_atss)


def _assign_atss(head: nn.Module, sizes: Sequence[Tuple[int, int]], device: torch.device,
                 data_samples: Sequence[Any]) -> ATSSTargets:
    """``head.get_targets`` (adaptive training sample selection) on the batch."""
    from mmdet.models.utils import unpack_gt_instances
    gts, ignores, metas = unpack_gt_instances(data_samples)
    with torch.no_grad():
        anchor_list, valid_flag_list = head.get_anchors([torch.Size(s) for s in sizes], metas, device=device)
        anchors, labels, label_weights, bbox_targets, _, avg_factor = head.get_targets(
            anchor_list, valid_flag_list, gts, metas, batch_gt_instances_ignore=ignores)
    return ATSSTargets(anchors, labels, label_weights, bbox_targets, avg_factor)


def atss_head_losses(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]],
                     targets: ATSSTargets) -> Dict[str, List[torch.Tensor]]:
    """The head's batch loss dict from given targets: what ``ATSSHead.loss_by_feat`` returns, term by term
    (with its cross-process averages of the normalisers under DDP)."""
    from mmdet.models.utils import multi_apply
    from mmdet.utils import reduce_mean
    cls_scores, bbox_preds, centernesses = outs[0], outs[1], outs[2]
    device = cls_scores[0].device
    avg_factor = reduce_mean(torch.tensor(targets.avg_factor, dtype=torch.float, device=device)).item()
    losses_cls, losses_bbox, loss_centerness, bbox_avg_factor = multi_apply(
        head.loss_by_feat_single, targets.anchors, cls_scores, bbox_preds, centernesses, targets.labels,
        targets.label_weights, targets.bbox_targets, avg_factor=avg_factor)
    bbox_avg_factor = reduce_mean(sum(bbox_avg_factor)).clamp_(min=1).item()
    return dict(loss_cls=losses_cls, loss_bbox=[x / bbox_avg_factor for x in losses_bbox],
                loss_centerness=loss_centerness)


def atss_head_per_image_loss(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]],
                             targets: ATSSTargets) -> torch.Tensor:
    """An ATSS head's loss of each image alone, ``[B]``, from the batch's targets in one call per loss module.

    Equal to ``loss_by_feat`` on each image: classification and centerness divided by the image's positives
    (at least one), the centerness-weighted box loss by the image's sum of centerness targets (at least one);
    without re-assigning per image and without the cross-process averages ``loss_by_feat`` makes under DDP.
    """
    cls_scores, bbox_preds, centernesses = outs[0], outs[1], outs[2]
    b = cls_scores[0].shape[0]
    labels = torch.cat(targets.labels, 1)
    n = labels.shape[1]
    loss, positive, num_pos = classification_per_image(head, cls_scores, labels,
                                                       torch.cat(targets.label_weights, 1))

    index = positive.reshape(-1).nonzero().squeeze(1)  # the one host sync, as in loss_by_feat
    if index.numel() == 0:
        return loss
    image = torch.div(index, n, rounding_mode='floor')
    anchors = torch.cat(targets.anchors, 1).reshape(-1, 4)[index]
    pos_targets = torch.cat(targets.bbox_targets, 1).reshape(-1, 4)[index]
    centerness_targets = head.centerness_target(anchors, pos_targets)
    preds = flatten_levels(bbox_preds, 4).reshape(-1, 4)[index]
    loss_bbox = head.loss_bbox(head.bbox_coder.decode(anchors, preds), pos_targets, weight=centerness_targets,
                               reduction_override='none')
    centerness = flatten_levels(centernesses, 1).reshape(-1)[index]
    loss_centerness = head.loss_centerness(centerness, centerness_targets, reduction_override='none')
    if loss_bbox.dim() == 0:  # mmdet's IoU losses return a 0-dim zero when no weight is positive
        loss_bbox = loss_bbox.expand(index.numel())
    zeros = loss.new_zeros(b)
    # the box loss: mmdet's avg_factor=1.0, then the image's centerness sum (at least one)
    denorm = zeros.index_add(0, image, centerness_targets.to(zeros.dtype)).clamp(min=1)
    loss_bbox = zeros.index_add(0, image, loss_bbox.reshape(index.numel(), -1).sum(1)) / (1.0 + AVG_EPS)
    loss = loss + loss_bbox / denorm
    return loss + zeros.index_add(0, image, loss_centerness.reshape(-1)) / (num_pos + AVG_EPS)
