"""What the dense and the two-stage detection adapters share: feature-only teachers, FPN feature KD and the
masked cosine."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from ..base import TaskAdapter
from ..context import IterationContext
from ..reductions import global_pool
from .passes import DetectorPass


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


def masked_pooled_cosine(connected: Sequence[torch.Tensor], teacher: DetectorPass) -> torch.Tensor:
    """Cosine of each connected student FPN level and the teacher's, both pooled over the positions inside
    each image (the teacher's pooled levels of its embedding where its pass kept them), averaged over levels:
    ``[B]``."""
    cos = []
    for level, (s, t) in enumerate(zip(connected, teacher.features)):
        m = teacher.mask_of(t.shape[-2:])
        t_pooled = teacher.pooled[level] if teacher.pooled is not None else global_pool(t, m)
        cos.append(F.cosine_similarity(global_pool(s, m), t_pooled, dim=1))
    return torch.stack(cos, 0).mean(0)


class DetectorAdapter(TaskAdapter):
    """Base of the detection adapters: features are the neck's (FPN) levels, one connector per level, compared
    over the positions inside each image; teachers named in ``feature_only_teachers`` teach through them only
    (their ``logit_kd`` column is 0) and still enter the weighting with their own terms.

    Args:
        logit_loss: The logit KD config (its ``loss_weight``, alpha, applied inside it).
        feature_loss: Per-image FPN feature KD config (beta), or None.
        feature_only_teachers: Teachers (names or indices into ``model.teachers``) that give feature
            distillation only.
        probe_size: Size of the dummy input used at build time; large enough for the coarsest FPN level.
    """
    provides = frozenset({'teacher_entropy', 'feature_teacher_loss'})
    toolbox = 'mmdet'

    def __init__(self,
                 logit_loss: dict,
                 feature_loss: Optional[dict],
                 feature_only_teachers: Sequence[Union[int, str]] = (),
                 probe_size: Sequence[int] = (128, 128)) -> None:
        super().__init__(logit_loss, feature_loss, probe_size)
        if isinstance(feature_only_teachers, (str, int)):
            feature_only_teachers = [feature_only_teachers]
        self.feature_only_teachers = list(feature_only_teachers)
        #: Per teacher, whether it gives logit distillation (set by the subclass's ``validate``).
        self.logit_teachers: Optional[List[bool]] = None

    def feature_only(self, names: Sequence[str]) -> set:
        """The indices of the teachers ``feature_only_teachers`` names, checked against the pool and the
        feature loss."""
        found = resolve_teacher_list(self.feature_only_teachers, names, 'model.task.feature_only_teachers')
        if found and self.feature_loss is None:
            raise ValueError(f'model.task.feature_only_teachers {[names[i] for i in sorted(found)]} '
                             f'teach features only, but model.task.feature_loss is None: they would teach '
                             f'nothing; give a feature_loss or remove them from model.teachers')
        return found

    def feature_kd(self, connected: Sequence[torch.Tensor], teacher: DetectorPass,
                   context: IterationContext) -> torch.Tensor:
        """FPN feature KD over the positions inside each image, averaged over levels: ``[B]``."""
        losses = [self.feature_loss(s, t, teacher.mask_of(t.shape[-2:]))
                  for s, t in zip(connected, teacher.features)]
        return torch.stack(losses, 0).mean(0)

    def cosine(self, connected: Sequence[torch.Tensor], teacher: DetectorPass) -> torch.Tensor:
        """Cosine of the masked-pooled connected student level and teacher level, averaged over levels."""
        return masked_pooled_cosine(connected, teacher)

    def teaches_logits(self, index: int) -> bool:
        """Feature-only teachers (and those the subclass's checks found unable to) give no logit KD."""
        if self.logit_teachers is not None:
            return self.logit_teachers[index]
        return index not in self.feature_only_teachers  # before validate(): only indices resolve
