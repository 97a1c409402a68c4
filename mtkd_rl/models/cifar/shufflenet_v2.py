"""ShuffleNetV2 for CIFAR as in the CIFAR distillation zoo (``ShuffleV2``, the 1.0x network).

A 1x1 stem convolution to 24 channels at full resolution; three stages, each a stride-2 down-sampling unit
(two branches, both halving the resolution, concatenated) followed by basic units (half the channels pass
through, the other half goes 1x1-depth-wise 3x3-1x1; concatenation and a channel shuffle), and a final 1x1
conv-BN-ReLU to 1024 channels before the pooling. A 4x4 map at 32x32 input.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .base import CIFARBackbone
from .shufflenet_v1 import channel_shuffle

#: Stage widths, final width and basic units per stage of the published network sizes.
ARCH_SETTINGS = {
    0.5: ((48, 96, 192), 1024, (3, 7, 3)),
    1.0: ((116, 232, 464), 1024, (3, 7, 3)),
    1.5: ((176, 352, 704), 1024, (3, 7, 3)),
    2.0: ((224, 488, 976), 2048, (3, 7, 3)),
}


class BasicUnit(nn.Module):
    """Split the channels in two halves, transform the second (1x1-BN-ReLU, dw 3x3-BN, 1x1-BN-ReLU),
    concatenate and shuffle.

    Args:
        channels: Input and output channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = channels // 2
        self.conv1 = nn.Conv2d(half, half, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(half)
        self.conv2 = nn.Conv2d(half, half, kernel_size=3, padding=1, groups=half, bias=False)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv3 = nn.Conv2d(half, half, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[1] // 2
        passed, transformed = x[:, :half], x[:, half:]
        out = F.relu(self.bn1(self.conv1(transformed)))
        out = self.bn2(self.conv2(out))
        out = F.relu(self.bn3(self.conv3(out)))
        return channel_shuffle(torch.cat([passed, out], 1), 2)


class DownUnit(nn.Module):
    """Two stride-2 branches concatenated and shuffled: (dw 3x3-BN, 1x1-BN-ReLU) and
    (1x1-BN-ReLU, dw 3x3-BN, 1x1-BN-ReLU), each giving half of ``out_channels``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        mid = out_channels // 2
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, stride=2, padding=1, groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv2 = nn.Conv2d(in_channels, mid, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(in_channels, mid, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv4 = nn.Conv2d(mid, mid, kernel_size=3, stride=2, padding=1, groups=mid, bias=False)
        self.bn4 = nn.BatchNorm2d(mid)
        self.conv5 = nn.Conv2d(mid, mid, kernel_size=1, bias=False)
        self.bn5 = nn.BatchNorm2d(mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = F.relu(self.bn2(self.conv2(self.bn1(self.conv1(x)))))
        right = F.relu(self.bn3(self.conv3(x)))
        right = F.relu(self.bn5(self.conv5(self.bn4(self.conv4(right)))))
        return channel_shuffle(torch.cat([left, right], 1), 2)


@MODELS.register_module()
class CIFARShuffleNetV2(CIFARBackbone):
    """The CIFAR ShuffleNetV2 of the distillation zoo.

    Args:
        widen_factor: The network size: 0.5, 1.0, 1.5 or 2.0.
        out_indices: Stages whose outputs are returned: 0 to 2 the unit stages, 3 the final 1x1
            conv-BN-ReLU (the map the published network pools; by default).
        init_cfg: mmengine initialisation config (PyTorch's default initialisation, as published, if None).
    """

    def __init__(self, widen_factor: float = 1.0, out_indices: Union[int, Sequence[int]] = (3, ),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(num_stages=4, out_indices=out_indices, init_cfg=init_cfg)
        if float(widen_factor) not in ARCH_SETTINGS:
            raise ValueError(f'CIFARShuffleNetV2 widen_factor must be one of {sorted(ARCH_SETTINGS)}, '
                             f'got {widen_factor}')
        widths, last, blocks = ARCH_SETTINGS[float(widen_factor)]
        self.conv1 = nn.Conv2d(3, 24, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        in_channels = 24
        for index, (width, num) in enumerate(zip(widths, blocks)):
            units = [DownUnit(in_channels, width)] + [BasicUnit(width) for _ in range(num)]
            self.add_module(f'layer{index + 1}', nn.Sequential(*units))
            in_channels = width
        self.conv2 = nn.Conv2d(in_channels, last, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(last)
        self.out_channels = last

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn1(self.conv1(x)))

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        if index == 3:
            return F.relu(self.bn2(self.conv2(x)))
        return getattr(self, f'layer{index + 1}')(x)
