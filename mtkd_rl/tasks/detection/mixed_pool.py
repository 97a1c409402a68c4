"""A one-stage detection student (RetinaNet...) with two-stage teachers (Faster/Mask/Cascade R-CNN) in its pool.

A two-stage teacher has no dense head to compare anchor by anchor with the student, so it teaches through its
FPN levels only (it must be named in ``feature_only_teachers``). It still enters the weighting with its own
terms, computed on its *own* sampled RoIs (a one-stage student samples none): its RPN proposals, assigned and
sampled as its training does; per image its RPN + RoI-head loss, masked FPN embedding, per-class maximum RoI
score and mean RoI entropy. Dense teachers are handled exactly as by :class:`DetectionAdapter`.
"""
from typing import Sequence

import torch
import torch.nn as nn

from mtkd_rl.registry import MODELS
from ..base import TaskAdapter
from ..context import IterationContext
from .adapter import DetectionAdapter
from .passes import DetectorPass, DetectorShapes
from .two_stage import batch_mask_of, two_stage_shapes, two_stage_teacher_pass
from .two_stage_losses import is_two_stage, own_sampled_rois, two_stage_loss


@MODELS.register_module()
class MixedPoolDetectionAdapter(DetectionAdapter):
    """:class:`DetectionAdapter` whose pool may also hold two-stage teachers, as feature-only teachers.

    Same arguments as :class:`DetectionAdapter`; every two-stage teacher must be in ``feature_only_teachers``.
    """

    def probe(self, model: nn.Module, inputs: torch.Tensor) -> DetectorShapes:
        if is_two_stage(model):
            return two_stage_shapes(model, inputs)
        return super().probe(model, inputs)

    def validate(self, student: DetectorShapes, teachers: Sequence[DetectorShapes], names: Sequence[str]) -> None:
        """Two-stage teachers: same classes, a ``train_cfg``, feature-only. The dense teachers: as
        :meth:`DetectionAdapter.validate`."""
        if student.two_stage:
            raise ValueError("model.student is a two-stage detector; "
                             "use model.task=dict(type='TwoStageDetectionAdapter')")
        TaskAdapter.validate(self, student, teachers, names)
        names = list(names)
        feature_only = self.feature_only(names)
        for i, (name, shapes) in enumerate(zip(names, teachers)):
            if not shapes.two_stage:
                continue
            key = f'model.teachers[{i}] ({name})'
            if i not in feature_only:
                raise ValueError(
                    f"{key} is a two-stage detector ({shapes.head}); its RoI head cannot be compared "
                    f"with the student's anchors: let it teach FPN features only with "
                    f"model.task.feature_only_teachers=['{name}']")
            if not shapes.has_train_cfg or not shapes.roi_head.has_rcnn_cfg:
                raise ValueError(f'{key} has no train_cfg (rpn and rcnn), so its own detection loss (the '
                                 f'teacher-performance term) cannot be computed; point config at the full '
                                 f'training config of the teacher')
        # The dense checks: a feature-only two-stage teacher is checked above; stand the student in for it
        # (classes, sigmoid head and train_cfg are what the dense checks of a feature-only teacher look at).
        dense_view = [student if t.two_stage else t for t in teachers]
        super().validate(student, dense_view, names)

    def forward_teacher(self, teacher: nn.Module, context: IterationContext, student: DetectorPass) -> DetectorPass:
        if not is_two_stage(teacher):
            return super().forward_teacher(teacher, context, student)
        feats = list(teacher.extract_feat(context.inputs))
        return two_stage_teacher_pass(teacher, feats, own_sampled_rois(teacher, feats, context.batch),
                                      batch_mask_of(context), lambda term: self.computes(context, term))

    def feature_teacher_loss(self, teacher_model: nn.Module, connected: Sequence[torch.Tensor],
                             teacher: DetectorPass, student: DetectorPass, context: IterationContext) -> torch.Tensor:
        """A two-stage teacher's RPN and RoI head on the student's connected FPN levels, on its own RoIs."""
        if not is_two_stage(teacher_model):
            return super().feature_teacher_loss(teacher_model, connected, teacher, student, context)
        return two_stage_loss(teacher_model, connected, teacher.roi)[0]
