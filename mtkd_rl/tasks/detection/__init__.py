"""Detection: the typed shapes and passes of detectors (``passes``), what the dense and two-stage adapters share
(``detector_adapter``), the adapter for mmdet dense detectors (``adapter``), the heads' per-image losses with one
target assignment per batch (the ``losses`` package: one module per head kind, entry points in
``losses.dispatch``), anchor layouts and valid-position masks (``layout``), two-stage detectors' per-image losses
(``two_stage_losses``) and adapter (``two_stage``), and the one-stage student's adapter for pools with two-stage
teachers (``mixed_pool``)."""
from .adapter import DetectionAdapter, binary_entropy
from .detector_adapter import DetectorAdapter
from .layout import LAYOUT_KEYS, BatchMasks, HeadLayout, decode_boxes, flatten_levels, valid_mask
from .losses import (ATSSTargets, AnchorTargets, PointTargets, anchor_targets, assignment_key, atss_targets,
                     detection_losses, loss_mode, per_image_detection_loss, per_image_loss_by_image, point_targets)
from .mixed_pool import MixedPoolDetectionAdapter
from .passes import DenseDetectorPass, DetectorPass, DetectorShapes, RoIBatch, RoIHeadFacts, TwoStagePass
from .two_stage import TwoStageDetectionAdapter
from .two_stage_losses import is_two_stage

__all__ = [
    'DetectionAdapter', 'DetectorAdapter', 'binary_entropy', 'ATSSTargets', 'atss_targets', 'AnchorTargets',
    'anchor_targets', 'PointTargets', 'point_targets', 'assignment_key', 'detection_losses', 'loss_mode',
    'per_image_detection_loss', 'per_image_loss_by_image', 'LAYOUT_KEYS', 'BatchMasks', 'HeadLayout',
    'decode_boxes', 'flatten_levels', 'valid_mask', 'TwoStageDetectionAdapter', 'is_two_stage',
    'MixedPoolDetectionAdapter', 'DenseDetectorPass', 'DetectorPass', 'DetectorShapes', 'RoIBatch', 'RoIHeadFacts',
    'TwoStagePass'
]
