"""Pixel maps of a segmentation batch: logits and labels resized to one size, valid-pixel masks, per-image
cross-entropy over the valid pixels. Labels and masks are made once per batch (:func:`batch_labels`)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from mtkd_rl.losses.logit import reduce_per_sample
from .sample_batch import SampleBatch


def resize_logits(logits: torch.Tensor, size: Sequence[int], align_corners: bool = False) -> torch.Tensor:
    """Bilinear resize of ``[B, C, h, w]`` logits to ``size`` (no-op when already that size)."""
    size = tuple(int(s) for s in size)
    if tuple(logits.shape[-2:]) == size:
        return logits
    return F.interpolate(logits, size=size, mode='bilinear', align_corners=align_corners)


def resize_labels(labels: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Nearest-neighbour resize of ``[B, H, W]`` integer labels to ``size``."""
    size = tuple(int(s) for s in size)
    if tuple(labels.shape[-2:]) == size:
        return labels
    return F.interpolate(labels[:, None].float(), size=size, mode='nearest')[:, 0].to(labels.dtype)


def stack_labels(data_samples: list) -> torch.Tensor:
    """The batch's ``gt_sem_seg`` as ``[B, H, W]`` (padded by the data preprocessor to one size)."""
    return torch.stack([s.gt_sem_seg.data for s in data_samples]).squeeze(1).long()


def valid_mask(labels: torch.Tensor, ignore_index: Optional[int]) -> torch.Tensor:
    """Pixels that count: ``labels != ignore_index`` (all pixels if ``ignore_index`` is None)."""
    if ignore_index is None:
        return torch.ones_like(labels, dtype=torch.bool)
    return labels != ignore_index


def batch_labels(batch: SampleBatch, size: Optional[Sequence[int]],
                 ignore_index: Optional[int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """The batch's labels at ``size`` (the label size if None) and their validity mask, made once per batch.

    The student and every teacher of an iteration share them.
    """
    full = batch.memoized('seg_labels', lambda: stack_labels(batch.data_samples))
    size = tuple(int(s) for s in (full.shape[-2:] if size is None else size))
    labels = batch.memoized(('seg_labels', size), lambda: resize_labels(full, size))
    valid = batch.memoized(('seg_valid', size, ignore_index), lambda: valid_mask(labels, ignore_index))
    return labels, valid


def masked_pixel_ce(logits: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per-image mean pixel cross-entropy over valid pixels: ``[B]`` (0 for an image with none)."""
    ce = F.cross_entropy(logits, labels.masked_fill(~valid, 0), reduction='none')
    return reduce_per_sample(ce, valid)


def masked_pixel_nll(log_probs: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """:func:`masked_pixel_ce` from log-probabilities already computed (``log_softmax`` over dim 1)."""
    nll = F.nll_loss(log_probs, labels.masked_fill(~valid, 0), reduction='none')
    return reduce_per_sample(nll, valid)
