"""Cheaper frozen teachers: conv-BN fusion, low-precision forward passes and channels-last memory.

Set in the distiller config as ``model.teacher_speedups=dict(fuse_conv_bn=..., dtype=..., channels_last=...)``.
Every option keeps what the teachers compute (features, head outputs, their heads applied to the student's
connected features) equal within a tolerance, and the distillation terms and the agent's state in float32:

* ``fuse_conv_bn``: fold each frozen BatchNorm into the convolution before it (mmcv's ``fuse_conv_bn``). A
  teacher's BN layers run in eval mode, so the fold is exact up to rounding for any input, including the
  student's features that CA-MKD feeds to a teacher's head. mmcv pairs a BN with the last convolution
  registered before it; the fusion is checked on a random batch at build time and refused (with the config key
  to change) where a model's registration order does not match its computation.
* ``dtype``: ``'bf16'`` or ``'fp16'`` run each teacher part (backbone, neck, heads) under ``torch.autocast``
  and return its outputs in float32, so every term computed from them (KD losses, the teacher's task loss,
  the agent's state) is float32; ``None`` leaves precision to the run (``--amp`` autocasts the whole step).
* ``channels_last``: teacher weights and inputs in channels-last memory, which convolution kernels on recent
  GPUs (and some CPUs) run faster.
"""
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

import torch
import torch.nn as nn

from mtkd_rl.options import check_bool
from mtkd_rl.recording import recorded_outputs

#: The names accepted for ``dtype``.
DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}

#: A fused teacher's outputs may differ from the unfused ones by this much, relative to their largest value.
FUSION_RTOL = 1e-4


@dataclass
class TeacherSpeedups:
    """Options that make the frozen teachers' forward passes cheaper (see the module docstring).

    Attributes:
        fuse_conv_bn: Fold BatchNorm layers into the preceding convolutions.
        dtype: ``'bf16'``, ``'fp16'`` or None (follow the run's ``--amp``).
        channels_last: Use channels-last memory for teacher weights and inputs.
    """
    fuse_conv_bn: bool = False
    dtype: Optional[str] = None
    channels_last: bool = False

    @classmethod
    def from_config(cls, cfg: Optional[dict]) -> 'TeacherSpeedups':
        """Read ``model.teacher_speedups``, raising an error that names the key to fix."""
        if cfg is None:
            return cls()
        if not isinstance(cfg, dict):
            raise TypeError(f'model.teacher_speedups must be a dict such as dict(fuse_conv_bn=True, dtype=None, '
                            f'channels_last=False), got {type(cfg).__name__}')
        unknown = set(cfg) - {'fuse_conv_bn', 'dtype', 'channels_last'}
        if unknown:
            raise ValueError(f'model.teacher_speedups has unknown keys {sorted(unknown)}; allowed: fuse_conv_bn, '
                             f'dtype, channels_last')
        speedups = cls(**cfg)
        if speedups.dtype is not None and speedups.dtype not in DTYPES:
            raise ValueError(f"model.teacher_speedups.dtype must be one of {sorted(DTYPES)} or None (follow "
                             f"--amp), got {speedups.dtype!r}")
        for name in ('fuse_conv_bn', 'channels_last'):
            check_bool(getattr(speedups, name), f'model.teacher_speedups.{name}')
        return speedups

    @property
    def enabled(self) -> bool:
        """Whether any option is set."""
        return self.fuse_conv_bn or self.dtype is not None or self.channels_last

    def apply(self, teacher: nn.Module, run: Callable[[nn.Module], Any], key: str) -> nn.Module:
        """Make one frozen teacher cheaper, in place.

        Args:
            teacher: The teacher, in eval mode with frozen parameters.
            run: Runs the teacher on a fixed batch (used to check the fusion).
            key: The teacher's config key, for error messages (``model.teachers[0] (name)``).

        Returns:
            The same module.
        """
        if self.fuse_conv_bn:
            fuse_teacher_conv_bn(teacher, run, key)
        if self.channels_last:
            teacher.to(memory_format=torch.channels_last)
        if self.dtype is not None or self.channels_last:
            for name, part in teacher.named_children():
                if name != 'data_preprocessor':
                    part.forward = _TeacherForward(part.forward, DTYPES.get(self.dtype), self.channels_last)
        return teacher


def fuse_teacher_conv_bn(teacher: nn.Module, run: Callable[[nn.Module], Any], key: str) -> nn.Module:
    """Fold a frozen teacher's BatchNorm layers into their convolutions, checked on ``run``'s batch.

    Raises:
        ValueError: When the fused teacher's outputs (of its backbone, neck and heads) differ from the
            unfused ones by more than ``FUSION_RTOL`` of their largest value.
    """
    from mmcv.cnn import fuse_conv_bn
    before = _part_outputs(teacher, run)
    fuse_conv_bn(teacher)
    teacher.requires_grad_(False)  # the fused convolutions get new parameters
    after = _part_outputs(teacher, run)
    for name in before:
        for x, y in zip(before[name], after[name]):
            scale = float(x.abs().max()) if x.numel() else 0.0
            diff = float((x - y).abs().max()) if x.numel() else 0.0
            if diff > FUSION_RTOL * scale + 1e-6:
                raise ValueError(
                    f"model.teacher_speedups.fuse_conv_bn: fusing {key}'s BatchNorm layers into their "
                    f'convolutions changes its {name} outputs (max difference {diff:.3g} for values up to '
                    f'{scale:.3g}): some BN layer does not directly follow the convolution registered before it. '
                    f'Set model.teacher_speedups.fuse_conv_bn=False')
    return teacher


def _part_outputs(model: nn.Module, run: Callable[[nn.Module], Any]) -> dict:
    """The floating tensors each part of ``model`` (a direct child other than a bare convolution or BN, whose
    own outputs fusion changes by design) returns while ``run(model)`` runs."""
    from torch.nn.modules.batchnorm import _BatchNorm
    parts = [(n, p) for n, p in model.named_children() if not isinstance(p, (nn.Conv2d, _BatchNorm))]
    outputs = {name: [] for name, _ in parts}
    with recorded_outputs(dict(parts), lambda name, out: outputs[name].extend(_tensors(out))), torch.no_grad():
        run(model)
    return {k: [t.detach().float().clone() for t in v] for k, v in outputs.items() if v}


def _tensors(value: Any) -> List[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value] if value.is_floating_point() else []
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def _map_tensors(value: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, tuple) and hasattr(value, '_fields'):  # namedtuple
        return type(value)(*(_map_tensors(v, fn) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_map_tensors(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: _map_tensors(v, fn) for k, v in value.items()}
    return value


class _TeacherForward:
    """A teacher part's ``forward`` run under autocast and/or with channels-last inputs; float32 outputs."""

    def __init__(self, forward: Callable, dtype: Optional[torch.dtype], channels_last: bool) -> None:
        self.forward = forward
        self.dtype = dtype
        self.channels_last = channels_last

    def __call__(self, *args, **kwargs):
        if self.channels_last:
            args = _map_tensors(args, _channels_last)
        if self.dtype is None:
            return self.forward(*args, **kwargs)
        device = next((t.device for t in _tensors(args)), torch.device('cpu'))
        with torch.autocast(device.type, dtype=self.dtype):
            out = self.forward(*args, **kwargs)
        return _map_tensors(out, lambda t: t.float() if t.is_floating_point() else t)


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t
