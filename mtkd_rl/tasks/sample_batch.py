"""One iteration's data samples, with what is derived from them once and shared by every model.

In one iteration the adapter sees the same data samples for the student and for every teacher. Label maps,
validity masks and detection targets depend on the batch (and on a few facts of the model, part of the key),
not on the model's weights: a :class:`SampleBatch` computes each of them once and hands the same value to
every later request of the iteration. It is created with the iteration (see
:class:`~mtkd_rl.tasks.context.IterationContext`) and dropped with it, so nothing carries over.
"""
from typing import Any, Callable, Dict, Hashable, Sequence, TypeVar, Union

T = TypeVar('T')


class SampleBatch:
    """A batch's data samples and the values memoized for it.

    Args:
        data_samples: The batch's data samples (``DataSample``, ``DetDataSample``, ``SegDataSample``...).
    """

    def __init__(self, data_samples: Sequence[Any]) -> None:
        self.data_samples = data_samples
        self._memo: Dict[Hashable, Any] = {}

    @classmethod
    def of(cls, batch: Union['SampleBatch', Sequence[Any]]) -> 'SampleBatch':
        """``batch`` itself, or a new :class:`SampleBatch` (with an empty memo) of a list of data samples."""
        return batch if isinstance(batch, SampleBatch) else cls(batch)

    def __len__(self) -> int:
        return len(self.data_samples)

    def memoized(self, key: Hashable, make: Callable[[], T]) -> T:
        """``make()`` on the first request of ``key``; the same value on every later one."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def derived(self, name: str, make_samples: Callable[[Sequence[Any]], Sequence[Any]]) -> 'SampleBatch':
        """Another view of the batch's samples (e.g. every label set to 0 for an RPN), made once, with a memo of
        its own.

        Args:
            name: What the view is (its memo key).
            make_samples: ``f(data_samples) -> data samples of the view``.
        """
        return self.memoized(('derived', name), lambda: SampleBatch(make_samples(self.data_samples)))


#: A :class:`SampleBatch`, or a plain list of data samples (which gets a memo of its own).
BatchLike = Union[SampleBatch, Sequence[Any]]
