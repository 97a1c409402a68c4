from .base import ModelPass, ModelShapes, TaskAdapter
from .classification import ClassificationAdapter
from .segmentation import SegmentationAdapter

__all__ = ['ModelPass', 'ModelShapes', 'TaskAdapter', 'ClassificationAdapter', 'SegmentationAdapter']
