"""MMKD: the meta-weight network, the first-order meta-gradient of the virtual step, and a training iteration per
task."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

import mtkd_rl  # noqa: F401

from weighting_pools import (classification_pool, detection_pool_with_a_feature_only_teacher,
                             segmentation_pool)

from mtkd_rl.registry import TEACHER_WEIGHTINGS, build
from mtkd_rl.weighting import DistillationTerms, MMKDWeighting, WeightingLearner, WeightingPhase
from mtkd_rl.weighting.meta_gradient import MetaAlignment, virtual_step_alignment
from mtkd_rl.weighting.mmkd import FEATURE_INPUT, LOGIT_INPUT, MetaWeightNet

ACT_META = WeightingPhase(acting=True, collecting=True, meta_step=True)


def mmkd(m=2, embedding_dims=None, summary_dims=None, **kw) -> MMKDWeighting:
    return build(dict(type='MMKD', **kw), TEACHER_WEIGHTINGS, default_args=dict(
        num_teachers=m, embedding_dims=embedding_dims or [3] * m, summary_dims=summary_dims or [2] * m))


def make_terms(b=4, m=2, c=2, d=3, seed=0) -> DistillationTerms:
    g = torch.Generator().manual_seed(seed)
    return DistillationTerms(
        logit_kd=torch.rand(b, m, generator=g), teacher_loss=torch.rand(b, m, generator=g), student_loss=None,
        summaries=[torch.randn(b, c, generator=g) for _ in range(m)],
        embeddings=[torch.randn(b, d, generator=g) for _ in range(m)],
        feature_kd=torch.rand(b, m, generator=g), cosine=torch.rand(b, m, generator=g))


# ------------------------------------------------------------------------------------- the meta-weight network
def test_meta_weight_net_on_a_fixed_input_with_set_parameters():
    net = MetaWeightNet(in_dim=4, num_teachers=2, hidden_factor=2)
    assert net.layer.weight.shape == (2, 4) and net.out.weight.shape == (2, 2)  # hidden = 4 // 2
    with torch.no_grad():
        net.layer.weight.copy_(torch.tensor([[1., 0., 0., 0.], [0., 1., 0., 0.]]))
        net.layer.bias.copy_(torch.tensor([0., -5.]))
        net.out.weight.copy_(torch.tensor([[1., 1.], [0., 0.]]))
        net.out.bias.copy_(torch.tensor([0., 1.]))
    w = net(torch.tensor([[2., 3., 7., 7.]]))
    # h = relu([2, 3 - 5]) = [2, 0]; scores [2, 1]; softmax
    expected = torch.tensor([[math.e / (math.e + 1), 1 / (math.e + 1)]])
    torch.testing.assert_close(w, expected)


def test_the_networks_read_the_summaries_and_kd_then_the_embeddings_and_cosine():
    weighting = mmkd(2)
    terms = make_terms()
    weights = weighting(terms, ACT_META)
    logit_input = torch.cat(terms.summaries + [terms.logit_kd], 1)
    feature_input = torch.cat(terms.embeddings + [terms.cosine], 1)
    assert torch.equal(weights.rollout[LOGIT_INPUT], logit_input)
    assert torch.equal(weights.rollout[FEATURE_INPUT], feature_input)
    torch.testing.assert_close(weights.logit, weighting.logit_net(logit_input))
    torch.testing.assert_close(weights.feature, weighting.feature_net(feature_input))
    assert not weights.logit.requires_grad and not weights.feature.requires_grad
    # the authors' widths: input n, hidden n // 2, M outputs
    assert weighting.logit_net.layer.weight.shape == (3, 6) and weighting.feature_net.layer.weight.shape == (4, 8)


@pytest.mark.parametrize('feature_weights', ['meta', 'logit'])
def test_weights_sum_to_one_per_sample(feature_weights):
    weighting = mmkd(3, feature_weights=feature_weights)
    weights = weighting(make_terms(b=5, m=3), WeightingPhase())
    torch.testing.assert_close(weights.logit.sum(1), torch.ones(5))
    torch.testing.assert_close(weights.feature.sum(1), torch.ones(5))
    assert bool((weights.logit > 0).all())
    if feature_weights == 'logit':
        assert torch.equal(weights.feature, weights.logit)


def test_warmup_is_uniform_and_only_meta_steps_are_collected():
    weighting = mmkd(2)
    terms = make_terms()
    warm = weighting(terms, WeightingPhase(acting=False, collecting=True, meta_step=False))
    assert torch.equal(warm.logit, torch.full((4, 2), 0.5)) and warm.rollout is None
    assert weighting.needed_terms(WeightingPhase(acting=False, collecting=True)) == frozenset()
    warm_meta = weighting(terms, WeightingPhase(acting=False, collecting=True, meta_step=True))
    assert torch.equal(warm_meta.logit, torch.full((4, 2), 0.5)) and LOGIT_INPUT in warm_meta.rollout
    assert weighting(terms, WeightingPhase(acting=True, collecting=True)).rollout is None
    assert weighting.needed_terms(ACT_META) == {'summaries', 'embeddings', 'cosine', 'student_loss'}
    assert weighting.needed_terms(WeightingPhase()) == {'summaries', 'embeddings', 'cosine'}
    assert mmkd(2, feature_weights='logit').needed_terms(WeightingPhase()) == {'summaries'}


@pytest.mark.parametrize('option, value, message', [
    ('meta_interval', 0, r'model\.weighting\.meta_interval must be an integer >= 1'),
    ('meta_interval', 2.0, r'model\.weighting\.meta_interval'),
    ('virtual_lr', 0.0, r'model\.weighting\.virtual_lr must be a number > 0'),
    ('virtual_lr', 'fast', r'model\.weighting\.virtual_lr'),
    ('hidden_factor', 0, r'model\.weighting\.hidden_factor'),
    ('feature_weights', 'cosine', r"model\.weighting\.feature_weights must be one of 'meta', 'logit', got 'cosine'"),
])
def test_options_are_checked_naming_the_key(option, value, message):
    with pytest.raises(ValueError, match=message):
        mmkd(2, **{option: value})


def test_an_option_of_another_weighting_is_named():
    with pytest.raises(ValueError, match=r'model\.weighting\.fusion is set for MMKD, but it is an option of MTKD-RL'):
        MMKDWeighting.check_options(dict(type='MMKD', fusion='static'))


# ----------------------------------------------------------------------- the first-order meta-gradient
def linear_problem(b=5, m=3, c=4, d=6, seed=0):
    """A linear student ``z = x W^T``, M fixed teachers, per-sample KL terms and a CE task loss (float64)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, d, generator=g, dtype=torch.float64)
    labels = torch.randint(0, c, (b, ), generator=g)
    teachers = torch.randn(m, b, c, generator=g, dtype=torch.float64) * 2
    weight = torch.randn(c, d, generator=g, dtype=torch.float64) * 0.3

    def kd(w):  # [B, M]
        log_s = F.log_softmax(x @ w.t(), 1)
        cols = [(F.softmax(t, 1) * (F.log_softmax(t, 1) - log_s)).sum(1) for t in teachers]
        return torch.stack(cols, 1)

    def task(w):
        return F.cross_entropy(x @ w.t(), labels)
    return weight, kd, task


