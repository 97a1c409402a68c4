"""Teacher credit: how far each teacher's distillation pulls the student the way its own task loss does.

For teacher m, the credit of a batch is the cosine between the gradient of its distillation objective and the
gradient of the student's task objective, both with respect to every trainable parameter of the student:

    c_m = cos(grad_theta L_KD,m, grad_theta L_task)

A teacher whose distillation moves the whole network the way the labels do gets c_m near 1; one that pulls
against the labels (a confidently wrong teacher) gets a negative credit. The idea is Ren et al., "Learning to
Reweight Examples for Robust Deep Learning" (ICML 2018), applied per teacher. It needs the parameters' graph,
not the task's outputs, so it is the same for every task adapter.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine import dist


def parameter_gradients(objective: torch.Tensor, params: Sequence[torch.Tensor]) -> Sequence[Optional[torch.Tensor]]:
    """The gradient of ``objective`` with respect to each of ``params`` (None where it does not depend on one),
    keeping the graph for the next call and the training step's backward."""
    if not objective.requires_grad:
        return [None] * len(params)
    return torch.autograd.grad(objective, params, retain_graph=True, allow_unused=True)


def gradient_alignment(teacher_objectives: Sequence[torch.Tensor], task_objective: torch.Tensor,
                       params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per teacher, the cosine of the gradient of its objective and the gradient of the task objective: ``[M]``.

    The dot products and norms are summed parameter by parameter (no flattened copy of the network). A teacher
    objective that does not depend on the parameters (a teacher with no distillation term) gets 0. Computed on
    the device, without synchronising with the host.

    Args:
        teacher_objectives: Per teacher, a scalar with its graph to ``params`` (its weighted distillation loss).
        task_objective: The student's task loss, a scalar with its graph.
        params: The student's trainable parameters.
    """
    zero = torch.zeros((), device=params[0].device)
    task = parameter_gradients(task_objective, params)
    task_sq = sum((g.float().pow(2).sum() for g in task if g is not None), zero)
    cosines = []
    for objective in teacher_objectives:
        grads = parameter_gradients(objective, params)
        dot = own_sq = zero
        for g, t in zip(grads, task):
            if g is None:
                continue
            own_sq = own_sq + g.float().pow(2).sum()
            if t is not None:
                dot = dot + (g.float() * t.float()).sum()
        cosines.append(dot / (own_sq.sqrt() * task_sq.sqrt()).clamp_min(torch.finfo(torch.float32).tiny))
    return torch.stack(cosines)


def averaged_across_ranks(credit: torch.Tensor) -> torch.Tensor:
    """``credit`` averaged over the processes of a distributed run (each measured it on its own batch), so every
    rank's agent learns from the same value; unchanged in a single process."""
    if dist.get_world_size() > 1:
        credit = credit.clone()
        dist.all_reduce(credit, op='mean')
    return credit


def credit_targets(credit: torch.Tensor, temperature: float) -> torch.Tensor:
    """The weights the credit asks for: ``softmax_m(credit / temperature)``, ``[M]`` (a row per head for ``[2, M]``).

    Args:
        credit: Per teacher, its (averaged) credit in [-1, 1] (``[M]``, or ``[2, M]`` per head).
        temperature: How sharply the best teachers are preferred (small: nearly all weight on the teacher with
            the most credit; large: nearly uniform).
    """
    return F.softmax(credit.float() / temperature, dim=-1)


class CreditAverage(nn.Module):
    """The moving average of each teacher's credit over its measurements, kept in buffers (saved and restored
    with the weighting's state).

    The average is bias-corrected, as Adam's moments are: after measurements ``c_1 .. c_n`` it is
    ``sum_i (1 - momentum) momentum^(n-i) c_i / (1 - momentum^n)``, so the first measurement weighs no more than
    its place in the sequence gives it. (Taking the first measurement as the starting average instead would
    leave it ``momentum^(n-1)`` of the weight: half of it after 7 measurements at 0.9, which holds on to the
    credit a teacher had before the student passed it.)

    Args:
        num_teachers: The number of teachers M.
        momentum: The weight of the past, ``momentum`` per measurement.
        heads: 1 for one credit per teacher (``[M]``), 2 for one per head (``[2, M]``: logit KD, feature KD).
    """

    def __init__(self, num_teachers: int, momentum: float, heads: int = 1) -> None:
        super().__init__()
        self.momentum = float(momentum)
        self.register_buffer('value', torch.zeros(num_teachers) if heads == 1 else torch.zeros(heads, num_teachers))
        self.register_buffer('measured', torch.tensor(False))
        #: ``1 - momentum^n`` after n measurements: the share of the average the measurements so far hold.
        self.register_buffer('weight', torch.tensor(0.0))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # an average saved before it was bias-corrected holds its measurements at full weight
        if prefix + 'weight' not in state_dict and prefix + 'measured' in state_dict:
            state_dict[prefix + 'weight'] = state_dict[prefix + 'measured'].float()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def add(self, credit: torch.Tensor) -> None:
        """Fold one measurement (``[M]``, or ``[2, M]`` per head) into the average (on the device, without a host
        sync)."""
        past = self.momentum * self.weight
        weight = past + (1.0 - self.momentum)
        self.value.copy_((past * self.value + (1.0 - self.momentum) * credit.to(self.value)) / weight)
        self.weight.copy_(weight)
        self.measured.fill_(True)


def credit_loss(weights: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The cross-entropy of each sample's weights ``[B, M]`` against the credit's target weights ``[M]``: lowest
    where every row equals the target."""
    return -(target * weights.clamp_min(torch.finfo(weights.dtype).tiny).log()).sum(1).mean()
