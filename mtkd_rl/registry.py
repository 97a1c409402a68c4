"""Registries of mtkd_rl, children of mmengine's, so configs of any OpenMMLab toolbox can use them.

Under a config whose ``default_scope`` is mmpretrain, mmdet or mmseg, write the types the Runner builds with the
``mtkd_rl.`` prefix (``type='mtkd_rl.MultiTeacherDistiller'``, the hook, the loop, data samplers, transforms),
and the types the distiller builds (``model.task``, its losses, ``model.connector``, ``model.weighting``) without
it (``type='LogitKL'``). :func:`build` resolves those plain names whatever the scope, still accepts them with
the prefix, and leaves nested toolbox types (students, teachers) in the config's scope.
"""
from typing import Any, Optional

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

#: Distillers, task adapters, KD losses and connectors.
MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='mtkd_rl',
    locations=['mtkd_rl.distillers', 'mtkd_rl.tasks', 'mtkd_rl.losses', 'mtkd_rl.connectors'])

#: The hook that trains the teacher-weighting agent.
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mtkd_rl', locations=['mtkd_rl.hooks'])

#: Training loops (``train_cfg.type``).
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope='mtkd_rl', locations=['mtkd_rl.loops'])

#: Data transforms (``RemapLabels``, to train a teacher with another label order; ``SeededPipeline``).
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='mtkd_rl', locations=['mtkd_rl.datasets'])

#: Data samplers (``SeededAugmentSampler``: augmentation a resumed run repeats exactly).
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='mtkd_rl',
                         locations=['mtkd_rl.datasets'])

#: Teacher weightings (``AVER``, ``EBKD``, ``CA-MKD``, ``AEKD``, ``MMKD``, ``MTKD-RL``): a distiller's ``weighting``.
TEACHER_WEIGHTINGS = Registry('teacher weighting', scope='mtkd_rl', locations=['mtkd_rl.weighting'])


def build(cfg: dict, registry: Registry = MODELS, default_args: Optional[dict] = None,
          key: Optional[str] = None) -> Any:
    """Build ``cfg`` from ``registry``, accepting our types with or without the ``mtkd_rl.`` prefix.

    Args:
        cfg: A config dict with a ``type`` key.
        registry: The registry that holds the type.
        default_args: Arguments used where ``cfg`` does not set them.
        key: Where ``cfg`` sits in the config (e.g. ``'model.task.logit_loss'``): an option the component
            refuses (:class:`~mtkd_rl.options.OptionError`) is then named by its full config key.

    Returns:
        The built object.
    """
    if key is None:
        return _build(cfg, registry, default_args)
    from mtkd_rl.options import OptionError
    try:
        return _build(cfg, registry, default_args)
    except OptionError as error:
        raise error.under(key) from None


def _build(cfg: dict, registry: Registry, default_args: Optional[dict]) -> Any:
    cfg = dict(cfg)
    obj_type = cfg.get('type')
    if registry is TEACHER_WEIGHTINGS:
        # a registry of its own: build in our scope whatever the config's default_scope is
        cfg.setdefault('_scope_', registry.scope)
    elif isinstance(obj_type, str) and '.' not in obj_type:
        registry.import_from_location()
        if obj_type in registry.module_dict:
            cfg['type'] = f'{registry.scope}.{obj_type}'
    return registry.build(cfg, default_args=default_args)
