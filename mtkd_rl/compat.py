"""Compatibility with the measured stack: torch's weights-only loading and CPU-only distributed runs."""
import os

import numpy as np
import torch


def allow_mmengine_checkpoints() -> None:
    """Allow torch's weights-only ``torch.load`` to read mmengine checkpoints.

    mmengine 0.10.7 stores a ``message_hub`` with ``HistoryBuffer`` objects and numpy values in every
    checkpoint; since torch 2.6 ``torch.load`` refuses them unless they are allow-listed.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:
        return
    from mmengine.logging.history_buffer import HistoryBuffer

    try:
        from numpy.core import multiarray
    except ImportError:  # numpy >= 2
        from numpy._core import multiarray
    safe = [
        HistoryBuffer,
        multiarray.scalar,
        multiarray._reconstruct,
        np.ndarray,
        np.dtype,
        getattr,
    ]
    safe += [type(np.dtype(t)) for t in (np.float64, np.float32, np.float16, np.int64, np.int32, np.int16,
                                         np.int8, np.uint8, np.bool_)]
    add_safe_globals(safe)


def init_cpu_distributed(launcher: str, backend: str = 'gloo') -> bool:
    """Create the process group for a CPU-only distributed run.

    mmengine's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` first and fails without a GPU. When
    no GPU is available this creates the gloo group itself (the Runner then skips its own init).

    Args:
        launcher: The ``--launcher`` argument (``none``, ``pytorch`` or ``slurm``).
        backend: The backend for the process group.

    Returns:
        True if a process group was created here.
    """
    import torch.distributed as dist
    if launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return False
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            import subprocess
            nodes = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {nodes} | head -n1')
    dist.init_process_group(backend=backend)
    return True


def cpu_ddp_wrapper_cfg() -> dict:
    """The model wrapper that works for DDP on CPU (no device ids, no buffer broadcast)."""
    return dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)


def shutdown_distributed() -> None:
    """Wait for every rank, then destroy the process group.

    mmengine leaves the group alive at exit; a gloo group torn down by the interpreter can abort the process
    ("terminate called without an active exception") after a successful run.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
