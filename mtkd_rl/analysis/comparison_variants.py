"""The arms of a weighting comparison: variants parsed from the command line, and the config of each run.

A variant is ``NAME`` or ``NAME:key=value[,key=value]``: ``NAME`` is a registered teacher weighting (``AVER``,
``EBKD``, ``CA-MKD``, ``MTKD-RL``, ``ONES``, ...) and the pairs set ``model.weighting.<key>``. A variant of
another type than the config's weighting starts from ``dict(type=NAME)``, so keys of the config's weighting
(for example MTKD-RL's ``fusion``) do not reach it.

``KD:TEACHER`` is single-teacher distillation: the pool cut down to the teacher named ``TEACHER`` (its ``name``
in ``model.teachers``, or its index there), with AVER (a weight of one). It is what choosing one teacher gets,
the reference a weighting of the whole pool should reach.
"""
import ast
import copy
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Sequence, Union

from mmengine.config import Config

from mtkd_rl.distillers.teachers import teacher_name
from mtkd_rl.registry import TEACHER_WEIGHTINGS
from mtkd_rl.student import to_student_config

#: The name of the student-alone runs in tables and folders.
STUDENT_ALONE = 'student alone'
#: The prefix of a single-teacher arm: ``KD:<teacher name or index>``.
SINGLE_TEACHER = 'KD'
#: Keys the weighting's constructor receives from the distiller, not from the config.
_DISTILLER_ARGS = {'self', 'num_teachers', 'embedding_dims', 'summary_dims'}


@dataclass(frozen=True)
class Variant:
    """One arm of a comparison.

    Attributes:
        spec: The variant as written on the command line (its name in tables).
        weighting: The registered weighting type, or None for the student alone.
        options: ``model.weighting`` keys set by the variant.
        teacher: For a single-teacher arm, the teacher it keeps (its name, or its index in ``model.teachers``);
            None keeps the whole pool.
    """
    spec: str
    weighting: Optional[str] = None
    options: Dict[str, Any] = field(default_factory=dict)
    teacher: Optional[Union[str, int]] = None

    @property
    def slug(self) -> str:
        """A folder name for the variant's runs."""
        if self.weighting is None:
            return 'student_alone'
        return re.sub(r'[^A-Za-z0-9_.-]+', '_', self.spec.replace('=', '-').replace(':', '_'))


def _value(text: str) -> Any:
    """A Python literal, ``true``/``false`` in any case as a boolean (as ``--cfg-options`` reads them), else
    the text."""
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _check_values(spec: str, name: str, options: Dict[str, Any]) -> None:
    """Build the weighting once on a made-up pool of two teachers, so a bad value stops the comparison before
    any run (a run would stop on it only after its teachers are loaded)."""
    import torch
    cls = TEACHER_WEIGHTINGS.get(name)
    with torch.random.fork_rng(devices=[]):
        try:
            cls(num_teachers=2, embedding_dims=[1, 1], summary_dims=[1, 1], **options)
        except ValueError as error:
            raise ValueError(f"--weightings '{spec}': {error}") from None


def parse_variant(spec: str) -> Variant:
    """Parse ``NAME`` or ``NAME:key=value[,key=value]``; values are Python literals or plain strings.

    Args:
        spec: The variant, e.g. ``'MTKD-RL:fusion=dynamic'``.

    Returns:
        The variant. The weighting type and its keys are checked against the registry.

    Raises:
        ValueError: An unknown weighting, a pair that is not ``key=value``, a key the weighting does not take
            or a value it refuses, named with the variant.
    """
    name, _, rest = spec.partition(':')
    name = name.strip()
    if name == SINGLE_TEACHER:
        teacher = rest.strip()
        if not teacher or '=' in teacher or ',' in teacher:
            raise ValueError(f"--weightings: '{spec}' is a single-teacher arm; write KD:<teacher name or index in "
                             f"model.teachers>, e.g. 'KD:resnet18_w16' or 'KD:0'")
        return Variant(spec, 'AVER', {}, int(teacher) if teacher.isdigit() else teacher)
    TEACHER_WEIGHTINGS.import_from_location()
    if name not in TEACHER_WEIGHTINGS.module_dict:
        raise ValueError(f"--weightings: '{name}' (in '{spec}') is not a registered teacher weighting; choose one "
                         f'of {sorted(TEACHER_WEIGHTINGS.module_dict)}')
    options: Dict[str, Any] = {}
    for pair in filter(None, (p.strip() for p in rest.split(','))):
        key, sep, value = pair.partition('=')
        if not sep or not key.strip():
            raise ValueError(f"--weightings: '{pair}' in '{spec}' is not key=value; write e.g. "
                             f"'MTKD-RL:fusion=dynamic,update=surrogate'")
        options[key.strip()] = _value(value.strip())
    accepted = set(inspect.signature(TEACHER_WEIGHTINGS.get(name).__init__).parameters) - _DISTILLER_ARGS
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ValueError(f"--weightings: '{spec}' sets model.weighting.{unknown[0]}, which {name} does not take; "
                         f'its keys are {sorted(accepted) or "none"}')
    _check_values(spec, name, options)
    return Variant(spec, name, options)


def variant_weighting(base: Dict[str, Any], variant: Variant) -> Dict[str, Any]:
    """The ``model.weighting`` dict of a variant, given the config's own.

    The config's keys are kept when the variant has the same weighting class, dropped otherwise.

    Args:
        base: The config's ``model.weighting``.
        variant: A variant with a weighting (not the student alone).

    Returns:
        A new dict; ``base`` is not changed.
    """
    same = TEACHER_WEIGHTINGS.get(str(base.get('type'))) is TEACHER_WEIGHTINGS.get(variant.weighting)
    weighting = {k: v for k, v in base.items() if k != 'type'} if same else {}
    weighting.update(copy.deepcopy(variant.options))
    return dict(type=variant.weighting, **weighting)


def variant_config(cfg: Config, variant: Variant, seed: int) -> Config:
    """The config of one run: the distiller config with the variant's weighting (or its student alone), seeded.

    Args:
        cfg: A ``MultiTeacherDistiller`` config, with the comparison's ``--cfg-options`` already merged.
        variant: The arm.
        seed: The value of ``randomness.seed``.

    Returns:
        A new config; ``cfg`` is not changed.
    """
    cfg = copy.deepcopy(cfg)
    if variant.weighting is None:
        cfg = to_student_config(cfg)
    else:
        cfg.model.weighting = variant_weighting(dict(cfg.model.get('weighting') or {}), variant)
        if variant.teacher is not None:
            cfg.model.teachers = [single_teacher(cfg.model.teachers, variant)]
    cfg.randomness = dict(cfg.get('randomness', {}) or {}, seed=seed)
    return cfg


def single_teacher(teachers: Sequence[Dict[str, Any]], variant: Variant) -> Dict[str, Any]:
    """The entry of ``model.teachers`` a single-teacher arm keeps (by ``name``, or by index).

    Raises:
        ValueError: No teacher has that name or index; the message lists the pool.
    """
    names = [teacher_name(t, i) for i, t in enumerate(teachers)]
    if isinstance(variant.teacher, int):
        if 0 <= variant.teacher < len(teachers):
            return copy.deepcopy(teachers[variant.teacher])
    elif variant.teacher in names:
        return copy.deepcopy(teachers[names.index(variant.teacher)])
    raise ValueError(f"--weightings '{variant.spec}': model.teachers has no teacher {variant.teacher!r}; its teachers "
                     f'are {names} (or give an index from 0 to {len(teachers) - 1})')