def test_alignment_is_each_terms_gradient_dotted_with_the_task_gradient():
    weight, kd, task = linear_problem()
    w = weight.clone().requires_grad_(True)
    terms = kd(w)
    alignment, none = virtual_step_alignment(task(w), [terms, None], [w])
    assert none is None and alignment.shape == (5, 3) and alignment.dtype == torch.float32
    g_task = torch.autograd.grad(task(w), w)[0]
    expected = torch.zeros(5, 3, dtype=torch.float64)
    for i in range(5):
        for k in range(3):
            expected[i, k] = (torch.autograd.grad(terms[i, k], w, retain_graph=True)[0] * g_task).sum()
    torch.testing.assert_close(alignment.double(), expected, rtol=1e-5, atol=1e-7)
    # the graph is kept for the training step's backward
    terms.sum().backward()
    assert w.grad is not None


def virtual_task_loss(weight, kd, task, w_teachers, eta):
    """``L_q(theta - eta grad_theta mean_i sum_m w_im kd_im)``: the task loss after the virtual step."""
    theta = weight.clone().requires_grad_(True)
    objective = (w_teachers * kd(theta)).sum(1).mean()
    step = torch.autograd.grad(objective, theta)[0]
    return task(weight - eta * step)


def test_alignment_is_the_first_order_change_of_the_virtual_step():
    weight, kd, task = linear_problem()
    eta, eps = 1e-4, 1e-3
    w = weight.clone().requires_grad_(True)
    alignment = virtual_step_alignment(task(w), [kd(w)], [w])[0].double()
    w_teachers = torch.full((5, 3), 1 / 3, dtype=torch.float64)
    fd = torch.zeros(5, 3, dtype=torch.float64)
    for i in range(5):
        for k in range(3):
            up, down = w_teachers.clone(), w_teachers.clone()
            up[i, k] += eps
            down[i, k] -= eps
            fd[i, k] = (virtual_task_loss(weight, kd, task, up, eta) -
                        virtual_task_loss(weight, kd, task, down, eta)) / (2 * eps)
    # dL_q(theta')/dw_ik = -eta A_ik / B, up to O(eta^2)
    torch.testing.assert_close(fd, -eta * alignment / 5, rtol=2e-3, atol=1e-12)


