"""Per-sample feature-map distillation losses."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mtkd_rl.options import check_number
from mtkd_rl.registry import MODELS
from .logit import reduce_per_sample


@MODELS.register_module()
class FeatureMSE(nn.Module):
    """Mean squared error between feature maps, one value per sample (mean over C, H, W).

    Args:
        loss_weight: The weight of this term in the student objective (beta in the paper), applied to the
            returned loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = check_number(loss_weight, 'FeatureMSE.loss_weight', minimum=0)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor = None) -> torch.Tensor:
        """Compute the per-sample loss.

        Args:
            student: Connected student features, ``[B, C, H, W]``.
            teacher: Teacher features of the same shape.
            mask: Optional spatial validity mask ``[B, H, W]``.

        Returns:
            ``loss_weight`` times the loss, shape ``[B]``.
        """
        sq = (student - teacher.detach()).pow(2).mean(1)
        return self.loss_weight * reduce_per_sample(sq, mask)


@MODELS.register_module()
class ChannelWiseKL(nn.Module):
    """Channel-wise distillation (CWD, Shu et al. 2021), one value per sample.

    Each channel's map is turned into a spatial distribution with ``softmax(x / tau)`` over H x W, and the
    loss is ``tau^2 / C * sum_c KL(p_t,c || p_s,c)``. Masked positions are excluded from the softmax.

    Args:
        temperature: The softening temperature tau.
        loss_weight: The weight of this term in the student objective, applied to the returned loss.
    """

    def __init__(self, temperature: float = 4.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = check_number(temperature, 'ChannelWiseKL.temperature', minimum=0, min_inclusive=False)
        self.loss_weight = check_number(loss_weight, 'ChannelWiseKL.loss_weight', minimum=0)

    def forward(self, student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor = None) -> torch.Tensor:
        """Compute the per-sample loss.

        Args:
            student: Student maps, ``[B, C, H, W]``.
            teacher: Teacher maps of the same shape.
            mask: Optional spatial validity mask ``[B, H, W]``.

        Returns:
            ``loss_weight`` times the loss, shape ``[B]``.
        """
        t = self.temperature
        s = (student / t).flatten(2)
        q = (teacher.detach() / t).flatten(2)
        if mask is not None:
            invalid = ~mask.flatten(1).bool().unsqueeze(1)
            lowest = torch.finfo(s.dtype).min
            s = s.masked_fill(invalid, lowest)
            q = q.masked_fill(invalid, lowest)
        log_p_s = F.log_softmax(s, dim=2)
        log_p_t = F.log_softmax(q, dim=2)
        kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(2).mean(1) * t**2
        if mask is not None:
            kl = reduce_per_sample(kl, mask.flatten(1).any(1))
        return self.loss_weight * kl
