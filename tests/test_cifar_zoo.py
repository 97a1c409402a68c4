"""The CIFAR distillation zoo (mtkd_rl.models): each network, as backbone + global average pooling + a 100-class
linear head, has the parameter count of its published definition and the published feature-map shape.

Exact counts: the published definitions (CRD/RepDistiller ``models/`` at commit eedab9d: resnet.py, wrn.py,
vgg.py, mobilenetv2.py, ShuffleNetv1.py, ShuffleNetv2.py; the CIFAR RegNets of kuangliu/pytorch-cifar
``models/regnet.py`` at commit 9b0869d, which MTKD-RL's RegNetX-200MF/400MF and RegNetY-400MF follow) built with
``num_classes=100`` and counted with ``sum(p.numel() for p in model.parameters())``. Rounded counts: the
parameter column of the CRD paper's CIFAR-100 tables and of MTKD-RL's model list, in millions.
"""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

import mtkd_rl.models  # noqa: F401  (registers the backbones)
from mtkd_rl.models.cifar import (CIFARMobileNetV2, CIFARRegNet, CIFARResNet, CIFARShuffleNetV1, CIFARShuffleNetV2,
                                  CIFARVGG, CIFARWideResNet)
from mtkd_rl.models.cifar.base import normalise_out_indices

X4 = dict(stem_channels=32, widths=(64, 128, 256))
#: name in the published code: (backbone config, head input width, exact count of the published definition with
#: 100 classes, published count in millions, last feature map [C, H, W] at 32x32 input).
ZOO = {
    'resnet8': (dict(type='CIFARResNet', depth=8), 64, 83892, 0.08, (64, 8, 8)),
    'resnet20': (dict(type='CIFARResNet', depth=20), 64, 278324, 0.28, (64, 8, 8)),
    'resnet32': (dict(type='CIFARResNet', depth=32), 64, 472756, 0.47, (64, 8, 8)),
    'resnet56': (dict(type='CIFARResNet', depth=56), 64, 861620, 0.86, (64, 8, 8)),
    'resnet110': (dict(type='CIFARResNet', depth=110), 64, 1736564, 1.74, (64, 8, 8)),
    'resnet8x4': (dict(type='CIFARResNet', depth=8, **X4), 256, 1233540, 1.23, (256, 8, 8)),
    'resnet32x4': (dict(type='CIFARResNet', depth=32, **X4), 256, 7433860, 7.43, (256, 8, 8)),
    'wrn_16_2': (dict(type='CIFARWideResNet', depth=16, widen_factor=2), 128, 703284, 0.70, (128, 8, 8)),
    'wrn_40_1': (dict(type='CIFARWideResNet', depth=40, widen_factor=1), 64, 569780, 0.57, (64, 8, 8)),
    'wrn_40_2': (dict(type='CIFARWideResNet', depth=40, widen_factor=2), 128, 2255156, 2.26, (128, 8, 8)),
    'wrn_28_4': (dict(type='CIFARWideResNet', depth=28, widen_factor=4), 256, 5872180, 5.87, (256, 8, 8)),
    'vgg8': (dict(type='CIFARVGG', depth=8), 512, 3965028, 3.96, (512, 4, 4)),
    'vgg13': (dict(type='CIFARVGG', depth=13), 512, 9462180, 9.46, (512, 4, 4)),
    'mobile_half': (dict(type='CIFARMobileNetV2', widen_factor=0.5), 1280, 812836, 0.81, (1280, 2, 2)),
    'mobilenetv2': (dict(type='CIFARMobileNetV2', widen_factor=1.0), 1280, 2353060, 2.35, (1280, 2, 2)),
    'ShuffleV1': (dict(type='CIFARShuffleNetV1'), 960, 949258, 0.95, (960, 4, 4)),
    'ShuffleV2': (dict(type='CIFARShuffleNetV2'), 1024, 1355528, 1.36, (1024, 4, 4)),
    'RegNetX_200MF': (dict(type='CIFARRegNet', arch='regnetx_200mf'), 368, 2355156, 2.36, (368, 8, 8)),
    'RegNetX_400MF': (dict(type='CIFARRegNet', arch='regnetx_400mf'), 384, 4813988, 4.81, (384, 8, 8)),
    'RegNetY_400MF': (dict(type='CIFARRegNet', arch='regnety_400mf'), 384, 5749012, 5.75, (384, 8, 8)),
}
OURS = ('CIFARResNet', 'CIFARWideResNet', 'CIFARVGG', 'CIFARMobileNetV2', 'CIFARShuffleNetV1', 'CIFARShuffleNetV2',
        'CIFARRegNet')


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_classifier(backbone: dict, in_channels: int, num_classes: int = 100):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(dict(type='ImageClassifier', backbone=dict(backbone),
                                 neck=dict(type='GlobalAveragePooling'),
                                 head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=in_channels)))