def test_update_loss_gradient_is_the_meta_gradient_of_the_virtual_step():
    """The meta-weight network's gradient from ``update_loss`` against a central finite difference of the task
    loss after the virtual step, along a random direction in the network's parameters."""
    weight, kd, task = linear_problem()
    eta = 1e-4
    weighting = mmkd(3, summary_dims=[2, 2, 2], virtual_lr=eta, feature_weights='logit').double()
    g = torch.Generator().manual_seed(1)
    logit_input = torch.randn(5, 9, generator=g, dtype=torch.float64)
    w = weight.clone().requires_grad_(True)
    alignment = virtual_step_alignment(task(w), [kd(w)], [w])[0].double()
    transition = dict({LOGIT_INPUT: logit_input}, **MetaAlignment(alignment).as_rollout())
    weighting.zero_grad()
    weighting.update_loss(transition).backward()
    params = list(weighting.parameters())
    direction = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
    analytic = sum((p.grad * d).sum() for p, d in zip(params, direction))

    def loss_at(sign, eps=1e-4):
        net = copy.deepcopy(weighting)
        with torch.no_grad():
            for p, d in zip(net.parameters(), direction):
                p.add_(sign * eps * d)
        return virtual_task_loss(weight, kd, task, net.logit_net(logit_input), eta)
    numeric = (loss_at(1) - loss_at(-1)) / 2e-4
    torch.testing.assert_close(numeric, analytic, rtol=5e-3, atol=0)
    assert abs(float(analytic)) > 1e-9


def test_update_loss_without_alignment_teaches_nothing():
    weighting = mmkd(2)
    rollout = weighting(make_terms(), ACT_META).rollout
    loss = weighting.update_loss(rollout)
    assert float(loss) == 0.0 and loss.requires_grad


# -------------------------------------------------------------------------------------------- the learner
def test_the_learner_takes_a_meta_step_every_interval_with_adam():
    weighting = mmkd(2, meta_interval=3)
    learner = WeightingLearner(weighting, interval=1, warmup_epochs=0)
    steps = []
    for i in range(7):
        learner.begin_iteration(i, 0)
        steps.append(learner.phase().meta_step)
    assert steps == [True, False, False, True, False, False, True]
    assert type(learner.optimizer).__name__ == 'Adam'
    assert learner.optimizer.defaults['lr'] == 1e-3 and learner.optimizer.defaults['weight_decay'] == 1e-4
    explicit = WeightingLearner(weighting, optimizer=dict(type='SGD', lr=0.5))
    assert type(explicit.optimizer).__name__ == 'SGD'
    off = WeightingLearner(weighting, warmup_epochs=1, learn_during_warmup=False)
    assert not off.phase().meta_step


