"""What ``tools/train.py`` starts from, so that no checkpoint a user trained is overwritten or deleted.

mmengine resumes ``--resume`` without a path from the work dir's ``last_checkpoint`` file only, and trains
from scratch when that file is missing; a new run then saves over the old run's ``epoch_N.pth`` and its
``max_keep_ckpts`` deletes the rest. These checks run before the Runner is built.
"""
import os.path as osp
from dataclasses import dataclass
from typing import List, Tuple

from mmengine.config import Config

from .files import (CheckpointError, CheckpointFile, CheckpointNames, damage, list_checkpoints, names,
                    newest_intact, read_checkpoint)
from .weighting_record import check_resume_weighting

#: mmengine's file naming the newest checkpoint of a run.
LAST_CHECKPOINT = 'last_checkpoint'


@dataclass(frozen=True)
class ResumePlan:
    """Where a resumed run continues from.

    Attributes:
        checkpoint: The checkpoint to resume (to set as ``cfg.load_from`` with ``cfg.resume=True``).
        note: One line for the log: which checkpoint and why.
    """
    checkpoint: str
    note: str


def checkpoint_dir(cfg: Config) -> str:
    """The directory the run's CheckpointHook saves into: the work dir, or ``out_dir/<work dir name>``."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    out_dir = hook.get('out_dir')
    if out_dir is None:
        return cfg.work_dir
    return osp.join(out_dir, osp.basename(osp.normpath(cfg.work_dir)))


def checkpoint_names(cfg: Config) -> CheckpointNames:
    """How the run's CheckpointHook names its files: mmengine's defaults and ``filename_tmpl``, if set."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    return CheckpointNames(hook.get('filename_tmpl'), 'epoch' if hook.get('by_epoch', True) else 'iter')


def check_new_run(cfg: Config) -> None:
    """A run that does not resume must not start where an earlier run left checkpoints (it would save over
    them and delete them).

    Raises:
        CheckpointError: The checkpoint dir holds ``epoch_*.pth`` or ``iter_*.pth`` files, or files named by
            ``default_hooks.checkpoint.filename_tmpl``.
    """
    directory = checkpoint_dir(cfg)
    existing = list_checkpoints(directory, checkpoint_names(cfg))
    if existing:
        raise CheckpointError(
            f'the work dir {directory} holds checkpoints of an earlier run ({names(existing)}), which a new run '
            f'would overwrite. Continue that run with --resume, or start the new one in another directory: '
            f'--work-dir NEW_DIR (or move those files away first).')


def plan_resume(cfg: Config) -> ResumePlan:
    """Choose and check the checkpoint that a resumed run continues from.

    With ``cfg.load_from`` unset (``--resume`` without a path) this is the checkpoint named by the work dir's
    ``last_checkpoint`` file or, without that file, the newest ``epoch_N.pth`` / ``iter_N.pth`` there. The
    checkpoint must read, and the checkpoint dir must hold no newer checkpoint, which the resumed run would
    overwrite; a checkpoint from elsewhere may only be resumed into a directory without checkpoints.

    Args:
        cfg: The run's config, with ``work_dir``, ``resume`` and ``load_from`` set as the Runner will use them.

    Returns:
        The checkpoint and a line for the log.

    Raises:
        CheckpointError: Nothing to resume, an unreadable checkpoint, or one that resuming would overwrite.
    """
    directory = checkpoint_dir(cfg)
    naming = checkpoint_names(cfg)
    existing = list_checkpoints(directory, naming)
    if cfg.get('load_from'):
        path, note = cfg.load_from, f'resuming from {cfg.load_from} (given)'
    else:
        path, note = _latest(cfg.work_dir, directory, existing, naming)
    if '://' in path:  # a URL: mmengine downloads it, and there is nothing local to check
        return ResumePlan(path, note)
    if not osp.isfile(path):
        raise CheckpointError(f'--resume {path}: no such file')
    problem = damage(path)
    if problem is not None:
        raise CheckpointError(_unreadable(path, problem, directory, existing, naming))
    checkpoint = read_checkpoint(path, mmap=True)
    meta = checkpoint.get('meta') or {}
    if 'MultiTeacherDistiller' in str((cfg.get('model') or {}).get('type', '')):
        check_resume_weighting(checkpoint, cfg.model.get('weighting'), path)
    newer = _newer_than(existing, path, meta)
    if newer:
        newest = existing[-1].path if len({c.by for c in existing}) == 1 else None
        if newest and cfg.get('load_from'):
            instead = f'Resume the newest one instead (--resume without a path, or --resume {newest}), or'
        elif newest:  # --resume without a path is what chose this checkpoint: name the newest one
            instead = f'Resume the newest one instead (--resume {newest}), or'
        else:
            instead = 'Resume the newest one instead (--resume PATH), or'
        raise CheckpointError(
            f'--resume {path}: resuming from epoch {meta.get("epoch", "?")}, iteration {meta.get("iter", "?")} '
            f'would overwrite {names(newer)} in {directory}. {instead} continue from {osp.basename(path)} in '
            f'another directory: --resume {path} --work-dir NEW_DIR.')
    return ResumePlan(path, note)


