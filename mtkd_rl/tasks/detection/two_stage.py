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
  loss) is added, scaled by ``box_weight / alpha``, so after the distiller's alpha it weighs ``box_weight``.
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
import inspect
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mtkd_rl.options import check_number
from mtkd_rl.registry import MODELS
from mtkd_rl.weighting.base import StudentOutput
from ..base import ModelPass, ModelShapes, TaskAdapter, global_pool
from ..batch_cache import memoized
from .adapter import DetectionAdapter, masked_pooled_cosine
from .layout import BatchMasks, layout_facts
from .losses import anchor_head_per_image_loss, anchor_targets, loss_mode, per_image_loss_by_image


def is_two_stage(model: nn.Module) -> bool:
    """Whether ``model`` is an mmdet two-stage detector with an RPN and a RoI head."""
    return getattr(model, 'rpn_head', None) is not None and getattr(model, 'roi_head', None) is not None


def first_stage(roi_head: nn.Module) -> Tuple[nn.Module, nn.Module, Callable, Any]:
    """The box head, RoI extractor, box forward (``f(x, rois) -> dict``) and train_cfg of a RoI head's
    first stage (the only stage of a ``StandardRoIHead``)."""
    if isinstance(roi_head.bbox_head, nn.ModuleList):  # CascadeRoIHead
        cfg = roi_head.train_cfg[0] if roi_head.train_cfg is not None else None
        return (roi_head.bbox_head[0], roi_head.bbox_roi_extractor[0],
                lambda x, rois: roi_head._bbox_forward(0, x, rois), cfg)
    return roi_head.bbox_head, roi_head.bbox_roi_extractor, roi_head._bbox_forward, roi_head.train_cfg


_MISSING = object()


@contextmanager
def intercept(obj: Any, name: str, record: Callable[[Dict[str, Any], Any], None]) -> Iterator[None]:
    """Call ``record(arguments, result)`` on every call of ``obj.name`` while in the context.

    The method itself runs unchanged; the instance attribute that wraps it is removed on exit.
    """
    method = getattr(obj, name)
    signature = inspect.signature(method)

    def wrapper(*args, **kwargs):
        result = method(*args, **kwargs)
        record(dict(signature.bind(*args, **kwargs).arguments), result)
        return result

    own = vars(obj).get(name, _MISSING)
    object.__setattr__(obj, name, wrapper)
    try:
        yield
    finally:
        if own is _MISSING:
            del vars(obj)[name]
        else:
            object.__setattr__(obj, name, own)


def rpn_samples(data_samples: list) -> list:
    """The batch's data samples as the RPN sees them (every ground-truth label 0), made once per batch."""

    def make():
        out = []
        for sample in data_samples:
            rpn = sample.clone()
            rpn.gt_instances.labels = torch.zeros_like(sample.gt_instances.labels)
            out.append(rpn)
        return out

    return memoized(data_samples, 'rpn_samples', make)


def rpn_per_image_loss(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]], samples: list) -> torch.Tensor:
    """An RPN's own loss on each image alone, ``[B]``, with the batch's anchor targets shared by every RPN of
    the same assignment key (an ``RPNHead`` only renames ``AnchorHead``'s loss terms)."""
    from mmdet.models.dense_heads import AnchorHead, RPNHead
    cls = type(head)
    if isinstance(head, RPNHead) and cls.loss_by_feat is RPNHead.loss_by_feat and all(
            getattr(cls, n) is getattr(AnchorHead, n)
            for n in ('loss_by_feat_single', 'get_targets', '_get_targets_single', 'get_anchors')):
        return anchor_head_per_image_loss(head, outs, anchor_targets(head, outs[0], samples))
    return per_image_loss_by_image(head, outs, samples)


