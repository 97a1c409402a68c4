"""A model's loss dict summed into one objective, as mmengine's ``parse_losses`` sums it."""
from typing import Any, Dict

import torch


def sum_loss_dict(losses: Dict[str, Any]) -> torch.Tensor:
    """Sum the terms of a loss dict the way mmengine's ``parse_losses`` does: every key containing ``'loss'``,
    each value (or each entry of a list of values) averaged first.

    Raises:
        ValueError: The dict holds no loss term.
    """
    total = None
    for key, value in losses.items():
        if 'loss' not in key:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            v = v.mean()
            total = v if total is None else total + v
    if total is None:
        raise ValueError(f'the loss dict holds no loss terms: {sorted(losses)}')
    return total