def _latest(work_dir: str, directory: str, existing: List[CheckpointFile],
            naming: CheckpointNames) -> Tuple[str, str]:
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    stale = ''
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        # mmengine writes an absolute path: in a work dir that was moved or copied it names the old place, so
        # the file of that name in this checkpoint dir comes first
        local = osp.join(directory, osp.basename(named)) if named else ''
        if local and osp.isfile(local):
            moved = osp.abspath(named) != osp.abspath(local)
            why = f'{pointer} names {named}, read here as {local}' if moved else f'named by {pointer}'
            return local, f'resuming from {local} ({why})'
        if named and osp.isfile(named):
            return named, f'resuming from {named} (named by {pointer})'
        stale = f'{pointer} names {named or "nothing"}, which does not exist'
    if not existing:
        if not osp.isdir(work_dir):
            where = f'the work dir {work_dir} does not exist'
        else:
            where = (f'{directory} holds no checkpoint ({naming.describe()}) and '
                     + (stale if stale else f'no {LAST_CHECKPOINT} file'))
        raise CheckpointError(
            f'--resume: nothing to resume: {where}. Start a new run without --resume, pass the work dir of '
            f'the run to continue (--work-dir DIR), or the checkpoint itself (--resume PATH).')
    if len({c.by for c in existing}) > 1:
        raise CheckpointError(
            f'--resume: {directory} holds both epoch and iteration checkpoints ({names(existing)}) and '
            + (stale if stale else f'no {LAST_CHECKPOINT} file') + ', so the newest is unclear: pass it, '
            '--resume PATH.')
    newest = existing[-1]
    return newest.path, (f'resuming from {newest.path}, the newest checkpoint in {directory} '
                         f'({stale if stale else f"no {LAST_CHECKPOINT} file"})')


def _newer_than(existing: List[CheckpointFile], path: str, meta: dict) -> List[CheckpointFile]:
    """The checkpoints of ``existing`` that a run resumed from ``path`` would save over or delete."""
    if not existing or osp.dirname(osp.abspath(path)) != osp.dirname(osp.abspath(existing[0].path)):  # another run's checkpoints: any of them may be overwritten or deleted
        return list(existing)
    epoch, iteration = int(meta.get('epoch', 0)), int(meta.get('iter', 0))
    return [c for c in existing if c.step > (epoch if c.by == 'epoch' else iteration)]


def _unreadable(path: str, problem: str, directory: str, existing: List[CheckpointFile],
                naming: CheckpointNames) -> str:
    intact = newest_intact(directory, exclude=path, naming=naming)
    message = (f'--resume: the checkpoint {path} cannot be read: it is truncated or damaged (an interrupted '
               f'save or copy?): {problem}.')
    if intact is None:
        return message + f' {directory} holds no intact checkpoint to resume instead ({names(existing)}).'
    return (message + f' The newest intact checkpoint is {intact.path}. To continue from it, move the damaged '
            f'file aside (mv {path} {path}.damaged) and run with --resume again, or resume it into another '
            f'directory: --resume {intact.path} --work-dir NEW_DIR.')
