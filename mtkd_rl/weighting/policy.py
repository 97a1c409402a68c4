"""MTKD-RL's policy network: from a sample's state to a score per teacher for each weight vector."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


class TeacherPolicy(nn.Module):
    """The policy network: ``h = ReLU(W s)`` (no bias), then one head per weight vector.

    Args:
        state_dim: Size of the state of one sample.
        num_teachers: Number of teachers M.
        hidden_dim: Hidden width.
    """

    def __init__(self, state_dim: int, num_teachers: int, hidden_dim: int = 128) -> None:
        super().__init__()
        self.hidden = nn.Linear(state_dim, hidden_dim, bias=False)
        self.logit_head = nn.Linear(hidden_dim, num_teachers)
        self.feature_head = nn.Linear(hidden_dim, num_teachers)

    def forward(self, state: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return the pre-softmax scores of the logit and feature heads, each ``[B, M]``."""
        h = F.relu(self.hidden(state))
        return self.logit_head(h), self.feature_head(h)

    @torch.no_grad()
    def score_sensitivity(self, state: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per sample and teacher, how far a unit gradient step moves that head score: ``[B, M]`` per head.

        The squared norm of the score's gradient with respect to every parameter it depends on:
        ``|h|^2 + 1 + |s|^2 sum_j U_mj^2 [h_j > 0]`` (head weights and bias, then the hidden layer).
        """
        pre = self.hidden(state)
        active = (pre > 0).to(state.dtype)
        base = F.relu(pre).pow(2).sum(1, keepdim=True) + 1.0
        state_sq = state.pow(2).sum(1, keepdim=True)
        return tuple(base + state_sq * (active @ head.weight.pow(2).t())
                     for head in (self.logit_head, self.feature_head))
