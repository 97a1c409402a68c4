"""A dense head's own detection loss, one value per image, with one target assignment per batch.

Modules, bottom up: :mod:`.per_image` (per-image reductions), :mod:`.assignment` (assignment keys, targets
memoized per batch), :mod:`.loss_by_feat` (mmdet's own head loss, on each image alone); one module per head
kind (:mod:`.anchor`: ``AnchorHead``, :mod:`.point`: ``FCOSHead``, :mod:`.atss`: ``ATSSHead``); and
:mod:`.dispatch`, the entry points (:func:`per_image_detection_loss`, :func:`detection_losses`) with the
table from head kind to its functions.
"""
from .anchor import AnchorTargets, anchor_head_losses, anchor_head_per_image_loss, anchor_targets
from .assignment import assignment_key
from .atss import ATSSTargets, atss_targets
from .dispatch import DENSE_HEAD_LOSSES, DenseHeadLosses, detection_losses, per_image_detection_loss
from .loss_by_feat import loss_mode, per_image_loss_by_image, sum_loss_dict
from .per_image import AVG_EPS
from .point import PointTargets, point_targets

__all__ = [
    'AnchorTargets', 'anchor_head_losses', 'anchor_head_per_image_loss', 'anchor_targets', 'assignment_key',
    'ATSSTargets', 'atss_targets', 'DENSE_HEAD_LOSSES', 'DenseHeadLosses', 'detection_losses',
    'per_image_detection_loss', 'loss_mode', 'per_image_loss_by_image', 'sum_loss_dict', 'AVG_EPS',
    'PointTargets', 'point_targets'
]
