"""Wide ResNet for CIFAR (Zagoruyko and Komodakis, 2016) as in the CIFAR distillation zoo: WRN-d-k.

Pre-activation basic blocks (BN-ReLU-conv, twice) in three stages of ``n = (depth - 4) / 6`` blocks, widths
``16k``/``32k``/``64k`` after a 16-channel 3x3 stem; a block that changes the width has a 1x1 convolution
shortcut taken from its pre-activated input. A final BN-ReLU precedes the pooling: it belongs to the last
stage here, so the last output is the map the published network pools. No dropout (the zoo trains with
rate 0).
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .base import FAN_OUT_INIT, CIFARBackbone


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 with an identity or 1x1-convolution shortcut.

    When the width changes, the shortcut convolution reads the pre-activated input (as the first
    convolution does); otherwise the shortcut is the raw input.

    Args:
        in_channels: Input channels.
        channels: Output channels.
        stride: Stride of the first convolution (and of the shortcut).
    """

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.equal_in_out = in_channels == channels
        # the published name of the shortcut, kept so that its checkpoints load
        self.convShortcut = None if self.equal_in_out else nn.Conv2d(
            in_channels, channels, kernel_size=1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(act))))
        shortcut = x if self.equal_in_out else self.convShortcut(act)
        return shortcut + out


class _Stage(nn.Module):
    """A stage of pre-activation blocks, kept under ``layer`` as in the published parameter names."""

    def __init__(self, blocks: int, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.layer = nn.Sequential(*[
            PreActBlock(in_channels if b == 0 else channels, channels, stride if b == 0 else 1)
            for b in range(blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


@MODELS.register_module()
class CIFARWideResNet(CIFARBackbone):
    """The CIFAR Wide ResNet WRN-``depth``-``widen_factor`` of the distillation zoo.

    ``CIFARWideResNet(depth=40, widen_factor=2)`` is WRN-40-2; the head's ``in_channels`` is
    ``64 * widen_factor``.

    Args:
        depth: ``6n + 4``: 16, 28, 40, ...
        widen_factor: The width multiplier ``k``.
        out_indices: Stages whose outputs are returned (0 to 2). Stages 0 and 1 return their last block's
            sum (before the next block's BN-ReLU); stage 2 returns the pre-activated map after the final
            BN-ReLU, the one the published network pools.
        init_cfg: mmengine initialisation config; by default the published one.
    """

    def __init__(self, depth: int = 28, widen_factor: int = 4, out_indices: Union[int, Sequence[int]] = (2, ),
                 init_cfg: Optional[Union[dict, List[dict]]] = FAN_OUT_INIT) -> None:
        super().__init__(num_stages=3, out_indices=out_indices, init_cfg=init_cfg)
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(f'CIFARWideResNet depth must be 6n + 4 with n >= 1 (16, 28, 40, ...), got {depth}')
        if widen_factor < 1:
            raise ValueError(f'CIFARWideResNet widen_factor must be a positive integer, got {widen_factor}')
        blocks = (depth - 4) // 6
        widths = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, stride=1, padding=1, bias=False)
        self.block1 = _Stage(blocks, 16, widths[0], 1)
        self.block2 = _Stage(blocks, widths[0], widths[1], 2)
        self.block3 = _Stage(blocks, widths[1], widths[2], 2)
        self.bn1 = nn.BatchNorm2d(widths[2])
        self.out_channels = widths[2]

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(x)

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        x = getattr(self, f'block{index + 1}')(x)
        if index == 2:
            x = F.relu(self.bn1(x))
        return x
