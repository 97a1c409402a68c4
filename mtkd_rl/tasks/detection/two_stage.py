"""Two-stage detection (mmdet ``TwoStageDetector``: Faster, Mask and Cascade R-CNN) adapter: per-image terms.

A sample is an image. The student runs mmdet's own ``TwoStageDetector.loss`` once (RPN, RoI sampling, box
head, and a Mask R-CNN's mask head, exactly as mmdet trains it); the adapter only watches that call for its
FPN levels, its RPN outputs and the RoIs the box head was trained on (the first stage's, for Cascade R-CNN)
with their sampling results. For each image and teacher it then gives:

* ``logit_kd``: the region-level KD. The teacher's RoI head runs on the *student's* sampled RoIs, pooled
  from the teacher's FPN with the teacher's RoI extractor; the KL between the student's and the teacher's
  class distributions (softmax over ``num_classes + 1``, background included) per RoI, averaged over the
  image's RoIs. With ``box_weight > 0`` the L1 distance between the student's and the teacher's box deltas of
  the ground-truth class on the positive RoIs (averaged over the image's RoIs, as mmdet normalises its box
  loss) is added, scaled by ``box_weight`` (the logit KD's own ``loss_weight`` scales the KL inside it).
* ``feature_kd``: ``FeatureMSE`` between each connected student FPN level and the teacher's, over the
  positions inside the image, averaged over levels.
* ``teacher_loss``: the teacher's own detection loss on the image: its RPN loss (the RPN targets are
  assigned once per batch and shared by every model with the same anchors) plus its RoI-head loss (class and
  box) on the student's sampled RoIs with their targets, normalised by the image's RoIs.
* ``embedding``: the teacher's FPN levels averaged over the positions inside the image, then over levels;
  ``summary``: per class, the teacher's maximum softmax score over the image's RoIs; ``entropy``: the mean
  softmax entropy of its RoIs.
* ``student_loss`` (the reward's task term): the same RPN + RoI loss of the student, detached. The mask loss
  of a Mask R-CNN student trains the student but is not part of it.

For Cascade R-CNN models only the first stage is distilled and scored: its RoIs are the student's sampled
RPN proposals, which every two-stage teacher can score. Later stages keep training as in mmdet.

One-stage teachers (RetinaNet, FCOS, ...) join a two-stage student's pool through their FPN features only
(``feature_only_teachers``); their terms are the dense detection adapter's (own dense detection loss,
per-class maximum sigmoid score, binary entropy).
"""
from typing import Callable, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mtkd_rl.options import check_number
from mtkd_rl.recording import recorded_calls, recorded_outputs
from mtkd_rl.registry import MODELS
from mtkd_rl.weighting.base import StudentOutput
from ..base import TaskAdapter
from ..context import IterationContext
from ..reductions import global_pool
from .adapter import DetectionAdapter
from .detector_adapter import DetectorAdapter
from .layout import BatchMasks
from .passes import DetectorPass, DetectorShapes, MaskOf, RoIBatch, RoIHeadFacts, TwoStagePass
from .two_stage_losses import (class_deltas, first_stage, is_two_stage, per_image_mean, roi_batch,
                               roi_per_image_loss, rpn_per_image_loss, two_stage_loss)


def two_stage_shapes(model: nn.Module, inputs: torch.Tensor) -> DetectorShapes:
    """A two-stage detector's probe: FPN shapes, classes, and what :meth:`validate` compares."""
    feats = model.extract_feat(inputs)
    channels = {int(f.shape[1]) for f in feats}
    if len(channels) != 1:
        raise ValueError(f'{type(model).__name__} gives FPN levels with different channel counts '
                         f'{sorted(channels)}; the embedding averages levels and needs one count')
    bbox_head, _, _, rcnn_cfg = first_stage(model.roi_head)
    num_classes = int(bbox_head.num_classes)
    coder = bbox_head.bbox_coder
    return DetectorShapes(
        feature_shapes=[tuple(f.shape[1:]) for f in feats],
        embedding_dim=channels.pop(),
        summary_dim=num_classes,
        num_classes=num_classes,
        head=f'{type(model).__name__}/{type(bbox_head).__name__}',
        has_train_cfg=getattr(model.rpn_head, 'train_cfg', None) is not None,
        roi_head=RoIHeadFacts(
            softmax=not bool(getattr(bbox_head, 'custom_cls_channels', False))
            and not bool(getattr(bbox_head.loss_cls, 'use_sigmoid', False)),
            box_coding=(type(coder).__name__, [round(float(v), 6) for v in getattr(coder, 'means', [])],
                        [round(float(v), 6) for v in getattr(coder, 'stds', [])], bool(bbox_head.reg_decoded_bbox)),
            has_rcnn_cfg=rcnn_cfg is not None))


