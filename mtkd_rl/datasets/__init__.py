from .remap_labels import RemapLabels
from .seeded_augmentation import SampleIndex, SeededAugmentSampler, SeededPipeline, sample_seed, seeded_generators

__all__ = ['RemapLabels', 'SampleIndex', 'SeededAugmentSampler', 'SeededPipeline', 'sample_seed', 'seeded_generators']
