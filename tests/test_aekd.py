"""AEKD: min-norm teacher weights in gradient space, exact values, and one training iteration per task."""

import pytest
import torch

import mtkd_rl  # noqa: F401
from weighting_pools import (classification_pool, detection_pool_with_a_feature_only_teacher,
                             segmentation_pool)

from mtkd_rl.options import OptionError
from mtkd_rl.registry import TEACHER_WEIGHTINGS, build
from mtkd_rl.weighting import AEKDWeighting, DistillationTerms, StudentOutput, WeightingPhase
from mtkd_rl.weighting.aekd import min_norm_exact, min_norm_frank_wolfe, min_norm_two


def aekd(m=3, **kw) -> AEKDWeighting:
    return build(dict(type='AEKD', **kw), TEACHER_WEIGHTINGS, default_args=dict(num_teachers=m))


def linear_terms(grads: torch.Tensor, feature: bool = True):
    """Terms whose gradients are known: ``logit_kd[i, m] = <z_i, grads[i, m]>`` with ``z`` ``[B, D]`` a leaf, so
    the gradient of sample i's KD term of teacher m with respect to the student output ``z`` is ``grads[i, m]``.

    Args:
        grads: ``[B, M, D]`` per-sample, per-teacher gradients.
    """
    z = torch.randn(grads.shape[0], grads.shape[2], dtype=grads.dtype, requires_grad=True)
    kd = torch.einsum('bd,bmd->bm', z, grads)
    b, m = kd.shape
    return DistillationTerms(logit_kd=kd, teacher_loss=torch.zeros(b, m), student_loss=None,
                             feature_kd=torch.rand(b, m) if feature else None,
                             student_outputs=[StudentOutput(z)])


def weights_of(grads, **kw):
    w = aekd(grads.shape[1], **kw)(linear_terms(grads), WeightingPhase())
    return w.logit, w.feature


def gram_of(vectors):
    v = torch.as_tensor(vectors, dtype=torch.float64)
    return torch.einsum('bmd,bkd->bmk', v, v)


# ---------------------------------------------------------------------------------------- exact values
def test_two_teachers_closed_form():
    g = torch.tensor([[[1.0, 0.0], [0.0, 2.0]],     # a1 = <g2 - g1, g2> / |g1 - g2|^2 = 4 / 5
                      [[1.0, 1.0], [3.0, 1.0]],     # <(2, 0), (3, 1)> = 6 > |(2, 0)|^2 = 4: clamped to 1
                      [[2.0, 0.0], [-1.0, 0.0]]],   # 1 / 9 * <(-3, 0), (-1, 0)> = 3 / 9
                     dtype=torch.float64)
    expected = torch.tensor([[0.8, 0.2], [1.0, 0.0], [1 / 3, 2 / 3]], dtype=torch.float64)
    logit, feature = weights_of(g)
    torch.testing.assert_close(logit, expected, rtol=0, atol=1e-12)
    assert torch.equal(feature, logit)
    # the formula of the brief, as written
    g1, g2 = g[:, 0], g[:, 1]
    a = (((g2 - g1) * g2).sum(1) / (g1 - g2).pow(2).sum(1)).clamp(0, 1)
    torch.testing.assert_close(logit[:, 0], a, rtol=0, atol=1e-12)


def test_three_teachers_by_hand():
    g = torch.tensor([
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],   # orthogonal unit vectors: 1/3 each
        [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]],   # orthogonal: a_m ~ 1/|g_m|^2 = (1, 1/4, 1/4)
        [[1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [1.0, 1.0, 0.0]],   # g1 is the hull's closest point: (1, 0, 0)
        [[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],  # the origin, on the edge g1-g2: (1/2, 1/2, 0)
    ], dtype=torch.float64)
    expected = torch.tensor([[1 / 3] * 3, [2 / 3, 1 / 6, 1 / 6], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]],
                            dtype=torch.float64)
    torch.testing.assert_close(weights_of(g)[0], expected, rtol=0, atol=1e-8)
    # Frank-Wolfe (an option for large pools) gets the first three exactly; the fourth, an optimum at the
    # origin, it approaches at O(1 / iterations) in value
    fw = weights_of(g, solver='frank_wolfe', iterations=100)[0]
    torch.testing.assert_close(fw[:3], expected[:3], rtol=0, atol=1e-8)
    assert torch.einsum('bd,bd->b', *(2 * [torch.einsum('bm,bmd->bd', fw, g)]))[3] < 1e-2


