from .remap_labels import RemapLabels
from .seeded_augmentation import (SampleIndex, SeededAugmentInfiniteSampler, SeededAugmentSampler, SeededPipeline,
                                  sample_seed, seeded_generators)

__all__ = [
    'RemapLabels', 'SampleIndex', 'SeededAugmentInfiniteSampler', 'SeededAugmentSampler', 'SeededPipeline',
    'sample_seed', 'seeded_generators'
]
