"""Loading frozen teachers from a config and a checkpoint."""
import difflib
import os.path as osp
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader


#: The keys of one entry of ``model.teachers``.
TEACHER_KEYS = ('config', 'checkpoint', 'name')
#: Names users give these keys by habit.
_KEY_ALIASES = {'ckpt': 'checkpoint', 'weights': 'checkpoint', 'pretrained': 'checkpoint', 'load_from': 'checkpoint',
                'cfg': 'config', 'config_file': 'config', 'model': 'config', 'type': 'config'}


def _close_key(key: str) -> Optional[str]:
    """The teacher key a misspelt or habitual ``key`` most likely means, or None."""
    if not isinstance(key, str):
        return None
    if key.lower() in _KEY_ALIASES:
        return _KEY_ALIASES[key.lower()]
    close = difflib.get_close_matches(key.lower(), TEACHER_KEYS, n=1, cutoff=0.5)
    return close[0] if close else None


def _is_url(path: str) -> bool:
    return path.startswith(('http://', 'https://', 's3://', 'torchvision://', 'open-mmlab://', 'openmmlab://',
                            'mmcls://', 'modelzoo://'))


def load_teacher_config(config, key: str) -> Config:
    """Read a teacher's config: a file path, a ``package::path`` (e.g. ``mmpretrain::resnet/...py``), or a
    full config dict with a ``model`` key."""
    if isinstance(config, dict):
        return Config(config)
    if not isinstance(config, str):
        raise TypeError(f'{key}.config must be a config file path or dict, got {type(config).__name__}')
    try:
        if '::' in config:
            from mmengine.hub import get_config
            return get_config(config)
        return Config.fromfile(config)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{key}.config: '{config}' was not found ({e}). Give a config file path "
                                f"relative to the working directory or a packaged one such as "
                                f"'mmpretrain::resnet/resnet50_8xb32_in1k.py'.") from None


def teacher_name(cfg: dict, index: int) -> str:
    """A teacher's name: its ``name``, else its config file's name, else ``teacher<index>``."""
    return cfg.get('name') or (osp.splitext(osp.basename(cfg['config']))[0]
                               if isinstance(cfg.get('config'), str) else f'teacher{index}')


def load_teacher(cfg: dict, index: int) -> Tuple[str, nn.Module]:
    """Build teacher ``index`` of ``model.teachers`` and load its checkpoint.

    Args:
        cfg: ``dict(config=..., checkpoint=..., name=None)``.
        index: Position in ``model.teachers``, used in error messages.

    Returns:
        The teacher's name and the frozen module in eval mode.
    """
    key = f'model.teachers[{index}]'
    usage = "dict(config='path/or/pkg::config.py', checkpoint='path or URL', name='optional')"
    if not isinstance(cfg, dict):
        raise ValueError(f'{key} must be {usage}, got {cfg!r}')
    unknown = sorted(set(cfg) - set(TEACHER_KEYS))
    if unknown:
        hints = [f"'{k}' (did you mean '{_close_key(k)}'?)" if _close_key(k) else f"'{k}'" for k in unknown]
        raise ValueError(f"{key} has unknown key{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; a teacher "
                         f"is {usage}")
    if 'config' not in cfg or 'checkpoint' not in cfg:
        missing = [k for k in ('config', 'checkpoint') if k not in cfg]
        raise ValueError(f'{key} has no {" and no ".join(missing)}: it must be {usage}, got {cfg!r}')
    teacher_cfg = load_teacher_config(cfg['config'], key)
    if 'model' not in teacher_cfg:
        raise ValueError(f"{key}.config has no 'model' key: point it at a full training config of the teacher")
    name = teacher_name(cfg, index)
    model_cfg = teacher_cfg.model
    if model_cfg.get('data_preprocessor') is None and teacher_cfg.get('data_preprocessor') is not None:
        # mmpretrain configs keep it at the top level, where the Runner merges it into the model
        model_cfg = dict(model_cfg, data_preprocessor=teacher_cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(teacher_cfg.get('default_scope')):
        model = MMENGINE_MODELS.build(model_cfg)
    _load_weights(model, cfg['checkpoint'], f'{key}.checkpoint')
    model.eval()
    model.requires_grad_(False)
    return name, model


def _load_weights(model: nn.Module, checkpoint: str, key: str) -> None:
    if not isinstance(checkpoint, str) or not checkpoint:
        raise ValueError(f'{key} must be a checkpoint path or URL, got {checkpoint!r}')
    if not _is_url(checkpoint) and not osp.isfile(checkpoint):
        raise FileNotFoundError(f"{key}: '{checkpoint}' does not exist. Train the teacher first (python "
                                f"tools/train.py <teacher config>) and set {key} to its checkpoint, or give "
                                f"the model-zoo URL.")
    try:
        ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    except Exception as e:  # noqa: BLE001 - any reader failure becomes a config error
        hint = ('download it on a machine with internet access and set the local path'
                if _is_url(checkpoint) else 'check that the file is a complete PyTorch checkpoint')
        raise RuntimeError(f"{key}: '{checkpoint}' could not be read ({type(e).__name__}: {e}); {hint}.") from e
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RuntimeError(f"{key}: '{checkpoint}' holds no state_dict of tensors")
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    if state and all(k.startswith('student.') for k in state if not k.startswith('connectors.')):
        state = {k[len('student.'):]: v for k, v in state.items() if k.startswith('student.')}
    fix = 'Pair each teacher config with its own checkpoint.'
    own = model.state_dict()
    wrong_shape = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if wrong_shape:
        k = wrong_shape[0]
        raise RuntimeError(f"{key}: '{checkpoint}' does not match the teacher's config: {len(wrong_shape)} "
                           f"tensors differ in shape, e.g. {k} is {tuple(state[k].shape)} in the checkpoint and "
                           f"{tuple(own[k].shape)} in the model. {fix}")
    incompatible = model.load_state_dict(state, strict=False)
    missing, unexpected = incompatible.missing_keys, incompatible.unexpected_keys
    if missing or unexpected:
        raise RuntimeError(f"{key}: '{checkpoint}' does not match the teacher's config: missing keys "
                           f"{missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected keys "
                           f"{unexpected[:5]}{'...' if len(unexpected) > 5 else ''}. {fix}")


def input_normalisation(model: nn.Module) -> Optional[dict]:
    """How ``model``'s data preprocessor normalises images: mean, std and channel swap (None if it does not)."""
    preprocessor = getattr(model, 'data_preprocessor', None)
    mean, std = getattr(preprocessor, 'mean', None), getattr(preprocessor, 'std', None)
    if not isinstance(mean, torch.Tensor) or not isinstance(std, torch.Tensor):
        return None
    swap = getattr(preprocessor, 'to_rgb', None)
    if swap is None:
        swap = getattr(preprocessor, '_channel_conversion', False)
    return dict(mean=[round(float(v), 3) for v in mean.flatten()],
                std=[round(float(v), 3) for v in std.flatten()],
                channel_swap=bool(swap))


def input_channels(model: nn.Module) -> Optional[int]:
    """The number of image channels ``model``'s first 2-D convolution (its stem) takes, or None."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return int(conv.in_channels) if conv is not None else None