@pytest.mark.parametrize('name', list(ZOO))
def test_parameter_count_and_shapes(name):
    backbone, in_channels, exact, published, feature_shape = ZOO[name]
    model = build_classifier(backbone, in_channels)
    model.init_weights()  # the default init_cfg is one mmengine accepts
    count = sum(p.numel() for p in model.parameters())
    assert count == exact, f'{name}: {count} parameters, the published definition has {exact}'
    assert abs(count / (published * 1e6) - 1) < 0.005 or round(count / 1e6, 2) == published
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        feats = model.backbone(x)
        logits = model(x, mode='tensor')
    assert isinstance(feats, tuple) and len(feats) == 1
    assert tuple(feats[0].shape) == (2, *feature_shape)
    assert tuple(logits.shape) == (2, 100)
    assert torch.isfinite(logits).all()


def test_names_are_ours_and_leave_mmpretrain_models_alone():
    for name in OURS:
        assert MODELS.get(name).__module__.startswith('mtkd_rl.models.cifar.'), name
    # mmpretrain's own CIFAR ResNet and RegNet keep their names
    assert MODELS.get('ResNet_CIFAR').__module__.startswith('mmpretrain.')
    assert MODELS.get('RegNet').__module__.startswith('mmpretrain.')


@pytest.mark.parametrize('cls,kwargs,indices,shapes', [
    (CIFARResNet, dict(depth=20), (0, 1, 2), [(16, 32, 32), (32, 16, 16), (64, 8, 8)]),
    (CIFARWideResNet, dict(depth=16, widen_factor=2), (0, -1), [(32, 32, 32), (128, 8, 8)]),
    (CIFARVGG, dict(depth=8), (0, 3, 4), [(64, 32, 32), (512, 4, 4), (512, 4, 4)]),
    (CIFARMobileNetV2, dict(widen_factor=0.5), (6, 7), [(160, 2, 2), (1280, 2, 2)]),
    (CIFARShuffleNetV1, dict(), (0, 1), [(240, 16, 16), (480, 8, 8)]),
    (CIFARShuffleNetV2, dict(), (2, 3), [(464, 4, 4), (1024, 4, 4)]),
    (CIFARRegNet, dict(arch='regnetx_200mf'), (0, 1, 2, 3), [(24, 32, 32), (56, 32, 32), (152, 16, 16),
                                                              (368, 8, 8)]),
])
def test_out_indices(cls, kwargs, indices, shapes):
    model = cls(out_indices=indices, **kwargs).eval()
    with torch.no_grad():
        feats = model(torch.randn(2, 3, 32, 32))
    assert [tuple(f.shape[1:]) for f in feats] == shapes


def test_vgg_pool_before_last_at_64_pixels():
    model = CIFARVGG(depth=8, pool_before_last=True).eval()
    with torch.no_grad():
        assert tuple(model(torch.randn(1, 3, 64, 64))[0].shape) == (1, 512, 4, 4)


def test_out_indices_only_run_the_stages_needed():
    model = CIFARResNet(depth=8, out_indices=(0, ))
    calls = []
    model.layer3.register_forward_hook(lambda *args: calls.append(1))
    model(torch.randn(1, 3, 32, 32))
    assert not calls


@pytest.mark.parametrize('make,match', [
    (lambda: CIFARResNet(depth=21), '6n \\+ 2'),
    (lambda: CIFARResNet(widths=(16, 32)), '3 values'),
    (lambda: CIFARWideResNet(depth=29), '6n \\+ 4'),
    (lambda: CIFARVGG(depth=10), 'depth must be one of'),
    (lambda: CIFARShuffleNetV2(widen_factor=0.7), 'widen_factor must be one of'),
    (lambda: CIFARRegNet(arch='regnetx_800mf'), 'arch must be one of'),
    (lambda: CIFARRegNet(arch=dict(depths=(1, 1, 1, 1))), 'lacks'),
    (lambda: CIFARResNet(out_indices=(3, )), 'out of range'),
    (lambda: CIFARResNet(out_indices=(2, -1)), 'twice'),
    (lambda: CIFARResNet(out_indices=()), 'empty'),
])
def test_bad_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_normalise_out_indices():
    assert normalise_out_indices(-1, 4) == (3, )
    assert normalise_out_indices((2, 0), 3) == (0, 2)


def test_fan_out_init_matches_the_published_one():
    """ResNet/WRN/VGG/MobileNetV2 convolutions from N(0, 2 / (k * k * out_channels)), BN weight 1, bias 0."""
    torch.manual_seed(0)
    model = CIFARWideResNet(depth=16, widen_factor=8)
    model.init_weights()
    conv = model.block3.layer[0].conv2  # 3x3, 512 -> 512
    expected_std = (2.0 / (3 * 3 * 512)) ** 0.5
    torch.testing.assert_close(conv.weight.std().item(), expected_std, rtol=0.02, atol=0.0)
    torch.testing.assert_close(model.bn1.weight, torch.ones_like(model.bn1.weight), rtol=0.0, atol=0.0)
    vgg = CIFARVGG(depth=8)
    vgg.init_weights()
    bias = vgg.block0[0].bias
    torch.testing.assert_close(bias, torch.zeros_like(bias), rtol=0.0, atol=0.0)