def stored_transition(weighting, seed=0):
    terms = make_terms(seed=seed)
    rollout = weighting(terms, ACT_META).rollout
    g = torch.Generator().manual_seed(seed + 10)
    return dict(rollout, **MetaAlignment(torch.randn(4, 2, generator=g), torch.randn(4, 2, generator=g))
                .as_rollout())


def test_resume_round_trip_of_the_networks_and_adam():
    torch.manual_seed(0)
    first = WeightingLearner(mmkd(2), interval=1, warmup_epochs=0)
    for seed in range(2):
        first.buffer.append(dict(stored_transition(first.weighting, seed), reward=torch.zeros(4)))
        first.update()
    first.buffer.append(dict(stored_transition(first.weighting, 5), reward=torch.zeros(4)))
    state = copy.deepcopy(first.state_dict())
    assert state['type'] == 'MMKDWeighting' and state['optimizer']['state']  # Adam's moments are saved
    torch.manual_seed(1)
    second = WeightingLearner(mmkd(2), interval=1, warmup_epochs=0)
    assert not torch.equal(second.weighting.logit_net.layer.weight, first.weighting.logit_net.layer.weight)
    second.load_state_dict(state)
    for a, b in zip(first.weighting.state_dict().values(), second.weighting.state_dict().values()):
        assert torch.equal(a, b)
    assert second.num_updates == 2 and len(second.buffer) == 1
    # both continue identically: the stored batch, then the same step
    first.update()
    second.update()
    for a, b in zip(first.weighting.parameters(), second.weighting.parameters()):
        assert torch.equal(a, b)


# ------------------------------------------------------------------------------- through the distiller
def mmkd_iteration(model, inputs, samples, check_entries=2):
    """One MMKD training iteration with a meta step through the distiller: the stored alignment against per-entry
    gradients, the training step's backward on the kept graph, and an update that moves the networks."""
    model.weighting = mmkd(len(model.teachers), embedding_dims=model.weighting.embedding_dims,
                           summary_dims=model.weighting.summary_dims)
    learner = WeightingLearner(model.weighting, interval=1, warmup_epochs=0)
    model.attach_learner(learner)
    seen = {}
    forward = model.weighting.forward

    def watching(terms, phase):
        seen['terms'], seen['phase'] = terms, phase
        return forward(terms, phase)
    model.weighting.forward = watching
    model.train()
    learner.begin_iteration(0, 0)
    torch.manual_seed(0)
    losses = model.loss(inputs, samples)
    terms = seen['terms']
    assert seen['phase'].meta_step and len(learner.buffer) == 1
    stored = learner.buffer[0]
    b, m = terms.logit_kd.shape
    alignment = MetaAlignment.from_transition(stored)
    assert alignment.logit.shape == (b, m) and bool(torch.isfinite(alignment.logit).all())
    assert (alignment.feature is not None) == (terms.feature_kd is not None)
    # a few entries by hand: <grad alpha KL_im, grad L_task> over the student's trainable parameters
    params = [p for p in model.student.parameters() if p.requires_grad]
    student_losses = {k[len('student.'):]: v for k, v in losses.items() if k.startswith('student.')}
    from mtkd_rl.losses.loss_dict import sum_loss_dict
    task = torch.autograd.grad(sum_loss_dict(student_losses), params, retain_graph=True, allow_unused=True)
    for i, k in [(0, 0), (b - 1, m - 1)][:check_entries]:
        entry = terms.logit_kd[i, k]  # alpha is inside the term
        if not entry.requires_grad:
            assert float(alignment.logit[i, k]) == 0.0
            continue
        grads = torch.autograd.grad(entry, params, retain_graph=True, allow_unused=True)
        expected = sum((g * t).sum() for g, t in zip(grads, task) if g is not None and t is not None)
        torch.testing.assert_close(alignment.logit[i, k], expected.float(), rtol=1e-3, atol=1e-6)
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()  # the training step's backward still runs on the kept graph
    assert all(p.grad is None for t in model.teachers for p in t.parameters())
    assert all(p.grad is None for p in model.weighting.parameters())  # the student's loss never reaches the nets
    before = [p.detach().clone() for p in model.weighting.parameters()]
    loss = learner.update()
    assert loss is not None and math.isfinite(loss) and learner.num_updates == 1 and not learner.buffer
    assert any(not torch.equal(p, q) for p, q in zip(model.weighting.parameters(), before))
    learner.begin_iteration(1, 0)  # not a meta step (meta_interval 5): nothing stored
    model.loss(inputs, samples)
    assert not learner.buffer
    return terms, alignment


