"""Where a dense detector's outputs lie: anchor-layout facts, flattened anchor order, masks of valid positions.

mmdet pads the images of a batch to one ``batch_input_shape``; the masks here tell which positions of a map
computed from the padded batch lie inside each image's ``img_shape``. They depend on the batch and the map
sizes only, so they are computed once per batch and shared by the student and every teacher.
"""
import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..sample_batch import SampleBatch

#: Layout facts compared between a logit/box-distilling teacher and the student (fields of :class:`HeadLayout`).
LAYOUT_KEYS = ('num_levels', 'strides', 'priors_per_location', 'base_prior_sizes')


@dataclass(frozen=True)
class HeadLayout:
    """Where a dense head's outputs lie, and what kind of scores and boxes it gives.

    Attributes:
        num_levels: Its number of output levels.
        strides: Per level, the prior generator's ``(w, h)`` stride.
        priors_per_location: Per level, the anchors (priors) at each position.
        base_prior_sizes: Per level, the sorted ``(w, h)`` of its base anchors (None for point heads).
        sigmoid: Whether its class scores are per-class sigmoids (one channel per class).
        anchor_head: Whether it is an mmdet ``AnchorHead`` whose boxes decode from anchor deltas.
    """
    num_levels: int
    strides: List[Tuple[int, ...]]
    priors_per_location: List[int]
    base_prior_sizes: Optional[List[list]]
    sigmoid: bool
    anchor_head: bool


def is_anchor_head(head: nn.Module) -> bool:
    """Whether ``head`` is an mmdet ``AnchorHead`` with a box coder (its boxes decode from anchor deltas)."""
    from mmdet.models.dense_heads import AnchorHead
    return isinstance(head, AnchorHead) and hasattr(head, 'bbox_coder')


def dense_head_has_train_cfg(head: nn.Module) -> bool:
    """Whether a dense head can compute its own loss: anchor heads assign targets with their ``train_cfg``,
    FCOS-like heads need none."""
    return getattr(head, 'train_cfg', None) is not None or not is_anchor_head(head)


