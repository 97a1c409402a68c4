"""The student alone: its model config out of a distiller config, and a student-only checkpoint."""
import copy
from collections import OrderedDict
from typing import Any, Dict

import torch
from mmengine.config import Config, ConfigDict

DISTILLER_TYPES = ('MultiTeacherDistiller', 'mtkd_rl.MultiTeacherDistiller')
#: The hooks of a distiller config that :func:`to_student_config` drops.
DISTILLATION_HOOKS = ('TeacherWeightingHook', 'NonFiniteLossHook')


def is_distiller_config(cfg: Config) -> bool:
    """Whether ``cfg.model`` is a :class:`MultiTeacherDistiller`."""
    return cfg.get('model', {}).get('type') in DISTILLER_TYPES


def student_model_config(cfg: Config) -> ConfigDict:
    """The student's own model config, with the distiller's data preprocessor where the student has none."""
    model = cfg.model
    student = copy.deepcopy(model['student'])
    if student.get('data_preprocessor') is None and model.get('data_preprocessor') is not None:
        student['data_preprocessor'] = copy.deepcopy(model['data_preprocessor'])
    return ConfigDict(student)


def to_student_config(cfg: Config) -> Config:
    """Turn a distiller config into the config of its student alone (for testing and inference).

    The model becomes the student, and the hooks the distiller configs add (``TeacherWeightingHook``, which needs
    a distiller, and ``NonFiniteLossHook``) are dropped: the student runs as its own config runs it.
    """
    cfg.model = student_model_config(cfg)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) or []
                        if not str(h.get('type', '')).endswith(DISTILLATION_HOOKS)]
    return cfg


def student_state_dict(checkpoint: Dict[str, Any]) -> 'OrderedDict[str, torch.Tensor]':
    """The student's weights out of a distiller checkpoint (keys without the ``student.`` prefix)."""
    state = checkpoint.get('state_dict', checkpoint)
    student = OrderedDict((k[len('student.'):], v) for k, v in state.items() if k.startswith('student.'))
    if not student:
        raise ValueError('the checkpoint holds no student weights (no "student." keys): is it a checkpoint '
                         'of a MultiTeacherDistiller?')
    return student


def export_student(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """A plain checkpoint of the student that mmpretrain, mmdet or mmseg load as if trained normally.

    Only tensors and plain Python values are kept, so ``torch.load(weights_only=True)`` reads it.
    """
    meta = checkpoint.get('meta', {}) or {}
    kept = {k: meta[k] for k in ('epoch', 'iter', 'dataset_meta', 'mmengine_version', 'time')
            if k in meta and _plain(meta[k])}
    kept['exported_from'] = 'mtkd_rl.MultiTeacherDistiller'
    return dict(state_dict=student_state_dict(checkpoint), meta=kept)


def _plain(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False