def test_classification_iteration(random_teachers):
    mmkd_iteration(*classification_pool(random_teachers, dict(type='MMKD')))


def test_detection_iteration_with_a_feature_only_teacher(tmp_path_factory):
    model, inputs, samples = detection_pool_with_a_feature_only_teacher(tmp_path_factory.mktemp('mmkd_det'),
                                                                        dict(type='MMKD'))
    _, alignment = mmkd_iteration(model, inputs, samples)
    # the FCOS teacher gives no logit KD: no alignment on the logit side
    assert torch.equal(alignment.logit[:, 2], torch.zeros(3))


def test_segmentation_iteration(tmp_path):
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        mmkd_iteration(*segmentation_pool(tmp_path, dict(type='MMKD')))


# ----------------------------------------------------------------------------- end to end, through tools/
def random_teacher_options(config: str, root) -> dict:
    """``--cfg-options`` that give every teacher of a distiller config a freshly initialised checkpoint."""
    from mmengine.config import Config
    from mmengine.registry import MODELS as MMENGINE_MODELS
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(config)
    options = {}
    torch.manual_seed(0)
    for i, teacher in enumerate(cfg.model.teachers):
        teacher_cfg = Config.fromfile(teacher['config'])
        with DefaultScope.overwrite_default_scope(teacher_cfg.get('default_scope')):
            model = MMENGINE_MODELS.build(teacher_cfg.model)
        model.init_weights()
        path = str(root / f'teacher{i}.pth')
        torch.save(dict(state_dict=model.state_dict(), meta={}), path)
        options[f'model.teachers.{i}.checkpoint'] = path
    return options


def mmkd_checkpoint(path):
    ckpt = torch.load(str(path))
    state = ckpt['teacher_weighting']
    assert state['type'] == 'MMKDWeighting' and state['num_updates'] >= 1
    assert state['optimizer']['state']  # Adam's moments, saved with the networks
    assert any(k.startswith('logit_net.') for k in state['state_dict'])
    return ckpt


def test_fashion_mnist_through_train_py(fashion_mnist, tmp_path):
    """The MMKD config through tools/train.py on real Fashion-MNIST batches (random-weight teachers): meta steps
    every 2 iterations, the networks updated and saved with their Adam state, and a resume from the checkpoint."""
    from conftest import FMNIST_CFG, SMALL_RUN, cfg_options, run_tool
    config = f'{FMNIST_CFG}/mmkd_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py'
    options = {**SMALL_RUN, **random_teacher_options(config, tmp_path), 'train_cfg.max_epochs': 1,
               'model.weighting.meta_interval': 2}
    log = run_tool('python', 'tools/train.py', config, '--work-dir', str(tmp_path / 'run'), '--cfg-options',
                   *cfg_options(options))
    assert 'agent_loss' in log and 'accuracy/top1' in log and 'w_feature.mobilenetv2_w05' in log
    # 128 images in batches of 32: iterations 0 and 2 take a meta step, each followed by an update
    assert mmkd_checkpoint(tmp_path / 'run' / 'epoch_1.pth')['teacher_weighting']['num_updates'] == 2
    log = run_tool('python', 'tools/train.py', config, '--work-dir', str(tmp_path / 'run'), '--resume',
                   '--cfg-options', *cfg_options({**options, 'train_cfg.max_epochs': 2}))
    assert mmkd_checkpoint(tmp_path / 'run' / 'epoch_2.pth')['teacher_weighting']['num_updates'] == 4


