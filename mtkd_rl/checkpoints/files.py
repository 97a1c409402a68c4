"""Checkpoint files: which a directory holds, whether one can be read, and reading one with a clear error."""
import os
import os.path as osp
import re
import zipfile
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import torch

#: The names mmengine's CheckpointHook gives its checkpoints by default.
CHECKPOINT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
#: A replacement field of a ``str.format`` template, such as ``{}`` or ``{:03d}``.
FORMAT_FIELD = re.compile(r'\{[^{}]*\}')


class CheckpointError(ValueError):
    """A checkpoint that cannot be used as asked. The message names the file and the fix."""


@dataclass(frozen=True)
class CheckpointNames:
    """The file names of a run's checkpoints: mmengine's defaults (``epoch_N.pth``, ``iter_N.pth``) and the
    names that CheckpointHook's ``filename_tmpl`` gives, where the config sets one.

    Attributes:
        filename_tmpl: ``default_hooks.checkpoint.filename_tmpl`` (e.g. ``'ckpt_{}.pth'``), or None.
        by: What the template's number counts: ``'epoch'`` or ``'iter'`` (the hook's ``by_epoch``).
    """
    filename_tmpl: Optional[str] = None
    by: str = 'epoch'

    def __post_init__(self) -> None:
        if self.filename_tmpl is not None and len(FORMAT_FIELD.findall(self.filename_tmpl)) != 1:
            raise CheckpointError(
                f"default_hooks.checkpoint.filename_tmpl '{self.filename_tmpl}' must hold one {{}} for the epoch "
                f"or iteration number (CheckpointHook formats it with that number alone), e.g. 'ckpt_{{}}.pth'")

    @property
    def pattern(self) -> Optional['re.Pattern[str]']:
        """The custom names, with the number as group 1, or None without ``filename_tmpl``."""
        if self.filename_tmpl is None:
            return None
        parts = FORMAT_FIELD.split(self.filename_tmpl)
        return re.compile('^' + r'(\d+)'.join(re.escape(p) for p in parts) + '$')

    def match(self, name: str) -> Optional[Tuple[str, int]]:
        """``(by, step)`` for a checkpoint's file name, or None for another file."""
        match = CHECKPOINT_NAME.match(name)
        if match:
            return match.group(1), int(match.group(2))
        custom = self.pattern
        match = custom.match(name) if custom is not None else None
        return (self.by, int(match.group(1))) if match else None

    def describe(self) -> str:
        """``epoch_*.pth, iter_*.pth`` and the custom names as a glob, for messages."""
        custom = f', {FORMAT_FIELD.sub("*", self.filename_tmpl)}' if self.filename_tmpl is not None else ''
        return f'epoch_*.pth, iter_*.pth{custom}'


@dataclass(frozen=True)
class CheckpointFile:
    """A checkpoint that mmengine's CheckpointHook saved in a directory.

    Attributes:
        path: The file's path.
        by: ``'epoch'`` for ``epoch_N.pth``, ``'iter'`` for ``iter_N.pth`` (for a custom name: what its
            number counts).
        step: ``N``, the epoch or iteration after which it was saved.
    """
    path: str
    by: str
    step: int

    @property
    def name(self) -> str:
        return osp.basename(self.path)


def list_checkpoints(directory: str, naming: CheckpointNames = CheckpointNames()) -> List[CheckpointFile]:
    """The checkpoint files in ``directory`` (``epoch_N.pth``, ``iter_N.pth`` and the names of ``naming``'s
    template), oldest first within each kind.

    Args:
        directory: A work dir (a missing one holds no checkpoints).
        naming: The run's checkpoint names.

    Returns:
        The checkpoints sorted by kind, then by step.
    """
    if not osp.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = naming.match(name)
        if match and osp.isfile(osp.join(directory, name)):
            found.append(CheckpointFile(osp.join(directory, name), *match))
    return sorted(found, key=lambda c: (c.by, c.step, c.name))


def names(checkpoints: List[CheckpointFile]) -> str:
    """``epoch_1.pth, epoch_2.pth``: the file names, for messages."""
    return ', '.join(c.name for c in checkpoints) or 'none'


def damage(path: str) -> Optional[str]:
    """Why ``path`` is not a whole torch checkpoint (missing, empty, truncated, corrupted), or None.

    torch saves a zip archive whose directory is written last, so a truncated file is no longer a zip; the
    entries of a whole archive are checked against their CRCs.

    Args:
        path: A local file.

    Returns:
        A short reason, or None when the file is whole.
    """
    if not osp.isfile(path):
        return 'no such file'
    if osp.getsize(path) == 0:
        return 'an empty file'
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            return f'a damaged zip archive ({error})'
        return None if bad is None else f'the entry {bad} fails its CRC check'
    try:  # not a zip: a truncated archive, or torch's legacy format
        _load(path, mmap=False)
    except Exception as error:  # whatever torch raises, the file cannot be read
        return _first_line(error)
    return None


def newest_intact(directory: str, exclude: Optional[str] = None,
                  naming: CheckpointNames = CheckpointNames()) -> Optional[CheckpointFile]:
    """The newest whole checkpoint of ``directory`` named as ``naming`` says, other than ``exclude`` (by step,
    and by file time between epoch and iteration checkpoints), or None."""
    candidates = [c for c in list_checkpoints(directory, naming)
                  if exclude is None or osp.abspath(c.path) != osp.abspath(exclude)]
    one_kind = len({c.by for c in candidates}) == 1

    def age(c: CheckpointFile) -> tuple:
        return (c.step, osp.getmtime(c.path)) if one_kind else (osp.getmtime(c.path), c.step)

    candidates.sort(key=age, reverse=True)
    for candidate in candidates:
        if damage(candidate.path) is None:
            return candidate
    return None


def unreadable_message(path: str, problem: str) -> str:
    """The message for a checkpoint that cannot be read: the file, torch's reason and the newest intact
    checkpoint next to it."""
    intact = newest_intact(osp.dirname(osp.abspath(path)), exclude=path)
    where = (f'The newest intact checkpoint next to it is {intact.path}.' if intact is not None else
             'No intact epoch_*.pth or iter_*.pth checkpoint is next to it.')
    return (f'the checkpoint {path} cannot be read: it is truncated or damaged (an interrupted save or copy?): '
            f'{problem}. {where}')


def read_checkpoint(path: str, mmap: bool = False) -> Dict[str, Any]:
    """``torch.load`` a local checkpoint onto the CPU; a missing or damaged file raises
    :class:`CheckpointError` naming it and the newest intact checkpoint next to it.

    Args:
        path: A local checkpoint file.
        mmap: Map the tensors instead of reading them (for a look at keys, shapes and meta).

    Returns:
        The checkpoint.
    """
    if not osp.isfile(path):
        raise CheckpointError(f'the checkpoint {path} does not exist')
    try:
        return _load(path, mmap=mmap and zipfile.is_zipfile(path))
    except Exception as error:
        problem = damage(path)
        if problem is None:  # a whole file, so the failure is not the file's
            raise
        raise CheckpointError(unreadable_message(path, problem)) from error


def _load(path: str, mmap: bool) -> Dict[str, Any]:
    # torch's weights-only default, with the allow-list for mmengine checkpoints that mtkd_rl registers
    return torch.load(path, map_location='cpu', mmap=mmap)


def _first_line(error: BaseException) -> str:
    """The error's type and first sentence (torch's explanations that follow are generic)."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    return f'{type(error).__name__}: {text.splitlines()[0].split(". ")[0].rstrip(".")}'
