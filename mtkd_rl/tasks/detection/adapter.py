"""Detection (mmdet single-stage dense detectors such as RetinaNet) adapter: per-image terms (method.md s. 10).

A sample is an image. For each image and teacher the adapter gives:

* ``logit_kd``: binary KL of the sigmoid class scores at aligned anchors (``DenseSigmoidKL``), plus the box
  distillation toward the teacher's decoded boxes on its confident anchors (``BoxGIoUKD``). Both compare
  anchors one to one, so they need a teacher with the student's anchor layout.
* ``feature_kd``: ``FeatureMSE`` between each connected student FPN level and the teacher's, averaged over
  levels.
* ``teacher_loss``: the teacher's own detection loss on the image against the ground truth, computed with its
  head's target assignment and loss modules.
* ``embedding``: the teacher's FPN levels, globally average-pooled and averaged over levels; ``summary``: its
  per-class maximum score over anchors; ``entropy``: the mean binary entropy of its sigmoid scores.

mmdet pads the images of a batch to one ``batch_input_shape``; every term above (and the pooled embedding and
cosine) counts only the positions inside each image's ``img_shape``.

Box distillation has no column of its own in :class:`~mtkd_rl.weighting.DistillationTerms`: it is added to the
``logit_kd`` column (the output-level gap), so one logit weight per teacher and image scales both, and the
agent's "KL" state entry is their sum: ``DenseSigmoidKL + BoxGIoUKD``, each loss scaled by its own
``loss_weight`` inside it.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mtkd_rl.registry import MODELS, build
from mtkd_rl.weighting.base import StudentOutput
from ..context import IterationContext
from ..reductions import global_pool
from .detector_adapter import DetectorAdapter
from .layout import LAYOUT_KEYS, BatchMasks, dense_head_has_train_cfg, flatten_levels, layout_facts
from .losses import detection_losses, loss_mode, per_image_detection_loss
from .passes import DenseDetectorPass, DetectorShapes


def binary_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of ``Bernoulli(sigmoid(logits))``, elementwise and stable for large logits."""
    p = torch.sigmoid(logits)
    return p * F.softplus(-logits) + (1.0 - p) * F.softplus(logits)


