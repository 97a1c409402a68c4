"""Semantic segmentation (mmseg ``EncoderDecoder``) adapter: per-image terms from pixel maps (method.md 10).

A sample is an image. Every per-image quantity is an average over its *valid* pixels, those whose label is
not the decode head's ``ignore_index`` (255 in mmseg, also the value the data preprocessor pads labels with),
so ignored and padded pixels take part in no loss, no state entry and no reward:

- ``KL_i^m``: the pixel-wise KL between teacher and student (``LogitKL`` with ``class_dim=1``), or
  channel-wise distillation (``ChannelWiseKL``), or a weighted sum of several such losses;
- ``CE_i^m``: the teacher's mean pixel cross-entropy;
- ``e_m``: the average of the teacher's feature map (the decode head's input) over valid positions;
- the output summary: the teacher's class probabilities averaged over valid pixels (``C`` values);
- the EBKD entropy: the teacher's mean pixel entropy;
- CA-MKD's feature-side loss: the teacher's whole decode head run on the student's connected feature (see
  :meth:`SegmentationAdapter.terms`).

Logit maps of different output strides (DeepLabV3 at 1/8, DeepLabV3+ at 1/4, ...) are resized bilinearly to
one common size: the student's logit size (default) or the label size. Labels are resized to it with nearest
neighbour.
"""
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mtkd_rl.losses.logit import reduce_per_sample
from mtkd_rl.options import check_choice
from mtkd_rl.registry import MODELS, build
from .base import ModelPass, ModelShapes, TaskAdapter
from .context import IterationContext
from .pixel_maps import batch_labels, masked_pixel_ce, masked_pixel_nll, resize_logits
from .reductions import global_pool


@dataclass
class SegmentorPass(ModelPass):
    """A segmentor's pass; its logits are at the iteration's common size.

    Attributes:
        labels: The batch's labels at the common size, ``[B, H, W]`` (student).
        valid: Which of them count (not ``ignore_index``), ``[B, H, W]`` (student).
        levels: The backbone's levels, which the decode head reads (teachers: CA-MKD's teacher term runs the
            head on them with the student's feature in place of its input level).
        feature_valid: The valid positions of the distilled feature map, ``[B, h, w]`` (teachers).
    """
    labels: Optional[torch.Tensor] = None
    valid: Optional[torch.Tensor] = None
    levels: Sequence[torch.Tensor] = ()
    feature_valid: Optional[torch.Tensor] = None


@dataclass
class SegmentorShapes(ModelShapes):
    """A segmentor's probe.

    Attributes:
        ignore_index: Its decode head's ``ignore_index``.
    """
    ignore_index: Optional[int] = None


class _LossSum(nn.Module):
    """Several per-sample pixel-map losses as one: their sum (each scales itself by its ``loss_weight``)."""

    def __init__(self, losses: Sequence[nn.Module]) -> None:
        super().__init__()
        self.losses = nn.ModuleList(losses)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor = None) -> torch.Tensor:
        return sum(loss(student, teacher, mask) for loss in self.losses)


def _seg_logits(out: Any) -> torch.Tensor:
    """The logit map of a decode head's ``forward`` output (some heads return ``(logits, extras...)``)."""
    return out[0] if isinstance(out, (tuple, list)) else out


def _feature_index(head: nn.Module) -> int:
    """The backbone level the decode head reads (the deepest one where it reads several)."""
    index = head.in_index
    return max(index) if isinstance(index, (tuple, list)) else index


