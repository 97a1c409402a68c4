"""Classification (mmpretrain ``ImageClassifier``) adapter."""
from typing import Sequence

import torch
import torch.nn as nn

from mtkd_rl.registry import MODELS
from .batch_cache import memoized
from .base import ModelPass, ModelShapes, TaskAdapter, global_pool, prediction_entropy, soft_cross_entropy


def _targets(data_samples: list) -> torch.Tensor:
    """The batch's class indices ``[B]`` or class scores ``[B, C]`` (mixup/cutmix), stacked once per batch."""

    def stack() -> torch.Tensor:
        if 'gt_score' in data_samples[0]:
            return torch.stack([s.gt_score for s in data_samples])
        return torch.cat([s.gt_label for s in data_samples])

    return memoized(data_samples, 'cls_targets', stack)


@MODELS.register_module()
class ClassificationAdapter(TaskAdapter):
    """Per-sample terms for mmpretrain image classifiers (backbone, optional neck, ``ClsHead``).

    Features are the last backbone stage (before global pooling); the teacher embedding is its neck output;
    the output summary is its logits.

    Args:
        logit_loss: Per-sample logit KD loss config (default ``LogitKL`` with T = 4, weight 1).
        feature_loss: Per-sample feature KD loss config (default ``FeatureMSE`` with weight 5), or None.
        probe_size: Spatial size of the dummy input used at build time.
    """
    provides = frozenset({'teacher_entropy', 'feature_teacher_loss'})

    def __init__(self,
                 logit_loss: dict = dict(type='LogitKL', temperature=4.0, loss_weight=1.0),
                 feature_loss: dict = dict(type='FeatureMSE', loss_weight=5.0),
                 probe_size: Sequence[int] = (64, 64)) -> None:
        super().__init__(logit_loss, feature_loss, probe_size)

    @staticmethod
    def _check(model: nn.Module) -> None:
        for attr in ('backbone', 'head'):
            if not hasattr(model, attr):
                raise TypeError(f'ClassificationAdapter needs an mmpretrain ImageClassifier (backbone, neck, head); '
                                f'{type(model).__name__} has no {attr}')

    def _run(self, model: nn.Module, inputs: torch.Tensor):
        stages = model.backbone(inputs)
        if not isinstance(stages, (tuple, list)):
            stages = (stages, )
        pooled = model.neck(stages) if getattr(model, 'neck', None) is not None else stages
        logits = model.head(pooled)
        return stages, pooled, logits

    def probe(self, model: nn.Module, inputs: torch.Tensor) -> ModelShapes:
        self._check(model)
        stages, pooled, logits = self._run(model, inputs)
        last = pooled[-1] if isinstance(pooled, (tuple, list)) else pooled
        return ModelShapes(
            feature_shapes=[tuple(stages[-1].shape[1:])],
            embedding_dim=int(last.flatten(1).shape[1]),
            summary_dim=int(logits.shape[1]),
            num_classes=int(logits.shape[1]))

    def forward_student(self, student: nn.Module, inputs: torch.Tensor, data_samples: list) -> ModelPass:
        stages, _, logits = self._run(student, inputs)
        losses = student.head._get_loss(logits, data_samples)
        with torch.no_grad():
            task_loss = soft_cross_entropy(logits.detach(), _targets(data_samples))
        return ModelPass(logits=logits, features=[stages[-1]], task_loss=task_loss, losses=losses)

    def forward_teacher(self, teacher: nn.Module, inputs: torch.Tensor, data_samples: list) -> ModelPass:
        stages, pooled, logits = self._run(teacher, inputs)
        last = pooled[-1] if isinstance(pooled, (tuple, list)) else pooled
        return ModelPass(
            logits=logits,
            features=[stages[-1]],
            task_loss=soft_cross_entropy(logits, _targets(data_samples)),
            embedding=last.flatten(1),
            summary=logits,
            entropy=prediction_entropy(logits))

    def feature_teacher_loss(self, teacher_model: nn.Module, connected: Sequence[torch.Tensor],
                             teacher: ModelPass, student: ModelPass, data_samples: list) -> torch.Tensor:
        logits = teacher_model.head((global_pool(connected[-1]), ))
        return soft_cross_entropy(logits, _targets(data_samples))
