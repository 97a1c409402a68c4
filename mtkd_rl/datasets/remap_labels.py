"""A pipeline transform that changes the label order of some classes, to make a deliberately poor teacher."""
from typing import Dict, Mapping

import numpy as np
from mmcv.transforms import BaseTransform

from mtkd_rl.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RemapLabels(BaseTransform):
    """Relabel the classes in ``mapping`` (``c`` becomes ``mapping[c]``) in a classification label or a
    segmentation map; other classes are kept.

    A model trained with it learns another label order on those classes: it is confidently wrong on their
    images (classification) or pixels (segmentation), as a teacher with a mismatched class list would be. The
    mapping must be a permutation of its keys, so every class keeps its number of training images or pixels.
    Place it after the annotations are loaded (and after any geometric augmentation, which it does not need)
    and before the packing transform (``PackInputs``, ``PackSegInputs``)::

        dict(type='mtkd_rl.RemapLabels', mapping={1: 8, 8: 1, 3: 7, 7: 3})   # classification
        dict(type='mtkd_rl.RemapLabels', mapping={0: 1, 1: 0})               # segmentation, 2 classes

    Required keys: ``gt_label`` (classification: an int, a 0-d array/tensor or a one-element sequence) and/or
    ``gt_seg_map`` (segmentation: an integer array of class indices, e.g. from mmseg's ``LoadAnnotations``);
    at least one of them. Modified keys: ``gt_label`` (an int), ``gt_seg_map`` (a new array of the same shape
    and dtype: each pixel of a mapped class relabelled, every other pixel, the ``ignore_index`` ones included,
    unchanged).

    Args:
        mapping: ``{class: class it is relabelled as}``; its values are a permutation of its keys.
        ignore_index: the segmentation maps' "no label" value (mmseg's 255). It may not be in ``mapping``:
            its pixels are never relabelled.
    """

    def __init__(self, mapping: Mapping[int, int], ignore_index: int = 255) -> None:
        if not isinstance(mapping, Mapping) or not mapping:
            raise ValueError('RemapLabels.mapping must be a non-empty dict {class: new class}, e.g. {1: 8, 8: 1}')
        pairs = {int(k): int(v) for k, v in mapping.items()}
        if sorted(pairs.values()) != sorted(pairs):
            raise ValueError(f'RemapLabels.mapping must be a permutation of its keys {sorted(pairs)} (every class '
                             f'relabelled is the target of exactly one other), got values {sorted(pairs.values())}')
        if min(pairs) < 0:
            raise ValueError(f'RemapLabels.mapping: class indices are >= 0, got {min(pairs)}')
        if int(ignore_index) in pairs:
            raise ValueError(f'RemapLabels.mapping may not relabel the ignore index {int(ignore_index)}')
        self.mapping: Dict[int, int] = pairs
        self.ignore_index = int(ignore_index)

    def transform(self, results: dict) -> dict:
        if 'gt_label' not in results and 'gt_seg_map' not in results:
            raise KeyError('RemapLabels needs a gt_label (classification) or a gt_seg_map (segmentation) in the '
                           'results: place it after the annotations are loaded and before the packing transform')
        if 'gt_label' in results:
            results['gt_label'] = self._remap_label(results['gt_label'])
        if 'gt_seg_map' in results:
            results['gt_seg_map'] = self._remap_seg_map(results['gt_seg_map'])
        return results

    def _remap_label(self, label) -> int:
        values = np.asarray(label).reshape(-1)
        if values.size != 1:
            raise ValueError(f'RemapLabels handles single-label classification, got gt_label {label}')
        value = int(values[0])
        return self.mapping.get(value, value)

    def _remap_seg_map(self, seg_map) -> np.ndarray:
        seg_map = np.asarray(seg_map)
        if not np.issubdtype(seg_map.dtype, np.integer):
            raise TypeError(f'RemapLabels: gt_seg_map must hold integer class indices, got dtype {seg_map.dtype}')
        info = np.iinfo(seg_map.dtype)
        if max(self.mapping.values()) > info.max:
            raise ValueError(f'RemapLabels: class {max(self.mapping.values())} does not fit gt_seg_map\'s dtype '
                             f'{seg_map.dtype}')
        out = seg_map.copy()
        for source, target in self.mapping.items():
            if source != target:
                out[seg_map == source] = target  # masks from the original map: a swap is not applied twice
        return out

    def __repr__(self) -> str:
        return f'{type(self).__name__}(mapping={self.mapping}, ignore_index={self.ignore_index})'
