from .base import ModelPass, ModelShapes, TaskAdapter
from .classification import ClassificationAdapter

__all__ = ['ModelPass', 'ModelShapes', 'TaskAdapter', 'ClassificationAdapter']
