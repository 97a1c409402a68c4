"""A batch of one sample (the last batch of an epoch) trains wherever the plain student does: the connector's
BatchNorm on a 1x1 teacher map, the reward, every weighting, and the detection and segmentation adapters."""
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401
from mtkd_rl.connectors import ConvBNReLUConnector
from mtkd_rl.hooks import TeacherWeightingHook
from mtkd_rl.registry import TEACHER_WEIGHTINGS, build
from mtkd_rl.weighting import DistillationTerms, WeightingPhase, normalized_reward
from conftest import MTKDRL_CONFIG, SMALL_RUN


def test_connector_on_one_value_per_channel_uses_running_statistics():
    torch.manual_seed(0)
    connector = ConvBNReLUConnector(8, 4, relu=False).train()
    connector(torch.randn(6, 8, 4, 4), (2, 2))  # a normal batch moves the running statistics
    mean, var = connector.bn.running_mean.clone(), connector.bn.running_var.clone()
    x = torch.randn(1, 8, 4, 4, requires_grad=True)
    out = connector(x, (1, 1))
    expected = connector.bn.weight * (connector.conv(x.mean((2, 3), keepdim=True))[0, :, 0, 0] - mean) / (
        var + connector.bn.eps).sqrt() + connector.bn.bias
    torch.testing.assert_close(out[0, :, 0, 0], expected)
    assert torch.equal(connector.bn.running_mean, mean) and torch.equal(connector.bn.running_var, var)
    out.sum().backward()
    assert x.grad is not None and connector.conv.weight.grad.abs().sum() > 0
    # more than one value per channel keeps batch statistics
    out = connector(torch.randn(1, 8, 4, 4), (2, 2))
    assert not torch.equal(connector.bn.running_mean, mean)


@pytest.mark.parametrize('weighting', ['AVER', 'EBKD', 'CA-MKD', 'MTKD-RL'])
def test_every_weighting_on_one_sample(weighting):
    g = torch.Generator().manual_seed(0)
    m = 3
    terms = DistillationTerms(
        logit_kd=torch.rand(1, m, generator=g), teacher_loss=torch.rand(1, m, generator=g),
        student_loss=torch.rand(1, generator=g), embeddings=[torch.rand(1, 4, generator=g) for _ in range(m)],
        summaries=[torch.rand(1, 5, generator=g) for _ in range(m)], feature_kd=torch.rand(1, m, generator=g),
        cosine=torch.rand(1, m, generator=g), teacher_entropy=torch.rand(1, m, generator=g),
        feature_teacher_loss=torch.rand(1, m, generator=g))
    module = build(dict(type=weighting), TEACHER_WEIGHTINGS,
                   default_args=dict(num_teachers=m, embedding_dims=[4] * m, summary_dims=[5] * m)).train()
    weights = module(terms, WeightingPhase(acting=True, collecting=True))
    for w in (weights.logit, weights.feature):
        assert w.shape == (1, m) and torch.isfinite(w).all()
        torch.testing.assert_close(w.sum(1), torch.ones(1))
    reward = normalized_reward(-terms.student_loss)
    assert torch.equal(reward, torch.zeros(1))
    if module.learnable:
        loss = module.update_loss(dict(weights.rollout, reward=reward))
        loss.backward()
        assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in module.parameters()
                                            if p.grad is not None)


def test_real_run_whose_last_batch_has_one_sample(fashion_mnist, random_teachers, tmp_path):
    """9 Fashion-MNIST images in batches of 8: the second iteration has one sample, and the MobileNetV2
    teacher's last map is 1x1 at 32x32. The agent acts from the start and learns from that batch too."""
    cfg = Config.fromfile(MTKDRL_CONFIG)
    cfg.merge_from_dict({**SMALL_RUN, 'train_dataloader.dataset.indices': 9, 'train_dataloader.batch_size': 8,
                         'train_cfg.max_epochs': 1})
    cfg.model.teachers = random_teachers
    cfg.custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=1, warmup_epochs=0)]
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = 'batch_of_one'
    runner = Runner.from_cfg(cfg)
    mobilenet = runner.model.teachers[runner.model.teacher_names.index('mobilenetv2_w05')]
    assert mobilenet.backbone(torch.zeros(1, 3, 32, 32))[-1].shape[-2:] == (1, 1)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, TeacherWeightingHook))
    assert runner.iter == 2 and hook.learner.num_updates == 2
    assert all(torch.isfinite(p).all() for p in runner.model.weighting.parameters())
    assert all(torch.isfinite(p).all() for p in runner.model.connectors.parameters())


def test_detection_adapter_on_one_image(tmp_path):
    """A 64x64 image: the RetinaNet's coarsest FPN levels are 1x1."""
    from mmengine.registry import DefaultScope
    from detection_helpers import STUDENT_CFG, TEACHER_CFGS, build_det, samples, tiny_model_cfg
    cfg = tiny_model_cfg(TEACHER_CFGS['retinanet_r18'], 8)
    torch.manual_seed(0)
    path = str(tmp_path / 'retinanet.pth')
    torch.save(dict(state_dict=build_det(cfg).state_dict()), path)
    teacher = dict(name='retinanet', config=dict(model=cfg, default_scope='mmdet'), checkpoint=path)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = build(dict(type='MultiTeacherDistiller', student=tiny_model_cfg(STUDENT_CFG, 8), teachers=[teacher],
                           weighting=dict(type='CA-MKD'), connector=dict(type='ConvBNReLUConnector', relu=False)))
    model.train()
    inputs = torch.randn(1, 3, 64, 64)
    losses = model.loss(inputs, samples([(64, 64)], (64, 64), [[[4, 6, 30, 28]]]))
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()


def test_segmentation_adapter_on_one_image(tmp_path):
    from mmengine.registry import DefaultScope
    from test_segmentation import batch, save_teacher, seg_model
    teacher = dict(save_teacher(seg_model('PSPHead', base=8), tmp_path / 'psp.pth'), name='psp')
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = build(dict(type='MultiTeacherDistiller', student=seg_model('FCNHead', aux=False), teachers=[teacher],
                           weighting=dict(type='CA-MKD')))
    model.train()
    inputs, data_samples = batch(b=1)
    losses = model.loss(inputs, data_samples)
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
