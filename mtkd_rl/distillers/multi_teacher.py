"""The multi-teacher distiller: one student, M frozen teachers, per-sample teacher weights.

One class over 300 lines: its build (teachers, probes, checks, connectors, weighting) and its iteration (terms,
weights, losses, the learner's rollouts) share the distiller's state.
"""
import copy
import inspect
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.registry import MODELS as MMENGINE_MODELS

from mtkd_rl.losses.loss_dict import sum_loss_dict
from mtkd_rl.registry import MODELS, TEACHER_WEIGHTINGS, build
from mtkd_rl.tasks import IterationContext, ModelShapes, TaskAdapter
from mtkd_rl.tasks.toolboxes import TASK_ADAPTERS, default_adapter
from mtkd_rl.weighting import (COMMON_TERMS, DistillationTerms, RewardTerms, TeacherWeighting, TeacherWeights,
                              WeightingLearner, WeightingPhase, restrict_weights)
from mtkd_rl.weighting.teacher_credit import averaged_across_ranks, gradient_alignment
from mtkd_rl.weighting.meta_gradient import MetaAlignment, virtual_step_alignment
from .teacher_check import TeacherPoolCheck
from .teacher_speedups import TeacherSpeedups
from .teachers import input_channels, input_normalisation, load_teacher


#: Added to the global seed to seed the weighting's own random stream (any fixed value would do: it only keeps
#: the weighting's draws apart from the student's, which start from the global seed itself).
WEIGHTING_SEED_OFFSET = 0x5EED_A6E7


@contextmanager
def weighting_random_stream() -> Iterator[None]:
    """Build a weighting from a CPU random stream of its own, seeded from the current global seed.

    Inside, the CPU generator is seeded with ``torch.initial_seed() + WEIGHTING_SEED_OFFSET`` (the seed mmengine's
    ``randomness.seed`` set), so a weighting's initial parameters are the same at every run with that seed; on
    leaving, the global CPU stream is restored as it was on entering, so whatever the weighting draws, the
    student's initialisation (``init_weights``, after the build) draws the same numbers under every weighting.
    Weightings are built on the CPU; the CUDA generators are neither used nor touched.
    """
    seed = (torch.initial_seed() + WEIGHTING_SEED_OFFSET) % 2**64
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        yield


