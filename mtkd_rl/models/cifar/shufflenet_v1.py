"""ShuffleNet (v1) for CIFAR as in the CIFAR distillation zoo (``ShuffleV1``: groups 3, widths 240/480/960).

A 1x1 stem convolution to 24 channels at full resolution, then three stages (4, 8 and 4 units) that each
start with a stride-2 unit: 1x1 group convolution, channel shuffle, 3x3 depth-wise convolution (stride 2),
1x1 group convolution, concatenated with a 3x3 average-pooled shortcut; the other units add an identity
shortcut. The first unit's first convolution is not grouped (24 input channels). A 4x4 map at 32x32 input.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .base import CIFARBackbone


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups: ``[N, g * c, H, W]`` read as ``[N, c, g, H, W]``."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleUnit(nn.Module):
    """A ShuffleNet unit: grouped 1x1, shuffle, depth-wise 3x3, grouped 1x1; add or (stride 2) concatenate.

    Args:
        in_channels: Input channels.
        out_channels: Channels of the residual branch (the unit outputs ``in_channels + out_channels`` at
            stride 2, ``out_channels`` otherwise).
        stride: 1 or 2.
        groups: Groups of the 1x1 convolutions.
        first_groups: Groups of the first 1x1 convolution (1 where the input is the stem's).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, groups: int, first_groups: int) -> None:
        super().__init__()
        mid = out_channels // 4
        self.stride = stride
        self.first_groups = first_groups
        self.conv1 = nn.Conv2d(in_channels, mid, kernel_size=1, groups=first_groups, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, kernel_size=3, stride=stride, padding=1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, kernel_size=1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = channel_shuffle(F.relu(self.bn1(self.conv1(x))), self.first_groups)
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.stride == 2:
            return F.relu(torch.cat([out, F.avg_pool2d(x, 3, stride=2, padding=1)], 1))
        return F.relu(out + x)


@MODELS.register_module()
class CIFARShuffleNetV1(CIFARBackbone):
    """The CIFAR ShuffleNet (v1) of the distillation zoo.

    Args:
        widths: Output channels of the three stages.
        blocks: Units per stage.
        groups: Groups of the 1x1 convolutions.
        out_indices: Stages whose outputs are returned (0 to 2; the last, 960 channels, by default).
        init_cfg: mmengine initialisation config (PyTorch's default initialisation, as published, if None).
    """

    def __init__(self, widths: Sequence[int] = (240, 480, 960), blocks: Sequence[int] = (4, 8, 4),
                 groups: int = 3, out_indices: Union[int, Sequence[int]] = (2, ),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(num_stages=3, out_indices=out_indices, init_cfg=init_cfg)
        if len(widths) != 3 or len(blocks) != 3:
            raise ValueError(f'CIFARShuffleNetV1 has 3 stages: got widths {tuple(widths)}, blocks {tuple(blocks)}')
        stem = 24
        self.conv1 = nn.Conv2d(3, stem, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        in_channels = stem
        for index, (width, num) in enumerate(zip(widths, blocks)):
            units = []
            for u in range(num):
                branch = width - in_channels if u == 0 else width
                units.append(ShuffleUnit(in_channels, branch, 2 if u == 0 else 1, groups,
                                         1 if in_channels == stem else groups))
                in_channels = width
            self.add_module(f'layer{index + 1}', nn.Sequential(*units))
        self.out_channels = in_channels

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn1(self.conv1(x)))

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, f'layer{index + 1}')(x)
