"""Random augmentation that a resumed run repeats exactly: each sample's random draws seeded from
``(seed, epoch, sample index)``.

A data pipeline draws its random numbers (flips, crops, colour jitter) from the process's global generators,
whose state depends on everything drawn before: on the worker that happened to load the sample and on how many
samples that worker loaded since it started. A run killed inside an epoch and resumed restarts its workers, so
the rest of the epoch is augmented differently from the uninterrupted run. Here the sampler hands each index
to the dataset together with a seed derived from the sampler's seed, the epoch and the index, and the pipeline
runs under generators seeded with it: the same sample in the same epoch is augmented the same way whichever
worker loads it, and whether or not the run was interrupted. Both parts go into the train dataloader
(:class:`SeededAugmentInfiniteSampler` for iteration-based runs)::

    train_dataloader = dict(
        sampler=dict(type='mtkd_rl.SeededAugmentSampler', shuffle=True),
        dataset=dict(..., pipeline=[dict(type='mtkd_rl.SeededPipeline', transforms=train_pipeline)]))

The seed travels inside the index (:class:`SampleIndex`, an ``int``), which mmengine's ``BaseDataset`` copies
into each sample's ``sample_idx``; a sample drawn again by the dataset itself (``BaseDataset`` retries another
index when the pipeline drops a sample) has a plain index and keeps the process's generators.
"""
import random
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import Compose, DefaultSampler, InfiniteSampler

from mtkd_rl.registry import DATA_SAMPLERS, TRANSFORMS


class SampleIndex(int):
    """A dataset index that carries the seed of the sample's random augmentation.

    Args:
        index: The index into the dataset.
        seed: The seed of the sample's random draws (an integer in ``[0, 2**32)``).
    """
    seed: int

    def __new__(cls, index: int, seed: int) -> 'SampleIndex':
        obj = super().__new__(cls, index)
        obj.seed = int(seed)
        return obj

    def __reduce__(self):  # the index crosses to the dataloader's workers by pickle
        return SampleIndex, (int(self), self.seed)

    def __repr__(self) -> str:
        return f'SampleIndex({int(self)}, seed={self.seed})'


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of one sample's augmentation in one epoch: a hash of ``(seed, epoch, index)``, in ``[0, 2**32)``.

    Args:
        seed: The sampler's seed (``randomness.seed`` when the config sets one).
        epoch: The epoch.
        index: The sample's index in the dataset.
    """
    return int(np.random.SeedSequence([seed % 2**32, epoch, index]).generate_state(1)[0])


@DATA_SAMPLERS.register_module()
class SeededAugmentSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` (same order, same arguments), whose indices carry each sample's
    augmentation seed, :func:`sample_seed` of the sampler's seed, the epoch and the index.

    Pair it with :class:`SeededPipeline` around the train pipeline. Without it the indices act as plain ints.

    Args:
        dataset: The dataset.
        shuffle: Whether to shuffle the indices.
        seed: The seed of the order and of the augmentation; by default one shared by all ranks (derived from
            ``randomness.seed`` when the config sets one).
        round_up: Whether to add indices so that every rank gets as many.
    """

    def __iter__(self) -> Iterator[SampleIndex]:
        for index in super().__iter__():
            yield SampleIndex(index, sample_seed(self.seed, self.epoch, index))


@DATA_SAMPLERS.register_module()
class SeededAugmentInfiniteSampler(InfiniteSampler):
    """mmengine's ``InfiniteSampler`` (same order, same arguments) for iteration-based runs, whose indices carry
    each sample's augmentation seed, :func:`sample_seed` of the sampler's seed, the pass over the data set
    (the k-th shuffled pass counts as epoch k) and the index.

    mmengine's ``IterBasedTrainLoop`` resumes by drawing the batches already trained from a fresh iterator, so
    the resumed run sees the same indices, passes and seeds as the uninterrupted one. Pair it with
    :class:`SeededPipeline`.

    Args:
        dataset: The dataset.
        shuffle: Whether to shuffle the indices.
        seed: The seed of the order and of the augmentation (as in mmengine's ``InfiniteSampler``).
    """

    def _infinite_indices(self) -> Iterator[SampleIndex]:
        # mmengine's loop, with the pass counted
        g = torch.Generator()
        g.manual_seed(self.seed)
        rounds = 0
        while True:
            order = torch.randperm(self.size, generator=g) if self.shuffle else torch.arange(self.size)
            for index in order.tolist():
                yield SampleIndex(index, sample_seed(self.seed, rounds, index))
            rounds += 1


@contextmanager
def seeded_generators(seed: int):
    """Seed Python's, NumPy's and torch's (CPU) global generators with ``seed`` for the block, then restore
    their states, so that the draws of the block neither depend on nor change the process's streams."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


@TRANSFORMS.register_module()
class SeededPipeline(BaseTransform):
    """Run ``transforms`` with the global generators seeded from the sample's :class:`SampleIndex`.

    With a :class:`SeededAugmentSampler` the sample's ``sample_idx`` carries the seed, and every random draw of
    ``transforms`` is a function of ``(seed, epoch, index)``. A sample without one (another sampler, or a
    dataset that draws another index itself) runs ``transforms`` on the process's generators, as a plain
    pipeline would.

    Args:
        transforms: The pipeline to run, as configs or transforms (built in the config's default scope).
    """

    def __init__(self, transforms: Sequence[Union[dict, BaseTransform]]) -> None:
        if not isinstance(transforms, (list, tuple)):
            raise ValueError(f'SeededPipeline.transforms must be a list of transform configs (the train pipeline), '
                             f'got {type(transforms).__name__}')
        self.pipeline = Compose(list(transforms))

    def transform(self, results: dict) -> Optional[dict]:
        index = results.get('sample_idx')
        if not isinstance(index, SampleIndex):
            return self.pipeline(results)
        with seeded_generators(index.seed):
            return self.pipeline(results)

    @property
    def transforms(self) -> List:
        return self.pipeline.transforms

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.pipeline.transforms})'
