"""RegNet for CIFAR as used by MTKD-RL (Radosavovic et al., 2020; the CIFAR variants of pytorch-cifar).

A 3x3 stem convolution to 64 channels at stride 1, then four stages of X blocks (1x1 conv, 3x3 group
convolution of group width ``group_width``, 1x1 conv, each with BN; ReLU after the first two and after the
residual sum; a 1x1 conv-BN shortcut where the shape changes) with strides 1, 1, 2, 2: an 8x8 map at 32x32
input. RegNetY adds squeeze-and-excitation after the group convolution, its bottleneck a quarter of the
block's input width. The stage widths and depths are those of pycls' RegNetX-200MF (24/56/152/368, 1/1/4/7)
and RegNetX-400MF (32/64/160/384, 1/2/7/12); MTKD-RL's RegNetY-400MF is RegNetX-400MF with SE.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .base import CIFARBackbone

#: The published CIFAR RegNets: stage depths and widths, group width, bottleneck ratio and SE ratio.
ARCH_SETTINGS: Dict[str, dict] = {
    'regnetx_200mf': dict(depths=(1, 1, 4, 7), widths=(24, 56, 152, 368), group_width=8, bottleneck_ratio=1.0,
                          se_ratio=0.0),
    'regnetx_400mf': dict(depths=(1, 2, 7, 12), widths=(32, 64, 160, 384), group_width=16, bottleneck_ratio=1.0,
                          se_ratio=0.0),
    'regnety_400mf': dict(depths=(1, 2, 7, 12), widths=(32, 64, 160, 384), group_width=16, bottleneck_ratio=1.0,
                          se_ratio=0.25),
}


class SqueezeExcitation(nn.Module):
    """Channel gates from the globally pooled map: 1x1 conv-ReLU-1x1 conv-sigmoid (convolutions with bias).

    Args:
        channels: Channels of the gated map.
        squeeze_channels: Width of the bottleneck.
    """

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.se1 = nn.Conv2d(channels, squeeze_channels, kernel_size=1, bias=True)
        self.se2 = nn.Conv2d(squeeze_channels, channels, kernel_size=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.se2(F.relu(self.se1(F.adaptive_avg_pool2d(x, 1)))).sigmoid()
        return x * gate


class XBlock(nn.Module):
    """The RegNet X/Y block: 1x1, 3x3 group conv (optionally SE), 1x1, residual.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Stride of the group convolution and of the shortcut.
        group_width: Channels per group of the 3x3 convolution.
        bottleneck_ratio: Width of the inner layers over ``out_channels``.
        se_ratio: SE bottleneck width over ``in_channels``; 0 for no SE.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, group_width: int,
                 bottleneck_ratio: float, se_ratio: float) -> None:
        super().__init__()
        inner = int(round(out_channels * bottleneck_ratio))
        self.conv1 = nn.Conv2d(in_channels, inner, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, inner, kernel_size=3, stride=stride, padding=1,
                               groups=inner // group_width, bias=False)
        self.bn2 = nn.BatchNorm2d(inner)
        self.se = SqueezeExcitation(inner, int(round(in_channels * se_ratio))) if se_ratio > 0 else None
        self.conv3 = nn.Conv2d(inner, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        if self.se is not None:
            out = self.se(out)
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


@MODELS.register_module()
class CIFARRegNet(CIFARBackbone):
    """The CIFAR RegNet of MTKD-RL's model zoo.

    Args:
        arch: ``'regnetx_200mf'``, ``'regnetx_400mf'`` or ``'regnety_400mf'``, or a dict with the keys of
            :data:`ARCH_SETTINGS`' values.
        stem_channels: Width of the stem convolution (64).
        strides: Strides of the four stages.
        out_indices: Stages whose outputs are returned (0 to 3; the last by default).
        init_cfg: mmengine initialisation config (PyTorch's default initialisation, as published, if None).
    """

    def __init__(self, arch: Union[str, dict] = 'regnetx_200mf', stem_channels: int = 64,
                 strides: Sequence[int] = (1, 1, 2, 2), out_indices: Union[int, Sequence[int]] = (3, ),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(num_stages=4, out_indices=out_indices, init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in ARCH_SETTINGS:
                raise ValueError(f'CIFARRegNet arch must be one of {sorted(ARCH_SETTINGS)} or a dict, got {arch!r}')
            arch = ARCH_SETTINGS[arch]
        missing = sorted(set(ARCH_SETTINGS['regnetx_200mf']) - set(arch))
        if missing:
            raise ValueError(f'CIFARRegNet arch dict lacks {missing}')
        if not len(arch['depths']) == len(arch['widths']) == len(strides) == 4:
            raise ValueError('CIFARRegNet has 4 stages: depths, widths and strides need 4 values each')
        self.conv1 = nn.Conv2d(3, stem_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        in_channels = stem_channels
        for index, (depth, width, stride) in enumerate(zip(arch['depths'], arch['widths'], strides)):
            blocks = []
            for b in range(depth):
                blocks.append(XBlock(in_channels, width, stride if b == 0 else 1, arch['group_width'],
                                     arch['bottleneck_ratio'], arch['se_ratio']))
                in_channels = width
            self.add_module(f'layer{index + 1}', nn.Sequential(*blocks))
        self.out_channels = in_channels

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn1(self.conv1(x)))

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, f'layer{index + 1}')(x)
