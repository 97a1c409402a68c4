"""A dense head's own detection loss, one value per image, with one target assignment per batch.

mmdet's ``loss_by_feat`` assigns targets and reduces the loss over the whole batch. The teacher-performance
term needs the loss of each image alone (normalised by that image's own positives), and the student needs
both its batch loss and its per-image losses. For ``AnchorHead`` heads (RetinaNet...) this module assigns
targets once per batch and *assignment key* (anchor generator, box coder, ``train_cfg``, classes: see
:func:`assignment_key`), so the student and every teacher with the student's anchor layout share one
assignment, and reduces the head's own loss modules per image in one batched call. FCOS heads get the same
treatment with their point targets (:func:`point_head_per_image_loss`), ATSS heads with theirs
(:mod:`.atss_losses`). Heads with other loss code (GFL, PAA, ...) run ``loss_by_feat`` on each image
(:func:`per_image_loss_by_image`).
"""
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, Hashable, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..batch_cache import memoized
from .layout import flatten_levels

#: What mmdet's ``weight_reduce_loss`` adds to an ``avg_factor``.
AVG_EPS = torch.finfo(torch.float32).eps


@contextmanager
def loss_mode(head: nn.Module) -> Iterator[nn.Module]:
    """Run a frozen teacher's head as its loss expects, its layers (BN, GN...) staying in eval mode.

    Some heads change their outputs with their own ``training`` flag (FCOS with ``norm_on_bbox`` scales the
    box distances by the stride only at inference); their loss functions expect the training-time outputs.
    Only the head module's own flag is set, not its children's.
    """
    was_training = head.training
    head.training = True
    try:
        yield head
    finally:
        head.training = was_training


def sum_loss_dict(losses: Dict[str, Any]) -> torch.Tensor:
    """Sum the terms of an mmdet loss dict the way mmengine's ``parse_losses`` does (keys with 'loss')."""
    total = None
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            v = v.mean()
            total = v if total is None else total + v
    if total is None:
        raise ValueError(f'the head returned no loss terms: {sorted(losses)}')
    return total


def per_image_loss_by_image(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]],
                            data_samples: Sequence[Any]) -> torch.Tensor:
    """``head.loss_by_feat`` on each image alone (its own target assignment each time): ``[B]``.

    The path of heads without a batched per-image reduction; the loss dict's terms are summed as mmengine
    does.
    """
    from mmdet.models.utils import unpack_gt_instances
    gts, ignores, metas = unpack_gt_instances(data_samples)
    losses = []
    for i in range(len(metas)):
        sliced = tuple([level[i:i + 1] for level in out] for out in outs)
        losses.append(sum_loss_dict(head.loss_by_feat(*sliced, [gts[i]], [metas[i]], [ignores[i]])))
    return torch.stack(losses)


# ------------------------------------------------------------------------------- shared anchor targets
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


def _describe(obj: Any) -> str:
    """A stable text of an object's configuration (type and plain attributes)."""
    if isinstance(obj, torch.Tensor):
        return repr(obj.detach().cpu().tolist())
    if isinstance(obj, (list, tuple)):
        return '[' + ','.join(_describe(o) for o in obj) + ']'
    if isinstance(obj, dict):
        return '{' + ','.join(f'{k}:{_describe(v)}' for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))) + '}'
    if isinstance(obj, (int, float, str, bool, type(None))):
        return repr(obj)
    attrs = {k: v for k, v in vars(obj).items() if not k.startswith('_')} if hasattr(obj, '__dict__') else {}
    return f'{type(obj).__module__}.{type(obj).__qualname__}' + _describe(attrs)


_ASSIGNMENT_KEYS: 'weakref.WeakKeyDictionary[nn.Module, str]' = weakref.WeakKeyDictionary()


def _cached_key(head: nn.Module, describe) -> str:
    """``describe(head)``, computed once per head (a head's configuration is fixed once built)."""
    key = _ASSIGNMENT_KEYS.get(head)
    if key is None:
        key = _ASSIGNMENT_KEYS[head] = describe(head)
    return key


def _anchor_key(head: nn.Module) -> str:
    gen = head.prior_generator
    return '|'.join([
        _describe([gen.strides, gen.base_anchors, getattr(gen, 'center_offset', 0.0)]),
        _describe(head.bbox_coder), _describe(head.train_cfg), repr(head.reg_decoded_bbox),
        repr(int(head.num_classes)), repr(int(head.cls_out_channels)),
    ])


def assignment_key(head: nn.Module) -> Hashable:
    """What an ``AnchorHead``'s targets depend on besides the batch: anchors, box coder, ``train_cfg``
    (assigner, sampler, allowed border, positive weight), classes. Heads with equal keys get equal targets."""
    return _cached_key(head, _anchor_key)


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


def memoized_targets(kind: str, head: nn.Module, cls_scores: Sequence[torch.Tensor], data_samples: Sequence[Any],
                     assign: Callable) -> Any:
    """``assign(head, sizes, device, data_samples)``, once per batch, ``kind``, assignment key of ``head``
    (:func:`assignment_key`), feature-map sizes and device."""
    sizes = tuple(tuple(int(v) for v in c.shape[-2:]) for c in cls_scores)
    device = cls_scores[0].device
    key = (kind, assignment_key(head), sizes, str(device))
    return memoized(data_samples, key, lambda: assign(head, sizes, device, data_samples))


