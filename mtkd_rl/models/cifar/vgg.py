"""VGG with batch normalisation for CIFAR, as in the CIFAR distillation zoo (VGG-8, VGG-11, VGG-13, ...).

Five blocks of 3x3 conv (with bias)-BN-ReLU layers, 2x2 max-pooling between the first four; the fully
connected layers of the ImageNet VGG are replaced by global average pooling and one linear classifier (512
inputs). At 32x32 input the fifth block runs on the 4x4 map of the fourth (the published network adds the
fourth pooling only for 64x64 inputs: ``pool_before_last=True``).
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from .base import FAN_OUT_INIT, CIFARBackbone

#: Widths of the convolutions of the five blocks, by depth (the zoo's configurations S, A, B, D and E).
ARCH_SETTINGS = {
    8: ((64, ), (128, ), (256, ), (512, ), (512, )),
    11: ((64, ), (128, ), (256, 256), (512, 512), (512, 512)),
    13: ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
    16: ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
    19: ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512), (512, 512, 512, 512)),
}


def make_block(widths: Sequence[int], in_channels: int) -> nn.Sequential:
    """conv-BN-ReLU layers of the given widths, without the last ReLU (the stage applies it).

    The layout (``[conv, bn, relu, conv, bn]``) keeps the published parameter names (``block0.0.weight``,
    ``block0.1.running_mean``, ...).
    """
    layers: List[nn.Module] = []
    for width in widths:
        layers += [nn.Conv2d(in_channels, width, kernel_size=3, padding=1), nn.BatchNorm2d(width),
                   nn.ReLU(inplace=True)]
        in_channels = width
    return nn.Sequential(*layers[:-1])


@MODELS.register_module()
class CIFARVGG(CIFARBackbone):
    """The CIFAR VGG with BN of the distillation zoo (``vgg8``, ``vgg13`` there mean the BN variants).

    Args:
        depth: 8, 11, 13, 16 or 19.
        pool_before_last: Max-pool before the fifth block too (the published network does for 64x64 inputs).
        out_indices: Stages whose outputs are returned (0 to 4, each after its ReLU; the last, 512 channels,
            by default).
        init_cfg: mmengine initialisation config; by default the published one.
    """

    def __init__(self, depth: int = 13, pool_before_last: bool = False,
                 out_indices: Union[int, Sequence[int]] = (4, ),
                 init_cfg: Optional[Union[dict, List[dict]]] = FAN_OUT_INIT) -> None:
        super().__init__(num_stages=5, out_indices=out_indices, init_cfg=init_cfg)
        if depth not in ARCH_SETTINGS:
            raise ValueError(f'CIFARVGG depth must be one of {sorted(ARCH_SETTINGS)}, got {depth}')
        self.pool_before_last = pool_before_last
        in_channels = 3
        for index, widths in enumerate(ARCH_SETTINGS[depth]):
            self.add_module(f'block{index}', make_block(widths, in_channels))
            in_channels = widths[-1]
        self.out_channels = in_channels

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        if 0 < index < 4 or (index == 4 and self.pool_before_last):
            x = F.max_pool2d(x, kernel_size=2, stride=2)
        return F.relu(getattr(self, f'block{index}')(x))
