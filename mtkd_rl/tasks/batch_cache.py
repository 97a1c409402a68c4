"""Per-batch memo: what an adapter derives from a batch's data samples once and every model reuses.

In one iteration the adapter sees the same data samples for the student and for every teacher. Label maps,
validity masks and detection targets depend on the batch (and on a few facts of the model, part of the key),
not on the model's weights: computing them once per batch keeps them off the per-teacher path.
"""
import weakref
from typing import Any, Callable, Dict, Hashable, Sequence, Tuple

#: first data sample of a batch -> (ids of all its samples, memo)
_MEMOS: 'weakref.WeakKeyDictionary[Any, Tuple[Tuple[int, ...], Dict[Hashable, Any]]]' = \
    weakref.WeakKeyDictionary()


def batch_memo(data_samples: Sequence[Any]) -> Dict[Hashable, Any]:
    """The memo of a batch: a dict that lives as long as the batch's first data sample.

    A batch is identified by its data-sample objects; a new batch (the next iteration's, or a copy) gets a
    new memo, so nothing carries over between iterations. The memo is valid while the data samples are not
    modified in place.

    Args:
        data_samples: The batch's data samples (``DataSample``, ``DetDataSample``, ``SegDataSample``...).

    Returns:
        A dict shared by every call with the same data samples; a fresh, unshared one when the samples
        cannot be tracked (an empty batch or objects without weak references).
    """
    if not data_samples:
        return {}
    ids = tuple(id(s) for s in data_samples)
    first = data_samples[0]
    try:
        entry = _MEMOS.get(first)
        if entry is None or entry[0] != ids:
            entry = (ids, {})
            _MEMOS[first] = entry
    except TypeError:  # not weakly referenceable
        return {}
    return entry[1]


def memoized(data_samples: Sequence[Any], key: Hashable, make: Callable[[], Any]) -> Any:
    """``make()`` once per batch and ``key``; later calls with the same batch and key return the first result."""
    memo = batch_memo(data_samples)
    if key not in memo:
        memo[key] = make()
    return memo[key]
