"""A two-stage detector's own loss on each image: its RPN loss and its first RoI stage's loss on given RoIs.

The student's sampled RoIs are what every two-stage teacher is scored on; a one-stage student has none, so a
two-stage teacher in its pool samples its own (:func:`own_sampled_rois`).
"""
from typing import Any, Callable, Dict, Sequence, Tuple

import torch
import torch.nn as nn

from ..sample_batch import SampleBatch
from .losses import anchor_head_per_image_loss, anchor_targets, loss_mode, per_image_loss_by_image
from .passes import RoIBatch


def is_two_stage(model: nn.Module) -> bool:
    """Whether ``model`` is an mmdet two-stage detector with an RPN and a RoI head."""
    return getattr(model, 'rpn_head', None) is not None and getattr(model, 'roi_head', None) is not None


def first_stage(roi_head: nn.Module) -> Tuple[nn.Module, nn.Module, Callable, Any]:
    """The box head, RoI extractor, box forward (``f(x, rois) -> dict``) and train_cfg of a RoI head's
    first stage (the only stage of a ``StandardRoIHead``)."""
    if isinstance(roi_head.bbox_head, nn.ModuleList):  # CascadeRoIHead
        cfg = roi_head.train_cfg[0] if roi_head.train_cfg is not None else None
        return (roi_head.bbox_head[0], roi_head.bbox_roi_extractor[0],
                lambda x, rois: roi_head._bbox_forward(0, x, rois), cfg)
    return roi_head.bbox_head, roi_head.bbox_roi_extractor, roi_head._bbox_forward, roi_head.train_cfg


def _rpn_view(data_samples: Sequence[Any]) -> list:
    out = []
    for sample in data_samples:
        rpn = sample.clone()
        rpn.gt_instances.labels = torch.zeros_like(sample.gt_instances.labels)
        out.append(rpn)
    return out


def rpn_batch(batch: SampleBatch) -> SampleBatch:
    """The batch as the RPN sees it (every ground-truth label 0), made once per batch."""
    return batch.derived('rpn', _rpn_view)


def rpn_per_image_loss(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]], batch: SampleBatch) -> torch.Tensor:
    """An RPN's own loss on each image alone, ``[B]``, with the batch's anchor targets shared by every RPN of
    the same assignment key (an ``RPNHead`` only renames ``AnchorHead``'s loss terms).

    Args:
        head: The RPN head (in :func:`~.losses.loss_mode`).
        outs: Its outputs.
        batch: The batch as the RPN sees it (:func:`rpn_batch`).
    """
    from mmdet.models.dense_heads import AnchorHead, RPNHead
    cls = type(head)
    if isinstance(head, RPNHead) and cls.loss_by_feat is RPNHead.loss_by_feat and all(
            getattr(cls, n) is getattr(AnchorHead, n)
            for n in ('loss_by_feat_single', 'get_targets', '_get_targets_single', 'get_anchors')):
        return anchor_head_per_image_loss(head, outs, anchor_targets(head, outs[0], batch))
    return per_image_loss_by_image(head, outs, batch.data_samples)