def batch_mask_of(context: IterationContext) -> MaskOf:
    """The batch's valid-position mask of a map of a given size (strides from the padded batch)."""
    masks = BatchMasks(context.batch, tuple(context.inputs.shape[-2:]), context.inputs.device)
    return lambda size: masks.spatial((int(size[0]), int(size[1])))


def two_stage_teacher_pass(teacher: nn.Module, feats: List[torch.Tensor], roi: RoIBatch, mask_of: MaskOf,
                           computes: Callable[[str], bool]) -> TwoStagePass:
    """A two-stage teacher's pass on ``roi``: its per-image loss, masked FPN embedding, per-class maximum RoI
    score and mean RoI entropy (the last three where ``computes`` asks for ``embeddings``, ``summaries``,
    ``teacher_entropy``), with its box deltas."""
    task_loss, out = two_stage_loss(teacher, feats, roi)
    summary = entropy = embedding = pooled = None
    if computes('summaries') or computes('teacher_entropy'):
        log_p = F.log_softmax(out['cls_score'], dim=1)
        p = log_p.exp()
        num_classes = p.shape[1] - 1
        if computes('summaries'):
            summary = p.new_zeros(roi.counts.shape[0], num_classes).scatter_reduce(
                0, roi.image[:, None].expand(-1, num_classes), p[:, :num_classes], 'amax')
        if computes('teacher_entropy'):
            entropy = per_image_mean(-(p * log_p).sum(1), roi.image, roi.counts)
    if computes('embeddings'):
        pooled = [global_pool(f, mask_of(f.shape[-2:])) for f in feats]  # the cosine reuses them
        embedding = torch.stack(pooled, 0).mean(0)
    return TwoStagePass(logits=out['cls_score'], features=feats, task_loss=task_loss, embedding=embedding,
                        summary=summary, entropy=entropy, mask_of=mask_of, pooled=pooled, roi=roi,
                        bbox_pred=out['bbox_pred'])


