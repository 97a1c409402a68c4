"""Per-sample reductions the task adapters share: masked pooling, pooled cosine, cross-entropy, entropy."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F


def global_pool(x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Average ``[B, C, H, W]`` over H, W (only where ``mask`` [B, H, W] is true) to ``[B, C]``."""
    if mask is None:
        return x.mean((2, 3))
    m = mask.unsqueeze(1).to(x.dtype)
    return (x * m).sum((2, 3)) / m.sum((2, 3)).clamp_min(1.0)


def pooled_cosine(student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor]) -> torch.Tensor:
    """Cosine similarity of globally pooled student and teacher maps, averaged over levels: ``[B]``."""
    cos = [F.cosine_similarity(global_pool(s), global_pool(t), dim=1) for s, t in zip(student, teacher)]
    return torch.stack(cos, 0).mean(0)


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy against class indices ``[B]`` or class scores ``[B, C]``."""
    if target.dim() == logits.dim():
        return -(target * F.log_softmax(logits, dim=1)).sum(1)
    return F.cross_entropy(logits, target, reduction='none')


def prediction_entropy(logits: torch.Tensor, class_dim: int = 1) -> torch.Tensor:
    """Entropy of ``softmax(logits)`` along ``class_dim``."""
    log_p = F.log_softmax(logits, dim=class_dim)
    return -(log_p.exp() * log_p).sum(class_dim)
