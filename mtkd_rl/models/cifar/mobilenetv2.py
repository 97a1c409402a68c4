"""MobileNetV2 for CIFAR as in the CIFAR distillation zoo (the one of Route Constrained Optimization).

A stride-2 3x3 stem, seven stages of inverted residual blocks (expansion ``t``; every block, also those of
expansion 1, has its 1x1 expansion convolution) with strides 1, 1, 2, 2, 1, 2, 1, and a final 1x1 conv-BN-ReLU
to 1280 channels: overall stride 16, a 2x2 map at 32x32 input. ``widen_factor`` scales every width but the
final 1280 (scaled only above 1.0). The zoo's ``mobile_half`` is ``expand_ratio=6, widen_factor=0.5``; its
full-width network is ``widen_factor=1.0``.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from .base import FAN_OUT_INIT, CIFARBackbone

#: (expansion: 1 or the network's ``expand_ratio``, width, blocks, stride) of the seven stages.
STAGE_SETTINGS = ((False, 16, 1, 1), (True, 24, 2, 1), (True, 32, 3, 2), (True, 64, 4, 2), (True, 96, 3, 1),
                  (True, 160, 3, 2), (True, 320, 1, 1))


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Sequential:
    """conv (no bias)-BN-ReLU, padded to keep the size at stride 1."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depth-wise and 1x1 linear projection, each with BN; residual when shapes allow.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Stride of the depth-wise convolution.
        expand_ratio: Width of the hidden layer over ``in_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, out_channels, 1, 1, 0, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


@MODELS.register_module()
class CIFARMobileNetV2(CIFARBackbone):
    """The CIFAR MobileNetV2 of the distillation zoo.

    Args:
        widen_factor: Width multiplier (0.5 for the zoo's ``mobile_half``).
        expand_ratio: Expansion of the inverted residual blocks after the first stage (6).
        out_indices: Stages whose outputs are returned: 0 to 6 the inverted residual stages, 7 the final
            1x1 conv-BN-ReLU (the map the published network pools; by default).
        init_cfg: mmengine initialisation config; by default the published one.
    """

    def __init__(self, widen_factor: float = 1.0, expand_ratio: int = 6,
                 out_indices: Union[int, Sequence[int]] = (7, ),
                 init_cfg: Optional[Union[dict, List[dict]]] = FAN_OUT_INIT) -> None:
        super().__init__(num_stages=8, out_indices=out_indices, init_cfg=init_cfg)
        in_channels = int(32 * widen_factor)
        self.conv1 = conv_bn_relu(3, in_channels, 3, stride=2)
        self.blocks = nn.ModuleList()
        for expands, width, blocks, stride in STAGE_SETTINGS:
            out_channels = int(width * widen_factor)
            layers = []
            for b in range(blocks):
                layers.append(InvertedResidual(in_channels, out_channels, stride if b == 0 else 1,
                                               expand_ratio if expands else 1))
                in_channels = out_channels
            self.blocks.append(nn.Sequential(*layers))
        self.out_channels = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = conv_bn_relu(in_channels, self.out_channels, 1)

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(x)

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(x) if index == 7 else self.blocks[index](x)
