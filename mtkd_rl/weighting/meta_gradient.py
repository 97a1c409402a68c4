"""The first-order meta-gradient of a virtual student step, per sample and teacher (MMKD's meta step).

With student parameters ``theta``, per-sample, per-teacher distillation terms ``c_im(theta)`` (loss weight
applied) and teacher weights ``w_im(phi)`` from a meta-weight network, the distillation objective of a batch is
``L_kd(theta, phi) = mean_i sum_m w_im(phi) c_im(theta)``. A virtual step ``theta' = theta - eta grad_theta L_kd``
changes the student's task loss on a quiz batch by, to first order in ``eta``,

    L_q(theta') - L_q(theta) = -eta <grad_theta L_q(theta), grad_theta L_kd(theta, phi)>
                             = -eta mean_i sum_m w_im(phi) A_im,    A_im = <grad_theta c_im(theta), g_q>,

with ``g_q = grad_theta L_q(theta)``. The change is linear in the weights, so its gradient with respect to
``phi`` needs only the alignment ``A`` (``[B, M]``): the meta-weight network can be trained later on a stored
batch, from its detached input and ``A``, with no student graph. ``A`` is the directional derivative of each
``c_im`` along ``g_q``; all of it comes from one double backward:

    A = d/du <grad_theta sum_im u_im c_im, g_q>   (u = 1, [B, M]),

``torch.autograd.grad(sum(u * c), theta, create_graph=True)``, the dot with the detached ``g_q``, and a second
``torch.autograd.grad`` into ``u``. It reads the parameters' graph only, so it is the same for every task
adapter; in a distributed run ``g_q`` is averaged across ranks first, so each rank's ``A`` is its samples' part of
the meta-gradient of the whole batch.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import torch
from mmengine import dist

from .teacher_credit import parameter_gradients

#: The rollout keys of :class:`MetaAlignment` (the learner's buffer stores dicts of tensors).
LOGIT_KEY = 'meta_alignment_logit'
FEATURE_KEY = 'meta_alignment_feature'


@dataclass
class MetaAlignment:
    """Per sample and teacher, ``A_im = <grad_theta c_im, g_q>`` for the logit and the feature KD terms.

    Attributes:
        logit: ``[B, M]``, for ``c = logit_kd`` (alpha KL).
        feature: ``[B, M]``, for ``c = feature_kd`` (beta MSE); None without feature distillation.
    """
    logit: torch.Tensor
    feature: Optional[torch.Tensor] = None

    def as_rollout(self) -> Dict[str, torch.Tensor]:
        """The entries added to a rollout (detached)."""
        rollout = {LOGIT_KEY: self.logit.detach()}
        if self.feature is not None:
            rollout[FEATURE_KEY] = self.feature.detach()
        return rollout

    @classmethod
    def from_transition(cls, transition: Dict[str, torch.Tensor]) -> Optional['MetaAlignment']:
        """The alignment a stored transition holds, or None for a batch without a meta step."""
        if LOGIT_KEY not in transition:
            return None
        return cls(transition[LOGIT_KEY], transition.get(FEATURE_KEY))


def averaged_gradients_across_ranks(grads: Sequence[Optional[torch.Tensor]]) -> List[Optional[torch.Tensor]]:
    """Each rank's gradients replaced by their mean over the ranks (one all-reduce of the flattened gradients);
    unchanged in a single process. None entries stay None on every rank only if they are None on every rank
    (they are: every rank runs the same student)."""
    grads = list(grads)
    if dist.get_world_size() <= 1:
        return grads
    present = [i for i, g in enumerate(grads) if g is not None]
    if not present:
        return grads
    flat = torch.cat([grads[i].reshape(-1).float() for i in present])
    dist.all_reduce(flat, op='mean')
    offset = 0
    for i in present:
        n = grads[i].numel()
        grads[i] = flat[offset:offset + n].view_as(grads[i]).to(grads[i].dtype)
        offset += n
    return grads


def virtual_step_alignment(task_objective: torch.Tensor, kd_terms: Sequence[Optional[torch.Tensor]],
                           params: Sequence[torch.Tensor]) -> List[Optional[torch.Tensor]]:
    """Per KD-term matrix ``c`` (``[B, M]``), its alignment ``A_im = <grad_theta c_im, g_q>`` with the task
    gradient ``g_q = grad_theta task_objective`` (averaged across ranks), over ``params``.

    One backward for ``g_q``, one with ``create_graph`` for the KD terms and one double backward, all on the
    device without a host sync; the graph is kept for the training step's backward. A term without gradient to
    ``params`` (a teacher without logit KD, a call under ``no_grad``) gets zeros.

    Args:
        task_objective: The student's task loss on the quiz batch, a scalar with its graph to ``params``.
        kd_terms: ``[B, M]`` per-sample, per-teacher KD terms with their graph (None entries are passed
            through), each already multiplied by its loss weight.
        params: The student's trainable parameters ``theta``.

    Returns:
        One ``[B, M]`` float32 tensor per entry of ``kd_terms`` (None where the entry is None), detached.
    """
    task = averaged_gradients_across_ranks(parameter_gradients(task_objective, params))
    live = [i for i, c in enumerate(kd_terms) if c is not None and c.requires_grad]
    out: List[Optional[torch.Tensor]] = [None if c is None else torch.zeros(c.shape, device=c.device)
                                         for c in kd_terms]
    if not live:
        return out
    probes = [torch.ones_like(kd_terms[i], requires_grad=True) for i in live]
    objective = sum((u * kd_terms[i]).sum() for u, i in zip(probes, live))
    grads = torch.autograd.grad(objective, params, create_graph=True, retain_graph=True, allow_unused=True)
    dot = None
    for g, t in zip(grads, task):
        if g is None or t is None:
            continue
        term = (g * t.to(g.dtype)).sum()
        dot = term if dot is None else dot + term
    if dot is None or not dot.requires_grad:
        return out
    found = torch.autograd.grad(dot, probes, retain_graph=True, allow_unused=True)
    for i, a in zip(live, found):
        if a is not None:
            out[i] = a.detach().float()
    return out