def per_image_mean(values: torch.Tensor, image: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Average per-RoI ``values`` ``[N]`` over each image's RoIs: ``[B]`` (0 for an image without RoIs)."""
    total = values.new_zeros(counts.shape[0]).index_add(0, image, values)
    return total / counts.clamp_min(1).to(values.dtype)


def class_deltas(bbox_pred: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The box deltas ``[N, k]`` of class ``labels`` (the only ones for class-agnostic regression)."""
    if bbox_pred.shape[1] == num_classes * 4 and num_classes > 1:
        rows = torch.arange(labels.shape[0], device=labels.device)
        return bbox_pred.view(bbox_pred.shape[0], num_classes, -1)[rows, labels]
    return bbox_pred


def roi_per_image_loss(bbox_head: nn.Module, cls_score: torch.Tensor, bbox_pred: torch.Tensor,
                       rois: torch.Tensor, targets: Sequence[torch.Tensor], image: torch.Tensor,
                       counts: torch.Tensor) -> torch.Tensor:
    """A box head's class and box loss on each image's RoIs alone, ``[B]``: mmdet's ``BBoxHead.loss`` terms
    reduced per RoI (``reduction_override='none'``) and divided by the image's RoI count, as mmdet divides the
    batch's sums by the batch's."""
    from mmdet.structures.bbox import get_box_tensor
    labels, label_weights, bbox_targets, bbox_weights = targets
    per_roi = bbox_head.loss_cls(cls_score, labels, label_weights, reduction_override='none')
    # every RoI at once (no host sync to select positives): negatives have zero box weights
    pred = bbox_pred
    if bbox_head.reg_decoded_bbox:
        pred = get_box_tensor(bbox_head.bbox_coder.decode(rois[:, 1:], pred))
    num_classes = bbox_head.num_classes
    pred = class_deltas(pred, labels.clamp(max=num_classes - 1), num_classes)
    pos = ((labels >= 0) & (labels < num_classes)).to(pred.dtype)
    box = bbox_head.loss_bbox(pred, bbox_targets, bbox_weights, reduction_override='none')
    # mmdet's box losses return a 0-dim zero when no weight is positive
    per_roi = per_roi + (box.reshape(box.shape[0], -1).sum(1) * pos if box.dim() > 0 else box)
    return per_image_mean(per_roi, image, counts)


def _coding_key(bbox_head: nn.Module) -> str:
    """What a box head's targets depend on besides the sampling: classes, box coder, decoded regression."""
    coder = bbox_head.bbox_coder
    return repr((int(bbox_head.num_classes), type(coder).__name__, getattr(coder, 'means', None),
                 getattr(coder, 'stds', None), bool(bbox_head.reg_decoded_bbox)))


def two_stage_loss(model: nn.Module, feats: Sequence[torch.Tensor],
                   roi: RoIBatch) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    """A two-stage model's per-image RPN + RoI loss on ``feats`` and its first stage's outputs on ``roi``."""
    bbox_head, _, bbox_forward, rcnn_cfg = first_stage(model.roi_head)
    with loss_mode(model.rpn_head) as rpn_head:
        rpn_loss = rpn_per_image_loss(rpn_head, rpn_head(list(feats)), roi.rpn_batch)
    out = bbox_forward(tuple(feats), roi.rois)
    targets = roi.rpn_batch.memoized(
        ('rcnn_targets', id(roi.sampling_results), _coding_key(bbox_head), repr(rcnn_cfg)),
        lambda: bbox_head.get_targets(roi.sampling_results, rcnn_cfg or roi.rcnn_cfg))
    roi_loss = roi_per_image_loss(bbox_head, out['cls_score'], out['bbox_pred'], roi.rois, targets, roi.image,
                                  roi.counts)
    return rpn_loss + roi_loss, out


def roi_batch(rois: torch.Tensor, sampling_results: list, rcnn_cfg: Any, batch: SampleBatch) -> RoIBatch:
    """The sampled RoIs of a batch with what the per-image terms need (image index, RoIs per image)."""
    image = rois[:, 0].long()
    counts = image.new_zeros(len(batch)).index_add(0, image, torch.ones_like(image))
    return RoIBatch(rois=rois, image=image, counts=counts, sampling_results=sampling_results, rcnn_cfg=rcnn_cfg,
                    rpn_batch=rpn_batch(batch))


def own_sampled_rois(model: nn.Module, feats: Sequence[torch.Tensor], batch: SampleBatch) -> RoIBatch:
    """A two-stage model's own RoIs as its training samples them: its RPN's proposals (``rpn_proposal``
    settings), assigned and sampled by its first stage's assigner and sampler (ground truth added where its
    sampler adds it). Used where no two-stage student gives RoIs."""
    from mmdet.models.utils import unpack_gt_instances
    from mmdet.structures.bbox import bbox2roi
    roi_head = model.roi_head
    _, _, _, rcnn_cfg = first_stage(roi_head)
    assigner, sampler = roi_head.bbox_assigner, roi_head.bbox_sampler
    if isinstance(assigner, (list, tuple)):  # CascadeRoIHead
        assigner, sampler = assigner[0], sampler[0]
    gts, ignores, metas = unpack_gt_instances(batch.data_samples)
    proposal_cfg = model.train_cfg.get('rpn_proposal', model.test_cfg.rpn)
    with loss_mode(model.rpn_head) as rpn_head:
        proposals = rpn_head.predict_by_feat(*rpn_head(list(feats)), batch_img_metas=metas, cfg=proposal_cfg,
                                             rescale=False)
    results = []
    for i, proposal in enumerate(proposals):
        proposal.priors = proposal.pop('bboxes')
        assigned = assigner.assign(proposal, gts[i], ignores[i])
        results.append(sampler.sample(assigned, proposal, gts[i], feats=[level[i][None] for level in feats]))
    return roi_batch(bbox2roi([r.priors for r in results]), results, rcnn_cfg, batch)