def test_tree_crown_detection_through_train_py(treecrown_data, tmp_path):
    """MMKD on the tree-crown RetinaNet config (two random-weight teachers), two real iterations."""
    from conftest import cfg_options, run_tool
    from detection_helpers import SMALL_RUN, TREE_CFG
    config = f'{TREE_CFG}/aver_retinanet_r18-w32_treecrown-pool2_1xb4-24e_treecrown-320.py'
    options = {**SMALL_RUN, **random_teacher_options(config, tmp_path), 'model.weighting.type': 'MMKD',
               'model.weighting.meta_interval': 1, 'custom_hooks.0.warmup_epochs': 0, 'custom_hooks.0.interval': 1,
               'model.student.test_cfg.score_thr': 0.0}
    log = run_tool('python', 'tools/train.py', config, '--work-dir', str(tmp_path / 'run'), '--cfg-options',
                   *cfg_options(options))
    assert 'agent_updates: 2' in log and 'w_logit.' in log and 'coco/bbox_mAP' in log
    mmkd_checkpoint(tmp_path / 'run' / 'epoch_1.pth')


def test_nuclei_segmentation_through_train_py(tmp_path):
    """MMKD on the nuclei DeepLabV3 config (three random-weight teachers), four real iterations."""
    import os.path as osp

    from conftest import REPO, cfg_options, run_tool
    if not osp.isdir(osp.join(REPO, 'data', 'nuclei', 'img_dir')):
        pytest.skip('the nuclei data is missing; run: bash tools/setup_env.sh')
    config = osp.join(REPO, 'configs', 'seg', 'nuclei',
                      'aver_deeplabv3_r18-w8-d8_nuclei-pool3_1xb4-400i_nuclei-128x128.py')
    options = {**random_teacher_options(config, tmp_path), 'model.weighting.type': 'MMKD',
               'model.weighting.meta_interval': 2, 'custom_hooks.0.warmup_iters': 0, 'custom_hooks.0.interval': 1,
               'train_cfg.max_iters': 4, 'train_cfg.val_interval': 4, 'default_hooks.checkpoint.interval': 4,
               'default_hooks.logger.interval': 1, 'val_dataloader.dataset.indices': 2, 'randomness.seed': 0}
    log = run_tool('python', 'tools/train.py', config, '--work-dir', str(tmp_path / 'run'), '--cfg-options',
                   *cfg_options(options))
    assert 'agent_updates: 2' in log and 'mIoU' in log
    mmkd_checkpoint(tmp_path / 'run' / 'iter_4.pth')


def test_comparison_variants():
    from mmengine.config import Config

    from conftest import FMNIST_CFG
    from mtkd_rl.analysis import parse_variant, variant_config
    assert parse_variant('MMKD').weighting == 'MMKD'
    variant = parse_variant('MMKD:meta_interval=2,feature_weights=logit')
    assert variant.options == dict(meta_interval=2, feature_weights='logit')
    with pytest.raises(ValueError, match=r"--weightings 'MMKD:meta_interval=0': model\.weighting\.meta_interval"):
        parse_variant('MMKD:meta_interval=0')
    with pytest.raises(ValueError, match='MMKD does not take'):
        parse_variant('MMKD:fusion=static')
    cfg = Config.fromfile(f'{FMNIST_CFG}/mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py')
    run = variant_config(cfg, variant, seed=1)
    assert run.model.weighting == dict(type='MMKD', meta_interval=2, feature_weights='logit')
    # the config's TeacherWeightingHook trains it (its schedule; the optimizer MMKD's Adam where it names none)
    assert run.custom_hooks[0].type == 'mtkd_rl.TeacherWeightingHook' and 'optimizer' not in run.custom_hooks[0]