@MODELS.register_module()
class MultiTeacherDistiller(BaseModel):
    """Distil a pool of frozen teachers into a student with per-sample, per-teacher weights.

    Teachers are frozen, in eval mode for the whole run, and kept out of ``state_dict``, the optimizer and
    the DDP wrapper (like mmdet's ``KnowledgeDistillationSingleStageDetector``). ``predict`` and ``tensor``
    modes and the data preprocessor are the student's, so the toolbox's val/test loops work unchanged. The
    weighting lives beside the teachers (out of ``state_dict``). A learnable one is trained by a
    :class:`~mtkd_rl.weighting.WeightingLearner` handed over by :meth:`attach_learner` (``TeacherWeightingHook``
    builds it, schedules its updates and saves it): at each training iteration the distiller asks it for the
    phase and hands it the batch's rollout with the reward's terms.

    Args:
        student: The student's model config (an ordinary mmpretrain/mmdet/mmseg model).
        teachers: One ``dict(config=..., checkpoint=..., name=None)`` per teacher.
        task: The task adapter config, e.g. ``dict(type='ClassificationAdapter')``; by default the adapter of
            the student's toolbox (mmpretrain, mmdet or mmseg) with its default losses.
        weighting: The teacher weighting config: ``AVER``, ``EBKD``, ``CA-MKD``, ``AEKD`` or ``MTKD-RL``. It is
            built from a random stream of its own (:func:`weighting_random_stream`), so at one seed the student
            starts from the same weights under every weighting.
        connector: The connector config, one per teacher and feature level.
        data_preprocessor: Used for the student when its own config has none.
        teacher_check: Arguments of :class:`TeacherPoolCheck`, which warns on the first training batches about
            a teacher far worse than the rest of the pool (e.g. ``dict(iters=20, loss_ratio=2.0)``), or None to
            turn the check off.
        teacher_speedups: Cheaper teacher forward passes, ``dict(fuse_conv_bn=False, dtype=None,
            channels_last=False)`` (see :class:`~mtkd_rl.distillers.teacher_speedups.TeacherSpeedups`).
        init_cfg: Initialisation config of the student and connectors.
    """

    def __init__(self,
                 student: dict,
                 teachers: Sequence[dict],
                 task: Optional[dict] = None,
                 weighting: dict = dict(type='MTKD-RL'),
                 connector: dict = dict(type='ConvBNReLUConnector'),
                 data_preprocessor: Optional[dict] = None,
                 teacher_check: Optional[dict] = dict(),
                 teacher_speedups: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.teacher_speedups = TeacherSpeedups.from_config(teacher_speedups)
        if not isinstance(teachers, (list, tuple)) or len(teachers) == 0:
            raise ValueError('model.teachers is empty: give at least one dict(config=..., checkpoint=...)')
        student = copy.deepcopy(dict(student))
        if data_preprocessor is not None and student.get('data_preprocessor') is None:
            student['data_preprocessor'] = data_preprocessor
        self.student = MMENGINE_MODELS.build(student)
        self.data_preprocessor = self.student.data_preprocessor
        self.task: TaskAdapter = build(self._task_config(task))
        weighting = self._weighting_config(weighting)

        names, modules = [], []
        for i, teacher_cfg in enumerate(teachers):
            name, module = load_teacher(teacher_cfg, i)
            if 'loss' in name:
                raise ValueError(f"model.teachers[{i}].name '{name}' contains 'loss', which mmengine would sum "
                                 f"into the training loss; rename it")
            names.append(name)
            modules.append(module)
        if len(set(names)) != len(names):
            raise ValueError(f'model.teachers have duplicate names {names}; set a unique name for each')
        self.teacher_names: List[str] = names
        self.teachers: List[nn.Module] = modules  # a plain list: not registered as submodules
        self.teacher_check = self._build_teacher_check(teacher_check)

        self.task.check_models(self.student, self.teachers, self.teacher_names)
        self._check_normalisation()
        student_shapes, teacher_shapes = self._probe()
        if self.teacher_speedups.enabled:
            batch = torch.randn(2, self._probe_channels(), *self.task.probe_size,
                                generator=torch.Generator().manual_seed(0))
            for i, (name, teacher) in enumerate(zip(names, modules)):
                self.teacher_speedups.apply(teacher, lambda m: self.task.probe(m, batch),
                                            f'model.teachers[{i}] ({name})')
        self.connectors = self._build_connectors(connector, student_shapes, teacher_shapes)

        # The weighting's parameters (an agent, a meta-network) come from a random stream of their own, so every
        # weighting leaves the global stream where the student's init_weights (called by the Runner after this)
        # finds it: one seed, one student start, whatever the weighting (paired seeds).
        with weighting_random_stream():
            module = build(weighting, TEACHER_WEIGHTINGS, default_args=dict(
                num_teachers=len(modules),
                embedding_dims=[s.embedding_dim for s in teacher_shapes],
                summary_dims=[s.summary_dim for s in teacher_shapes]))
        missing = set(module.needed_terms(WeightingPhase(acting=True, collecting=True))) - set(
            self.task.provides) - COMMON_TERMS
        if missing:
            reasons = ''.join(f' ({k}: {v})' for k, v in getattr(self.task, 'unavailable', {}).items()
                              if k in missing)
            raise ValueError(f"model.weighting '{weighting['type']}' needs {sorted(missing)}, which "
                             f"{type(self.task).__name__} does not provide{reasons}; choose another weighting")
        self.weighting: TeacherWeighting = module
        logit_teachers = [bool(self.task.teaches_logits(m)) for m in range(len(modules))]
        #: Teachers that give logit distillation; the others' logit weight moves to them.
        self.register_buffer('logit_teachers', torch.tensor(logit_teachers), persistent=False)
        self._all_teach_logits = all(logit_teachers)
        self._learner: Optional[WeightingLearner] = None

    def _build_teacher_check(self, cfg: Optional[dict]) -> Optional[TeacherPoolCheck]:
        if cfg is None:
            return None
        allowed = [p for p in inspect.signature(TeacherPoolCheck).parameters if p != 'names']
        unknown = sorted(set(cfg) - set(allowed))
        if unknown:
            raise ValueError(f'model.teacher_check has unknown keys {unknown}; allowed: {allowed} (or set '
                             f'model.teacher_check=None to turn the check off)')
        return TeacherPoolCheck(self.teacher_names, **cfg)

    def __setattr__(self, name, value):
        # The weighting is trained by its hook with its own optimizer: keep it out of the module tree.
        if name == 'weighting':
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    @property
    def with_feature_kd(self) -> bool:
        return self.task.feature_loss is not None

    def _task_config(self, task: Optional[dict]) -> dict:
        """``model.task`` with the adapter of the student's toolbox where it gives no ``type``, and partial loss
        configs completed with the adapter's defaults."""
        task = dict(task) if task is not None else {}
        if 'type' not in task:
            task['type'] = default_adapter(self.student)
            if task['type'] is None:
                raise ValueError(f"model.task has no type and {type(self.student).__name__} is not an mmpretrain, "
                                 f"mmdet or mmseg model: set model.task=dict(type='...Adapter')")
        adapter = MODELS.get(task['type']) if isinstance(task['type'], str) else task['type']
        if adapter is None:
            raise KeyError(f"model.task.type '{task['type']}' is unknown; choose one of "
                           f"{sorted(set(TASK_ADAPTERS.values()))} or register your adapter in mtkd_rl's MODELS")
        return adapter.complete_config(task) if issubclass(adapter, TaskAdapter) else task

    @staticmethod
    def _weighting_config(weighting: dict) -> dict:
        """``model.weighting`` (MTKD-RL where it gives no ``type``), checked against the weighting's options."""
        weighting = dict(weighting)
        weighting.setdefault('type', 'MTKD-RL')  # e.g. --cfg-options model.weighting.fusion=... alone
        weighting_cls = TEACHER_WEIGHTINGS.get(weighting['type'])
        if weighting_cls is None:
            raise KeyError(f"model.weighting.type '{weighting['type']}' is unknown; choose one of "
                           f"{sorted(TEACHER_WEIGHTINGS.module_dict)}")
        weighting_cls.check_options(weighting)
        return weighting

    def _check_normalisation(self) -> None:
        """Teachers see the student's preprocessed batch: they must take as many channels, normalised the same
        way."""
        student = input_normalisation(self.student)
        for i, (name, teacher) in enumerate(zip(self.teacher_names, self.teachers)):
            own = input_normalisation(teacher)
            if student is not None and own is not None and len(own['mean']) != len(student['mean']):
                raise self._channel_error(i, len(own['mean']), len(student['mean']))
            if student is not None and own is not None and own != student:
                raise ValueError(
                    f"model.teachers[{i}] ({name}) was trained on images normalised with {own}, but the student's "
                    f'data_preprocessor gives {student}, and teachers see the student\'s preprocessed batch. Use '
                    f"teachers trained with the student's normalisation, or set the student's data_preprocessor "
                    f'to theirs')

    def _probe_channels(self) -> int:
        """The number of input channels the student expects."""
        mean = getattr(self.data_preprocessor, 'mean', None)
        if isinstance(mean, torch.Tensor) and mean.dim() == 3:
            return int(mean.shape[0])
        return input_channels(self.student) or 3

    def _probe(self):
        """Find the student's and teachers' feature, embedding and output sizes with a dummy batch."""
        channels = self._probe_channels()
        dummy = torch.zeros(2, channels, *self.task.probe_size)
        was_training = self.student.training
        self.student.eval()
        keys = ['model.student'] + [f'model.teachers[{i}] ({n})' for i, n in enumerate(self.teacher_names)]
        shapes = []
        try:
            with torch.no_grad():
                for key, model in zip(keys, [self.student] + self.teachers):
                    try:
                        shapes.append(self.task.probe(model, dummy))
                    except (RuntimeError, ValueError, AssertionError) as e:
                        theirs = input_channels(model)
                        if model is not self.student and theirs is not None and theirs != channels:
                            raise self._channel_error(len(shapes) - 1, theirs, channels) from e
                        raise ValueError(
                            f'{key} failed on a probe batch of shape {tuple(dummy.shape)} ({e}); set '
                            f'model.task.probe_size to an input size the model accepts') from e
        finally:
            self.student.train(was_training)
        student_shapes, teacher_shapes = shapes[0], shapes[1:]
        self.task.validate(student_shapes, teacher_shapes, self.teacher_names)
        return student_shapes, teacher_shapes

    def _channel_error(self, index: int, theirs: int, ours: int) -> ValueError:
        return ValueError(
            f"model.teachers[{index}] ({self.teacher_names[index]}) takes {theirs}-channel images but model.student "
            f"takes {ours}-channel images, and teachers see the student's preprocessed batch: use a teacher trained "
            f"on {ours}-channel images normalised as the student's data_preprocessor does")

    def _build_connectors(self, connector: dict, student: ModelShapes,
                          teachers: Sequence[ModelShapes]) -> Optional[nn.ModuleList]:
        if not self.with_feature_kd:
            return None
        per_teacher = []
        for i, (name, shapes) in enumerate(zip(self.teacher_names, teachers)):
            if len(shapes.feature_shapes) != len(student.feature_shapes):
                raise ValueError(
                    f'model.teachers[{i}] ({name}) gives {len(shapes.feature_shapes)} feature levels but '
                    f'model.student gives {len(student.feature_shapes)}; model.connector maps level to level: '
                    f'use a teacher with as many levels or set model.task.feature_loss=None')
            levels = []
            for s_shape, t_shape in zip(student.feature_shapes, shapes.feature_shapes):
                if len(s_shape) != 3 or len(t_shape) != 3:
                    raise ValueError(
                        f'model.connector maps [B, C, H, W] feature maps, but model.student gives a feature of '
                        f'shape [B, {", ".join(map(str, s_shape))}] and model.teachers[{i}] ({name}) one of '
                        f'[B, {", ".join(map(str, t_shape))}]; use convolutional backbones for feature '
                        f'distillation or set model.task.feature_loss=None')
                levels.append(build(connector, default_args=dict(in_channels=s_shape[0],
                                                                 out_channels=t_shape[0])))
            per_teacher.append(nn.ModuleList(levels))
        return nn.ModuleList(per_teacher)

    def _apply(self, fn, *args, **kwargs):
        for teacher in self.teachers:
            teacher._apply(fn, *args, **kwargs)
        self.weighting._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True):
        super().train(mode)
        for teacher in self.teachers:
            teacher.eval()
        self.weighting.train(mode)
        return self

    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode)

    @property
    def learner(self) -> Optional[WeightingLearner]:
        """The learner that trains the weighting, or None (a fixed weighting, or none attached yet)."""
        return self._learner

    def attach_learner(self, learner: Optional[WeightingLearner]) -> None:
        """Hand over the learner of the (learnable) weighting; None detaches it.

        From then on each training iteration takes its phase from ``learner.phase()`` and hands the batch's
        rollout and reward terms to ``learner.collect``.

        Raises:
            ValueError: The learner trains another weighting.
        """
        if learner is not None and learner.weighting is not self.weighting:
            raise ValueError(f'the learner trains a {type(learner.weighting).__name__} that is not this '
                             f"distiller's model.weighting")
        self._learner = learner

    def _training_phase(self) -> WeightingPhase:
        """The phase of a training iteration: the learner's for a learnable weighting; nothing is collected from
        a pass in eval mode."""
        if not self.weighting.learnable:
            return WeightingPhase()
        if self._learner is None:
            raise RuntimeError(
                f"model.weighting '{type(self.weighting).__name__}' learns, but no TeacherWeightingHook is "
                f"registered: add dict(type='mtkd_rl.TeacherWeightingHook') to custom_hooks")
        phase = self._learner.phase()
        return phase if self.training else WeightingPhase(acting=phase.acting)

    def teacher_weights(self, terms: DistillationTerms, phase: WeightingPhase) -> TeacherWeights:
        """The weighting's weights for one batch, with the logit weight of teachers that teach features only
        moved onto the others."""
        weights = self.weighting(terms, phase)
        if not self._all_teach_logits:
            weights = TeacherWeights(restrict_weights(weights.logit, self.logit_teachers), weights.feature,
                                     weights.rollout)
        return weights

    def weigh_batch(self, inputs: torch.Tensor, data_samples: list,
                    phase: WeightingPhase = WeightingPhase()) -> Tuple[DistillationTerms, TeacherWeights]:
        """A batch's terms and teacher weights, exactly as a training iteration's loss uses them.

        Nothing else happens: no rollout is stored (``weights.rollout`` is returned where ``phase`` collects)
        and the teacher check is not fed. The models run in their current mode (in eval mode the student's
        normalisation layers use their running statistics) and under the caller's grad mode (AEKD's weights need
        gradients; under ``no_grad`` they are 1/M).

        Args:
            inputs: The preprocessed batch.
            data_samples: Its data samples.
            phase: How a learnable weighting treats the batch; by default it acts and nothing is collected.

        Returns:
            The terms (with the optional fields the weighting reads in ``phase``) and the weights.
        """
        _, terms, weights = self._weigh(inputs, data_samples, phase)
        return terms, weights

    def _weigh(self, inputs: torch.Tensor, data_samples: list, phase: WeightingPhase):
        """The student's pass, the batch's terms and its weights in ``phase``."""
        # only the optional terms the weighting reads (and, for a batch learnt from, its reward) are computed
        context = IterationContext.create(inputs, data_samples, self.weighting.needed_terms(phase))
        student = self.task.forward_student(self.student, context)
        with torch.no_grad():
            teachers = [self.task.forward_teacher(t, context, student) for t in self.teachers]
        connected = None
        if self.with_feature_kd:
            connected = [[conn(s, t.shape[-2:]) for conn, s, t in zip(conns, student.features, tp.features)]
                         for conns, tp in zip(self.connectors, teachers)]
        terms = self.task.terms(student, teachers, connected, context, self.teachers)
        return student, terms, self.teacher_weights(terms, phase)

    def loss(self, inputs: torch.Tensor, data_samples: list) -> Dict[str, torch.Tensor]:
        """One training iteration's losses: the student's own, plus the weighted logit and feature KD.

        With a learnable weighting, the batch is weighted in the learner's phase, and where that phase collects
        it, its rollout and reward terms go to the learner.
        """
        phase = self._training_phase()
        student, terms, weights = self._weigh(inputs, data_samples, phase)
        w_logit = weights.logit
        kd_logit = (w_logit * terms.logit_kd).sum(1)
        losses = {f'student.{k}': v for k, v in student.losses.items()}
        losses['loss_kd_logit'] = kd_logit.mean()
        kd_feature = None
        if terms.feature_kd is not None:
            kd_feature = (weights.feature * terms.feature_kd).sum(1)
            losses['loss_kd_feature'] = kd_feature.mean()

        for m, name in enumerate(self.teacher_names):
            # mmengine sums every logged key containing 'loss': a teacher's own loss is logged as its 'risk'
            losses[f'teacher_risk.{name}'] = terms.teacher_loss[:, m].mean()
            if terms.teacher_accuracy is not None:
                losses[f'teacher_acc.{name}'] = terms.teacher_accuracy[:, m].mean()
            losses[f'kd_logit.{name}'] = terms.logit_kd[:, m].detach().mean()
            losses[f'w_logit.{name}'] = w_logit[:, m].mean()
            if terms.feature_kd is not None:
                losses[f'kd_feature.{name}'] = terms.feature_kd[:, m].detach().mean()
                losses[f'w_feature.{name}'] = weights.feature[:, m].mean()

        if self.teacher_check is not None and self.training:
            self.teacher_check.update(terms)
        if weights.rollout is not None and phase.collecting:
            rollout = weights.rollout
            if phase.measuring_credit:
                credit = self.teacher_credit(student.losses, terms, self.weighting.credit_heads)
                self.weighting.observe_credit(credit)
                for key, row in zip(('credit', 'credit_feature'), credit.view(-1, len(self.teacher_names))):
                    losses.update({f'{key}.{name}': row[m] for m, name in enumerate(self.teacher_names)})
            if phase.meta_step:
                rollout = dict(rollout, **self.meta_alignment(student.losses, terms).as_rollout())
            self._learner.collect(rollout, RewardTerms(terms.student_loss, kd_logit, kd_feature))
        return losses

    def teacher_credit(self, student_losses: Dict[str, torch.Tensor], terms: DistillationTerms,
                       heads: str = 'joint') -> torch.Tensor:
        """Each teacher's credit on the batch, ``[M]`` (:func:`~mtkd_rl.weighting.teacher_credit.
        gradient_alignment`): the cosine between the gradient of its distillation terms (each with its loss's
        ``loss_weight``) and the gradient of the student's own loss, over every trainable parameter of the
        student; averaged across ranks. The graph is kept for the training step.

        Args:
            student_losses: The student's loss dict of the batch (with its graph).
            terms: The batch's terms (``logit_kd`` and ``feature_kd`` with their graph).
            heads: Which terms are credited (the weighting's ``credit_heads``): ``'joint'``, the logit and the
                feature KD of each teacher together; ``'separate'``, apart, ``[2, M]`` (logit, feature), with
                feature KD; ``'logit'``, the logit KD alone.
        """
        params = [p for p in self.student.parameters() if p.requires_grad]
        m = len(self.teachers)
        logit = [terms.logit_kd[:, i].mean() for i in range(m)]
        if heads == 'logit' or terms.feature_kd is None:
            objectives, shape = logit, (m, )
        elif heads == 'separate':
            objectives, shape = logit + [terms.feature_kd[:, i].mean() for i in range(m)], (2, m)
        else:
            objectives, shape = [kd + terms.feature_kd[:, i].mean() for i, kd in enumerate(logit)], (m, )
        credit = gradient_alignment(objectives, sum_loss_dict(student_losses), params)
        return averaged_across_ranks(credit.detach().view(shape))

    def meta_alignment(self, student_losses: Dict[str, torch.Tensor], terms: DistillationTerms) -> MetaAlignment:
        """Per sample and teacher, the alignment of its weighted distillation terms with the student's task
        gradient, ``A_im = <grad_theta alpha KL_im, g>`` (and ``beta F_im`` for features; alpha and beta are
        inside the terms), over every trainable
        parameter of the student (:func:`~mtkd_rl.weighting.meta_gradient.virtual_step_alignment`: MMKD's
        first-order meta-gradient; ``g`` averaged across ranks). The graph is kept for the training step.

        Args:
            student_losses: The student's loss dict of the batch (with its graph): the quiz loss.
            terms: The batch's terms (``logit_kd`` and ``feature_kd`` with their graph).
        """
        params = [p for p in self.student.parameters() if p.requires_grad]
        logit, feature = virtual_step_alignment(sum_loss_dict(student_losses), [terms.logit_kd, terms.feature_kd],
                                                params)
        return MetaAlignment(logit, feature)