@MODELS.register_module()
class TwoStageDetectionAdapter(DetectorAdapter):
    """Per-image terms for mmdet two-stage detectors (Faster, Mask, Cascade R-CNN with an FPN).

    The default adapter of mmdet ``TwoStageDetector`` students. See the module docstring for the terms.
    Features are the neck's (FPN) levels, one connector per level. Teachers that are not two-stage detectors
    (RetinaNet, FCOS, ATSS...) must be named in ``feature_only_teachers``; two-stage teachers may be named
    there too. Every teacher must share the student's classes and input normalisation.

    Args:
        logit_loss: Per-RoI KD config over the ``num_classes + 1`` class scores (default ``LogitKL``, T = 1);
            its ``loss_weight`` (alpha) applies to the KL.
        feature_loss: Per-image FPN feature KD config (default ``FeatureMSE``, weight 1; beta), or None.
        box_weight: Weight of the box KD on the student's positive RoIs (0: none). Needs teachers whose box
            coder encodes like the student's.
        feature_only_teachers: Teachers (names or indices into ``model.teachers``) that give feature
            distillation only.
        probe_size: Size of the dummy input used at build time; large enough for the coarsest FPN level.
    """
    def __init__(self,
                 logit_loss: dict = dict(type='LogitKL', temperature=1.0, loss_weight=1.0),
                 feature_loss: Optional[dict] = dict(type='FeatureMSE', loss_weight=1.0),
                 box_weight: float = 0.0,
                 feature_only_teachers: Sequence[Union[int, str]] = (),
                 probe_size: Sequence[int] = (128, 128)) -> None:
        super().__init__(logit_loss, feature_loss, feature_only_teachers, probe_size)
        box_weight = check_number(box_weight, 'model.task.box_weight', minimum=0)
        self.box_weight = float(box_weight)
        # One-stage teachers run through the dense adapter (their own loss, summary, entropy).
        self.dense = DetectionAdapter(box_loss=None, feature_loss=None, probe_size=probe_size)

    # ------------------------------------------------------------------------------------------- build time
    def probe(self, model: nn.Module, inputs: torch.Tensor) -> DetectorShapes:
        if not is_two_stage(model):
            if getattr(model, 'bbox_head', None) is None:
                raise TypeError(f'TwoStageDetectionAdapter needs mmdet detectors (a two-stage detector, or a '
                                f'dense one as a feature-only teacher); {type(model).__name__} is neither')
            return self.dense.probe(model, inputs)
        return two_stage_shapes(model, inputs)

    def validate(self, student: DetectorShapes, teachers: Sequence[DetectorShapes], names: Sequence[str]) -> None:
        """Check the student's kind, classes, which teachers can teach logits and what each teacher needs."""
        if not student.two_stage:
            raise ValueError(f"model.task is TwoStageDetectionAdapter but model.student's {student.head} "
                             f"is a one-stage detector; use model.task=dict(type='DetectionAdapter'), or "
                             f"type='MixedPoolDetectionAdapter' with the two-stage teachers as "
                             f"feature_only_teachers")
        TaskAdapter.validate(self, student, teachers, names)
        names = list(names)
        feature_only = self.feature_only(names)
        if not student.roi_head.softmax:
            raise ValueError(f"model.student's {student.head} has no softmax class scores over "
                             f'num_classes + 1; region-level KD needs a softmax box head (Shared2FCBBoxHead...)')
        if not student.has_train_cfg or not student.roi_head.has_rcnn_cfg:
            raise ValueError("model.student has no train_cfg (rpn and rcnn); use the student's training config")
        for i, (name, shapes) in enumerate(zip(names, teachers)):
            key = f'model.teachers[{i}] ({name})'
            if not shapes.has_train_cfg:
                raise ValueError(f'{key} has no train_cfg for its RPN/dense head, so its own detection loss (the '
                                 f'teacher-performance term) cannot be computed; point config at the full '
                                 f'training config of the teacher')
            if not shapes.two_stage:
                if i not in feature_only:
                    raise ValueError(
                        f"{key} is a one-stage detector ({shapes.head}) and has no RoI head to score "
                        f"the student's RoIs; let it teach FPN features only with "
                        f"model.task.feature_only_teachers=['{name}']")
                continue
            if i in feature_only:
                continue
            if not shapes.roi_head.softmax:
                raise ValueError(f"{key}'s {shapes.head} has no softmax class scores; make it "
                                 f"feature-only with model.task.feature_only_teachers=['{name}']")
            if self.box_weight > 0 and shapes.roi_head.box_coding != student.roi_head.box_coding:
                raise ValueError(
                    f"{key} encodes boxes as {shapes.roi_head.box_coding} but model.student as "
                    f"{student.roi_head.box_coding}; box KD compares deltas: set model.task.box_weight=0 or "
                    f"make it feature-only with model.task.feature_only_teachers=['{name}']")
        self.logit_teachers = [i not in feature_only and teachers[i].two_stage for i in range(len(names))]

    # ------------------------------------------------------------------------------------------ iteration
    def forward_student(self, student: nn.Module, context: IterationContext) -> TwoStagePass:
        """mmdet's ``TwoStageDetector.loss``, run once and watched for its FPN levels, RPN outputs and the
        first stage's sampled RoIs, class scores and box deltas."""
        if not is_two_stage(student):
            raise TypeError(f'TwoStageDetectionAdapter needs a two-stage student, got {type(student).__name__}')
        bbox_head = first_stage(student.roi_head)[0]
        seen = {}

        def on_feat(args, result):
            seen.setdefault('feats', list(result))

        def on_rpn(name, result):
            seen.setdefault('rpn_outs', result)

        def on_target(args, result):
            if 'rois' not in seen:
                seen.update(cls_score=args['cls_score'], bbox_pred=args['bbox_pred'], rois=args['rois'],
                            sampling_results=args['sampling_results'], rcnn_cfg=args['rcnn_train_cfg'],
                            targets=result['bbox_targets'])

        with recorded_outputs(dict(rpn=student.rpn_head), on_rpn), recorded_calls(student, 'extract_feat', on_feat), \
                recorded_calls(bbox_head, 'loss_and_target', on_target):
            losses = student.loss(context.inputs, context.data_samples)
        roi = roi_batch(seen['rois'].detach(), seen['sampling_results'], seen['rcnn_cfg'], context.batch)
        roi.targets = seen['targets']
        task_loss = None
        if self.computes(context, 'student_loss'):
            with torch.no_grad():
                rpn_outs = tuple([o.detach() for o in out] for out in seen['rpn_outs'])
                task_loss = rpn_per_image_loss(student.rpn_head, rpn_outs, roi.rpn_batch) + \
                    roi_per_image_loss(bbox_head, seen['cls_score'].detach(), seen['bbox_pred'].detach(),
                                       roi.rois, roi.targets, roi.image, roi.counts)
        return TwoStagePass(logits=seen['cls_score'], features=seen['feats'], task_loss=task_loss, losses=losses,
                            mask_of=batch_mask_of(context), roi=roi, bbox_pred=seen['bbox_pred'],
                            num_classes=int(bbox_head.num_classes))

    def forward_teacher(self, teacher: nn.Module, context: IterationContext, student: TwoStagePass) -> DetectorPass:
        """A two-stage teacher's FPN levels and first-stage RoI head on the student's sampled RoIs (a dense
        teacher: the dense adapter's pass), with its per-image loss, embedding, summary and entropy."""
        if not is_two_stage(teacher):
            return self.dense.forward_teacher(teacher, context, student)
        feats = list(teacher.extract_feat(context.inputs))
        return two_stage_teacher_pass(teacher, feats, student.roi, batch_mask_of(context),
                                      lambda term: self.computes(context, term))

    # ------------------------------------------------------------------------------------------ per-image terms
    def logit_kd(self, student: TwoStagePass, teacher: TwoStagePass, context: IterationContext) -> torch.Tensor:
        """KL of the class distributions per sampled RoI, averaged per image, plus the box KD: ``[B]``."""
        roi = student.roi
        loss = per_image_mean(self.logit_loss(student.logits, teacher.logits), roi.image, roi.counts)
        if self.box_weight > 0:
            labels, num_classes = roi.targets[0], student.num_classes
            pos = ((labels >= 0) & (labels < num_classes)).to(student.logits.dtype)
            fg = labels.clamp(max=num_classes - 1)
            s = class_deltas(student.bbox_pred, fg, num_classes)
            t = class_deltas(teacher.bbox_pred, fg, num_classes)
            per_roi = (s - t.detach()).abs().sum(1) * pos
            loss = loss + self.box_weight * per_image_mean(per_roi, roi.image, roi.counts)
        return loss

    def feature_teacher_loss(self, teacher_model: nn.Module, connected: Sequence[torch.Tensor],
                             teacher: DetectorPass, student: TwoStagePass,
                             context: IterationContext) -> torch.Tensor:
        """Teacher m's RPN and first-stage RoI head (or dense head) on the student's connected FPN levels: its
        per-image detection loss on the student's RoIs."""
        if not is_two_stage(teacher_model):
            return self.dense.feature_teacher_loss(teacher_model, connected, teacher, student, context)
        return two_stage_loss(teacher_model, connected, student.roi)[0]

    def student_outputs(self, student: TwoStagePass) -> List[StudentOutput]:
        """The sampled RoIs' class scores ``[R, C + 1]`` and box deltas ``[R, k]``, with each RoI's image: the KD
        terms average per RoI values over each image's RoIs, so an image's gradient is its RoIs' rows."""
        image = student.roi.image
        outputs = [StudentOutput(student.logits, image)]
        if self.box_weight > 0:
            outputs.append(StudentOutput(student.bbox_pred, image))
        return outputs
