"""A pipeline transform that changes the label order of some classes, to make a deliberately poor teacher."""
from typing import Dict, Mapping

import numpy as np
from mmcv.transforms import BaseTransform

from mtkd_rl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RemapLabels(BaseTransform):
    """Replace ``gt_label`` by ``mapping[gt_label]`` for the classes in ``mapping``; other labels are kept.

    A model trained with it learns another label order on those classes: it is confidently wrong on their
    images, as a teacher with a mismatched class list would be. The mapping must be a permutation of its
    keys, so every class keeps its number of training images. Place it before ``PackInputs``::

        dict(type='mtkd_rl.RemapLabels', mapping={1: 8, 8: 1, 3: 7, 7: 3})

    Required keys: ``gt_label`` (an int, a 0-d array/tensor or a one-element sequence). Modified keys:
    ``gt_label`` (an int).

    Args:
        mapping: ``{class: class it is relabelled as}``; its values are a permutation of its keys.
    """

    def __init__(self, mapping: Mapping[int, int]) -> None:
        if not isinstance(mapping, Mapping) or not mapping:
            raise ValueError('RemapLabels.mapping must be a non-empty dict {class: new class}, e.g. {1: 8, 8: 1}')
        pairs = {int(k): int(v) for k, v in mapping.items()}
        if sorted(pairs.values()) != sorted(pairs):
            raise ValueError(f'RemapLabels.mapping must be a permutation of its keys {sorted(pairs)} (every class '
                             f'relabelled is the target of exactly one other), got values {sorted(pairs.values())}')
        if min(pairs) < 0:
            raise ValueError(f'RemapLabels.mapping: class indices are >= 0, got {min(pairs)}')
        self.mapping: Dict[int, int] = pairs

    def transform(self, results: dict) -> dict:
        label = results['gt_label']
        values = np.asarray(label).reshape(-1)
        if values.size != 1:
            raise ValueError(f'RemapLabels handles single-label classification, got gt_label {label}')
        value = int(values[0])
        results['gt_label'] = self.mapping.get(value, value)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(mapping={self.mapping})'