def anchor_targets(head: nn.Module, cls_scores: Sequence[torch.Tensor], data_samples: Sequence[Any]) -> AnchorTargets:
    """The batch's targets for ``head``: assigned once per batch, feature-map sizes and assignment key."""
    return memoized_targets('anchor_targets', head, cls_scores, data_samples, _assign)


def _assign(head: nn.Module, sizes, device, data_samples) -> AnchorTargets:
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


def per_image_sum(values: torch.Tensor, batch: int) -> torch.Tensor:
    """Sum an elementwise loss over everything but the image (the leading ``B * n`` rows are image-major)."""
    if values.dim() == 0:  # mmdet's box losses return a 0-dim sum when no weight is positive
        return values.expand(batch) / batch
    return values.reshape(batch, -1).sum(1)


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


# -------------------------------------------------------------------------------- shared point targets
def batched_point_head(head: nn.Module) -> bool:
    """Whether ``head`` computes its loss with ``FCOSHead``'s own code (point targets, centerness-weighted box
    loss), so its targets can be shared and its loss reduced per image in one call."""
    from mmdet.models.dense_heads import FCOSHead
    if not isinstance(head, FCOSHead):
        return False
    cls = type(head)
    return all(getattr(cls, name) is getattr(FCOSHead, name)
               for name in ('loss_by_feat', 'get_targets', '_get_targets_single', 'centerness_target'))


def _point_key(head: nn.Module) -> str:
    gen = head.prior_generator
    return '|'.join([
        'points', _describe([gen.strides, getattr(gen, 'offset', 0.5)]), _describe(head.regress_ranges),
        repr(head.center_sampling), repr(head.center_sample_radius), repr(head.norm_on_bbox),
        repr(int(head.num_classes)),
    ])


def point_assignment_key(head: nn.Module) -> Hashable:
    """What an ``FCOSHead``'s targets depend on besides the batch: points, regress ranges, centre sampling,
    box normalisation, classes."""
    return _cached_key(head, _point_key)


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
                  data_samples: Sequence[Any]) -> PointTargets:
    """The batch's point targets for ``head``: assigned once per batch, feature-map sizes and assignment key."""
    cls_scores, bbox_preds = outs[0], outs[1]
    sizes = tuple(tuple(int(v) for v in c.shape[-2:]) for c in cls_scores)
    dtype, device = bbox_preds[0].dtype, bbox_preds[0].device
    key = ('point_targets', point_assignment_key(head), sizes, str(dtype), str(device))
    return memoized(data_samples, key, lambda: _assign_points(head, sizes, dtype, device, data_samples))


def _assign_points(head: nn.Module, sizes, dtype, device, data_samples) -> PointTargets:
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


# ----------------------------------------------------------------------------------------- entry points
def per_image_detection_loss(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]],
                             data_samples: Sequence[Any]) -> torch.Tensor:
    """A dense head's own detection loss against the ground truth, one value per image: ``[B]``.

    Each image's loss is normalised by its own positives (mmdet counts at least one, so an image without
    boxes gives the loss of its negatives), as ``head.loss_by_feat`` on that image alone would give. Anchor
    heads share the batch's target assignment (:func:`anchor_targets`), FCOS heads theirs
    (:func:`point_targets`), ATSS heads theirs (:func:`~.atss_losses.atss_targets`); other heads run per
    image.

    Args:
        head: The detector's ``bbox_head`` (in :func:`loss_mode` where its outputs depend on it).
        outs: The head's outputs (``head(x)``: class scores, box predictions, ... per level).
        data_samples: The batch's ``DetDataSample`` list.
    """
    if batched_anchor_head(head):
        return anchor_head_per_image_loss(head, outs, anchor_targets(head, outs[0], data_samples))
    if batched_point_head(head):
        return point_head_per_image_loss(head, outs, point_targets(head, outs, data_samples))
    from .atss_losses import atss_head_per_image_loss, atss_targets, batched_atss_head
    if batched_atss_head(head):
        return atss_head_per_image_loss(head, outs, atss_targets(head, outs[0], data_samples))
    return per_image_loss_by_image(head, outs, data_samples)


def detection_losses(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]], data_samples: Sequence[Any],
                     per_image: bool = True) -> Tuple[Dict[str, Any], Optional[torch.Tensor]]:
    """The student's head: its mmdet loss dict (with gradient) and its detached per-image loss ``[B]``.

    Both come from one target assignment for anchor and ATSS heads.

    Args:
        head: The student's ``bbox_head``.
        outs: The head's outputs.
        data_samples: The batch's ``DetDataSample`` list.
        per_image: Whether to compute the per-image loss (None in its place if not).
    """
    detached = tuple([o.detach() for o in out] for out in outs)
    if batched_anchor_head(head):
        targets = anchor_targets(head, outs[0], data_samples)
        losses = anchor_head_losses(head, outs, targets)
        if not per_image:
            return losses, None
        with torch.no_grad():
            return losses, anchor_head_per_image_loss(head, detached, targets)
    from .atss_losses import atss_head_losses, atss_head_per_image_loss, atss_targets, batched_atss_head
    if batched_atss_head(head):
        targets = atss_targets(head, outs[0], data_samples)
        losses = atss_head_losses(head, outs, targets)
        if not per_image:
            return losses, None
        with torch.no_grad():
            return losses, atss_head_per_image_loss(head, detached, targets)
    from mmdet.models.utils import unpack_gt_instances
    gts, ignores, metas = unpack_gt_instances(data_samples)
    losses = head.loss_by_feat(*outs, gts, metas, ignores)
    if not per_image:
        return losses, None
    with torch.no_grad():
        return losses, per_image_detection_loss(head, detached, data_samples)
