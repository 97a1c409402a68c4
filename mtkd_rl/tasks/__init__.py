from .base import ModelPass, ModelShapes, TaskAdapter
from .classification import ClassificationAdapter
from .detection import DetectionAdapter
from .segmentation import SegmentationAdapter

__all__ = [
    'ModelPass', 'ModelShapes', 'TaskAdapter', 'ClassificationAdapter', 'DetectionAdapter', 'SegmentationAdapter'
]