@MODELS.register_module()
class SegmentationAdapter(TaskAdapter):
    """Per-image terms for mmseg encoder-decoder segmentors (backbone, optional neck, one decode head,
    optional auxiliary heads).

    The student runs its backbone once; its decode head's logits feed both its normal mmseg losses (decode
    and auxiliary heads, exactly as ``EncoderDecoder.loss`` computes them) and the distillation. Features are
    the decode head's input level (the backbone's last stage for DeepLabV3, PSPNet, DeepLabV3+, FCN).

    Args:
        logit_loss: Per-image pixel-map KD loss config, called as ``loss(student, teacher, valid_mask)`` on
            ``[B, C, H, W]`` logits: ``LogitKL`` (pixel-wise KL; default, T = 1, weight 1) or
            ``ChannelWiseKL`` (CWD); a list of configs sums them, each scaled by its ``loss_weight``.
        feature_loss: Per-image feature KD loss config (default ``FeatureMSE`` with weight 5), or None.
        kd_size: The common size of logit maps: ``'student'`` (the student's logit size, cheap; teachers'
            logits resized to it) or ``'label'`` (every map upsampled to the label size, as mmseg's loss).
        probe_size: Spatial size of the dummy input used at build time.
    """
    provides = frozenset({'teacher_entropy', 'feature_teacher_loss'})
    toolbox = 'mmseg'

    def __init__(self,
                 logit_loss: Union[dict, Sequence[dict]] = dict(type='LogitKL', temperature=1.0, loss_weight=1.0),
                 feature_loss: Optional[dict] = dict(type='FeatureMSE', loss_weight=5.0),
                 kd_size: str = 'student',
                 probe_size: Sequence[int] = (64, 64)) -> None:
        configs = [logit_loss] if isinstance(logit_loss, dict) else list(logit_loss)
        if not configs:
            raise ValueError('model.task.logit_loss is an empty list: give at least one loss config')
        super().__init__(configs[0], feature_loss, probe_size)
        if len(configs) > 1:
            self.logit_loss = _LossSum([self.logit_loss] + [build(c, key=f'model.task.logit_loss[{i}]')
                                                            for i, c in enumerate(configs[1:], 1)])
        self.kd_size = check_choice(kd_size, ('student', 'label'), 'model.task.kd_size')

    # ------------------------------------------------------------------ model access

    @staticmethod
    def _check(model: nn.Module) -> None:
        if not hasattr(model, 'extract_feat') or not hasattr(model, 'decode_head'):
            raise TypeError(f'SegmentationAdapter needs an mmseg EncoderDecoder (backbone, decode_head); '
                            f'{type(model).__name__} has no extract_feat/decode_head')
        head = model.decode_head
        if isinstance(head, nn.ModuleList):
            raise TypeError(f'SegmentationAdapter supports one decode head; {type(model).__name__} has a cascade '
                            f'of {len(head)}: use an EncoderDecoder student/teacher')
        if head.out_channels != head.num_classes:
            raise ValueError(f'{type(head).__name__} has out_channels={head.out_channels} for num_classes='
                             f'{head.num_classes} (a sigmoid binary head); pixel KD needs one logit per class: '
                             f'set decode_head.out_channels=num_classes')

    def probe(self, model: nn.Module, inputs: torch.Tensor) -> SegmentorShapes:
        self._check(model)
        head = model.decode_head
        x = model.extract_feat(inputs)
        logits = _seg_logits(head.forward(x))
        feature = x[_feature_index(head)]
        return SegmentorShapes(
            feature_shapes=[tuple(feature.shape[1:])],
            embedding_dim=int(feature.shape[1]),
            summary_dim=int(logits.shape[1]),
            num_classes=int(head.num_classes),
            ignore_index=head.ignore_index)

    def validate(self, student: SegmentorShapes, teachers: Sequence[SegmentorShapes],
                 names: Sequence[str]) -> None:
        super().validate(student, teachers, names)
        for i, (name, shapes) in enumerate(zip(names, teachers)):
            if shapes.ignore_index != student.ignore_index:
                raise ValueError(
                    f'model.teachers[{i}] ({name}) has decode_head.ignore_index={shapes.ignore_index}'
                    f' but model.student has {student.ignore_index}: pixels ignored by one would '
                    f'be scored by the other; set the same ignore_index in both configs')

    # ------------------------------------------------------------------ forward passes

    def forward_student(self, student: nn.Module, context: IterationContext) -> SegmentorPass:
        """One backbone pass; the decode head's logits serve its mmseg loss and the distillation.

        Heads that keep ``BaseDecodeHead.loss`` (ASPP, PSP, FCN, DeepLabV3+, ...) run once. A head that
        overrides ``loss`` (e.g. point-sampling heads) is run through its own ``loss`` and once more by
        ``forward`` for the distilled logits.
        """
        from mmseg.models.decode_heads.decode_head import BaseDecodeHead

        head = student.decode_head
        data_samples = context.data_samples
        x = student.extract_feat(context.inputs)
        if type(head).loss is BaseDecodeHead.loss:
            out = head.forward(x)
            losses = {f'decode.{k}': v for k, v in head.loss_by_feat(out, data_samples).items()}
        else:
            losses = student._decode_head_forward_train(x, data_samples)
            out = head.forward(x)  # a second decode-head pass: this head's loss() hides its logits
        if student.with_auxiliary_head:
            losses.update(student._auxiliary_head_forward_train(x, data_samples))

        logits = _seg_logits(out)
        labels, valid = batch_labels(context.batch, logits.shape[-2:] if self.kd_size == 'student' else None,
                                     head.ignore_index)
        logits = resize_logits(logits, labels.shape[-2:], student.align_corners)
        task_loss = None
        if self.computes(context, 'student_loss'):
            with torch.no_grad():
                task_loss = masked_pixel_ce(logits.detach(), labels, valid)
        return SegmentorPass(logits=logits, features=[x[_feature_index(head)]], task_loss=task_loss,
                             losses=losses, labels=labels, valid=valid)

    def forward_teacher(self, teacher: nn.Module, context: IterationContext,
                        student: SegmentorPass) -> SegmentorPass:
        """Run a frozen teacher (in eval mode: decode-head dropout is off) and compute its per-image terms at the
        student's common logit size."""
        head = teacher.decode_head
        x = teacher.extract_feat(context.inputs)
        labels, valid = batch_labels(context.batch, tuple(student.logits.shape[-2:]), head.ignore_index)
        logits = resize_logits(_seg_logits(head.forward(x)), labels.shape[-2:], teacher.align_corners)
        log_p = F.log_softmax(logits, dim=1)  # one softmax serves the task loss, entropy and summary
        task_loss = masked_pixel_nll(log_p, labels, valid)
        entropy = summary = embedding = None
        if self.computes(context, 'teacher_entropy') or self.computes(context, 'summaries'):
            p = log_p.exp()
            if self.computes(context, 'teacher_entropy'):
                entropy = reduce_per_sample(-(p * log_p).sum(1), valid)
            if self.computes(context, 'summaries'):
                summary = global_pool(p, valid)

        feature = x[_feature_index(head)]
        _, feature_valid = batch_labels(context.batch, feature.shape[-2:], head.ignore_index)
        if self.computes(context, 'embeddings') or self.computes(context, 'cosine'):  # the cosine reads it
            embedding = global_pool(feature, feature_valid)
        return SegmentorPass(
            logits=logits,
            features=[feature],
            task_loss=task_loss,
            embedding=embedding,
            summary=summary,
            entropy=entropy,
            accuracy=reduce_per_sample((logits.argmax(1) == labels).to(logits.dtype), valid),
            levels=x,
            feature_valid=feature_valid)

    # ------------------------------------------------------------------ per-image terms

    def logit_kd(self, student: SegmentorPass, teacher: SegmentorPass, context: IterationContext) -> torch.Tensor:
        """Pixel-map KD over the student's valid pixels at the common size: ``[B]``."""
        return self.logit_loss(student.logits, teacher.logits, student.valid)

    def feature_kd(self, connected: Sequence[torch.Tensor], teacher: SegmentorPass,
                   context: IterationContext) -> torch.Tensor:
        """Feature KD over the valid positions of the teacher's feature map: ``[B]``."""
        mask = teacher.feature_valid
        losses = [self.feature_loss(s, t, mask) for s, t in zip(connected, teacher.features)]
        return torch.stack(losses, 0).mean(0)

    def feature_teacher_loss(self, teacher_model: nn.Module, connected: Sequence[torch.Tensor],
                             teacher: SegmentorPass, student: SegmentorPass,
                             context: IterationContext) -> torch.Tensor:
        """CA-MKD's feature-side loss: teacher m's decode head on the student's connected feature.

        The connector maps the student's feature into the space of the teacher's decode-head input, so the
        teacher's whole decode head (ASPP/PSP/... and its ``conv_seg``) is what reads it; ``conv_seg``
        alone would read the head's inner feature, a different space. Levels the head reads besides its
        input level (DeepLabV3+'s stride-4 skip) stay the teacher's own.
        """
        head = teacher_model.decode_head
        levels = list(teacher.levels)
        levels[_feature_index(head)] = connected[-1]
        logits = resize_logits(_seg_logits(head.forward(levels)), student.logits.shape[-2:],
                               teacher_model.align_corners)
        return masked_pixel_ce(logits, student.labels, student.valid)

    def cosine(self, connected: Sequence[torch.Tensor], teacher: SegmentorPass) -> torch.Tensor:
        """The connected student feature, averaged over valid positions, against the teacher's embedding (its
        feature averaged the same way)."""
        return F.cosine_similarity(global_pool(connected[-1], teacher.feature_valid), teacher.embedding,
                                   dim=1)
