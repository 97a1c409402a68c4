"""mmdet's own head loss (``loss_by_feat``): running a head as its loss expects, and the per-image loss of heads
without a batched reduction (``loss_by_feat`` on each image alone)."""
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import torch
import torch.nn as nn

from mtkd_rl.losses.loss_dict import sum_loss_dict


@contextmanager
def loss_mode(head: nn.Module) -> Iterator[nn.Module]:
    """Run a frozen teacher's head as its loss expects, its layers (BN, GN...) staying in eval mode.

    Some heads change their outputs with their own ``training`` flag (FCOS with ``norm_on_bbox`` scales the
    box distances by the stride only at inference); their loss functions expect the training-time outputs.
    Only the head module's own flag is set, not its children's.
    """
    was_training = head.training
    head.training = True
    try:
        yield head
    finally:
        head.training = was_training


def per_image_loss_by_image(head: nn.Module, outs: Sequence[Sequence[torch.Tensor]],
                            data_samples: Sequence[Any]) -> torch.Tensor:
    """``head.loss_by_feat`` on each image alone (its own target assignment each time): ``[B]``.

    The path of heads without a batched per-image reduction; the loss dict's terms are summed as mmengine
    does.
    """
    from mmdet.models.utils import unpack_gt_instances
    gts, ignores, metas = unpack_gt_instances(data_samples)
    losses = []
    for i in range(len(metas)):
        sliced = tuple([level[i:i + 1] for level in out] for out in outs)
        losses.append(sum_loss_dict(head.loss_by_feat(*sliced, [gts[i]], [metas[i]], [ignores[i]])))
    return torch.stack(losses)
