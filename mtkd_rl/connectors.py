"""Connectors: map a student feature map onto a teacher's feature shape (method.md section 2)."""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .options import check_bool
from .registry import MODELS


def resize_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Resize ``x`` ([B, C, H, W]) to ``size``: adaptive average pooling to shrink, bilinear to grow."""
    size = tuple(int(s) for s in size)
    if tuple(x.shape[-2:]) == size:
        return x
    if x.shape[-2] >= size[0] and x.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


@MODELS.register_module()
class ConvBNReLUConnector(nn.Module):
    """Resize the student map to the teacher's spatial size, then 1x1 conv, BatchNorm and ReLU.

    A training batch with one value per channel (one sample mapped to a 1x1 teacher map, e.g. the last batch
    of an epoch) has no batch statistics; it is normalised with the running statistics, which it leaves
    unchanged, instead of failing.

    Args:
        in_channels: Student feature channels.
        out_channels: Teacher feature channels.
        relu: Whether to end with ReLU (teacher features after ReLU are non-negative; FPN outputs are not).
    """

    def __init__(self, in_channels: int, out_channels: int, relu: bool = True) -> None:
        super().__init__()
        check_bool(relu, 'model.connector.relu')
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, student_feature: torch.Tensor, teacher_size: Sequence[int]) -> torch.Tensor:
        """Map ``student_feature`` ([B, C_s, H, W]) to ``[B, C_t, *teacher_size]``.

        The 1x1 convolution (no bias) and the resize are both linear, one across channels and one across
        positions, so they commute: the convolution runs at the smaller of the two sizes (before a shrink,
        after a growth), which gives the same map for less work.
        """
        h, w = student_feature.shape[-2:]
        if int(teacher_size[0]) * int(teacher_size[1]) > h * w:
            x = resize_to(self.conv(student_feature), teacher_size)
        else:
            x = self.conv(resize_to(student_feature, teacher_size))
        return self.relu(self._normalise(x))

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        bn = self.bn
        if self.training and x.shape[0] * x.shape[2] * x.shape[3] == 1 and bn.running_mean is not None:
            return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
        return bn(x)
