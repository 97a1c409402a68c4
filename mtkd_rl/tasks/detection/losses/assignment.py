"""Assignment keys: what a head's targets depend on besides the batch, and targets memoized per batch.

Heads with equal keys get equal targets, so the student and every teacher with the student's anchor layout
share one target assignment per batch (:func:`memoized_targets`).
"""
import weakref
from typing import Any, Callable, Hashable, Sequence

import torch
import torch.nn as nn

from ...sample_batch import SampleBatch


def describe_config(obj: Any) -> str:
    """A stable text of an object's configuration (type and plain attributes)."""
    if isinstance(obj, torch.Tensor):
        return repr(obj.detach().cpu().tolist())
    if isinstance(obj, (list, tuple)):
        return '[' + ','.join(describe_config(o) for o in obj) + ']'
    if isinstance(obj, dict):
        return '{' + ','.join(f'{k}:{describe_config(v)}'
                              for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))) + '}'
    if isinstance(obj, (int, float, str, bool, type(None))):
        return repr(obj)
    attrs = {k: v for k, v in vars(obj).items() if not k.startswith('_')} if hasattr(obj, '__dict__') else {}
    return f'{type(obj).__module__}.{type(obj).__qualname__}' + describe_config(attrs)


_ASSIGNMENT_KEYS: 'weakref.WeakKeyDictionary[nn.Module, str]' = weakref.WeakKeyDictionary()


def cached_assignment_key(head: nn.Module, describe: Callable[[nn.Module], str]) -> str:
    """``describe(head)``, computed once per head (a head's configuration is fixed once built)."""
    key = _ASSIGNMENT_KEYS.get(head)
    if key is None:
        key = _ASSIGNMENT_KEYS[head] = describe(head)
    return key


def _describe_anchor_assignment(head: nn.Module) -> str:
    """The text of an ``AnchorHead``'s anchors, box coder, ``train_cfg`` and classes."""
    gen = head.prior_generator
    return '|'.join([
        describe_config([gen.strides, gen.base_anchors, getattr(gen, 'center_offset', 0.0)]),
        describe_config(head.bbox_coder), describe_config(head.train_cfg), repr(head.reg_decoded_bbox),
        repr(int(head.num_classes)), repr(int(head.cls_out_channels)),
    ])


def assignment_key(head: nn.Module) -> Hashable:
    """What an ``AnchorHead``'s targets depend on besides the batch: anchors, box coder, ``train_cfg``
    (assigner, sampler, allowed border, positive weight), classes. Heads with equal keys get equal targets."""
    return cached_assignment_key(head, _describe_anchor_assignment)


def memoized_targets(kind: str, head: nn.Module, cls_scores: Sequence[torch.Tensor], batch: SampleBatch,
                     assign: Callable) -> Any:
    """``assign(head, sizes, device, data_samples)``, once per batch, ``kind``, assignment key of ``head``
    (:func:`assignment_key`), feature-map sizes and device.

    Args:
        kind: The kind of targets (part of the memo key: ``'anchor_targets'``, ``'atss_targets'``).
        head: The head the targets are assigned for.
        cls_scores: Per level, the head's class scores (their sizes and device are part of the key).
        batch: The batch (its ``DetDataSample`` list, and the memo the targets are kept in).
        assign: ``f(head, sizes, device, data_samples) -> targets``, called on the batch's first request.
    """
    sizes = tuple(tuple(int(v) for v in c.shape[-2:]) for c in cls_scores)
    device = cls_scores[0].device
    key = (kind, assignment_key(head), sizes, str(device))
    return batch.memoized(key, lambda: assign(head, sizes, device, batch.data_samples))
