"""Detection: the adapter for mmdet dense detectors (``adapter``), the heads' per-image losses with one target
assignment per batch (the ``losses`` package: one module per head kind, entry points in ``losses.dispatch``),
anchor layouts and valid-position masks (``layout``), the adapter of two-stage detectors (``two_stage``), and the
one-stage student's adapter for pools with two-stage teachers (``mixed_pool``)."""
from .adapter import DetectionAdapter, binary_entropy
from .layout import LAYOUT_KEYS, BatchMasks, decode_boxes, flatten_levels, valid_mask
from .losses import (ATSSTargets, AnchorTargets, PointTargets, anchor_targets, assignment_key, atss_targets,
                     detection_losses, loss_mode, per_image_detection_loss, per_image_loss_by_image, point_targets)
from .mixed_pool import MixedPoolDetectionAdapter
from .two_stage import TwoStageDetectionAdapter, is_two_stage

__all__ = [
    'DetectionAdapter', 'binary_entropy', 'ATSSTargets', 'atss_targets', 'AnchorTargets', 'anchor_targets',
    'PointTargets', 'point_targets', 'assignment_key', 'detection_losses',
    'loss_mode', 'per_image_detection_loss', 'per_image_loss_by_image', 'LAYOUT_KEYS', 'BatchMasks',
    'decode_boxes', 'flatten_levels', 'valid_mask', 'TwoStageDetectionAdapter', 'is_two_stage',
    'MixedPoolDetectionAdapter'
]
