"""AEKD: per-sample teacher weights from the teachers' KD gradients (Du et al., NeurIPS 2020).

"Agree to Disagree: Adaptive Ensemble Knowledge Distillation in Gradient Space" treats distillation from M
teachers as a multi-objective problem. For each sample, teacher m's KD loss has a gradient ``g_m`` with respect
to the student's outputs; the weights are the point of the teachers' convex hull closest to the origin (the
MGDA min-norm point):

    a* = argmin_{a in simplex} || sum_m a_m g_m ||^2 = argmin_a a^T G a,   G_mk = <g_m, g_k>.

The step along ``-sum_m a*_m g_m`` decreases no teacher's loss less than it must (it is a common descent
direction of every teacher's KD term where one exists), so teachers whose gradients disagree are balanced
rather than averaged.

Here ``g_m`` of sample i is the gradient of ``logit_kd[i, m]`` with respect to the student tensors the logit KD
differentiates (``DistillationTerms.student_outputs``). Row i of ``logit_kd`` depends on sample i's entries
only in every adapter (per-sample KL; per-image pixel, anchor and RoI averages), so one
``torch.autograd.grad(logit_kd[:, m].sum(), outputs)`` per teacher gives every sample's own gradient. The
gradients are detached, so are the weights.
"""
import itertools
from typing import List, Optional, Sequence

import torch

from mtkd_rl.options import check_choice, check_int
from mtkd_rl.registry import TEACHER_WEIGHTINGS
from .base import DistillationTerms, StudentOutput, TeacherWeighting, TeacherWeights, WeightingPhase

SOLVERS = ('exact', 'frank_wolfe')
#: The largest pool the exact solver takes: it solves one small linear system per subset of teachers (2^M - 1).
MAX_EXACT_TEACHERS = 10


def kd_gradients(columns: torch.Tensor, outputs: Sequence[StudentOutput]) -> List[List[torch.Tensor]]:
    """Per teacher, the gradient of ``columns[:, m].sum()`` with respect to each output tensor (detached).

    A column without gradient (a teacher that gives no logit KD, or a pass under ``no_grad``) and an output it
    does not reach get zeros.

    Args:
        columns: ``[B, M]`` per-sample KD terms with their graph.
        outputs: The student tensors the terms differentiate.

    Returns:
        ``grads[m][o]``, shaped like ``outputs[o].tensor``.
    """
    tensors = [o.tensor for o in outputs]
    live = [i for i, t in enumerate(tensors) if t.requires_grad]
    grads = []
    for m in range(columns.shape[1]):
        column = columns[:, m]
        found = [None] * len(tensors)
        if column.requires_grad and live:
            found_live = torch.autograd.grad(column.sum(), [tensors[i] for i in live], retain_graph=True,
                                             allow_unused=True)
            for i, g in zip(live, found_live):
                found[i] = g
        grads.append([torch.zeros_like(t) if g is None else g.detach() for t, g in zip(tensors, found)])
    return grads


def per_sample_gram(grads: Sequence[Sequence[torch.Tensor]], outputs: Sequence[StudentOutput],
                    batch_size: int) -> torch.Tensor:
    """The per-sample Gram matrices of the teachers' gradients, ``[B, M, M]`` in float64.

    ``G[i, m, k]`` sums ``<g_m, g_k>`` over every output's entries of sample i: the rows of a batch-first output,
    the rows of an indexed one (RoIs) whose ``sample_index`` is i. Float64, so that nearly equal gradients keep
    their (small) differences in ``G_mm + G_kk - 2 G_mk``.

    Args:
        grads: ``grads[m][o]`` from :func:`kd_gradients`.
        outputs: The outputs the gradients are of.
        batch_size: B.
    """
    m = len(grads)
    device = outputs[0].tensor.device
    gram = torch.zeros(batch_size, m, m, dtype=torch.float64, device=device)
    for o, output in enumerate(outputs):
        stacked = torch.stack([grads[k][o] for k in range(m)], 0).to(torch.float64)
        stacked = stacked.reshape(m, stacked.shape[1], -1)  # [M, rows, D]
        rows = torch.einsum('mrd,krd->rmk', stacked, stacked)
        if output.sample_index is None:
            gram = gram + rows
        else:
            gram = gram.index_add(0, output.sample_index.to(device), rows)
    return gram


