"""The iteration context: what the distiller hands its task adapter for one batch."""
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import torch

from .sample_batch import SampleBatch


@dataclass
class IterationContext:
    """One batch as the task adapter's passes and terms see it.

    Created by the distiller for each batch (training iteration, or a weighting read for analysis) and passed
    to every adapter call of that batch; nothing of it outlives the batch.

    Attributes:
        inputs: The preprocessed batch, ``[B, C, H, W]``.
        batch: The data samples, with the values derived from them once for every model (labels, masks,
            detection targets).
        needed: The optional :class:`~mtkd_rl.weighting.DistillationTerms` fields to compute (the weighting's
            ``needed_terms``); None computes every one the adapter provides.
    """
    inputs: torch.Tensor
    batch: SampleBatch
    needed: Optional[frozenset] = field(default=None)

    @classmethod
    def create(cls, inputs: torch.Tensor, data_samples: Sequence[Any],
               needed: Optional[frozenset] = None) -> 'IterationContext':
        """The context of a batch of ``inputs`` and ``data_samples`` (a fresh memo)."""
        return cls(inputs, SampleBatch(data_samples), None if needed is None else frozenset(needed))

    @property
    def data_samples(self) -> Sequence[Any]:
        return self.batch.data_samples

    def computes(self, term: str) -> bool:
        """Whether the passes and terms compute the optional field ``term`` for this batch."""
        return self.needed is None or term in self.needed
