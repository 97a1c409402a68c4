"""Task adapters: from one iteration's student and teacher outputs to per-sample, per-teacher terms."""
import inspect
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from mtkd_rl.options import check_size
from mtkd_rl.registry import build
from mtkd_rl.weighting import COMMON_TERMS, DistillationTerms
from mtkd_rl.weighting.base import StudentOutput
from .context import IterationContext
from .reductions import pooled_cosine
from .toolboxes import MODEL_KINDS, default_adapter, describe_model, toolbox_of


@dataclass
class ModelPass:
    """What one forward pass of a student or teacher gives the distiller.

    Each task adapter returns a subclass with the typed fields its own later calls read (the decode-head input
    of a classifier, the valid pixels of a segmentor, the RoIs of a two-stage detector...).

    Attributes:
        logits: The task outputs that logit distillation compares (any task-specific structure).
        features: The feature maps that feature distillation compares, each ``[B, C, H, W]``.
        task_loss: The per-sample task loss against the ground truth, ``[B]`` (detached); a student's is None
            where its loss is not needed.
        losses: The student's normal loss dict (students only).
        embedding: The pooled feature ``[B, d]`` (teachers only).
        summary: The output summary ``[B, C]`` (teachers only).
        entropy: The entropy of the prediction, ``[B]`` (teachers only).
        accuracy: The share of the sample predicted right, ``[B]`` in [0, 1] (teachers only; None where the
            task has no per-sample accuracy).
    """
    logits: Any
    features: List[torch.Tensor]
    task_loss: Optional[torch.Tensor]
    losses: Dict[str, torch.Tensor] = field(default_factory=dict)
    embedding: Optional[torch.Tensor] = None
    summary: Optional[torch.Tensor] = None
    entropy: Optional[torch.Tensor] = None
    accuracy: Optional[torch.Tensor] = None


@dataclass
class ModelShapes:
    """Shapes found by a probe forward pass, used to build connectors and the agent and to validate.

    A task adapter returns a subclass with the facts its :meth:`TaskAdapter.validate` compares (anchor
    layout, ignore index...).

    Attributes:
        feature_shapes: ``(C, H, W)`` of each feature level.
        embedding_dim: Size of the embedding.
        summary_dim: Size of the output summary.
        num_classes: Number of classes the model predicts.
    """
    feature_shapes: List[Tuple[int, ...]]
    embedding_dim: int
    summary_dim: int
    num_classes: int


def merge_partial(default: dict, partial: dict) -> dict:
    """``default`` updated with ``partial``, recursively for nested dicts that give no ``type`` of their own."""
    merged = dict(default)
    for key, value in partial.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and 'type' not in value:
            merged[key] = merge_partial(merged[key], value)
        else:
            merged[key] = value
    return merged


