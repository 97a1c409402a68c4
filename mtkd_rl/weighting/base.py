"""The interface between task adapters and teacher weightings: tensors only, no toolbox types."""
import difflib
import inspect
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from mtkd_rl.registry import TEACHER_WEIGHTINGS

#: Optional :class:`DistillationTerms` fields every task adapter fills, but only when they are needed (a
#: weighting's ``required_terms``, the reward of a learnable weighting). Others a task fills only where its
#: adapter's ``provides`` lists them (``teacher_entropy``, ``feature_teacher_loss``).
COMMON_TERMS = frozenset({'student_loss', 'embeddings', 'summaries', 'cosine', 'student_outputs'})


@dataclass
class StudentOutput:
    """A student tensor that the logit KD terms differentiate, and which sample each of its entries belongs to.

    Attributes:
        tensor: The tensor, in the autograd graph of ``logit_kd`` (logits ``[B, C]``, score maps
            ``[B, C, H, W]``, flattened anchor scores ``[B, N, C]``, RoI scores ``[R, C + 1]``...).
        sample_index: None where dim 0 of ``tensor`` is the batch; else ``[R]`` (long), the sample each entry
            along dim 0 belongs to (the image of each RoI).
    """
    tensor: torch.Tensor
    sample_index: Optional[torch.Tensor] = None


@dataclass
class DistillationTerms:
    """Per-sample, per-teacher quantities of one iteration (B samples, M teachers).

    ``logit_kd``, ``feature_kd``, ``teacher_loss`` and ``teacher_accuracy`` are always filled (the loss and the
    per-teacher logs read them); the other fields only when needed (see :data:`COMMON_TERMS`), else they are
    None (empty lists for ``embeddings``, ``summaries`` and ``student_outputs``).

    Attributes:
        logit_kd: Logit distillation loss, ``[B, M]``, with gradient to the student, scaled by the logit loss's
            ``loss_weight`` (alpha) as it enters the student's objective.
        teacher_loss: Each teacher's own task loss on each sample, ``[B, M]``, detached.
        student_loss: The student's own per-sample task loss, ``[B]``, detached (the reward's task term).
        embeddings: Per teacher, its pooled feature, ``[B, d_m]``, detached.
        summaries: Per teacher, its output summary (logits for classification), ``[B, C_m]``, detached.
        feature_kd: Feature distillation loss, ``[B, M]``, with gradient to student and connectors, scaled by
            the feature loss's ``loss_weight`` (beta).
        cosine: Cosine similarity of the pooled connected student feature and the teacher's embedding,
            ``[B, M]``, detached (None also without feature distillation).
        teacher_entropy: Entropy of each teacher's prediction, ``[B, M]`` (EBKD).
        feature_teacher_loss: Teacher m's head applied to the student's connected feature, its task loss,
            ``[B, M]`` (CA-MKD's feature weights).
        teacher_accuracy: Each teacher's accuracy on each sample, ``[B, M]`` in [0, 1] (1/0 for a classified
            image, the share of correct valid pixels for a segmented one), detached; None where the task has
            no per-sample accuracy (detection).
        student_outputs: The student tensors ``logit_kd`` differentiates, with their graph (classification:
            the logits; segmentation: the logit map at the common size; dense detection: the flattened class
            scores and, with box KD, the decoded boxes; two-stage detection: the sampled RoIs' class scores and
            box deltas). Row i of ``logit_kd`` depends on sample i's entries only, so the gradient of
            ``logit_kd[:, m].sum()`` with respect to them holds each sample's own gradient (AEKD).
    """
    logit_kd: torch.Tensor
    teacher_loss: torch.Tensor
    student_loss: Optional[torch.Tensor]
    embeddings: List[torch.Tensor] = field(default_factory=list)
    summaries: List[torch.Tensor] = field(default_factory=list)
    feature_kd: Optional[torch.Tensor] = None
    cosine: Optional[torch.Tensor] = None
    teacher_entropy: Optional[torch.Tensor] = None
    feature_teacher_loss: Optional[torch.Tensor] = None
    teacher_accuracy: Optional[torch.Tensor] = None
    student_outputs: List[StudentOutput] = field(default_factory=list)


