"""Anchor heads (``AnchorHead``: RetinaNet's head, plain anchor heads): shared targets, batch and per-image loss.

Targets are assigned once per batch and assignment key (:func:`~.assignment.assignment_key`), so the student
and every teacher with the student's anchor layout share one assignment, and the head's own loss modules are
reduced per image in one batched call.
"""
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from ..layout import flatten_levels
from ...sample_batch import BatchLike, SampleBatch
from .assignment import memoized_targets
from .per_image import AVG_EPS, per_image_sum


def batched_anchor_head(head: nn.Module) -> bool:
    """Whether ``head`` computes its loss with ``AnchorHead``'s own code (assignment and reduction), so its
    targets can be shared and its loss reduced per image in one call (RetinaNet's head, plain anchor heads)."""
    from mmdet.models.dense_heads import AnchorHead
    if not isinstance(head, AnchorHead) or getattr(head, 'train_cfg', None) is None:
        return False
    cls = type(head)
    return all(getattr(cls, name) is getattr(AnchorHead, name)
               for name in ('loss_by_feat', 'loss_by_feat_single', 'get_targets', '_get_targets_single',
                            'get_anchors'))


@dataclass
class AnchorTargets:
    """The targets of one batch for heads of one assignment key (mmdet's ``get_targets``, per level).

    Attributes:
        anchors: Per level, the anchors of every image, ``[B, n_l, 4]``.
        labels: Per level, ``[B, n_l]``.
        label_weights: Per level, ``[B, n_l]``.
        bbox_targets: Per level, ``[B, n_l, k]``.
        bbox_weights: Per level, ``[B, n_l, k]``.
        avg_factor: The batch's normaliser (what mmdet divides the batch loss by).
        image_avg_factors: Each image's normaliser, ``[B]`` (what its loss alone is divided by).
    """
    anchors: List[torch.Tensor]
    labels: List[torch.Tensor]
    label_weights: List[torch.Tensor]
    bbox_targets: List[torch.Tensor]
    bbox_weights: List[torch.Tensor]
    avg_factor: Any
    image_avg_factors: torch.Tensor


def anchor_targets(head: nn.Module, cls_scores: Sequence[torch.Tensor], batch: BatchLike) -> AnchorTargets:
    """The batch's targets for ``head``: assigned once per batch, feature-map sizes and assignment key."""
    return memoized_targets('anchor_targets', head, cls_scores, SampleBatch.of(batch), _assign_anchors)


def _assign_anchors(head: nn.Module, sizes: Sequence[Tuple[int, int]], device: torch.device,
                    data_samples: Sequence[Any]) -> AnchorTargets:
    """``head.get_targets`` on the batch, its per-image sampling normalisers kept."""
    from mmdet.models.utils import images_to_levels, unpack_gt_instances
    from mmdet.structures.bbox import cat_boxes
    gts, ignores, metas = unpack_gt_instances(data_samples)
    with torch.no_grad():
        anchor_list, valid_flag_list = head.get_anchors([torch.Size(s) for s in sizes], metas, device=device)
        (labels, label_weights, bbox_targets, bbox_weights, avg_factor,
         sampling_results) = head.get_targets(anchor_list, valid_flag_list, gts, metas,
                                              batch_gt_instances_ignore=ignores, return_sampling_results=True)
        num_level_anchors = [a.size(0) for a in anchor_list[0]]
        anchors = images_to_levels([cat_boxes(a) for a in anchor_list], num_level_anchors)
        image_avg = torch.tensor([float(r.avg_factor) for r in sampling_results], device=device)
    return AnchorTargets(anchors, labels, label_weights, bbox_targets, bbox_weights, avg_factor, image_avg)


def anchor_head_losses(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]],
                       targets: AnchorTargets) -> Dict[str, List[torch.Tensor]]:
    """The head's batch loss dict from given targets: what ``AnchorHead.loss_by_feat`` returns, term by term."""
    from mmdet.models.utils import multi_apply
    cls_scores, bbox_preds = outs[0], outs[1]
    losses_cls, losses_bbox = multi_apply(head.loss_by_feat_single, cls_scores, bbox_preds, targets.anchors,
                                          targets.labels, targets.label_weights, targets.bbox_targets,
                                          targets.bbox_weights, avg_factor=targets.avg_factor)
    return dict(loss_cls=losses_cls, loss_bbox=losses_bbox)


def anchor_head_per_image_loss(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]],
                               targets: AnchorTargets) -> torch.Tensor:
    """The head's loss of each image alone, ``[B]``, from the batch's targets in one call per loss module.

    Equal to ``loss_by_feat`` on each image (its loss modules reduced over the image and divided by the
    image's own normaliser, as mmdet's ``weight_reduce_loss`` does), without re-assigning per image.
    """
    from mmdet.structures.bbox import get_box_tensor
    cls_scores, bbox_preds = outs[0], outs[1]
    b = cls_scores[0].shape[0]
    c = head.cls_out_channels
    scores = flatten_levels(cls_scores, c)
    labels = torch.cat(targets.labels, 1)
    label_weights = torch.cat(targets.label_weights, 1)
    loss_cls = head.loss_cls(scores.reshape(-1, c), labels.reshape(-1), label_weights.reshape(-1),
                             reduction_override='none')
    k = head.bbox_coder.encode_size
    preds = flatten_levels(bbox_preds, k).reshape(-1, k)
    bbox_targets = torch.cat(targets.bbox_targets, 1)
    bbox_targets = bbox_targets.reshape(-1, bbox_targets.shape[-1])
    bbox_weights = torch.cat(targets.bbox_weights, 1)
    bbox_weights = bbox_weights.reshape(-1, bbox_weights.shape[-1])
    if head.reg_decoded_bbox:
        anchors = torch.cat(targets.anchors, 1)
        preds = get_box_tensor(head.bbox_coder.decode(anchors.reshape(-1, anchors.shape[-1]), preds))
    loss_bbox = head.loss_bbox(preds, bbox_targets, bbox_weights, reduction_override='none')
    return (per_image_sum(loss_cls, b) + per_image_sum(loss_bbox, b)) / (targets.image_avg_factors + AVG_EPS)