@MODELS.register_module()
class DetectionAdapter(DetectorAdapter):
    """Per-image terms for mmdet single-stage dense detectors (``extract_feat`` + a sigmoid ``bbox_head``).

    The default adapter of mmdet students. Features are the neck's (FPN) levels, one connector per level.

    Teachers whose anchor layout (levels, strides, anchors per location, anchor sizes) differs from the
    student's cannot give logit or box distillation. Name them in ``feature_only_teachers``: they then
    teach through their FPN features only (their ``logit_kd`` column is 0) and still enter the weighting with
    their own detection loss, embedding and scores. This is how a teacher of another head type (FCOS, ATSS)
    joins a RetinaNet pool. Every teacher must share the student's classes (and, checked by the distiller, its
    input normalisation: teachers see the student's preprocessed batch).

    Args:
        logit_loss: Per-image dense logit KD config (default ``DenseSigmoidKL``, T = 1); its ``loss_weight``
            (alpha) applies inside it.
        box_loss: Per-image box KD config (default ``BoxGIoUKD``), added to the logit column (see the module
            docstring), or None for none. Needs anchor heads (``AnchorHead`` subclasses).
        feature_loss: Per-image FPN feature KD config (default ``FeatureMSE``, weight 1; beta), or None.
        feature_only_teachers: Teachers (names or indices into ``model.teachers``) that give feature
            distillation only.
        probe_size: Size of the dummy input used at build time; large enough for the coarsest FPN level.
    """

    def __init__(self,
                 logit_loss: dict = dict(type='DenseSigmoidKL', temperature=1.0, loss_weight=1.0),
                 box_loss: Optional[dict] = dict(type='BoxGIoUKD', score_thr=0.5, loss_weight=1.0),
                 feature_loss: Optional[dict] = dict(type='FeatureMSE', loss_weight=1.0),
                 feature_only_teachers: Sequence[Union[int, str]] = (),
                 probe_size: Sequence[int] = (128, 128)) -> None:
        super().__init__(logit_loss, feature_loss, feature_only_teachers, probe_size)
        self.box_loss = build(box_loss, key='model.task.box_loss') if box_loss is not None else None

    @property
    def box_weight(self) -> float:
        return float(self.box_loss.loss_weight) if self.box_loss is not None else 0.0

    # ------------------------------------------------------------------------------------------- build time
    @staticmethod
    def _check(model: nn.Module) -> None:
        if not hasattr(model, 'extract_feat') or getattr(model, 'bbox_head', None) is None:
            raise TypeError(f'DetectionAdapter needs an mmdet single-stage dense detector (extract_feat and a '
                            f'bbox_head, e.g. RetinaNet, FCOS, ATSS); {type(model).__name__} is not one')

    def probe(self, model: nn.Module, inputs: torch.Tensor) -> DetectorShapes:
        self._check(model)
        head = model.bbox_head
        feats = model.extract_feat(inputs)
        outs = head(feats)
        channels = {int(f.shape[1]) for f in feats}
        if len(channels) != 1:
            raise ValueError(f'{type(model).__name__} gives FPN levels with different channel counts '
                             f'{sorted(channels)}; the embedding averages levels and needs one count')
        num_classes = int(head.num_classes)
        return DetectorShapes(
            feature_shapes=[tuple(f.shape[1:]) for f in feats],
            embedding_dim=channels.pop(),
            summary_dim=num_classes,
            num_classes=num_classes,
            head=type(head).__name__,
            has_train_cfg=dense_head_has_train_cfg(head),
            layout=layout_facts(head, outs[0]))

    def validate(self, student: DetectorShapes, teachers: Sequence[DetectorShapes], names: Sequence[str]) -> None:
        """Check classes, heads and, for logit/box distillation, the anchor layout (the distiller checks that
        teachers normalise inputs like the student)."""
        super().validate(student, teachers, names)
        names = list(names)
        feature_only = self.feature_only(names)
        if not student.layout.sigmoid:
            raise ValueError(f"DetectionAdapter needs a head with sigmoid class scores; model.student's "
                             f"{student.head} uses softmax")
        if self.box_loss is not None and len(feature_only) < len(names) and not student.layout.anchor_head:
            raise ValueError(f"model.task.box_loss decodes anchor deltas, but model.student's "
                             f"{student.head} is not an AnchorHead; set model.task.box_loss=None")
        for i, (name, shapes) in enumerate(zip(names, teachers)):
            key = f'model.teachers[{i}] ({name})'
            if not shapes.layout.sigmoid:
                raise ValueError(f"{key}'s {shapes.head} uses softmax class scores; DetectionAdapter "
                                 f'needs sigmoid heads (RetinaNet, FCOS, ATSS...)')
            if not shapes.has_train_cfg:
                raise ValueError(f'{key} has no train_cfg in its bbox_head, so its own detection loss (the '
                                 f'teacher-performance term) cannot be computed; point config at the full '
                                 f'training config of the teacher')
            if i in feature_only:
                continue
            diff = [k for k in LAYOUT_KEYS if getattr(shapes.layout, k) != getattr(student.layout, k)]
            if diff:
                details = '; '.join(f'{k}: teacher {_short(getattr(shapes.layout, k))}, student '
                                    f'{_short(getattr(student.layout, k))}' for k in diff)
                raise ValueError(
                    f"{key} has another anchor layout than model.student ({shapes.head} vs "
                    f"{student.head}; {details}). Dense logit and box distillation compare "
                    f'anchors one to one: use a teacher with the student\'s anchor generator, or let it teach '
                    f"features only with model.task.feature_only_teachers=['{name}']")
            if self.box_loss is not None and not shapes.layout.anchor_head:
                raise ValueError(f"{key}'s {shapes.head} is not an AnchorHead, so model.task.box_loss "
                                 f'cannot decode its boxes; set box_loss=None or make it feature-only')
        self.logit_teachers = [i not in feature_only for i in range(len(names))]

    # ------------------------------------------------------------------------------------------ iteration
    def _pass(self, model: nn.Module, context: IterationContext) -> DenseDetectorPass:
        """One backbone/neck/head pass: FPN levels, head outputs, flattened class logits ``[B, N, C]``, the
        valid-anchor mask ``[B, N]`` and the batch's masks (shared by every model)."""
        inputs = context.inputs
        feats = list(model.extract_feat(inputs))
        with loss_mode(model.bbox_head) as head:
            outs = head(feats)
        masks = BatchMasks(context.batch, tuple(inputs.shape[-2:]), inputs.device)
        # the strides of the head's levels (mmdet's are (w, h)); the FPN levels have the same sizes
        strides = [(float(s[1]), float(s[0])) for s in getattr(getattr(head, 'prior_generator', None), 'strides', [])]
        strides += [None] * (len(outs[0]) - len(strides))
        num_classes = int(head.cls_out_channels)
        scores = flatten_levels(outs[0], num_classes)
        sizes = [tuple(c.shape[-2:]) for c in outs[0]]
        anchor_mask = masks.anchors(sizes, strides, [int(c.shape[1]) // num_classes for c in outs[0]])
        level_strides = dict(zip(sizes, strides))

        def mask_of(size) -> torch.Tensor:
            size = (int(size[0]), int(size[1]))
            return masks.spatial(size, level_strides.get(size))

        return DenseDetectorPass(logits=scores, features=feats, task_loss=None, mask_of=mask_of, head=head,
                                 outs=outs, anchor_mask=anchor_mask)

    def forward_student(self, student: nn.Module, context: IterationContext) -> DenseDetectorPass:
        """One backbone/neck/head pass; the head's normal losses (what ``bbox_head.loss`` computes)."""
        result = self._pass(student, context)
        result.losses, result.task_loss = detection_losses(student.bbox_head, result.outs, context.batch,
                                                           per_image=self.computes(context, 'student_loss'))
        return result

    def forward_teacher(self, teacher: nn.Module, context: IterationContext,
                        student: DenseDetectorPass) -> DenseDetectorPass:
        """The teacher's FPN levels and scores, its per-image detection loss, masked embedding, per-class
        maximum score and mean binary entropy over the valid anchors."""
        result = self._pass(teacher, context)
        feats, scores = result.features, result.logits
        if self.computes(context, 'embeddings'):
            result.pooled = [global_pool(f, result.mask_of(f.shape[-2:])) for f in feats]  # the cosine reuses them
            result.embedding = torch.stack(result.pooled, 0).mean(0)
        valid = result.anchor_mask.unsqueeze(-1)
        if self.computes(context, 'summaries'):  # sigmoid is monotonic: the sigmoid of the maximum logit
            result.summary = torch.sigmoid(scores.masked_fill(~valid, float('-inf')).amax(1))
        if self.computes(context, 'teacher_entropy'):
            result.entropy = (binary_entropy(scores) * valid).sum((1, 2)) / (
                valid.sum((1, 2)).clamp_min(1) * scores.shape[-1])
        result.task_loss = per_image_detection_loss(teacher.bbox_head, result.outs, context.batch)
        return result

    def logit_kd(self, student: DenseDetectorPass, teacher: DenseDetectorPass,
                 context: IterationContext) -> torch.Tensor:
        """Dense sigmoid KD plus, when configured, the box KD (``[B]``, each with its ``loss_weight``)."""
        mask = student.anchor_mask
        loss = self.logit_loss(student.logits, teacher.logits, mask)
        if self.box_loss is not None and self.box_weight != 0:
            student_boxes = student.boxes()
            with torch.no_grad():
                teacher_boxes = teacher.boxes()
                teacher_scores = torch.sigmoid(teacher.logits.amax(-1))  # = the maximum class score
            box = self.box_loss(student_boxes, teacher_boxes, teacher_scores, mask)
            loss = loss + box
        return loss

    def feature_teacher_loss(self, teacher_model: nn.Module, connected: Sequence[torch.Tensor],
                             teacher: DenseDetectorPass, student: DenseDetectorPass,
                             context: IterationContext) -> torch.Tensor:
        """Teacher m's head on the student's connected FPN levels: its per-image detection loss."""
        with loss_mode(teacher_model.bbox_head) as head:
            return per_image_detection_loss(head, head(list(connected)), context.batch)

    def student_outputs(self, student: DenseDetectorPass) -> List[StudentOutput]:
        """The flattened class scores ``[B, N, C]`` and, where box KD ran, the decoded boxes ``[B, N, 4]``: both
        per image (the KD terms are reduced per image over its valid anchors)."""
        outputs = [StudentOutput(student.logits)]
        if student.decoded_boxes is not None:
            outputs.append(StudentOutput(student.decoded_boxes))
        return outputs


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'
