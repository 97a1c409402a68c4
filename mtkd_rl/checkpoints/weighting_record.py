"""Which teacher weighting wrote a checkpoint, and the check that a resumed run continues with the same one.

A run resumed with another weighting than it was started with is a different experiment under the old name:
an MTKD-RL checkpoint resumed as AVER drops the agent, an AVER checkpoint resumed as MTKD-RL starts a fresh
agent half-way. ``TeacherWeightingHook`` records the weighting (its registered type and every option, defaults
filled in) in each checkpoint's ``meta``; for checkpoints saved before that record existed, the config that
mmengine saves in ``meta['cfg']`` tells the same.
"""
import inspect
import json
from typing import Any, Dict, Mapping, Optional

from mtkd_rl.registry import TEACHER_WEIGHTINGS
from .files import CheckpointError

#: The key of the record in a checkpoint's ``meta``.
META_KEY = 'teacher_weighting'
#: The constructor arguments the distiller fills in from the teacher pool; not options of a config.
_FILLED_IN = frozenset({'self', 'num_teachers', 'embedding_dims', 'summary_dims'})


def _plain(value: Any) -> Any:
    """Tuples as lists, config dicts as dicts: values that compare equal whether read from a config or JSON."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def weighting_record(weighting_cfg: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The weighting a config builds: ``dict(type=<short registered name>, options={...})``, every option of
    the weighting's constructor present, the config's value where it sets one, else the default.

    Args:
        weighting_cfg: ``model.weighting`` of a distiller config (None: the distiller's default, MTKD-RL).

    Returns:
        The record; an unregistered type is recorded as written, with the config's options.
    """
    cfg = dict(weighting_cfg or dict(type='MTKD-RL'))
    name = str(cfg.pop('type', 'MTKD-RL'))
    cfg.pop('_scope_', None)
    short = name.split('.', 1)[1] if name.startswith('mtkd_rl.') else name
    TEACHER_WEIGHTINGS.import_from_location()
    cls = TEACHER_WEIGHTINGS.module_dict.get(short)
    if cls is None:
        return dict(type=short, options=_plain(cfg))
    canonical = next(n for n, c in TEACHER_WEIGHTINGS.module_dict.items() if c is cls)
    options = {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()
               if p.name not in _FILLED_IN and p.default is not inspect.Parameter.empty
               and p.kind is not inspect.Parameter.VAR_KEYWORD}
    options.update(cfg)
    return dict(type=canonical, options=_plain(options))


def describe(record: Mapping[str, Any]) -> str:
    """``MTKD-RL(fusion='static', ...)``: a record as one line, for messages."""
    options = ', '.join(f'{k}={v!r}' for k, v in sorted(record.get('options', {}).items()))
    return f"{record['type']}({options})"


def recorded_weighting(checkpoint: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The weighting record of a checkpoint: its own, or one made from the config mmengine saved in it.

    Returns:
        The record, or None for a checkpoint without either (a plain model's, or one saved outside a Runner).
    """
    meta = checkpoint.get('meta') or {}
    if isinstance(meta.get(META_KEY), Mapping):
        return dict(meta[META_KEY])
    text = meta.get('cfg')
    if not isinstance(text, str):
        return None
    from mmengine.config import Config
    try:
        cfg = Config.fromstring(text, '.py')
    except Exception:  # a config that no longer parses (removed imports, moved files): nothing to compare
        return None
    model = cfg.get('model') or {}
    if 'MultiTeacherDistiller' not in str(model.get('type', '')):
        return None
    return weighting_record(model.get('weighting'))


def check_resume_weighting(checkpoint: Mapping[str, Any], weighting_cfg: Optional[Mapping[str, Any]],
                           path: str) -> None:
    """Raise if ``checkpoint`` was written with another weighting (type or options) than ``weighting_cfg``.

    Args:
        checkpoint: The checkpoint to resume (its ``meta`` is enough).
        weighting_cfg: ``model.weighting`` of the resumed run's config.
        path: The checkpoint's path, for the message.

    Raises:
        CheckpointError: Naming both weightings, the options that differ and the two ways on.
    """
    saved = recorded_weighting(checkpoint)
    if saved is None:
        return
    now = weighting_record(weighting_cfg)
    if json.dumps(saved, sort_keys=True, default=repr) == json.dumps(now, sort_keys=True, default=repr):
        return
    if saved['type'] != now['type']:
        what = f"model.weighting.type={now['type']!r}, but the checkpoint was written with {saved['type']!r}"
        same = f"model.weighting.type={saved['type']}"
    else:
        old, new = saved.get('options', {}), now.get('options', {})
        keys = sorted(k for k in set(old) | set(new) if old.get(k, '<unset>') != new.get(k, '<unset>'))
        what = ', '.join(f"model.weighting.{k}={new.get(k, '<unset>')!r} (the checkpoint: "
                         f"{old.get(k, '<unset>')!r})" for k in keys)
        same = ' '.join(f'model.weighting.{k}={old[k]!r}' for k in keys if k in old)
    raise CheckpointError(
        f'--resume {path}: this run sets {what}. The checkpoint was written by {describe(saved)}, this config '
        f'builds {describe(now)}; a resumed run must continue with the weighting it started with. Resume with '
        f'the same weighting (--cfg-options {same}), or start a new run from these weights with the new '
        f'weighting in a new work dir: --work-dir NEW_DIR --cfg-options load_from={path} (without --resume)')
