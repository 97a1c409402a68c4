"""Checks that ``tools/train.py`` and ``tools/test.py`` run before building anything: the launcher's
environment, mixed precision without an accelerator, and data paths that do not exist.

Each failure raises :class:`PreflightError` with a message that names the option or config key and the fix.
"""
import os
import os.path as osp
from typing import Iterator, Optional, Sequence, Tuple

from mmengine.config import Config, ConfigDict

#: The variables each launcher reads, and how to start a run that sets them.
LAUNCHER_ENV = {
    'pytorch': (('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'), 'torchrun'),
    'slurm': (('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID', 'SLURM_NODELIST'), 'srun'),
    'mpi': (('OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE'), 'mpirun'),
}
#: Devices on which mmengine's AmpOptimWrapper trains.
AMP_DEVICES = ('cuda', 'npu', 'mlu', 'musa')


class PreflightError(ValueError):
    """Bad input found before a run starts. The message names the option or config key and the fix."""


def check_launcher(launcher: str, script: str) -> None:
    """``--launcher`` other than ``none`` needs the variables its launcher sets in each process.

    Args:
        launcher: The ``--launcher`` argument.
        script: The project's script that starts such a run (``tools/dist_train.sh CONFIG GPUS``).

    Raises:
        PreflightError: A variable is missing.
    """
    if launcher not in LAUNCHER_ENV:
        return
    names, starter = LAUNCHER_ENV[launcher]
    missing = [n for n in names if n not in os.environ]
    if missing:
        how = {'pytorch': f'start it with bash {script}', 'slurm': 'start it with bash tools/slurm_train.sh '
               'PARTITION JOB_NAME CONFIG WORK_DIR', 'mpi': 'start it with mpirun'}[launcher]
        raise PreflightError(
            f'--launcher {launcher}: the environment lacks {", ".join(missing)}, which {starter} sets for '
            f'each process. To run distributed, {how}; for one process, drop --launcher.')


def check_amp(cfg: Config) -> None:
    """``optim_wrapper.type='AmpOptimWrapper'`` (what ``--amp`` sets) needs a CUDA, NPU, MLU or MUSA device.

    Raises:
        PreflightError: Mixed precision training is asked for and no such device is available.
    """
    wrapper = cfg.get('optim_wrapper') or {}
    if str(wrapper.get('type', '')).split('.')[-1] != 'AmpOptimWrapper':
        return
    from mmengine.device import get_device
    device = get_device()
    if device not in AMP_DEVICES:
        raise PreflightError(
            f"--amp (optim_wrapper.type='AmpOptimWrapper'): mixed precision training needs a CUDA (or NPU, MLU, "
            f"MUSA) device, and this machine has none (torch sees '{device}'). Drop --amp to train in full "
            f"precision, or set optim_wrapper.type=OptimWrapper if the config asks for AmpOptimWrapper.")


def check_data_paths(cfg: Config, dataloaders: Sequence[str]) -> None:
    """Each dataset's ``data_root`` (and ``ann_file`` under it) must exist, relative to the working directory.

    Args:
        cfg: The run's config.
        dataloaders: The dataloader keys the run builds, e.g. ``('train_dataloader', 'val_dataloader')``.

    Raises:
        PreflightError: A path is missing; the message names its config key.
    """
    for loader_key in dataloaders:
        loader = cfg.get(loader_key)
        if not loader:
            continue
        for key, dataset in _datasets(f'{loader_key}.dataset', loader.get('dataset')):
            root = dataset.get('data_root')
            if _local(root) and not osp.isdir(root):
                raise PreflightError(
                    f"{key}.data_root: the data directory '{root}' does not exist (looked for "
                    f"{osp.abspath(root)}; paths in configs are relative to the directory the tool runs from, the "
                    f"repository root). Put the data set there, or point the config at it: --cfg-options "
                    f"{key}.data_root=/path/to/data{_also(cfg, loader_key)}.")
            ann_file = dataset.get('ann_file')
            if _local(ann_file):
                path = ann_file if osp.isabs(ann_file) or not _local(root) else osp.join(root, ann_file)
                if not osp.exists(path):
                    raise PreflightError(
                        f"{key}.ann_file: the annotation file '{path}' does not exist. Set {key}.ann_file to the "
                        f"file (relative to {key}.data_root), e.g. --cfg-options {key}.ann_file=annotations.json.")


def _datasets(key: str, dataset: Optional[dict]) -> Iterator[Tuple[str, ConfigDict]]:
    """The dataset configs under ``dataset`` with their keys, through wrappers (Repeat/ClassBalanced/Concat)."""
    if not isinstance(dataset, dict):
        return
    yield key, dataset
    if isinstance(dataset.get('dataset'), dict):
        yield from _datasets(f'{key}.dataset', dataset['dataset'])
    for i, inner in enumerate(dataset.get('datasets') or []):
        yield from _datasets(f'{key}.datasets.{i}', inner)


def _local(path) -> bool:
    return isinstance(path, str) and bool(path) and '://' not in path


def _also(cfg: Config, loader_key: str) -> str:
    others = [k for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
              if k != loader_key and isinstance(cfg.get(k), dict)]
    return f' (and the same for {", ".join(others)})' if others else ''