def min_norm_two(gram: torch.Tensor, active: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The exact min-norm weights of two teachers, ``[B, 2]``.

    ``a_1 = clamp(<g_2 - g_1, g_2> / |g_1 - g_2|^2, 0, 1)``, ``a_2 = 1 - a_1``; equal gradients
    (``|g_1 - g_2|^2`` at most 1e-12 of ``|g_1|^2 + |g_2|^2``) give 1/2 each. Where only one teacher is active
    (see :func:`min_norm_weights`) it gets 1.
    """
    g11, g22, g12 = gram[:, 0, 0], gram[:, 1, 1], gram[:, 0, 1]
    gap = g11 + g22 - 2.0 * g12
    degenerate = gap <= 1e-12 * (g11 + g22)
    a1 = torch.where(degenerate, torch.full_like(gap, 0.5),
                     ((g22 - g12) / torch.where(degenerate, torch.ones_like(gap), gap)).clamp(0.0, 1.0))
    if active is not None:
        only = active[:, 0] != active[:, 1]
        a1 = torch.where(only, active[:, 0].to(a1.dtype), a1)
    return torch.stack([a1, 1.0 - a1], 1)


def _ridge(gram: torch.Tensor, relative: float) -> torch.Tensor:
    """``G + eps I`` with ``eps = relative * mean_m G_mm`` (and at least the smallest normal float): it makes the
    minimiser unique, and among the weights of the min-norm point picks the most even ones."""
    m = gram.shape[-1]
    scale = gram.diagonal(dim1=-2, dim2=-1).mean(-1)
    eps = (relative * scale).clamp_min(torch.finfo(gram.dtype).tiny)
    return gram + eps[:, None, None] * torch.eye(m, dtype=gram.dtype, device=gram.device)


def min_norm_exact(gram: torch.Tensor, active: Optional[torch.Tensor] = None, ridge: float = 1e-9) -> torch.Tensor:
    """The min-norm weights of any M (up to :data:`MAX_EXACT_TEACHERS`), exactly: ``[B, M]``.

    The minimiser of ``a^T G a`` over the simplex lies in the relative interior of some face, where it is the
    minimiser over that face's affine hull: the solution of one linear (KKT) system. All 2^M - 1 faces are
    solved at once (one batched solve, no host synchronisation); each solution is made a point of the simplex
    (negative entries clipped, renormalised) and the one of least ``a^T G a`` is kept, among the faces of
    active teachers only. A tiny ridge (``ridge`` times the mean squared gradient norm) makes every system
    regular and the minimiser unique: where several weightings give the same min-norm point (equal gradients,
    one gradient in the hull of the others), the most even one.

    Args:
        gram: ``[B, M, M]`` Gram matrices (float64).
        active: ``[B, M]`` booleans, the teachers that take part (every row with at least one), or None (all).
        ridge: Relative size of the ridge.
    """
    b, m, _ = gram.shape
    dtype, device = gram.dtype, gram.device
    reg = _ridge(gram, ridge)
    supports = torch.tensor(list(itertools.product([False, True], repeat=m))[1:], device=device)  # [S, M]
    s = supports.shape[0]
    both = supports[:, :, None] & supports[:, None, :]  # [S, M, M]
    eye = torch.eye(m, dtype=dtype, device=device)
    kkt = torch.zeros(b, s, m + 1, m + 1, dtype=dtype, device=device)
    # teachers outside the face: a_j = 0 (an identity row, no coupling); inside: G a + lambda 1 = 0, sum a = 1
    kkt[..., :m, :m] = torch.where(both, reg[:, None], eye)
    kkt[..., :m, m] = supports.to(dtype)
    kkt[..., m, :m] = supports.to(dtype)
    rhs = torch.zeros(b, s, m + 1, 1, dtype=dtype, device=device)
    rhs[..., m, 0] = 1.0
    solution = torch.linalg.solve_ex(kkt, rhs)[0][..., :m, 0]  # [B, S, M]
    a = torch.nan_to_num(solution, nan=0.0, posinf=0.0, neginf=0.0).clamp_min(0.0)
    total = a.sum(-1, keepdim=True)
    a = a / total.clamp_min(torch.finfo(dtype).tiny)
    value = torch.einsum('bsm,bmk,bsk->bs', a, reg, a)
    allowed = total[..., 0] > 0
    if active is not None:
        allowed = allowed & ~(supports[None] & ~active[:, None]).any(-1)
    value = torch.where(allowed, value, torch.full_like(value, float('inf')))
    best = value.argmin(1)
    return a[torch.arange(b, device=device), best]


def min_norm_frank_wolfe(gram: torch.Tensor, iterations: int, active: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The min-norm weights by Frank-Wolfe with exact line search (MGDA's solver), ``[B, M]``.

    From uniform weights over the active teachers, each of the ``iterations`` steps moves toward the active
    teacher whose gradient has the least inner product with the current combination, by the step that
    minimises the norm on that segment. A fixed number of steps, vectorised over the batch, with no host
    synchronisation; the error of ``a^T G a`` falls as O(1 / iterations).
    """
    b, m, _ = gram.shape
    if active is None:
        active = torch.ones(b, m, dtype=torch.bool, device=gram.device)
    a = active.to(gram.dtype)
    a = a / a.sum(1, keepdim=True)
    rows = torch.arange(b, device=gram.device)
    for _ in range(iterations):
        ga = torch.einsum('bmk,bk->bm', gram, a)
        t = ga.masked_fill(~active, float('inf')).argmin(1)
        uu = (a * ga).sum(1)  # |u|^2, u = sum_m a_m g_m
        ut = ga[rows, t]  # <u, g_t>
        tt = gram[rows, t, t]  # |g_t|^2
        gap = uu - 2.0 * ut + tt  # |u - g_t|^2
        step = torch.where(gap > 0, (uu - ut) / torch.where(gap > 0, gap, torch.ones_like(gap)),
                           torch.zeros_like(gap)).clamp(0.0, 1.0)
        a = a * (1.0 - step)[:, None]
        a[rows, t] += step
    return a


@TEACHER_WEIGHTINGS.register_module(name=['AEKD', 'AEKDWeighting'])
class AEKDWeighting(TeacherWeighting):
    """AEKD: per sample, the min-norm point of the convex hull of the teachers' logit-KD gradients.

    The gradients are taken with respect to the student's outputs (logits, score maps, anchor scores and boxes,
    RoI scores: ``DistillationTerms.student_outputs``), one ``autograd.grad`` per teacher over the part of the
    graph between those outputs and the KD terms; no parameter gradient is computed. Two teachers get the closed
    form, more the exact solver (every face of the simplex at once) or Frank-Wolfe.

    Feature weights are the logit weights. Feature-KD gradients with respect to the student's feature map are
    not per sample: the connectors' BatchNorm mixes the batch in training, so row i of ``feature_kd`` depends on
    every sample. A teacher whose gradient on a sample is zero (a ``feature_only_teachers`` entry in detection,
    whose logit column is 0) takes no part in that sample's min-norm problem: its logit weight is 0 and its
    feature weight 1/M, the other teachers sharing the rest of the feature weight in proportion to their logit
    weights. Where no teacher has a gradient (a pass under ``no_grad``) the weights are 1/M.

    Args:
        num_teachers: Number of teachers M.
        embedding_dims: Unused (filled in by the distiller).
        summary_dims: Unused (filled in by the distiller).
        solver: For M >= 3: ``'exact'`` (default; up to :data:`MAX_EXACT_TEACHERS` teachers) or
            ``'frank_wolfe'``. Two teachers always get the closed form.
        iterations: Frank-Wolfe steps (``solver='frank_wolfe'``).
    """
    required_terms = frozenset({'student_outputs'})

    def __init__(self,
                 num_teachers: int,
                 embedding_dims: Optional[Sequence[int]] = None,
                 summary_dims: Optional[Sequence[int]] = None,
                 solver: str = 'exact',
                 iterations: int = 100) -> None:
        super().__init__(num_teachers, embedding_dims, summary_dims)
        self.solver = check_choice(solver, SOLVERS, 'model.weighting.solver')
        self.iterations = check_int(iterations, 'model.weighting.iterations', minimum=1)
        if self.solver == 'exact' and num_teachers > MAX_EXACT_TEACHERS:
            raise ValueError(f"model.weighting.solver='exact' solves 2^M - 1 systems per sample and takes at most "
                             f"{MAX_EXACT_TEACHERS} teachers; with {num_teachers} set solver='frank_wolfe'")

    def min_norm_weights(self, gram: torch.Tensor) -> torch.Tensor:
        """The min-norm weights ``[B, M]`` of per-sample Gram matrices ``[B, M, M]``.

        A teacher whose gradient on a sample is exactly zero (it gives that sample no logit KD: a feature-only
        teacher's zero column) takes no part in that sample's problem and gets 0 (its vertex, the origin, would
        otherwise win); where every teacher's gradient is zero the weights are 1/M.
        """
        b, m, _ = gram.shape
        if m == 1:
            return torch.ones(b, 1, dtype=gram.dtype, device=gram.device)
        active = gram.diagonal(dim1=-2, dim2=-1) > 0
        active = active | ~active.any(1, keepdim=True)
        if m == 2:
            return min_norm_two(gram, active)
        if self.solver == 'exact':
            return min_norm_exact(gram, active)
        return min_norm_frank_wolfe(gram, self.iterations, active)

    def forward(self, terms: DistillationTerms, phase: WeightingPhase) -> TeacherWeights:
        kd = terms.logit_kd
        b, m = kd.shape
        if not kd.requires_grad:  # e.g. a pass under no_grad: no gradients to compare
            uniform = torch.full_like(kd, 1.0 / m)
            return TeacherWeights(uniform, uniform)
        if not terms.student_outputs:
            raise RuntimeError('AEKD needs DistillationTerms.student_outputs (the student tensors the logit KD '
                               'differentiates); the task adapter did not fill them')
        grads = kd_gradients(kd, terms.student_outputs)
        gram = per_sample_gram(grads, terms.student_outputs, b)
        w_logit = self.min_norm_weights(gram)
        # a teacher without logit KD on a sample keeps the AVER share of the feature weight there
        silent = gram.diagonal(dim1=-2, dim2=-1) <= 0
        share = (~silent).sum(1, keepdim=True).to(w_logit.dtype) / m
        w_feature = torch.where(silent, torch.full_like(w_logit, 1.0 / m), w_logit * share)
        w_feature = torch.where(silent.all(1, keepdim=True), w_logit, w_feature)
        return TeacherWeights(w_logit.to(kd.dtype), w_feature.to(kd.dtype))
