"""Per-sample logit distillation losses."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mtkd_rl.options import check_int, check_number
from mtkd_rl.registry import MODELS


@MODELS.register_module()
class LogitKL(nn.Module):
    """KL divergence between temperature-softened teacher and student distributions, one value per sample.

    ``loss_i = loss_weight * T^2 * sum_c p_t (log p_t - log p_s)`` with ``p = softmax(z / T)`` over ``class_dim``. Extra
    dimensions (pixels, anchors) are averaged, where ``mask`` (1 = valid) selects which count.

    Args:
        temperature: The softening temperature T.
        loss_weight: The weight of this term in the student objective, applied to the returned loss.
        class_dim: The dimension that holds the classes.
    """

    def __init__(self, temperature: float = 4.0, loss_weight: float = 1.0, class_dim: int = 1) -> None:
        super().__init__()
        self.temperature = check_number(temperature, 'LogitKL.temperature', minimum=0, min_inclusive=False)
        self.loss_weight = check_number(loss_weight, 'LogitKL.loss_weight', minimum=0)
        self.class_dim = check_int(class_dim, 'LogitKL.class_dim')

    def forward(self, student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor = None) -> torch.Tensor:
        """Compute the per-sample loss.

        Args:
            student: Student logits, ``[B, C, ...]``.
            teacher: Teacher logits of the same shape.
            mask: Optional validity mask of shape ``[B, ...]`` (the shape without ``class_dim``).

        Returns:
            ``loss_weight`` times the loss, shape ``[B]``.
        """
        t = self.temperature
        log_p_s = F.log_softmax(student / t, dim=self.class_dim)
        log_p_t = F.log_softmax(teacher.detach() / t, dim=self.class_dim)
        kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(self.class_dim) * t**2
        return self.loss_weight * reduce_per_sample(kl, mask)


def reduce_per_sample(values: torch.Tensor, mask: torch.Tensor = None) -> torch.Tensor:
    """Average ``values`` over every dimension but the first, counting only ``mask`` entries.

    A sample with no valid entry gives 0.
    """
    if values.dim() == 1:
        return values if mask is None else values * mask.to(values.dtype)
    flat = values.flatten(1)
    if mask is None:
        return flat.mean(1)
    m = mask.flatten(1).to(values.dtype)
    return (flat * m).sum(1) / m.sum(1).clamp_min(1.0)