def test_a_gradient_inside_the_hull_of_the_others():
    # g3 = (g1 + g2) / 2: the min-norm point is g3 = (g1 + g2) / 2, reached by (0, 0, 1), (1/2, 1/2, 0) and every
    # mix; the solver returns the most even weights of that point, 1/3 each
    g = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]], dtype=torch.float64)
    logit, _ = weights_of(g)
    torch.testing.assert_close(logit, torch.full((1, 3), 1 / 3, dtype=torch.float64), rtol=0, atol=1e-6)
    point = torch.einsum('bm,bmd->bd', logit, g)
    torch.testing.assert_close(point, torch.tensor([[0.5, 0.5]], dtype=torch.float64), rtol=0, atol=1e-8)


@pytest.mark.parametrize('m', [2, 3, 4])
def test_equal_and_zero_gradients_give_uniform_weights(m):
    same = torch.tensor([0.3, -1.2, 2.0]).repeat(2, m, 1)
    zero = torch.zeros(2, m, 3)
    for g in (same, zero):
        logit, feature = weights_of(g)
        assert torch.allclose(logit, torch.full((2, m), 1.0 / m), atol=1e-6)
        assert torch.equal(feature, logit)


def test_the_exact_solver_is_the_minimum_over_the_simplex():
    g = torch.Generator().manual_seed(0)
    gram = gram_of(torch.randn(32, 3, 4, generator=g, dtype=torch.float64))
    a = min_norm_exact(gram)
    assert torch.allclose(a.sum(1), torch.ones(32, dtype=torch.float64)) and (a >= 0).all()
    n = 100  # every point of a fine grid of the simplex is no better
    grid = torch.tensor([(i / n, j / n, 1 - (i + j) / n) for i in range(n + 1) for j in range(n + 1 - i)],
                        dtype=torch.float64)
    best = torch.einsum('gm,bmk,gk->bg', grid, gram, grid).min(1).values
    ours = torch.einsum('bm,bmk,bk->b', a, gram, a)
    assert (ours <= best + 1e-12).all()
    # two teachers: the exact solver agrees with the closed form
    gram2 = gram_of(torch.randn(32, 2, 4, generator=g, dtype=torch.float64))
    torch.testing.assert_close(min_norm_exact(gram2), min_norm_two(gram2), rtol=0, atol=1e-7)
    # Frank-Wolfe approaches it
    fw = min_norm_frank_wolfe(gram, 500)
    assert (torch.einsum('bm,bmk,bk->b', fw, gram, fw) - ours).max() < 1e-2 * gram.diagonal(dim1=1, dim2=2).max()


def test_rows_of_indexed_outputs_are_grouped_by_sample():
    """Outputs whose dim 0 is not the batch (RoIs) are summed per sample; batch-first outputs (one per FPN level)
    add up."""
    rois = torch.randn(5, 3, requires_grad=True)
    level0 = torch.randn(2, 2, 2, requires_grad=True)
    image = torch.tensor([0, 1, 1, 0, 1])
    t = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # teacher m pulls every RoI along its own t
    per_roi = torch.stack([(rois * t[m]).sum(1) for m in range(2)], 1)  # [5, 2]
    kd = torch.zeros(2, 2).index_add(0, image, per_roi) + torch.stack(
        [level0.sum((1, 2)), 2 * level0.sum((1, 2))], 1)
    terms = DistillationTerms(logit_kd=kd, teacher_loss=torch.zeros(2, 2), student_loss=None,
                              student_outputs=[StudentOutput(rois, image), StudentOutput(level0)])
    from mtkd_rl.weighting.aekd import kd_gradients, per_sample_gram
    gram = per_sample_gram(kd_gradients(kd, terms.student_outputs), terms.student_outputs, 2)
    # image 0 has 2 RoIs, image 1 has 3; the level adds <1, 2> * 4 entries
    expected = torch.tensor([[[2 + 4, 0 + 8], [0 + 8, 2 + 16]], [[3 + 4, 8], [8, 3 + 16]]], dtype=torch.float64)
    assert torch.equal(gram, expected)


