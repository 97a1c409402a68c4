"""What a detector's probe and passes give the detection adapters: typed shapes, passes and RoI batches."""
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..base import ModelPass, ModelShapes
from ..sample_batch import SampleBatch
from .layout import HeadLayout, decode_boxes

#: ``f((H, W)) -> [B, H, W]``: the positions of a map of that size that lie inside each image.
MaskOf = Callable[[Sequence[int]], torch.Tensor]


@dataclass(frozen=True)
class RoIHeadFacts:
    """What a two-stage detector's first RoI stage gives, for the checks of its teachers.

    Attributes:
        softmax: Whether its class scores are a softmax over ``num_classes + 1``.
        box_coding: Its box coder's type, means and stds, and whether it regresses decoded boxes.
        has_rcnn_cfg: Whether it has an ``rcnn`` train_cfg (its own RoI loss can be computed).
    """
    softmax: bool
    box_coding: Tuple[Any, ...]
    has_rcnn_cfg: bool


@dataclass
class DetectorShapes(ModelShapes):
    """A detector's probe.

    Attributes:
        head: Its head in words, for messages (``'RetinaHead'``, ``'FasterRCNN/Shared2FCBBoxHead'``).
        has_train_cfg: Whether its dense head or RPN can compute its own loss.
        layout: Its dense head's layout (dense detectors), else None.
        roi_head: Its first RoI stage (two-stage detectors), else None.
    """
    head: str = ''
    has_train_cfg: bool = False
    layout: Optional[HeadLayout] = None
    roi_head: Optional[RoIHeadFacts] = None

    @property
    def two_stage(self) -> bool:
        return self.roi_head is not None


@dataclass
class DetectorPass(ModelPass):
    """What every detector's pass gives the shared detection terms (feature KD, cosine).

    Attributes:
        mask_of: The batch's valid-position mask of a map of a given size.
        pooled: The FPN levels, each pooled over the positions inside each image (teachers, when their
            embedding is computed; the cosine reuses them).
    """
    mask_of: Optional[MaskOf] = None
    pooled: Optional[List[torch.Tensor]] = None


@dataclass
class DenseDetectorPass(DetectorPass):
    """A dense detector's pass; its ``logits`` are the flattened class scores ``[B, N, C]``.

    Attributes:
        head: Its ``bbox_head``.
        outs: The head's outputs (class scores, box predictions, ... per level).
        anchor_mask: Which flattened anchors lie inside their image, ``[B, N]``.
        decoded_boxes: The head's boxes decoded at its anchors, ``[B, N, 4]``, once :meth:`boxes` made them.
    """
    head: Optional[nn.Module] = None
    outs: Tuple[Any, ...] = ()
    anchor_mask: Optional[torch.Tensor] = None
    decoded_boxes: Optional[torch.Tensor] = field(default=None, repr=False)

    def boxes(self) -> torch.Tensor:
        """The head's box predictions decoded at its anchors, ``[B, N, 4]``, decoded on the first request."""
        if self.decoded_boxes is None:
            self.decoded_boxes = decode_boxes(self.head, self.outs[1])
        return self.decoded_boxes


@dataclass
class RoIBatch:
    """The RoIs a two-stage first stage is trained (or scored) on, with what the per-image terms need.

    Attributes:
        rois: ``[R, 5]`` (image index, box).
        image: The image of each RoI, ``[R]``.
        counts: The RoIs of each image, ``[B]``.
        sampling_results: mmdet's sampling results of the RoIs (their targets are made from them).
        rcnn_cfg: The ``rcnn`` train_cfg they were sampled with.
        rpn_batch: The batch as the RPN sees it (every ground-truth label 0).
        targets: The box head's targets of the RoIs (labels, label weights, box targets, box weights), where
            the training code already made them (the student's RoIs).
    """
    rois: torch.Tensor
    image: torch.Tensor
    counts: torch.Tensor
    sampling_results: list
    rcnn_cfg: Any
    rpn_batch: SampleBatch
    targets: Optional[Tuple[torch.Tensor, ...]] = None


@dataclass
class TwoStagePass(DetectorPass):
    """A two-stage detector's pass; its ``logits`` are the first stage's RoI class scores ``[R, C + 1]``.

    Attributes:
        roi: The RoIs scored (the student's sampled RoIs, or a teacher's own where the student has none).
        bbox_pred: The first stage's box deltas of the RoIs, ``[R, k]``.
        num_classes: The number of classes (student).
    """
    roi: Optional[RoIBatch] = None
    bbox_pred: Optional[torch.Tensor] = None
    num_classes: int = 0
