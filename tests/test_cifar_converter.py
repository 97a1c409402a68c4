"""tools/model_converters/repdistiller_to_mmpretrain.py: a checkpoint in the CRD/RepDistiller layout, converted,
loads (mmengine's ``load_checkpoint``, strict) into the teacher built from our config and gives the source
model's logits.

The source models are small re-implementations of the published definitions' parameter layout and forward pass
(CRD/RepDistiller ``models/resnet.py`` and ``models/wrn.py``; the CIFAR RegNetY with SE of MTKD-RL), written here
independently of mtkd_rl.models, and saved as the CRD/RepDistiller training script saves them:
``{'epoch': ..., 'model': state_dict, 'best_acc': ..., 'optimizer': ...}``.
"""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS

import mtkd_rl.models  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TEACHERS = osp.join(REPO, 'configs', 'cls', 'cifar100', 'teachers')
_spec = importlib.util.spec_from_file_location(
    'repdistiller_to_mmpretrain', osp.join(REPO, 'tools', 'model_converters', 'repdistiller_to_mmpretrain.py'))
converter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(converter)


# ---------------------------------------------------------------- the published layouts, re-implemented
class RefResNetBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        residual = self.downsample(x) if self.downsample is not None else x
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + residual)


class RefResNet(nn.Module):
    """CRD/RepDistiller ``ResNet(depth, num_filters, 'basicblock')``: resnet32x4 is (32, [32, 64, 128, 256])."""

    def __init__(self, depth, num_filters, num_classes=100):
        super().__init__()
        n = (depth - 2) // 6
        self.inplanes = num_filters[0]
        self.conv1 = nn.Conv2d(3, num_filters[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(num_filters[0])
        self.layer1 = self._make_layer(num_filters[1], n, 1)
        self.layer2 = self._make_layer(num_filters[2], n, 2)
        self.layer3 = self._make_layer(num_filters[3], n, 2)
        self.fc = nn.Linear(num_filters[3], num_classes)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes))
        layers = [RefResNetBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [RefResNetBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(nn.AvgPool2d(8)(x).view(x.size(0), -1))


class RefWRNBlock(nn.Module):
    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.equal = in_planes == out_planes
        self.convShortcut = None if self.equal else nn.Conv2d(in_planes, out_planes, 1, stride, 0, bias=False)

    def forward(self, x):
        if self.equal:
            out = F.relu(self.bn1(x))
        else:
            x = F.relu(self.bn1(x))
            out = x
        out = self.conv2(F.relu(self.bn2(self.conv1(out))))
        return (x if self.equal else self.convShortcut(x)) + out


class RefWRNStage(nn.Module):
    def __init__(self, n, in_planes, out_planes, stride):
        super().__init__()
        self.layer = nn.Sequential(*[RefWRNBlock(in_planes if i == 0 else out_planes, out_planes,
                                                 stride if i == 0 else 1) for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class RefWRN(nn.Module):
    """CRD/RepDistiller ``WideResNet(depth, num_classes, widen_factor)``."""

    def __init__(self, depth, widen_factor, num_classes=100):
        super().__init__()
        c = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(3, c[0], 3, 1, 1, bias=False)
        self.block1 = RefWRNStage(n, c[0], c[1], 1)
        self.block2 = RefWRNStage(n, c[1], c[2], 2)
        self.block3 = RefWRNStage(n, c[2], c[3], 2)
        self.bn1 = nn.BatchNorm2d(c[3])
        self.fc = nn.Linear(c[3], num_classes)

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = F.avg_pool2d(F.relu(self.bn1(out)), 8)
        return self.fc(out.view(out.size(0), -1))


class RefSE(nn.Module):
    def __init__(self, planes, se_planes):
        super().__init__()
        self.se1 = nn.Conv2d(planes, se_planes, 1, bias=True)
        self.se2 = nn.Conv2d(se_planes, planes, 1, bias=True)

    def forward(self, x):
        return x * self.se2(F.relu(self.se1(F.adaptive_avg_pool2d(x, (1, 1))))).sigmoid()


class RefRegNetBlock(nn.Module):
    def __init__(self, w_in, w_out, stride, group_width, se_ratio):
        super().__init__()
        self.conv1 = nn.Conv2d(w_in, w_out, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w_out)
        self.conv2 = nn.Conv2d(w_out, w_out, 3, stride, 1, groups=w_out // group_width, bias=False)
        self.bn2 = nn.BatchNorm2d(w_out)
        self.se = RefSE(w_out, int(round(w_in * se_ratio)))
        self.conv3 = nn.Conv2d(w_out, w_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(w_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or w_in != w_out:
            self.shortcut = nn.Sequential(nn.Conv2d(w_in, w_out, 1, stride, bias=False), nn.BatchNorm2d(w_out))

    def forward(self, x):
        out = self.se(F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


class RefRegNetY400MF(nn.Module):
    """The CIFAR RegNetY-400MF: depths 1/2/7/12, widths 32/64/160/384, group width 16, SE ratio 0.25."""

    def __init__(self, num_classes=100):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        w_in = 64
        for i, (depth, width, stride) in enumerate(zip((1, 2, 7, 12), (32, 64, 160, 384), (1, 1, 2, 2))):
            blocks = []
            for b in range(depth):
                blocks.append(RefRegNetBlock(w_in, width, stride if b == 0 else 1, 16, 0.25))
                w_in = width
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.linear = nn.Linear(384, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(F.adaptive_avg_pool2d(out, (1, 1)).view(out.size(0), -1))


# ------------------------------------------------------------------------------------------------- tests
CASES = {
    'resnet32x4': (lambda: RefResNet(32, [32, 64, 128, 256]), 'resnet32x4_1xb64-240e_cifar100.py'),
    'wrn_28_4': (lambda: RefWRN(28, 4), 'wrn-28-4_1xb64-240e_cifar100.py'),
    'RegNetY_400MF': (RefRegNetY400MF, 'regnety-400mf-cifar_1xb64-240e_cifar100.py'),
}


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def trained_like(model: nn.Module, seed: int) -> nn.Module:
    """Random weights and BN statistics far from their initial values, so that every tensor matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith('running_var'):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.1 +
                             (1.0 if name.endswith('bn1.weight') else 0.0))
    return model.eval()


def save_repdistiller(model: nn.Module, path) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    torch.save({'epoch': 240, 'model': model.state_dict(), 'best_acc': torch.tensor(79.5),
                'optimizer': optimizer.state_dict()}, str(path))


def build_teacher(config: str) -> nn.Module:
    cfg = Config.fromfile(osp.join(TEACHERS, config))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('arch', list(CASES))
def test_converted_teacher_gives_the_source_logits(arch, tmp_path):
    make, config = CASES[arch]
    source = trained_like(make(), seed=len(arch))
    src, dst = tmp_path / 'ckpt_epoch_240.pth', tmp_path / 'converted.pth'
    save_repdistiller(source, src)

    written = converter.convert(str(src), str(dst), arch=arch, config=osp.join(TEACHERS, config))
    assert written['meta']['source_arch'] == arch and written['meta']['epoch'] == 240
    assert set(written['state_dict']) >= {'head.fc.weight', 'head.fc.bias'}
    assert all(k.startswith(('backbone.', 'head.fc.')) for k in written['state_dict'])

    teacher = build_teacher(config)
    load_checkpoint(teacher, str(dst), map_location='cpu', strict=True)
    teacher.eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = source(x)
        got = teacher(x, mode='tensor')
    assert expected.abs().max() > 0.1  # the comparison is not between two near-zero outputs
    torch.testing.assert_close(got, expected, rtol=0.0, atol=1e-5)


def test_architecture_found_from_the_keys(tmp_path):
    src, dst = tmp_path / 'src.pth', tmp_path / 'dst.pth'
    torch.save({'model': RefWRN(16, 2).state_dict()}, str(src))
    assert converter.convert(str(src), str(dst))['meta']['source_arch'] == 'wrn_16_2'


def test_dataparallel_prefix_and_bare_state_dict(tmp_path):
    src, dst = tmp_path / 'src.pth', tmp_path / 'dst.pth'
    state = {f'module.{k}': v for k, v in RefResNet(8, [16, 16, 32, 64]).state_dict().items()}
    torch.save(state, str(src))
    out = converter.convert(str(src), str(dst), arch='resnet8')
    assert 'backbone.layer3.0.downsample.0.weight' in out['state_dict']


def test_unknown_architecture(tmp_path):
    src = tmp_path / 'src.pth'
    torch.save({'model': RefResNet(8, [16, 16, 32, 64]).state_dict()}, str(src))
    with pytest.raises(converter.ConversionError, match="unknown architecture 'resnet9'; known: .*resnet8"):
        converter.convert(str(src), str(tmp_path / 'dst.pth'), arch='resnet9')


def test_mismatched_keys_are_named(tmp_path):
    src = tmp_path / 'src.pth'
    torch.save({'model': RefResNet(8, [16, 16, 32, 64]).state_dict()}, str(src))
    # a resnet8 read as a resnet20: its blocks beyond the first of each stage are missing
    with pytest.raises(converter.ConversionError, match=r"'resnet20' does not match .*missing keys .*layer1\.1"):
        converter.convert(str(src), str(tmp_path / 'dst.pth'), arch='resnet20')
    # a resnet8 (16..64) against the resnet32x4 teacher config: shapes differ, named with both shapes
    shapes = r'backbone\.bn1\.bias: \(16,\) in the checkpoint, \(32,\) in the model'
    with pytest.raises(converter.ConversionError, match=shapes):
        converter.convert(str(src), str(tmp_path / 'dst.pth'), arch='resnet8',
                          config=osp.join(TEACHERS, 'resnet32x4_1xb64-240e_cifar100.py'))
    # a WRN read as a ResNet: both have 'fc', but the other keys are another network's
    torch.save({'model': RefWRN(16, 1).state_dict()}, str(src))
    with pytest.raises(converter.ConversionError, match='unexpected keys'):
        converter.convert(str(src), str(tmp_path / 'dst.pth'), arch='resnet8')
    # a VGG name for a ResNet checkpoint: no classifier of that name
    torch.save({'model': RefResNet(8, [16, 16, 32, 64]).state_dict()}, str(src))
    with pytest.raises(converter.ConversionError, match="no classifier.bias and classifier.weight"):
        converter.convert(str(src), str(tmp_path / 'dst.pth'), arch='vgg8')
    assert not (tmp_path / 'dst.pth').exists()


def test_not_a_checkpoint(tmp_path):
    src = tmp_path / 'src.pth'
    torch.save({'epoch': 3, 'acc': 1.0}, str(src))
    with pytest.raises(converter.ConversionError, match='holds no model state dict'):
        converter.convert(str(src), str(tmp_path / 'dst.pth'), arch='resnet8')
