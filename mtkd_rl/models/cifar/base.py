"""What every CIFAR zoo backbone shares: a stem, numbered stages and the ``out_indices`` contract."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmpretrain.models.backbones.base_backbone import BaseBackbone

#: The initialisation of the published ResNet, WRN, VGG and MobileNetV2 definitions: convolutions from
#: N(0, 2 / (k * k * out_channels)), BN weight 1 and bias 0 (convolution biases, where present, 0).
FAN_OUT_INIT = [
    dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu', distribution='normal', bias=0.),
    dict(type='Constant', layer=['_BatchNorm', 'GroupNorm'], val=1., bias=0.),
]


def normalise_out_indices(out_indices: Union[int, Sequence[int]], num_stages: int) -> Tuple[int, ...]:
    """Check ``out_indices`` against the number of stages and make negative indices positive.

    Args:
        out_indices: One stage index or several; ``-1`` is the last stage.
        num_stages: How many stages the backbone has.

    Returns:
        The sorted, non-negative indices.

    Raises:
        ValueError: If an index is out of range or repeated.
    """
    indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
    if not indices:
        raise ValueError('out_indices is empty: give at least one stage index')
    result = []
    for index in indices:
        if not -num_stages <= index < num_stages:
            raise ValueError(f'out_indices {tuple(indices)}: index {index} is out of range for a backbone of '
                             f'{num_stages} stages (0 to {num_stages - 1}, or negative from the end)')
        result.append(index % num_stages)
    if len(set(result)) != len(result):
        raise ValueError(f'out_indices {tuple(indices)} names a stage twice')
    return tuple(sorted(result))


class CIFARBackbone(BaseBackbone):
    """A stem followed by numbered stages, returning the outputs of the stages in ``out_indices``.

    Subclasses build their layers, set ``num_stages`` and implement :meth:`forward_stem` and
    :meth:`forward_stage`.

    Args:
        num_stages: How many stages :meth:`forward_stage` runs.
        out_indices: The stages whose outputs :meth:`forward` returns.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self, num_stages: int, out_indices: Union[int, Sequence[int]],
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_stages = num_stages
        self.out_indices = normalise_out_indices(out_indices, num_stages)

    def train(self, mode: bool = True) -> 'CIFARBackbone':
        """Set training mode; returns the module (mmpretrain's ``BaseBackbone.train`` returns None, which
        would break ``model.eval()`` chains)."""
        super().train(mode)
        return self

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """Run the layers before the first stage."""
        raise NotImplementedError

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Run stage ``index`` (with whatever pooling leads into it)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Run the network up to its last requested stage.

        Args:
            x: Images, ``[N, 3, H, W]``.

        Returns:
            The outputs of the stages in ``out_indices``, in order.
        """
        x = self.forward_stem(x)
        outs = []
        for index in range(self.out_indices[-1] + 1):
            x = self.forward_stage(index, x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)