@dataclass(frozen=True)
class WeightingPhase:
    """How a learnable weighting treats one batch; fixed weightings ignore it.

    In training, :class:`~mtkd_rl.weighting.learner.WeightingLearner` gives the phase of each iteration from its
    schedule (the warm-up, ``learn_during_warmup``). ``WeightingPhase()``, the default, reads the weights without
    learning from the batch (analysis, tests, inference).

    Attributes:
        acting: The weighting's own weights (MTKD-RL: its agent fused with the priors); False: its warm-up
            weights (the agent is held back).
        collecting: The batch is collected to learn from: the weighting returns its rollout (the state and, for a
            sampling policy, the sampled action: it explores), and the terms of the reward are computed. A
            weighting that cannot learn from its warm-up weights returns no rollout while not ``acting``.
        measuring_credit: The distiller measures each teacher's credit on the batch and hands it to the
            weighting's :meth:`TeacherWeighting.observe_credit` (:mod:`~mtkd_rl.weighting.teacher_credit`), for a
            weighting that learns from it (``credit_interval``).
        meta_step: The distiller measures, per sample and teacher, what a virtual student step on that KD term does
            to the student's task loss, and adds it to the rollout (:mod:`~mtkd_rl.weighting.meta_gradient`), for a
            weighting trained by a meta step (``meta_interval``, MMKD).
    """
    acting: bool = True
    collecting: bool = False
    measuring_credit: bool = False
    meta_step: bool = False


@dataclass
class TeacherWeights:
    """Weights over teachers for one batch; each row sums to 1 (to M during a warm-up with weights of one).

    Attributes:
        logit: Weights of the logit distillation terms, ``[B, M]``.
        feature: Weights of the feature distillation terms, ``[B, M]``.
        rollout: What a learnable weighting needs to learn from this batch (its state and action) when the phase
            collects it, else None.
    """
    logit: torch.Tensor
    feature: torch.Tensor
    rollout: Optional[Dict[str, torch.Tensor]] = None