def test_a_teacher_without_logit_kd_gets_no_logit_weight_and_its_share_of_features():
    g = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]])  # teacher 3: a zero column (feature-only)
    logit, feature = weights_of(g)
    torch.testing.assert_close(logit, torch.tensor([[0.8, 0.2, 0.0]]))
    torch.testing.assert_close(feature, torch.tensor([[0.8 * 2 / 3, 0.2 * 2 / 3, 1 / 3]]))
    # the same with a column that is a constant zero (no graph), as the detection adapter builds it
    z = torch.randn(1, 2, requires_grad=True)
    kd = torch.stack([(z * g[:, 0]).sum(1), (z * g[:, 1]).sum(1), torch.zeros(1)], 1)
    w = aekd(3)(DistillationTerms(logit_kd=kd, teacher_loss=torch.zeros(1, 3), student_loss=None,
                                  student_outputs=[StudentOutput(z)]), WeightingPhase())
    torch.testing.assert_close(w.logit, logit)
    w2 = aekd(2)(DistillationTerms(logit_kd=kd[:, 1:], teacher_loss=torch.zeros(1, 2), student_loss=None,
                                   student_outputs=[StudentOutput(z)]), WeightingPhase())
    torch.testing.assert_close(w2.logit, torch.tensor([[1.0, 0.0]]))


def test_weights_are_detached_and_uniform_without_gradients():
    terms = linear_terms(torch.randn(4, 3, 5))
    w = aekd(3)(terms, WeightingPhase())
    assert not w.logit.requires_grad and not w.feature.requires_grad and w.rollout is None
    torch.testing.assert_close(w.logit.sum(1), torch.ones(4))
    with torch.no_grad():
        terms = linear_terms(torch.randn(4, 3, 5))
    assert torch.equal(aekd(3)(terms, WeightingPhase()).logit, torch.full((4, 3), 1 / 3))


def test_options_are_checked():
    assert aekd().needed_terms(WeightingPhase()) == {'student_outputs'} and not aekd().learnable
    with pytest.raises(OptionError, match='model.weighting.solver'):
        aekd(solver='mgda')
    with pytest.raises(OptionError, match='model.weighting.iterations'):
        aekd(iterations=0)
    with pytest.raises(OptionError, match='model.weighting.iterations'):
        aekd(iterations='10')
    with pytest.raises(ValueError, match="solver='frank_wolfe'"):
        aekd(11)
    assert aekd(11, solver='frank_wolfe').iterations == 100
    with pytest.raises(ValueError, match='fusion'):
        AEKDWeighting.check_options(dict(type='AEKD', fusion='static'))


# ------------------------------------------------------------------------------- through the distiller
def per_row_gram(terms: DistillationTerms) -> torch.Tensor:
    """The per-sample Gram matrices from one ``autograd.grad`` per sample and teacher (no grouping trick)."""
    kd = terms.logit_kd
    b, m = kd.shape
    tensors = [o.tensor for o in terms.student_outputs]
    gram = torch.zeros(b, m, m, dtype=torch.float64)
    for i in range(b):
        flat = []
        for k in range(m):
            grads = torch.autograd.grad(kd[i, k], tensors, retain_graph=True, allow_unused=True)
            flat.append(torch.cat([torch.zeros(t.numel()) if g is None else g.flatten() for t, g in
                                   zip(tensors, grads)]).double())
        flat = torch.stack(flat)
        gram[i] = flat @ flat.t()
    return gram