def per_image_mean(values: torch.Tensor, image: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Average per-RoI ``values`` ``[N]`` over each image's RoIs: ``[B]`` (0 for an image without RoIs)."""
    total = values.new_zeros(counts.shape[0]).index_add(0, image, values)
    return total / counts.clamp_min(1).to(values.dtype)


def class_deltas(bbox_pred: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The box deltas ``[N, k]`` of class ``labels`` (the only ones for class-agnostic regression)."""
    if bbox_pred.shape[1] == num_classes * 4 and num_classes > 1:
        rows = torch.arange(labels.shape[0], device=labels.device)
        return bbox_pred.view(bbox_pred.shape[0], num_classes, -1)[rows, labels]
    return bbox_pred


def roi_per_image_loss(bbox_head: nn.Module, cls_score: torch.Tensor, bbox_pred: torch.Tensor,
                       rois: torch.Tensor, targets: Sequence[torch.Tensor], image: torch.Tensor,
                       counts: torch.Tensor) -> torch.Tensor:
    """A box head's class and box loss on each image's RoIs alone, ``[B]``: mmdet's ``BBoxHead.loss`` terms
    reduced per RoI (``reduction_override='none'``) and divided by the image's RoI count, as mmdet divides the
    batch's sums by the batch's."""
    from mmdet.structures.bbox import get_box_tensor
    labels, label_weights, bbox_targets, bbox_weights = targets
    per_roi = bbox_head.loss_cls(cls_score, labels, label_weights, reduction_override='none')
    # every RoI at once (no host sync to select positives): negatives have zero box weights
    pred = bbox_pred
    if bbox_head.reg_decoded_bbox:
        pred = get_box_tensor(bbox_head.bbox_coder.decode(rois[:, 1:], pred))
    num_classes = bbox_head.num_classes
    pred = class_deltas(pred, labels.clamp(max=num_classes - 1), num_classes)
    pos = ((labels >= 0) & (labels < num_classes)).to(pred.dtype)
    box = bbox_head.loss_bbox(pred, bbox_targets, bbox_weights, reduction_override='none')
    # mmdet's box losses return a 0-dim zero when no weight is positive
    per_roi = per_roi + (box.reshape(box.shape[0], -1).sum(1) * pos if box.dim() > 0 else box)
    return per_image_mean(per_roi, image, counts)


def two_stage_shapes(model: nn.Module, inputs: torch.Tensor) -> ModelShapes:
    """A two-stage detector's probe: FPN shapes, classes, and in ``extra`` what :meth:`validate` compares."""
    feats = model.extract_feat(inputs)
    channels = {int(f.shape[1]) for f in feats}
    if len(channels) != 1:
        raise ValueError(f'{type(model).__name__} gives FPN levels with different channel counts '
                         f'{sorted(channels)}; the embedding averages levels and needs one count')
    bbox_head, _, _, rcnn_cfg = first_stage(model.roi_head)
    rpn_outs = model.rpn_head(feats)
    num_classes = int(bbox_head.num_classes)
    coder = bbox_head.bbox_coder
    return ModelShapes(
        feature_shapes=[tuple(f.shape[1:]) for f in feats],
        embedding_dim=channels.pop(),
        summary_dim=num_classes,
        num_classes=num_classes,
        extra=dict(
            two_stage=True,
            head=f'{type(model).__name__}/{type(bbox_head).__name__}',
            softmax=not bool(getattr(bbox_head, 'custom_cls_channels', False))
            and not bool(getattr(bbox_head.loss_cls, 'use_sigmoid', False)),
            box_coding=(type(coder).__name__, [round(float(v), 6) for v in getattr(coder, 'means', [])],
                        [round(float(v), 6) for v in getattr(coder, 'stds', [])],
                        bool(bbox_head.reg_decoded_bbox)),
            rpn=layout_facts(model.rpn_head, rpn_outs[0]),
            has_train_cfg=getattr(model.rpn_head, 'train_cfg', None) is not None,
            has_rcnn_cfg=rcnn_cfg is not None))


def two_stage_loss(model: nn.Module, feats: Sequence[torch.Tensor], roi: Dict[str, Any]) -> Tuple[torch.Tensor, dict]:
    """A two-stage model's per-image RPN + RoI loss on ``feats`` and its first stage's outputs on the RoIs of
    ``roi`` (a dict of ``rois``, ``image``, ``counts``, ``sampling_results``, ``rcnn_cfg``, ``rpn_samples``)."""
    bbox_head, _, bbox_forward, rcnn_cfg = first_stage(model.roi_head)
    with loss_mode(model.rpn_head) as rpn_head:
        rpn_loss = rpn_per_image_loss(rpn_head, rpn_head(list(feats)), roi['rpn_samples'])
    out = bbox_forward(tuple(feats), roi['rois'])
    targets = memoized(roi['rpn_samples'], ('rcnn_targets', id(roi['sampling_results']),
                                            _coding_key(bbox_head), repr(rcnn_cfg)),
                       lambda: bbox_head.get_targets(roi['sampling_results'], rcnn_cfg or roi['rcnn_cfg']))
    roi_loss = roi_per_image_loss(bbox_head, out['cls_score'], out['bbox_pred'], roi['rois'], targets,
                                  roi['image'], roi['counts'])
    return rpn_loss + roi_loss, out


def roi_batch(rois: torch.Tensor, sampling_results: list, rcnn_cfg: Any, data_samples: list) -> Dict[str, Any]:
    """The sampled RoIs of a batch with what the per-image terms need (image index, RoIs per image)."""
    image = rois[:, 0].long()
    counts = image.new_zeros(len(data_samples)).index_add(0, image, torch.ones_like(image))
    return dict(rois=rois, image=image, counts=counts, sampling_results=sampling_results, rcnn_cfg=rcnn_cfg,
                rpn_samples=rpn_samples(data_samples))


def own_sampled_rois(model: nn.Module, feats: Sequence[torch.Tensor], data_samples: list) -> Dict[str, Any]:
    """A two-stage model's own RoIs as its training samples them: its RPN's proposals (``rpn_proposal``
    settings), assigned and sampled by its first stage's assigner and sampler (ground truth added where its
    sampler adds it). Used where no two-stage student gives RoIs."""
    from mmdet.models.utils import unpack_gt_instances
    from mmdet.structures.bbox import bbox2roi
    roi_head = model.roi_head
    _, _, _, rcnn_cfg = first_stage(roi_head)
    assigner, sampler = roi_head.bbox_assigner, roi_head.bbox_sampler
    if isinstance(assigner, (list, tuple)):  # CascadeRoIHead
        assigner, sampler = assigner[0], sampler[0]
    gts, ignores, metas = unpack_gt_instances(data_samples)
    proposal_cfg = model.train_cfg.get('rpn_proposal', model.test_cfg.rpn)
    with loss_mode(model.rpn_head) as rpn_head:
        proposals = rpn_head.predict_by_feat(*rpn_head(list(feats)), batch_img_metas=metas, cfg=proposal_cfg,
                                             rescale=False)
    results = []
    for i, proposal in enumerate(proposals):
        proposal.priors = proposal.pop('bboxes')
        assigned = assigner.assign(proposal, gts[i], ignores[i])
        results.append(sampler.sample(assigned, proposal, gts[i], feats=[level[i][None] for level in feats]))
    return roi_batch(bbox2roi([r.priors for r in results]), results, rcnn_cfg, data_samples)


def two_stage_teacher_pass(teacher: nn.Module, feats: List[torch.Tensor], roi: Dict[str, Any],
                           mask_of: Callable, computes: Callable[[str], bool] = lambda term: True) -> ModelPass:
    """A two-stage teacher's pass on ``roi``: its per-image loss, masked FPN embedding, per-class maximum RoI
    score and mean RoI entropy (the last three where ``computes`` asks for ``embeddings``, ``summaries``,
    ``teacher_entropy``); ``extra`` keeps its box deltas, the RoIs and the mask function."""
    task_loss, out = two_stage_loss(teacher, feats, roi)
    summary = entropy = embedding = None
    if computes('summaries') or computes('teacher_entropy'):
        log_p = F.log_softmax(out['cls_score'], dim=1)
        p = log_p.exp()
        num_classes = p.shape[1] - 1
        if computes('summaries'):
            summary = p.new_zeros(roi['counts'].shape[0], num_classes).scatter_reduce(
                0, roi['image'][:, None].expand(-1, num_classes), p[:, :num_classes], 'amax')
        if computes('teacher_entropy'):
            entropy = per_image_mean(-(p * log_p).sum(1), roi['image'], roi['counts'])
    extra = dict(bbox_pred=out['bbox_pred'], mask_of=mask_of, roi=roi)
    if computes('embeddings'):
        extra['pooled'] = [global_pool(f, mask_of(f.shape[-2:])) for f in feats]  # the cosine reuses them
        embedding = torch.stack(extra['pooled'], 0).mean(0)
    return ModelPass(logits=out['cls_score'], features=feats, task_loss=task_loss, embedding=embedding,
                     summary=summary, entropy=entropy, extra=extra)


@MODELS.register_module()
class TwoStageDetectionAdapter(TaskAdapter):
    """Per-image terms for mmdet two-stage detectors (Faster, Mask, Cascade R-CNN with an FPN).

    The default adapter of mmdet ``TwoStageDetector`` students. See the module docstring for the terms.
    Features are the neck's (FPN) levels, one connector per level. Teachers that are not two-stage detectors
    (RetinaNet, FCOS, ATSS...) must be named in ``feature_only_teachers``; two-stage teachers may be named
    there too. Every teacher must share the student's classes and input normalisation.

    Args:
        logit_loss: Per-RoI KD config over the ``num_classes + 1`` class scores (default ``LogitKL``, T = 1);
            its ``loss_weight`` is alpha.
        feature_loss: Per-image FPN feature KD config (default ``FeatureMSE``, weight 1; beta), or None.
        box_weight: Weight of the box KD on the student's positive RoIs (0: none). Needs teachers whose box
            coder encodes like the student's.
        feature_only_teachers: Teachers (names or indices into ``model.teachers``) that give feature
            distillation only.
        probe_size: Size of the dummy input used at build time; large enough for the coarsest FPN level.
    """
    provides = frozenset({'teacher_entropy', 'feature_teacher_loss'})
    toolbox = 'mmdet'

    def __init__(self,
                 logit_loss: dict = dict(type='LogitKL', temperature=1.0, loss_weight=1.0),
                 feature_loss: Optional[dict] = dict(type='FeatureMSE', loss_weight=1.0),
                 box_weight: float = 0.0,
                 feature_only_teachers: Sequence[Union[int, str]] = (),
                 probe_size: Sequence[int] = (128, 128)) -> None:
        super().__init__(logit_loss, feature_loss, probe_size)
        box_weight = check_number(box_weight, 'model.task.box_weight', minimum=0)
        if box_weight > 0 and self.alpha == 0:
            raise ValueError('model.task.box_weight is added to the logit KD column, which model.task.logit_loss.'
                             'loss_weight = 0 switches off; give the logit loss a weight or set box_weight=0')
        self.box_weight = float(box_weight)
        if isinstance(feature_only_teachers, (str, int)):
            feature_only_teachers = [feature_only_teachers]
        self.feature_only_teachers = list(feature_only_teachers)
        #: Per teacher, whether it gives region-level logit distillation (set by :meth:`validate`).
        self.logit_teachers: Optional[List[bool]] = None
        # One-stage teachers run through the dense adapter (their own loss, summary, entropy).
        self.dense = DetectionAdapter(box_loss=None, feature_loss=None, probe_size=probe_size)
        # The student's sampled RoIs of the current iteration, set by forward_student for the teachers.
        self._rois: Optional[Dict[str, Any]] = None

    # ------------------------------------------------------------------------------------------- build time
    def probe(self, model: nn.Module, inputs: torch.Tensor) -> ModelShapes:
        if not is_two_stage(model):
            if getattr(model, 'bbox_head', None) is None:
                raise TypeError(f'TwoStageDetectionAdapter needs mmdet detectors (a two-stage detector, or a '
                                f'dense one as a feature-only teacher); {type(model).__name__} is neither')
            shapes = self.dense.probe(model, inputs)
            shapes.extra['two_stage'] = False
            return shapes
        return two_stage_shapes(model, inputs)

    def validate(self, student: ModelShapes, teachers: Sequence[ModelShapes], names: Sequence[str]) -> None:
        """Check the student's kind, classes, which teachers can teach logits and what each teacher needs."""
        if not student.extra.get('two_stage'):
            raise ValueError(f"model.task is TwoStageDetectionAdapter but model.student's {student.extra.get('head')} "
                             f"is a one-stage detector; use model.task=dict(type='DetectionAdapter'), or "
                             f"type='MixedPoolDetectionAdapter' with the two-stage teachers as "
                             f"feature_only_teachers")
        super().validate(student, teachers, names)
        names = list(names)
        feature_only = resolve_teacher_list(self.feature_only_teachers, names, 'model.task.feature_only_teachers')
        if feature_only and self.feature_loss is None:
            raise ValueError(f'model.task.feature_only_teachers {[names[i] for i in sorted(feature_only)]} '
                             f'teach features only, but model.task.feature_loss is None: they would teach '
                             f'nothing; give a feature_loss or remove them from model.teachers')
        if not student.extra.get('softmax'):
            raise ValueError(f"model.student's {student.extra.get('head')} has no softmax class scores over "
                             f'num_classes + 1; region-level KD needs a softmax box head (Shared2FCBBoxHead...)')
        if not student.extra.get('has_train_cfg') or not student.extra.get('has_rcnn_cfg'):
            raise ValueError("model.student has no train_cfg (rpn and rcnn); use the student's training config")
        for i, (name, shapes) in enumerate(zip(names, teachers)):
            key = f'model.teachers[{i}] ({name})'
            if not shapes.extra.get('has_train_cfg', False):
                raise ValueError(f'{key} has no train_cfg for its RPN/dense head, so its own detection loss (the '
                                 f'teacher-performance term) cannot be computed; point config at the full '
                                 f'training config of the teacher')
            if not shapes.extra.get('two_stage'):
                if i not in feature_only:
                    raise ValueError(
                        f"{key} is a one-stage detector ({shapes.extra.get('head')}) and has no RoI head to score "
                        f"the student's RoIs; let it teach FPN features only with "
                        f"model.task.feature_only_teachers=['{name}']")
                continue
            if i in feature_only:
                continue
            if not shapes.extra.get('softmax'):
                raise ValueError(f"{key}'s {shapes.extra.get('head')} has no softmax class scores; make it "
                                 f"feature-only with model.task.feature_only_teachers=['{name}']")
            if self.box_weight > 0 and shapes.extra.get('box_coding') != student.extra.get('box_coding'):
                raise ValueError(
                    f"{key} encodes boxes as {shapes.extra.get('box_coding')} but model.student as "
                    f"{student.extra.get('box_coding')}; box KD compares deltas: set model.task.box_weight=0 or "
                    f"make it feature-only with model.task.feature_only_teachers=['{name}']")
        self.logit_teachers = [i not in feature_only and bool(teachers[i].extra.get('two_stage'))
                               for i in range(len(names))]

    # ------------------------------------------------------------------------------------------ iteration
    def _masks(self, inputs: torch.Tensor, data_samples: list) -> Callable:
        masks = BatchMasks(data_samples, tuple(inputs.shape[-2:]), inputs.device)
        return lambda size: masks.spatial((int(size[0]), int(size[1])))

    def forward_student(self, student: nn.Module, inputs: torch.Tensor, data_samples: list) -> ModelPass:
        """mmdet's ``TwoStageDetector.loss``, run once and watched for its FPN levels, RPN outputs and the
        first stage's sampled RoIs, class scores and box deltas."""
        if not is_two_stage(student):
            raise TypeError(f'TwoStageDetectionAdapter needs a two-stage student, got {type(student).__name__}')
        bbox_head = first_stage(student.roi_head)[0]
        seen: Dict[str, Any] = {}

        def on_feat(args, result):
            seen.setdefault('feats', list(result))

        def on_rpn(module, args, result):
            seen.setdefault('rpn_outs', result)

        def on_target(args, result):
            if 'rois' not in seen:
                seen.update(cls_score=args['cls_score'], bbox_pred=args['bbox_pred'], rois=args['rois'],
                            sampling_results=args['sampling_results'], rcnn_cfg=args['rcnn_train_cfg'],
                            targets=result['bbox_targets'])

        handle = student.rpn_head.register_forward_hook(on_rpn)
        try:
            with intercept(student, 'extract_feat', on_feat), intercept(bbox_head, 'loss_and_target', on_target):
                losses = student.loss(inputs, data_samples)
        finally:
            handle.remove()
        roi = roi_batch(seen['rois'].detach(), seen['sampling_results'], seen['rcnn_cfg'], data_samples)
        roi['targets'] = seen['targets']
        self._rois = roi
        task_loss = None
        if self.computes('student_loss'):
            with torch.no_grad():
                rpn_outs = tuple([o.detach() for o in out] for out in seen['rpn_outs'])
                task_loss = rpn_per_image_loss(student.rpn_head, rpn_outs, roi['rpn_samples']) + \
                    roi_per_image_loss(bbox_head, seen['cls_score'].detach(), seen['bbox_pred'].detach(),
                                       roi['rois'], seen['targets'], roi['image'], roi['counts'])
        extra = dict(self._rois, bbox_pred=seen['bbox_pred'], num_classes=int(bbox_head.num_classes),
                     mask_of=self._masks(inputs, data_samples))
        return ModelPass(logits=seen['cls_score'], features=seen['feats'], task_loss=task_loss, losses=losses,
                         extra=extra)

    def forward_teacher(self, teacher: nn.Module, inputs: torch.Tensor, data_samples: list) -> ModelPass:
        """A two-stage teacher's FPN levels and first-stage RoI head on the student's sampled RoIs (a dense
        teacher: the dense adapter's pass), with its per-image loss, embedding, summary and entropy."""
        if not is_two_stage(teacher):
            return self.dense.forward_teacher(teacher, inputs, data_samples)
        if self._rois is None:
            raise RuntimeError('TwoStageDetectionAdapter: forward_student must run before forward_teacher in an '
                               "iteration (the teachers score the student's sampled RoIs)")
        feats = list(teacher.extract_feat(inputs))
        return two_stage_teacher_pass(teacher, feats, self._rois, self._masks(inputs, data_samples),
                                      self.computes)

    # ------------------------------------------------------------------------------------------ per-image terms
    def logit_kd(self, student: ModelPass, teacher: ModelPass, data_samples: list) -> torch.Tensor:
        """KL of the class distributions per sampled RoI, averaged per image, plus the box KD: ``[B]``."""
        extra = student.extra
        loss = per_image_mean(self.logit_loss(student.logits, teacher.logits), extra['image'], extra['counts'])
        if self.box_weight > 0:
            labels, num_classes = extra['targets'][0], extra['num_classes']
            pos = ((labels >= 0) & (labels < num_classes)).to(student.logits.dtype)
            fg = labels.clamp(max=num_classes - 1)
            s = class_deltas(extra['bbox_pred'], fg, num_classes)
            t = class_deltas(teacher.extra['bbox_pred'], fg, num_classes)
            per_roi = (s - t.detach()).abs().sum(1) * pos
            loss = loss + (self.box_weight / self.alpha) * per_image_mean(per_roi, extra['image'], extra['counts'])
        return loss

    def feature_kd(self, connected: Sequence[torch.Tensor], teacher: ModelPass,
                   data_samples: list) -> torch.Tensor:
        mask_of = teacher.extra['mask_of']
        losses = [self.feature_loss(s, t, mask_of(t.shape[-2:])) for s, t in zip(connected, teacher.features)]
        return torch.stack(losses, 0).mean(0)

    def cosine(self, connected: Sequence[torch.Tensor], teacher: ModelPass) -> torch.Tensor:
        """Cosine of the masked-pooled connected student level and teacher level, averaged over levels."""
        return masked_pooled_cosine(connected, teacher)

    def feature_teacher_loss(self, teacher_model: nn.Module, connected: Sequence[torch.Tensor],
                             teacher: ModelPass, student: ModelPass, data_samples: list) -> torch.Tensor:
        """Teacher m's RPN and first-stage RoI head (or dense head) on the student's connected FPN levels: its
        per-image detection loss on the student's RoIs."""
        if not is_two_stage(teacher_model):
            return self.dense.feature_teacher_loss(teacher_model, connected, teacher, student, data_samples)
        return two_stage_loss(teacher_model, connected, self._rois)[0]

    def student_outputs(self, student: ModelPass) -> List[StudentOutput]:
        """The sampled RoIs' class scores ``[R, C + 1]`` and box deltas ``[R, k]``, with each RoI's image: the KD
        terms average per RoI values over each image's RoIs, so an image's gradient is its RoIs' rows."""
        image = student.extra['image']
        outputs = [StudentOutput(student.logits, image)]
        if self.box_weight > 0:
            outputs.append(StudentOutput(student.extra['bbox_pred'], image))
        return outputs

    def teaches_logits(self, index: int) -> bool:
        """Feature-only and one-stage teachers give no region-level KD."""
        if self.logit_teachers is not None:
            return self.logit_teachers[index]
        return index not in self.feature_only_teachers


def _coding_key(bbox_head: nn.Module) -> str:
    """What a box head's targets depend on besides the sampling: classes, box coder, decoded regression."""
    coder = bbox_head.bbox_coder
    return repr((int(bbox_head.num_classes), type(coder).__name__, getattr(coder, 'means', None),
                 getattr(coder, 'stds', None), bool(bbox_head.reg_decoded_bbox)))


def resolve_teacher_list(entries: Sequence[Union[int, str]], names: Sequence[str], key: str) -> set:
    """Indices of the teachers that ``entries`` (names or indices into ``model.teachers``) name."""
    found = set()
    for entry in entries:
        if isinstance(entry, int) and not isinstance(entry, bool):
            if not 0 <= entry < len(names):
                raise ValueError(f'{key} has index {entry}, but model.teachers has {len(names)} entries')
            found.add(entry)
        elif entry in names:
            found.add(names.index(entry))
        else:
            raise ValueError(f"{key} names '{entry}', which is not a teacher; teacher names: {list(names)}")
    return found