class TeacherWeighting(nn.Module):
    """Base class: turns :class:`DistillationTerms` into :class:`TeacherWeights`.

    Subclasses that learn (``learnable = True``) return a rollout in the phases that collect
    (:class:`WeightingPhase`) and define ``update_loss(transition)``, the loss of one optimizer step on a stored
    rollout with its ``'reward'``; :class:`~mtkd_rl.weighting.learner.WeightingLearner` stores the rollouts and
    takes the steps (``TeacherWeightingHook`` builds it and schedules its updates).

    Args:
        num_teachers: The number of teachers M.
        embedding_dims: Per teacher, the size of its embedding.
        summary_dims: Per teacher, the size of its output summary.
    """
    learnable: bool = False
    #: Optional fields of :class:`DistillationTerms` this weighting reads; the adapter computes only these.
    #: None (a weighting that does not say) reads every field of :data:`COMMON_TERMS`.
    required_terms: Optional[frozenset] = None
    #: Whether a learnable weighting can learn from batches weighted with its warm-up weights.
    learns_from_fixed_weights: bool = True
    #: For a weighting that learns from teacher credit: measure it on every this many iterations (else None).
    credit_interval: Optional[int] = None
    #: For a weighting that learns from teacher credit: ``'joint'`` (one credit per teacher, its logit and feature
    #: KD together), ``'separate'`` (the logit and the feature KD credited apart, ``[2, M]``) or ``'logit'`` (the
    #: logit KD alone).
    credit_heads: str = 'joint'
    #: For a weighting trained by a meta step: take it on every this many iterations (else None).
    meta_interval: Optional[int] = None
    #: The optimizer config of a learnable weighting's learner where ``TeacherWeightingHook`` names none (None:
    #: the learner's default, ``SGD`` lr 0.1).
    default_optimizer: Optional[dict] = None
    #: Arguments the distiller fills in; a config does not set them.
    FILLED_IN = frozenset({'num_teachers', 'embedding_dims', 'summary_dims'})

    def __init__(self,
                 num_teachers: int,
                 embedding_dims: Optional[Sequence[int]] = None,
                 summary_dims: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        if num_teachers < 1:
            raise ValueError('the teacher pool is empty: give at least one teacher in model.teachers')
        self.num_teachers = num_teachers
        self.embedding_dims = list(embedding_dims or [])
        self.summary_dims = list(summary_dims or [])

    def forward(self, terms: DistillationTerms, phase: WeightingPhase) -> TeacherWeights:
        """The weights of one batch.

        Args:
            terms: The batch's terms (the fields of :meth:`needed_terms` filled).
            phase: How a learnable weighting treats the batch; fixed weightings ignore it.
        """
        raise NotImplementedError

    def observe_credit(self, credit: torch.Tensor) -> None:
        """For a weighting with ``credit_interval``: a teacher-credit measurement of the current batch, as it is
        made (``[M]``, or ``[2, M]`` per head, averaged across ranks), to keep in the weighting's own state
        (saved and resumed with it). The default ignores it."""

    def needed_terms(self, phase: WeightingPhase) -> frozenset:
        """The optional :class:`DistillationTerms` fields to compute for this weighting: its ``required_terms``
        (:data:`COMMON_TERMS` where it declares none), plus the student's loss where it learns from the batch (its
        reward).

        Args:
            phase: How a learnable weighting treats the batch; fixed weightings ignore it.
        """
        needed = COMMON_TERMS if self.required_terms is None else frozenset(self.required_terms)
        return (needed | {'student_loss'}) if self.learnable and phase.collecting else needed

    @classmethod
    def options(cls) -> Optional[frozenset]:
        """The config keys this weighting takes besides ``type`` (None if it takes any)."""
        params = inspect.signature(cls.__init__).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return None
        return frozenset(p.name for p in params if p.name != 'self') - cls.FILLED_IN

    @classmethod
    def check_options(cls, cfg: dict, key: str = 'model.weighting') -> None:
        """Raise before building if ``cfg`` sets a key this weighting does not take.

        The error names the key and the weightings that take it (e.g. ``fusion`` is MTKD-RL's), or the
        closest option of this weighting.

        Args:
            cfg: The weighting config, with its ``type``.
            key: The config key of ``cfg``, for error messages.
        """
        accepted = cls.options()
        if accepted is None:
            return
        unknown = sorted(set(cfg) - {'type', '_scope_'} - accepted)
        if not unknown:
            return
        name = cfg.get('type', cls.__name__)
        option = unknown[0]
        others = [n for n, c in _weighting_names().items() if c is not cls and (c.options() is None or
                                                                                 option in c.options())]
        if option in cls.FILLED_IN:
            reason = 'the distiller fills it in from the teacher pool: remove it'
        elif others:
            reason = (f"it is an option of {' and '.join(others)}, not of {name}: remove it from {key} (a config "
                      f"that inherits one with {others[0]} options replaces the whole dict: "
                      f"weighting=dict(_delete_=True, type='{name}'))")
        else:
            close = difflib.get_close_matches(option, sorted(accepted), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ''
            reason = (f"no weighting takes it; {hint}{name} takes "
                      f"{', '.join(sorted(accepted)) if accepted else 'no options'}")
        more = f' (also unknown: {", ".join(unknown[1:])})' if len(unknown) > 1 else ''
        raise ValueError(f'{key}.{option} is set for {name}, but {reason}{more}')


def _weighting_names() -> Dict[str, type]:
    """Each registered weighting under its first (short) registered name, e.g. ``'AVER'``."""
    TEACHER_WEIGHTINGS.import_from_location()
    names: Dict[str, type] = {}
    for name, cls in TEACHER_WEIGHTINGS.module_dict.items():
        if cls not in names.values():
            names[name] = cls
    return names


def confidence_prior(loss: torch.Tensor) -> torch.Tensor:
    """Confidence-aware weights: ``(1 - softmax_m(loss)) / (M - 1)``; a lower loss gives a larger weight.

    Args:
        loss: Per-sample, per-teacher losses, ``[B, M]``.

    Returns:
        Weights ``[B, M]`` whose rows sum to 1 (all ones for M = 1).
    """
    m = loss.shape[1]
    if m == 1:
        return torch.ones_like(loss)
    return (1.0 - torch.softmax(loss, dim=1)) / (m - 1)


def restrict_weights(weights: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Move the weight of teachers that may not teach a term onto those that may, per sample.

    The allowed teachers' weights are scaled so each row keeps its total (1 for weights on the simplex).

    Args:
        weights: ``[B, M]`` weights.
        allowed: ``[M]`` booleans (per teacher), or ``[B, M]`` booleans or values in [0, 1] (per sample).

    Returns:
        ``[B, M]`` weights, zero for teachers that are not allowed.
    """
    kept = weights * allowed.to(weights.dtype)
    total = weights.sum(1, keepdim=True)
    return kept * (total / kept.sum(1, keepdim=True).clamp_min(torch.finfo(weights.dtype).tiny))
