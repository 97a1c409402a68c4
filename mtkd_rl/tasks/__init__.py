from .base import ModelPass, ModelShapes, TaskAdapter
from .classification import ClassificationAdapter, ClassifierPass, ClassifierShapes
from .context import IterationContext
from .detection import DetectionAdapter
from .sample_batch import SampleBatch
from .segmentation import SegmentationAdapter, SegmentorPass, SegmentorShapes

__all__ = [
    'ModelPass', 'ModelShapes', 'TaskAdapter', 'IterationContext', 'SampleBatch', 'ClassificationAdapter',
    'ClassifierPass', 'ClassifierShapes', 'DetectionAdapter', 'SegmentationAdapter', 'SegmentorPass',
    'SegmentorShapes'
]
