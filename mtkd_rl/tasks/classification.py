"""Classification (mmpretrain ``ImageClassifier``) adapter: CNN, Swin and ViT-family students and teachers."""
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence

import torch
import torch.nn as nn

from mtkd_rl.registry import MODELS
from .base import ModelPass, ModelShapes, TaskAdapter
from .classifier_outputs import head_input_from, run_classifier
from .context import IterationContext
from .reductions import global_pool, prediction_entropy, soft_cross_entropy
from .sample_batch import SampleBatch


@dataclass
class ClassifierPass(ModelPass):
    """A classifier's pass.

    Attributes:
        head_input: What its head's classifier read (pooled map, class token or averaged patch tokens; teachers
            only), for CA-MKD's teacher term.
    """
    head_input: Any = None


@dataclass
class ClassifierShapes(ModelShapes):
    """A classifier's probe.

    Attributes:
        head_on_feature_error: Why its head cannot read its own pooled feature map (so CA-MKD's teacher term
            is unavailable), or None where it can.
    """
    head_on_feature_error: Optional[str] = None


def _targets(batch: SampleBatch) -> torch.Tensor:
    """The batch's class indices ``[B]`` or class scores ``[B, C]`` (mixup/cutmix), stacked once per batch."""

    def stack() -> torch.Tensor:
        samples = batch.data_samples
        if 'gt_score' in samples[0]:
            return torch.stack([s.gt_score for s in samples])
        return torch.cat([s.gt_label for s in samples])

    return batch.memoized('cls_targets', stack)


@MODELS.register_module()
class ClassificationAdapter(TaskAdapter):
    """Per-sample terms for mmpretrain image classifiers (backbone, optional neck, ``ClsHead``).

    The feature map is the backbone's last output before pooling: the last stage of a CNN or Swin, the patch
    tokens of a ViT/DeiT on their patch grid (whatever its ``out_type``). The teacher embedding is the vector
    its head's classifier reads (pooled map, class token or averaged patch tokens); the output summary is its
    logits. CNN, Swin and ViT models mix freely in one pool: connectors map the student's map to each
    teacher's channels and grid.

    Args:
        logit_loss: Per-sample logit KD loss config (default ``LogitKL`` with T = 4, weight 1).
        feature_loss: Per-sample feature KD loss config (default ``FeatureMSE`` with weight 5), or None.
        probe_size: Spatial size of the dummy input used at build time.
    """
    provides = frozenset({'teacher_entropy', 'feature_teacher_loss'})
    toolbox = 'mmpretrain'

    def __init__(self,
                 logit_loss: dict = dict(type='LogitKL', temperature=4.0, loss_weight=1.0),
                 feature_loss: dict = dict(type='FeatureMSE', loss_weight=5.0),
                 probe_size: Sequence[int] = (64, 64)) -> None:
        super().__init__(logit_loss, feature_loss, probe_size)
        #: Why a term of ``provides`` is unavailable for this pool (set by :meth:`validate`).
        self.unavailable: Dict[str, str] = {}

    @staticmethod
    def _check(model: nn.Module) -> None:
        for attr in ('backbone', 'head'):
            if not hasattr(model, attr):
                raise TypeError(f'ClassificationAdapter needs an mmpretrain ImageClassifier (backbone, neck, head); '
                                f'{type(model).__name__} has no {attr}')

    def probe(self, model: nn.Module, inputs: torch.Tensor) -> ClassifierShapes:
        self._check(model)
        out = run_classifier(model, inputs)
        num_classes = int(out.logits.shape[1])
        head_on_feature_error = None
        if out.feature.dim() == 4:
            # CA-MKD's teacher term runs the head on a pooled map of the feature's channels
            try:
                logits = model.head(head_input_from(global_pool(out.feature), out.head_input))
                if tuple(logits.shape) != tuple(out.logits.shape):
                    raise ValueError(f'it gives logits of shape {tuple(logits.shape)}')
            except (RuntimeError, ValueError, TypeError) as e:
                head_on_feature_error = (
                    f'its head ({type(model.head).__name__}) cannot read its pooled {out.feature.shape[1]}-channel '
                    f'feature map ({e})')
        return ClassifierShapes(
            feature_shapes=[tuple(out.feature.shape[1:])],
            embedding_dim=int(out.embedding.shape[1]),
            summary_dim=num_classes,
            num_classes=num_classes,
            head_on_feature_error=head_on_feature_error)

    def validate(self, student: ClassifierShapes, teachers: Sequence[ClassifierShapes],
                 names: Sequence[str]) -> None:
        super().validate(student, teachers, names)
        self.unavailable = {}
        keys = ['model.student'] + [f'model.teachers[{i}] ({n})' for i, n in enumerate(names)]
        for key, shapes in zip(keys, [student] + list(teachers)):
            if self.feature_loss is not None and len(shapes.feature_shapes[-1]) != 3:
                raise ValueError(
                    f"{key}'s backbone gives a pooled vector of {shapes.feature_shapes[-1][0]} channels, not a "
                    f'feature map (it pools inside, as ConvNeXt with gap_before_final_norm=True does), so it '
                    f'cannot take part in feature distillation. Use a model whose backbone returns its map (CNNs, '
                    f'Swin and ViTs do) or set model.task.feature_loss=None')
        for key, shapes in zip(keys[1:], teachers):
            if self.feature_loss is not None and shapes.head_on_feature_error is not None:
                self.unavailable.setdefault('feature_teacher_loss', f'{key}: {shapes.head_on_feature_error}')
        self.provides = type(self).provides - set(self.unavailable)

    def forward_student(self, student: nn.Module, context: IterationContext) -> ClassifierPass:
        out = run_classifier(student, context.inputs)
        losses = student.head._get_loss(out.logits, context.data_samples)
        task_loss = None
        if self.computes(context, 'student_loss'):
            with torch.no_grad():
                task_loss = soft_cross_entropy(out.logits.detach(), _targets(context.batch))
        return ClassifierPass(logits=out.logits, features=[out.feature], task_loss=task_loss, losses=losses)

    def forward_teacher(self, teacher: nn.Module, context: IterationContext,
                        student: ClassifierPass) -> ClassifierPass:
        out = run_classifier(teacher, context.inputs)
        targets = _targets(context.batch)
        labels = targets.argmax(1) if targets.dim() == out.logits.dim() else targets
        return ClassifierPass(
            logits=out.logits,
            features=[out.feature],
            task_loss=soft_cross_entropy(out.logits, targets),
            embedding=out.embedding if self.computes(context, 'embeddings') else None,
            summary=out.logits if self.computes(context, 'summaries') else None,
            entropy=prediction_entropy(out.logits) if self.computes(context, 'teacher_entropy') else None,
            accuracy=(out.logits.argmax(1) == labels).to(out.logits.dtype),
            head_input=out.head_input)

    def feature_teacher_loss(self, teacher_model: nn.Module, connected: Sequence[torch.Tensor],
                             teacher: ClassifierPass, student: ClassifierPass,
                             context: IterationContext) -> torch.Tensor:
        """The teacher's head on the pooled connected student map, in place of what it reads (its pooled map,
        class token or averaged tokens): the per-sample cross-entropy ``[B]``."""
        head_input = head_input_from(global_pool(connected[-1]), teacher.head_input)
        return soft_cross_entropy(teacher_model.head(head_input), _targets(context.batch))
