"""ResNet for CIFAR (He et al., 2016, section 4.2) as in the CIFAR distillation zoo: ResNet-8 to -110, x4 widths.

Three stages of ``n = (depth - 2) / 6`` basic blocks on 32x32, 16x16 and 8x8 maps after a 3x3 stem
convolution; a block that changes the width or the resolution has a 1x1 convolution + BN shortcut. The
published zoo names ``resnet8``/``20``/``32``/``56``/``110`` use widths 16 (stem), 16/32/64, and
``resnet8x4``/``resnet32x4`` use 32 (stem), 64/128/256.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .base import FAN_OUT_INIT, CIFARBackbone


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 3x3 convolution without bias, padding 1."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a residual connection, ReLU after the sum (post-activation).

    Args:
        in_channels: Input channels.
        channels: Output channels.
        stride: Stride of the first convolution (and of the shortcut).
    """

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, channels, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


@MODELS.register_module()
class CIFARResNet(CIFARBackbone):
    """The CIFAR ResNet of the distillation zoo.

    ``CIFARResNet(depth=56)`` is ResNet-56; ``CIFARResNet(depth=32, stem_channels=32,
    widths=(64, 128, 256))`` is ResNet-32x4. With a ``GlobalAveragePooling`` neck and a ``LinearClsHead``
    (``in_channels=widths[-1]``) it is the published network.

    Args:
        depth: ``6n + 2``: 8, 14, 20, 32, 44, 56, 110, ...
        stem_channels: Width of the stem convolution.
        widths: Width of each of the three stages.
        out_indices: Stages whose outputs are returned (0 to 2; the last, 8x8 at 32x32 input, by default).
        init_cfg: mmengine initialisation config; by default the published one.
    """

    def __init__(self, depth: int = 56, stem_channels: int = 16, widths: Sequence[int] = (16, 32, 64),
                 out_indices: Union[int, Sequence[int]] = (2, ),
                 init_cfg: Optional[Union[dict, List[dict]]] = FAN_OUT_INIT) -> None:
        super().__init__(num_stages=3, out_indices=out_indices, init_cfg=init_cfg)
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f'CIFARResNet depth must be 6n + 2 with n >= 1 (8, 20, 32, 56, 110, ...), got {depth}')
        if len(widths) != 3:
            raise ValueError(f'CIFARResNet has 3 stages: widths must have 3 values, got {tuple(widths)}')
        self.depth = depth
        blocks = (depth - 2) // 6
        self.conv1 = conv3x3(3, stem_channels)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        in_channels = stem_channels
        for index, (width, stride) in enumerate(zip(widths, (1, 2, 2))):
            layers = []
            for b in range(blocks):
                layers.append(BasicBlock(in_channels, width, stride if b == 0 else 1))
                in_channels = width
            self.add_module(f'layer{index + 1}', nn.Sequential(*layers))
        self.out_channels = in_channels

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn1(self.conv1(x)))

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, f'layer{index + 1}')(x)
