"""Which OpenMMLab toolbox a model comes from, and the task adapter of each toolbox's students."""
from typing import Optional

import torch.nn as nn


#: What the models of each OpenMMLab toolbox are, for messages.
MODEL_KINDS = {'mmpretrain': 'classifier', 'mmdet': 'detector', 'mmseg': 'segmentor'}


def toolbox_of(model: nn.Module) -> Optional[str]:
    """The OpenMMLab toolbox ``model``'s class comes from (``mmpretrain``, ``mmdet``, ``mmseg``), or None."""
    toolbox = type(model).__module__.split('.')[0]
    return toolbox if toolbox in MODEL_KINDS else None


#: The task adapter of each toolbox's students; mmdet students with an RPN and a RoI head take
#: ``TWO_STAGE_ADAPTER``.
TASK_ADAPTERS = {'mmpretrain': 'ClassificationAdapter', 'mmdet': 'DetectionAdapter', 'mmseg': 'SegmentationAdapter'}
TWO_STAGE_ADAPTER = 'TwoStageDetectionAdapter'


def default_adapter(student: nn.Module) -> Optional[str]:
    """The registered name of the task adapter for ``student``, or None for a model of no known toolbox."""
    toolbox = toolbox_of(student)
    if toolbox is None:
        return None
    two_stage = getattr(student, 'rpn_head', None) is not None and getattr(student, 'roi_head', None) is not None
    return TWO_STAGE_ADAPTER if toolbox == 'mmdet' and two_stage else TASK_ADAPTERS[toolbox]


def describe_model(model: nn.Module) -> str:
    """``model`` in words, e.g. ``'an mmdet detector (RetinaNet)'``."""
    toolbox = toolbox_of(model)
    if toolbox is None:
        return f'a {type(model).__name__}'
    return f'an {toolbox} {MODEL_KINDS[toolbox]} ({type(model).__name__})'