def layout_facts(head: nn.Module, cls_scores: Sequence[torch.Tensor]) -> HeadLayout:
    """The head's anchor layout, found from its prior generator and one output."""
    num_classes = int(head.num_classes)
    cls_out = int(getattr(head, 'cls_out_channels', num_classes))
    generator = getattr(head, 'prior_generator', None)
    base = getattr(generator, 'base_anchors', None)
    return HeadLayout(
        num_levels=len(cls_scores),
        strides=[tuple(int(v) for v in s) for s in getattr(generator, 'strides', [])],
        priors_per_location=[int(c.shape[1]) // cls_out for c in cls_scores],
        base_prior_sizes=None if base is None else [
            sorted((round(float(a[2] - a[0]), 3), round(float(a[3] - a[1]), 3)) for a in level) for level in base],
        sigmoid=bool(getattr(head, 'use_sigmoid_cls', False)) and cls_out == num_classes,
        anchor_head=is_anchor_head(head),
    )


def flatten_levels(maps: Sequence[torch.Tensor], last_dim: int) -> torch.Tensor:
    """``[B, A * last_dim, H, W]`` per level to ``[B, sum_l H W A, last_dim]`` in mmdet's (h, w, a) order."""
    b = maps[0].shape[0]
    return torch.cat([m.permute(0, 2, 3, 1).reshape(b, -1, last_dim) for m in maps], 1)


def img_shapes(data_samples: Sequence[Any], batch_shape: Tuple[int, int]) -> List[Tuple[int, int]]:
    """``(h, w)`` of each image before padding (the batch shape where a sample has no ``img_shape``)."""
    shapes = []
    for sample in data_samples:
        shape = sample.metainfo.get('img_shape') if hasattr(sample, 'metainfo') else None
        shapes.append(tuple(int(v) for v in shape[:2]) if shape is not None else tuple(batch_shape))
    return shapes


def valid_mask(img_shapes: Sequence[Tuple[int, int]], batch_shape: Sequence[int], size: Sequence[int],
               device: torch.device, stride: Optional[Sequence[float]] = None) -> torch.Tensor:
    """Which positions of a ``size`` map computed from a padded batch lie inside each image: ``[B, H, W]``.

    A position counts when it is within ``ceil(img_h / stride_h)`` rows and ``ceil(img_w / stride_w)``
    columns, as in mmdet's ``AnchorGenerator.valid_flags``.

    Args:
        img_shapes: ``(h, w)`` of each image before padding.
        batch_shape: ``(H_pad, W_pad)`` of the padded batch.
        size: ``(H, W)`` of the map.
        device: Device of the mask.
        stride: ``(stride_h, stride_w)`` of the map; by default ``batch_shape / size``.
    """
    h, w = int(size[0]), int(size[1])
    sh, sw = (float(batch_shape[0]) / h, float(batch_shape[1]) / w) if stride is None else map(float, stride)
    rows = torch.tensor([min(h, math.ceil(ih / sh)) for ih, _ in img_shapes], device=device)
    cols = torch.tensor([min(w, math.ceil(iw / sw)) for _, iw in img_shapes], device=device)
    return ((torch.arange(h, device=device)[None, :, None] < rows[:, None, None])
            & (torch.arange(w, device=device)[None, None, :] < cols[:, None, None]))


class BatchMasks:
    """The valid-position masks of one batch, made once per map size and stride and shared by every model.

    Args:
        batch: The batch (its data samples, and the memo the masks are kept in).
        batch_shape: ``(H_pad, W_pad)`` of the padded batch.
        device: Device of the masks.
    """

    def __init__(self, batch: SampleBatch, batch_shape: Tuple[int, int], device: torch.device) -> None:
        self.batch = batch
        self.batch_shape = tuple(int(v) for v in batch_shape)
        self.device = device
        self.img_shapes = batch.memoized(('img_shapes', self.batch_shape),
                                         lambda: img_shapes(batch.data_samples, self.batch_shape))

    def spatial(self, size: Sequence[int], stride: Optional[Tuple[float, float]] = None) -> torch.Tensor:
        """``[B, H, W]`` mask of a map of ``size`` (with the head's ``(stride_h, stride_w)`` where known)."""
        size = (int(size[0]), int(size[1]))
        key = ('valid_mask', self.batch_shape, size, stride, str(self.device))
        return self.batch.memoized(key, lambda: valid_mask(self.img_shapes, self.batch_shape, size, self.device,
                                                           stride))

    def anchors(self, sizes: Sequence[Tuple[int, int]], strides: Sequence[Optional[Tuple[float, float]]],
                priors_per_location: Sequence[int]) -> torch.Tensor:
        """``[B, N]`` mask of the flattened anchors (``priors_per_location`` per position of each level)."""
        sizes = tuple((int(s[0]), int(s[1])) for s in sizes)
        key = ('anchor_mask', self.batch_shape, sizes, tuple(strides), tuple(priors_per_location), str(self.device))
        return self.batch.memoized(key, lambda: torch.cat([
            self.spatial(size, stride).flatten(1).repeat_interleave(a, dim=1)
            for size, stride, a in zip(sizes, strides, priors_per_location)
        ], 1))


def decode_boxes(head: nn.Module, bbox_preds: Sequence[torch.Tensor]) -> torch.Tensor:
    """An anchor head's box predictions decoded at its anchors: ``[B, N, 4]`` in the flattened anchor order."""
    from mmdet.structures.bbox import get_box_tensor
    b = bbox_preds[0].shape[0]
    sizes = [p.shape[-2:] for p in bbox_preds]
    priors = head.prior_generator.grid_priors(sizes, device=bbox_preds[0].device)
    priors = torch.cat([get_box_tensor(p) for p in priors], 0)
    deltas = flatten_levels(bbox_preds, head.bbox_coder.encode_size)
    boxes = head.bbox_coder.decode(priors.repeat(b, 1), deltas.reshape(-1, deltas.shape[-1]))
    return get_box_tensor(boxes).reshape(b, -1, 4)
