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


#: The command that installs each data set the shipped configs read, by the last folder of its ``data_root``.
DATA_INSTALL = {
    'fashion_mnist': 'make demo (or: bash tools/setup_env.sh), which installs the Debian package '
                     'dataset-fashion-mnist and unpacks it into data/fashion_mnist',
    'fashion_mnist_mosaic': 'bash tools/setup_env.sh (or, with data/fashion_mnist in place: .venv/bin/python '
                            'tools/dataset_converters/fashion_mnist_mosaic.py data/fashion_mnist '
                            'data/fashion_mnist_mosaic)',
    'treecrown': 'bash tools/dataset_converters/prepare_offline_data.sh treecrown data (or bash '
                 'tools/setup_env.sh, which prepares every data set of the shipped configs)',
    'nuclei': 'bash tools/dataset_converters/prepare_offline_data.sh nuclei data (or bash tools/setup_env.sh, '
              'which prepares every data set of the shipped configs)',
    'cifar100': 'mkdir -p data/cifar100 && wget https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz -O '
                'data/cifar100/cifar-100-python.tar.gz && tar -xzf data/cifar100/cifar-100-python.tar.gz -C '
                'data/cifar100 (on a machine with internet access; tools/reproduce_cifar100.py says the same)',
}
#: The files mmpretrain's downloadable data sets read from ``data_root`` when ``download=False``.
DATASET_FILES = {
    'MNIST': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
              't10k-labels-idx1-ubyte'),
    'FashionMNIST': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
                     't10k-labels-idx1-ubyte'),
    'CIFAR10': ('cifar-10-batches-py/batches.meta', ),
    'CIFAR100': ('cifar-100-python/meta', ),
}


def install_hint(root: str) -> str:
    """How to get the data set of ``root``: the project's command for the data sets it ships configs for."""
    name = osp.basename(osp.normpath(root))
    if name in DATA_INSTALL:
        return f' Install it with: {DATA_INSTALL[name]}.'
    return ''


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
            point = (f'or point the config at it: --cfg-options {key}.data_root=/path/to/data'
                     f'{_also(cfg, loader_key)}.')
            if _local(root) and not osp.isdir(root):
                raise PreflightError(
                    f"{key}.data_root: the data directory '{root}' does not exist (looked for "
                    f"{osp.abspath(root)}; paths in configs are relative to the directory the tool runs from, the "
                    f"repository root).{install_hint(root)} Otherwise put the data set there, {point}")
            if _local(root) and not os.listdir(root):
                raise PreflightError(
                    f"{key}.data_root: the data directory '{root}' is empty.{install_hint(root)} Otherwise put "
                    f"the data set there, {point}")
            _check_dataset_files(key, dataset, root, point)
            ann_file = dataset.get('ann_file')
            if _local(ann_file):
                path = ann_file if osp.isabs(ann_file) or not _local(root) else osp.join(root, ann_file)
                if not osp.exists(path):
                    raise PreflightError(
                        f"{key}.ann_file: the annotation file '{path}' does not exist. Set {key}.ann_file to the "
                        f"file (relative to {key}.data_root), e.g. --cfg-options {key}.ann_file=annotations.json.")


def _check_dataset_files(key: str, dataset: dict, root, point: str) -> None:
    """The files a data set reads from its root: mmpretrain's MNIST/CIFAR files, the ``data_prefix`` folders."""
    if not _local(root):
        return
    kind = str(dataset.get('type', '')).split('.')[-1]
    wanted = [] if dataset.get('download') else list(DATASET_FILES.get(kind, ()))
    prefix = dataset.get('data_prefix')
    if isinstance(prefix, dict):
        wanted += [p for p in prefix.values() if _local(p) and not osp.isabs(p)]
    elif _local(prefix) and not osp.isabs(prefix) and kind not in DATASET_FILES:
        wanted.append(prefix)
    missing = [p for p in wanted if not osp.exists(osp.join(root, p))]
    if missing:
        raise PreflightError(
            f"{key}: the data directory '{root}' lacks {', '.join(missing)}, which {kind or 'the data set'} "
            f"reads.{install_hint(root)} Otherwise put the data set there, {point}")


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


def check_teacher_checkpoints(cfg: Config) -> None:
    """Every local teacher checkpoint of a distiller config must exist; the error lists all missing ones.

    Raises:
        PreflightError: One or more ``model.teachers[i].checkpoint`` files do not exist.
    """
    model = cfg.get('model') or {}
    if 'MultiTeacherDistiller' not in str(model.get('type', '')):
        return
    missing = []
    for i, teacher in enumerate(model.get('teachers') or []):
        checkpoint = teacher.get('checkpoint') if isinstance(teacher, dict) else None
        if _local(checkpoint) and not osp.isfile(checkpoint):
            name = teacher.get('name') or osp.splitext(osp.basename(str(teacher.get('config', ''))))[0]
            missing.append((i, name, checkpoint, teacher.get('config')))
    if not missing:
        return
    lines = [f"  model.teachers[{i}].checkpoint ({name}): '{path}'" for i, name, path, _ in missing]
    trains = [f'  python tools/train.py {config}' for _, _, _, config in missing if isinstance(config, str)]
    raise PreflightError(
        f'{len(missing)} of {len(model.teachers)} teacher checkpoints do not exist:\n' + '\n'.join(lines)
        + '\nTrain each teacher first and set its checkpoint (--cfg-options model.teachers.<i>.checkpoint=PATH)'
        + (', e.g.:\n' + '\n'.join(trains) if trains else '')
        + '\nFor a quick check of the pipeline without trained teachers, python tools/misc/random_teachers.py '
          'writes randomly initialised ones (see docs/user_guides/writing_configs.md).')
