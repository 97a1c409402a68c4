"""What an mmpretrain classifier's forward pass gives the distiller, whatever its backbone family.

CNN and Swin backbones return ``[B, C, H, W]`` stage maps. ViT-family backbones (``VisionTransformer``, DeiT,
DeiT-3, BEiT...) return what their ``out_type`` asks for: the class token ``[B, C]`` (DeiT distilled: class and
distillation tokens), the averaged patch tokens ``[B, C]``, the patch tokens as a map, or the raw tokens. The
head reads that output; feature distillation needs a map. :func:`run_classifier` therefore keeps the patch
tokens of the backbone's last output, reshaped to their ``[B, C, h, w]`` patch grid, next to what the head
reads, in one forward pass.
"""
import inspect
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn

from mtkd_rl.recording import recorded_calls


@dataclass
class ClassifierOutputs:
    """One forward pass of an mmpretrain ``ImageClassifier``.

    Attributes:
        feature: The backbone's last output as a ``[B, C, H, W]`` map: a CNN/Swin stage map, or a ViT's patch
            tokens on their patch grid. A backbone that pools inside (e.g. ConvNeXt with
            ``gap_before_final_norm=True``) leaves the ``[B, C]`` vector here.
        head_input: What the head reads: the neck's output, else the backbone's (a tuple, one entry per
            ``out_indices``).
        logits: The head's class scores ``[B, num_classes]``.
    """
    feature: torch.Tensor
    head_input: Tuple[Any, ...]
    logits: torch.Tensor

    @property
    def embedding(self) -> torch.Tensor:
        """The vector the head's classifier reads ``[B, d]``: the pooled map (CNN, Swin), the class token or
        the averaged patch tokens (ViT); DeiT's class and distillation tokens are concatenated."""
        return _as_vector(self.head_input[-1])


def _as_vector(x: Any) -> torch.Tensor:
    if isinstance(x, (tuple, list)):
        return torch.cat([_as_vector(v) for v in x], 1)
    return x.flatten(1)


@lru_cache(maxsize=None)
def _formats_tokens(backbone_type: type) -> bool:
    """Whether a backbone class formats ``[B, N, C]`` tokens with ``_format_output(x, hw)`` (the ViT family)."""
    fmt = getattr(backbone_type, '_format_output', None)
    return fmt is not None and list(inspect.signature(fmt).parameters) == ['self', 'x', 'hw']


def _reads_tokens(backbone: nn.Module) -> bool:
    return hasattr(backbone, 'num_extra_tokens') and _formats_tokens(type(backbone))


@contextmanager
def _tokens_recorded(backbone: nn.Module) -> Iterator[Optional[List[Tuple[torch.Tensor, Tuple[int, int]]]]]:
    """Record the tokens and patch grid each ``_format_output`` call of a ViT-family backbone receives."""
    if not _reads_tokens(backbone):
        yield None
        return
    recorded = []
    with recorded_calls(backbone, '_format_output',
                        lambda args, result: recorded.append((args['x'], tuple(int(s) for s in args['hw'])))):
        yield recorded


def patch_map(tokens: torch.Tensor, hw: Tuple[int, int], num_extra_tokens: int) -> torch.Tensor:
    """ViT tokens ``[B, extra + h * w, C]`` to the patch-token map ``[B, C, h, w]``."""
    patches = tokens[:, num_extra_tokens:]
    return patches.reshape(patches.shape[0], hw[0], hw[1], patches.shape[2]).permute(0, 3, 1, 2)


def run_classifier(model: nn.Module, inputs: torch.Tensor) -> ClassifierOutputs:
    """Run ``model`` (backbone, optional neck, head) once and keep its feature map, head input and logits."""
    with _tokens_recorded(model.backbone) as recorded:
        stages = model.backbone(inputs)
    if not isinstance(stages, (tuple, list)):
        stages = (stages, )
    head_input = model.neck(stages) if getattr(model, 'neck', None) is not None else stages
    if not isinstance(head_input, (tuple, list)):
        head_input = (head_input, )
    last = stages[-1]
    if isinstance(last, torch.Tensor) and last.dim() == 4:
        feature = last
    elif recorded:
        tokens, hw = recorded[-1]
        feature = patch_map(tokens, hw, model.backbone.num_extra_tokens)
    else:
        feature = _as_vector(last)
    return ClassifierOutputs(feature=feature, head_input=tuple(head_input), logits=model.head(tuple(head_input)))


def head_input_from(vector: torch.Tensor, like: Tuple[Any, ...]) -> Tuple[Any, ...]:
    """A head input shaped like ``like`` whose last entry reads ``vector`` ``[B, d]`` wherever it had a
    ``[B, d]`` tensor (a ViT's class token, a pooled map; both of DeiT's tokens)."""
    def fill(x):
        if isinstance(x, (tuple, list)):
            return type(x)(fill(v) for v in x)
        return vector

    return tuple(like[:-1]) + (fill(like[-1]), )