class TaskAdapter(nn.Module):
    """Base class of the task adapters.

    A subclass knows how to run one toolbox's models and what their outputs mean; the distiller and the
    weighting stay task-agnostic.

    Everything one batch needs travels in its :class:`~mtkd_rl.tasks.context.IterationContext` (the inputs,
    the data samples with their memo, the optional terms to compute) and in the passes: the student's pass is
    handed to each teacher's, so an adapter keeps no state between the calls of an iteration. The optional
    terms (:data:`~mtkd_rl.weighting.base.COMMON_TERMS` and the task's ``provides``) are computed only where
    ``context.computes`` says so.

    Args:
        logit_loss: Config of the per-sample logit KD loss (its ``loss_weight``, alpha, applied inside it).
        feature_loss: Config of the per-sample feature KD loss (its ``loss_weight``, beta, applied inside it),
            or None for no feature distillation.
        probe_size: Spatial size of the dummy input used at build time to find feature shapes.
    """
    #: Optional DistillationTerms fields this task can provide.
    provides: frozenset = frozenset()
    #: The toolbox whose models the adapter runs (a key of ``MODEL_KINDS``), or None for any.
    toolbox: Optional[str] = None

    def __init__(self,
                 logit_loss: dict,
                 feature_loss: Optional[dict] = None,
                 probe_size: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.logit_loss = build(logit_loss, key='model.task.logit_loss')
        self.feature_loss = build(feature_loss, key='model.task.feature_loss') if feature_loss is not None else None
        self.probe_size = check_size(probe_size, 'model.task.probe_size')

    @classmethod
    def complete_config(cls, cfg: dict, key: str = 'model.task') -> dict:
        """Merge each loss config of ``cfg`` that has no ``type`` into this adapter's default for it.

        ``--cfg-options model.task.logit_loss.temperature=2.0`` on a config that leaves ``model.task`` (or the
        loss) to its default gives such a partial dict.

        Args:
            cfg: The ``model.task`` config (with or without ``type``).
            key: The config key of ``cfg``, for error messages.

        Returns:
            ``cfg`` with its partial loss configs completed.
        """
        params = inspect.signature(cls.__init__).parameters
        completed = dict(cfg)
        for name, value in cfg.items():
            if not isinstance(value, dict) or 'type' in value or name not in params:
                continue
            default = params[name].default
            if isinstance(default, dict) and 'type' in default:
                completed[name] = merge_partial(default, value)
            elif default is None:
                raise ValueError(f"{key}.{name} has no 'type' and {cls.__name__} has no default {name} to complete "
                                 f"(it is off by default): give the whole config, e.g. "
                                 f"{key}.{name}=dict(type=..., loss_weight=...)")
        return completed

    def check_models(self, student: nn.Module, teachers: Sequence[nn.Module], names: Sequence[str]) -> None:
        """Check before any forward pass that the student is a model of this adapter's toolbox and every teacher
        one of the student's toolbox and task."""
        own = toolbox_of(student)
        if self.toolbox is not None and own is not None and own != self.toolbox:
            raise ValueError(
                f"model.task.type is {type(self).__name__}, which runs {self.toolbox} {MODEL_KINDS[self.toolbox]}s, "
                f"but model.student is {describe_model(student)}: set model.task.type='{default_adapter(student)}' "
                f"(or leave model.task.type out to get the adapter of the student's toolbox)")
        for i, (name, teacher) in enumerate(zip(names, teachers)):
            theirs = toolbox_of(teacher)
            if own is not None and theirs is not None and theirs != own:
                raise ValueError(
                    f"model.teachers[{i}] ({name}) is {describe_model(teacher)}, but model.student is "
                    f"{describe_model(student)}: teachers must solve the student's task; point "
                    f"model.teachers[{i}].config at the config of an {own} {MODEL_KINDS[own]}")

    def probe(self, model: nn.Module, inputs: torch.Tensor) -> ModelShapes:
        """Run ``model`` on a dummy batch and report its shapes."""
        raise NotImplementedError

    def validate(self, student: ModelShapes, teachers: Sequence[ModelShapes], names: Sequence[str]) -> None:
        """Check before training that every teacher can teach the student; raise naming the config key."""
        for i, (name, shapes) in enumerate(zip(names, teachers)):
            if shapes.num_classes != student.num_classes:
                raise ValueError(
                    f'model.teachers[{i}] ({name}) predicts {shapes.num_classes} classes but model.student '
                    f'predicts {student.num_classes}: teachers and student must share one label set; use a '
                    f"teacher trained on the student's data set or set the student head's num_classes")

    def forward_student(self, student: nn.Module, context: IterationContext) -> ModelPass:
        """Run the student once on ``context.inputs``: its normal losses, logits and features."""
        raise NotImplementedError

    def forward_teacher(self, teacher: nn.Module, context: IterationContext, student: ModelPass) -> ModelPass:
        """Run a frozen teacher once (called under ``torch.no_grad``).

        Args:
            teacher: The teacher module.
            context: The batch.
            student: The student's pass of this batch (what it found that a teacher's pass needs: the common
                logit size of a segmentor, the sampled RoIs of a two-stage detector...).
        """
        raise NotImplementedError

    def logit_kd(self, student: ModelPass, teacher: ModelPass, context: IterationContext) -> torch.Tensor:
        """Per-sample logit distillation loss ``[B]``."""
        return self.logit_loss(student.logits, teacher.logits)

    def feature_kd(self, connected: Sequence[torch.Tensor], teacher: ModelPass,
                   context: IterationContext) -> torch.Tensor:
        """Per-sample feature distillation loss ``[B]``, averaged over feature levels."""
        losses = [self.feature_loss(s, t) for s, t in zip(connected, teacher.features)]
        return torch.stack(losses, 0).mean(0)

    def feature_teacher_loss(self, teacher_model: nn.Module, connected: Sequence[torch.Tensor],
                             teacher: ModelPass, student: ModelPass, context: IterationContext) -> torch.Tensor:
        """The teacher's head applied to the student's connected features: its per-sample loss ``[B]``.

        Args:
            teacher_model: The teacher module.
            connected: The student's features mapped by this teacher's connectors (detached).
            teacher: The teacher's pass of this iteration.
            student: The student's pass of this iteration.
            context: The batch.
        """
        raise NotImplementedError(f'{type(self).__name__} does not provide feature_teacher_loss')

    def cosine(self, connected: Sequence[torch.Tensor], teacher: ModelPass) -> torch.Tensor:
        """Cosine of the pooled connected student features and the teacher's, averaged over levels: ``[B]``."""
        return pooled_cosine(connected, teacher.features)

    def teaches_logits(self, index: int) -> bool:
        """Whether teacher ``index`` gives logit distillation; if not, its ``logit_kd`` column is 0."""
        return True

    def student_outputs(self, student: ModelPass) -> List[StudentOutput]:
        """The student tensors :meth:`logit_kd` differentiates (``DistillationTerms.student_outputs``), asked
        for after every :meth:`logit_kd` call of the iteration. By default the student's ``logits`` (a tensor
        whose dim 0 is the batch); an adapter whose logit KD reads other student tensors, or rows that are not
        samples, overrides this."""
        if not isinstance(student.logits, torch.Tensor):
            raise NotImplementedError(f'{type(self).__name__}: the student logits are a {type(student.logits)}, '
                                      f'not a tensor; override student_outputs() to name the tensors logit_kd '
                                      f'differentiates')
        return [StudentOutput(student.logits)]

    def computes(self, context: IterationContext, term: str) -> bool:
        """Whether this batch computes the optional field ``term``: the context asks for it and this adapter
        provides it (every adapter provides :data:`~mtkd_rl.weighting.base.COMMON_TERMS`)."""
        return context.computes(term) and (term in COMMON_TERMS or term in self.provides)

    def terms(self,
              student: ModelPass,
              teachers: Sequence[ModelPass],
              connected: Optional[Sequence[Sequence[torch.Tensor]]],
              context: IterationContext,
              teacher_models: Sequence[nn.Module] = ()) -> DistillationTerms:
        """Assemble the :class:`DistillationTerms` of one iteration.

        Subclasses change the pieces (:meth:`logit_kd`, :meth:`feature_kd`, :meth:`cosine`,
        :meth:`feature_teacher_loss`, :meth:`teaches_logits`), not this assembly.

        Args:
            student: The student's pass.
            teachers: Each teacher's pass.
            connected: Per teacher, the student's features mapped by that teacher's connectors, or None.
            context: The batch (which optional fields to compute: :meth:`computes`).
            teacher_models: The teacher modules (for terms that reuse a teacher's head).
        """
        b = teachers[0].task_loss.shape[0]
        logit_kd = torch.stack([
            self.logit_kd(student, t, context) if self.teaches_logits(m) else
            teachers[0].task_loss.new_zeros(b) for m, t in enumerate(teachers)
        ], 1)
        feature_kd = cosine = feature_teacher_loss = None
        if connected is not None:
            feature_kd = torch.stack(
                [self.feature_kd(c, t, context) for c, t in zip(connected, teachers)], 1)
            with torch.no_grad():
                if self.computes(context, 'cosine'):
                    cosine = torch.stack([self.cosine(c, t) for c, t in zip(connected, teachers)], 1)
                if self.computes(context, 'feature_teacher_loss'):
                    feature_teacher_loss = torch.stack([
                        self.feature_teacher_loss(model, [f.detach() for f in c], t, student, context)
                        for model, c, t in zip(teacher_models, connected, teachers)
                    ], 1)
        entropy = None
        if self.computes(context, 'teacher_entropy'):
            entropy = torch.stack([t.entropy for t in teachers], 1)
        accuracy = None
        if all(t.accuracy is not None for t in teachers):
            accuracy = torch.stack([t.accuracy for t in teachers], 1).detach()
        student_outputs = self.student_outputs(student) if self.computes(context, 'student_outputs') else []
        embeddings = [t.embedding.detach() for t in teachers] if self.computes(context, 'embeddings') else []
        summaries = [t.summary.detach() for t in teachers] if self.computes(context, 'summaries') else []
        return DistillationTerms(
            logit_kd=logit_kd,
            teacher_loss=torch.stack([t.task_loss for t in teachers], 1).detach(),
            student_loss=student.task_loss.detach() if student.task_loss is not None else None,
            embeddings=embeddings,
            summaries=summaries,
            feature_kd=feature_kd,
            cosine=cosine,
            teacher_entropy=entropy,
            feature_teacher_loss=feature_teacher_loss,
            teacher_accuracy=accuracy,
            student_outputs=student_outputs)
