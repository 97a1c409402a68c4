"""The copy of an iteration's transition from the model's device to the agent's CPU buffer."""
from typing import Dict

import torch


def packed_copy(tensors: Dict[str, torch.Tensor], device: torch.device) -> Dict[str, torch.Tensor]:
    """Copy same-dtype tensors to ``device`` in one non-blocking transfer.

    The tensors are packed into one flat buffer on their device and copied at once (from an accelerator to
    the CPU, PyTorch puts a non-blocking copy's destination in pinned memory, so it does not wait); the
    returned tensors are views of the copy, with the original shapes. Read them after synchronising.

    Args:
        tensors: Tensors of one dtype on one device.
        device: The destination.

    Returns:
        The tensors on ``device``, under the same keys.
    """
    flat = torch.cat([v.detach().reshape(-1) for v in tensors.values()])
    copied = flat.to(device, non_blocking=True)
    out, offset = {}, 0
    for key, value in tensors.items():
        out[key] = copied[offset:offset + value.numel()].view(value.shape)
        offset += value.numel()
    return out


def to_host(transition: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The transition (state, priors' inputs, action, reward) on the CPU, without a host-device sync.

    Tensors on the CPU are returned detached, not copied. From an accelerator, tensors of one dtype go in one
    transfer (:func:`packed_copy`), others one by one, all non-blocking: synchronise before reading them.
    """
    detached = {k: v.detach() for k, v in transition.items()}
    cpu = torch.device('cpu')
    if all(v.device == cpu for v in detached.values()):
        return detached
    if len({(v.device, v.dtype) for v in detached.values()}) == 1:
        return packed_copy(detached, cpu)
    return {k: v.to(cpu, non_blocking=True) for k, v in detached.items()}
