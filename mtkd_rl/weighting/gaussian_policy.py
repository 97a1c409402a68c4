"""The Gaussian exploration of MTKD-RL's ``'policy_gradient'`` update: a bounded spread and a stable step."""
import math
from typing import Tuple

import torch
import torch.nn as nn

from mtkd_rl.options import OptionError, check_number, check_pair


class BoundedLogStd(nn.Module):
    """A learnable log standard deviation per head and teacher, squashed into ``[log min_std, log max_std]``.

    ``log_std = log min_std + (log max_std - log min_std) * sigmoid(raw)``: whatever step the optimizer takes,
    the spread stays finite and positive.

    Args:
        num_heads: Number of weight vectors (2: logit and feature).
        num_teachers: Number of teachers M.
        init_std: Initial standard deviation, strictly inside ``std_range``.
        std_range: ``(min_std, max_std)`` with ``0 < min_std < max_std``.
    """

    def __init__(self, num_heads: int, num_teachers: int, init_std: float,
                 std_range: Tuple[float, float]) -> None:
        super().__init__()
        low, high = (float(v) for v in std_range)
        self.log_min, self.log_max = math.log(low), math.log(high)
        self.raw = nn.Parameter(self.raw_from_log_std(torch.full((num_heads, num_teachers), math.log(init_std))))

    def forward(self) -> torch.Tensor:
        """The log standard deviations, ``[num_heads, M]``."""
        return self.log_min + (self.log_max - self.log_min) * torch.sigmoid(self.raw)

    def raw_from_log_std(self, log_std: torch.Tensor) -> torch.Tensor:
        """The raw parameter giving ``log_std``, clamped just inside the range."""
        fraction = ((log_std.float() - self.log_min) / (self.log_max - self.log_min)).clamp(1e-4, 1 - 1e-4)
        return torch.logit(fraction)


def check_std_options(init_std: float, std_range: Tuple[float, float]) -> None:
    """Raise a ``ValueError`` naming the config key when the Gaussian's spread options are unusable."""
    low, high = check_pair(std_range, 'model.weighting.std_range')
    if not 0 < low:
        raise OptionError('model.weighting.std_range', f'must be (min_std, max_std) with 0 < min_std < max_std, '
                          f'got {tuple(std_range)}')
    check_number(init_std, 'model.weighting.init_std')
    if not low < init_std < high:
        raise OptionError('model.weighting.init_std', f'must lie strictly inside std_range {tuple(std_range)}, '
                          f'got {init_std}; e.g. init_std=0.1 with std_range=(0.01, 1.0)')


def advantage(reward: torch.Tensor) -> torch.Tensor:
    """The reward minus its batch mean (the baseline), ``[B]``; 0 for a batch of one."""
    return reward - reward.mean()


def natural_policy_gradient_loss(mean: torch.Tensor, log_std: torch.Tensor, action: torch.Tensor,
                                 adv: torch.Tensor, sensitivity: torch.Tensor) -> torch.Tensor:
    """A loss whose gradient is REINFORCE's, preconditioned so that no step outgrows the policy's scale.

    For ``a ~ N(mu, sigma^2)`` per teacher, REINFORCE's gradient of ``A log N(a | mu, sigma)`` is
    ``A (a - mu) / sigma^2`` for the mean and ``A (z^2 - 1)`` for ``log sigma`` (``z = (a - mu) / sigma``).
    Dividing by the Fisher information (``1 / sigma^2`` and ``2``) gives ``A (a - mu)`` and
    ``A (z^2 - 1) / 2``: the mean moves toward sampled scores that beat the baseline and away from the others,
    by at most the sampled noise however small sigma has become. The mean's term is also divided by each
    score's ``sensitivity`` (the squared norm of its parameter gradient), so one optimizer step of learning
    rate ``lr`` moves a sample's own score ``lr * A`` of the way toward its sampled score whatever the scale
    of the state (a normalised least-mean-squares step); it is summed, the spread's term averaged, over the
    batch.

    Args:
        mean: The policy's head scores, ``[B, M]``, with gradient.
        log_std: Log standard deviations, ``[M]``, with gradient.
        action: The sampled scores, ``[B, M]``.
        adv: Advantages, ``[B]``, detached.
        sensitivity: ``[B, M]``, positive, detached.

    Returns:
        The scalar loss.
    """
    mean_term = 0.5 * ((action - mean).pow(2) / sensitivity).sum(1)
    z = (action - mean.detach()) * torch.exp(-log_std)
    std_term = 0.5 * (0.5 * z.pow(2) + log_std).sum(1)  # -log N(a | mu, sigma) / 2 up to a constant
    return (adv * mean_term).sum() + (adv * std_term).mean()