def aekd_iteration(model, inputs, samples, seed=0):
    """One AEKD training iteration through the distiller: check the weights against per-row gradients and that
    one SGD step moves the student."""
    model.weighting = aekd(len(model.teachers))
    seen = {}
    forward = model.weighting.forward

    def watching(terms, phase):
        seen['terms'], seen['weights'] = terms, forward(terms, phase)
        return seen['weights']
    model.weighting.forward = watching
    model.train()
    torch.manual_seed(seed)
    losses = model.loss(inputs, samples)
    terms, weights = seen['terms'], seen['weights']
    assert terms.student_outputs and terms.embeddings == [] and terms.cosine is None  # only what AEKD reads
    # one autograd.grad per teacher gives each sample's own gradient: row i of logit_kd reads sample i only
    from mtkd_rl.weighting.aekd import kd_gradients, per_sample_gram
    gram = per_sample_gram(kd_gradients(terms.logit_kd, terms.student_outputs), terms.student_outputs,
                           terms.logit_kd.shape[0])
    torch.testing.assert_close(gram, per_row_gram(terms), rtol=1e-5, atol=1e-9)
    torch.testing.assert_close(weights.logit, model.weighting.min_norm_weights(gram).float(), rtol=0, atol=1e-6)
    torch.testing.assert_close(weights.logit.sum(1), torch.ones(terms.logit_kd.shape[0]))
    total, _ = model.parse_losses(losses)  # mmengine's sum of every 'loss' key (per-level lists included)
    assert torch.isfinite(total)
    params = [p for p in list(model.student.parameters()) + list(model.connectors.parameters()) if p.requires_grad]
    before = [p.detach().clone() for p in params]
    optimizer = torch.optim.SGD(params, lr=0.01)
    optimizer.zero_grad()
    total.backward()
    optimizer.step()
    assert any(not torch.equal(p, q) for p, q in zip(params, before))
    assert all(p.grad is None for t in model.teachers for p in t.parameters())
    return terms, weights


def test_classification_iteration(random_teachers):
    aekd_iteration(*classification_pool(random_teachers, dict(type='AEKD')))


def test_detection_iteration_with_a_feature_only_teacher(tmp_path_factory):
    model, inputs, samples = detection_pool_with_a_feature_only_teacher(tmp_path_factory.mktemp('aekd_det'),
                                                                        dict(type='AEKD'))
    terms, weights = aekd_iteration(model, inputs, samples)
    assert len(terms.student_outputs) == 2  # class scores and decoded boxes (box KD)
    # the FCOS teacher gives no logit KD: no logit weight, 1/3 of the feature weight
    assert torch.equal(weights.logit[:, 2], torch.zeros(3))
    torch.testing.assert_close(weights.feature[:, 2], torch.full((3, ), 1 / 3))
    torch.testing.assert_close(weights.feature.sum(1), torch.ones(3))


def test_two_stage_detection_iteration(tmp_path_factory):
    pytest.importorskip('mmdet')
    from mmengine.config import Config
    from detection_helpers import (RCNN_MTKDRL_CFG, RCNN_STUDENT_CFG, RCNN_TEACHER_CFGS, batch, build_det,
                                   distiller_cfg, save_teacher, tiny_rcnn_cfg)
    root = tmp_path_factory.mktemp('aekd_rcnn')
    torch.manual_seed(0)
    pool = [save_teacher(root, name, tiny_rcnn_cfg(Config.fromfile(RCNN_TEACHER_CFGS[name]).model, base))
            for name, base in (('faster_rcnn_r18', 16), ('faster_rcnn_r34', 8))]
    student = tiny_rcnn_cfg(Config.fromfile(RCNN_STUDENT_CFG).model, 8)
    cfg = distiller_cfg(RCNN_MTKDRL_CFG, student, pool, probe_size=(64, 64))
    cfg.weighting = dict(type='AEKD')
    model = build_det(cfg)
    inputs, samples = batch()
    terms, _ = aekd_iteration(model, inputs, samples)
    assert terms.student_outputs[0].sample_index is not None  # RoI rows, grouped by image


def test_segmentation_iteration(tmp_path):
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        aekd_iteration(*segmentation_pool(tmp_path, dict(type='AEKD')))
