"""Convert a CIFAR teacher checkpoint of the CRD/RepDistiller code base into an mmpretrain checkpoint.

The CRD/RepDistiller training script saves ``{'epoch': ..., 'model': state_dict, 'best_acc': ...,
'optimizer': ...}`` (``torch.save``; a bare state dict and DataParallel's ``module.`` prefix are accepted too). The
backbones of ``mtkd_rl.models`` keep the published parameter names, so the conversion prefixes them with
``backbone.`` and renames the classifier (``fc``, ``linear``, ``classifier`` or ``classifier.0``) to ``head.fc``.
The result is checked key by key and shape by shape against the mmpretrain classifier the architecture names
(or the one ``--config`` builds), then written as ``{'state_dict': ..., 'meta': ...}``::

    python tools/model_converters/repdistiller_to_mmpretrain.py save/models/resnet32x4_vanilla/ckpt_epoch_240.pth \\
        resnet32x4.pth --arch resnet32x4 --config configs/cls/cifar100/teachers/resnet32x4_1xb64-240e_cifar100.py

``--arch`` takes the model names of the CRD/RepDistiller and MTKD-RL code (``resnet32x4``, ``wrn_40_2``,
``vgg13``, ``MobileNetV2``, ``ShuffleV2``, ``RegNetY_400MF``, ...; ``--list-archs`` prints them); without it the
architecture is found from the checkpoint's keys and shapes. Point a distiller config's teacher at the result:
``--cfg-options model.teachers.2.checkpoint=resnet32x4.pth``.
"""
import argparse
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

#: The CRD/RepDistiller (and MTKD-RL) model names: our backbone config, the head's input width and the name of
#: the published classifier module.
ARCHS: Dict[str, Tuple[dict, int, str]] = {
    **{f'resnet{d}': (dict(type='CIFARResNet', depth=d), 64, 'fc') for d in (8, 14, 20, 32, 44, 56, 110)},
    'resnet8x4': (dict(type='CIFARResNet', depth=8, stem_channels=32, widths=(64, 128, 256)), 256, 'fc'),
    'resnet32x4': (dict(type='CIFARResNet', depth=32, stem_channels=32, widths=(64, 128, 256)), 256, 'fc'),
    'wrn_16_1': (dict(type='CIFARWideResNet', depth=16, widen_factor=1), 64, 'fc'),
    'wrn_16_2': (dict(type='CIFARWideResNet', depth=16, widen_factor=2), 128, 'fc'),
    'wrn_40_1': (dict(type='CIFARWideResNet', depth=40, widen_factor=1), 64, 'fc'),
    'wrn_40_2': (dict(type='CIFARWideResNet', depth=40, widen_factor=2), 128, 'fc'),
    'wrn_28_4': (dict(type='CIFARWideResNet', depth=28, widen_factor=4), 256, 'fc'),
    **{f'vgg{d}': (dict(type='CIFARVGG', depth=d), 512, 'classifier') for d in (8, 11, 13, 16, 19)},
    # the zoo's 'MobileNetV2' is mobile_half (expansion 6, width 0.5); 'mobilenetv2' the full-width network
    'MobileNetV2': (dict(type='CIFARMobileNetV2', widen_factor=0.5), 1280, 'classifier.0'),
    'mobilenetv2': (dict(type='CIFARMobileNetV2', widen_factor=1.0), 1280, 'classifier.0'),
    'ShuffleV1': (dict(type='CIFARShuffleNetV1'), 960, 'linear'),
    'ShuffleV2': (dict(type='CIFARShuffleNetV2', widen_factor=1.0), 1024, 'linear'),
    'RegNetX_200MF': (dict(type='CIFARRegNet', arch='regnetx_200mf'), 368, 'linear'),
    'RegNetX_400MF': (dict(type='CIFARRegNet', arch='regnetx_400mf'), 384, 'linear'),
    'RegNetY_400MF': (dict(type='CIFARRegNet', arch='regnety_400mf'), 384, 'linear'),
}
#: Other spellings of the same models (the zoo's ``vgg8_bn`` is its ``vgg8``, ...).
ALIASES = {**{f'vgg{d}_bn': f'vgg{d}' for d in (8, 11, 13, 16, 19)}, 'mobile_half': 'MobileNetV2',
           'ShuffleNetV1': 'ShuffleV1', 'ShuffleNetV2': 'ShuffleV2'}


class ConversionError(Exception):
    """The checkpoint cannot be converted (unknown architecture, keys or shapes that do not match)."""


def resolve_arch(arch: str) -> str:
    """The :data:`ARCHS` key of ``arch`` (an alias allowed).

    Raises:
        ConversionError: If the architecture is unknown.
    """
    name = ALIASES.get(arch, arch)
    if name not in ARCHS:
        raise ConversionError(f"unknown architecture '{arch}'; known: {', '.join(sorted(ARCHS))} "
                              f"(and {', '.join(sorted(ALIASES))})")
    return name


def classifier_config(arch: str, num_classes: int) -> dict:
    """The mmpretrain ``ImageClassifier`` config of ``arch`` with a ``num_classes``-way linear head."""
    backbone, in_channels, _ = ARCHS[resolve_arch(arch)]
    return dict(type='ImageClassifier', backbone=dict(backbone), neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=in_channels))


def read_source(path: str) -> Tuple[Dict[str, torch.Tensor], dict]:
    """The model state dict of a CRD/RepDistiller checkpoint and what else it records (epoch, accuracy).

    Raises:
        ConversionError: If the file holds no state dict of tensors.
    """
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:  # noqa: BLE001 - reported with the path and a hint
        raise ConversionError(f"'{path}' could not be read as a weights-only PyTorch checkpoint "
                              f'({type(error).__name__}: {error})') from error
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get('model'), dict):
        state = checkpoint['model']
    elif isinstance(checkpoint, dict) and isinstance(checkpoint.get('state_dict'), dict):
        state = checkpoint['state_dict']
    else:
        state = checkpoint
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        keys = sorted(checkpoint)[:8] if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise ConversionError(f"'{path}' holds no model state dict: expected {{'model': state_dict, ...}} as the "
                              f'CRD/RepDistiller code saves it, or a bare state dict; found {keys}')
    if all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    info = {}
    if isinstance(checkpoint, dict):
        for key in ('epoch', 'best_acc', 'accuracy'):
            value = checkpoint.get(key)
            if isinstance(value, torch.Tensor) and value.numel() == 1:
                value = value.item()
            if isinstance(value, (int, float)):
                info[key] = value
    return state, info


def rename(state: Dict[str, torch.Tensor], arch: str) -> 'OrderedDict[str, torch.Tensor]':
    """Published names to mmpretrain's: the classifier to ``head.fc.*``, the rest under ``backbone.``.

    Raises:
        ConversionError: If the checkpoint has no classifier of the architecture's name.
    """
    _, _, classifier = ARCHS[resolve_arch(arch)]
    head_keys = {f'{classifier}.weight', f'{classifier}.bias'}
    if not head_keys <= set(state):
        raise ConversionError(f"the checkpoint has no {' and '.join(sorted(head_keys - set(state)))}: "
                              f"it is not a '{arch}' of the CRD/RepDistiller code (the architecture's classifier "
                              f"is '{classifier}')")
    out = OrderedDict()
    for key, value in state.items():
        if key in head_keys:
            out[f'head.fc.{key.rsplit(".", 1)[1]}'] = value
        else:
            out[f'backbone.{key}'] = value
    return out


def expected_state(model_cfg: dict) -> Dict[str, torch.Size]:
    """Key -> shape of the state dict of the mmpretrain model ``model_cfg`` (built on the CPU, no weights)."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import mtkd_rl.models  # noqa: F401  (registers the CIFAR backbones)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    return {k: v.shape for k, v in model.state_dict().items()}


def mismatches(state: Dict[str, torch.Tensor], expected: Dict[str, torch.Size]) -> List[str]:
    """What keeps ``state`` from loading strictly into a model with ``expected`` keys and shapes."""
    problems = []
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if tuple(state[k].shape) != tuple(expected[k]))
    if missing:
        problems.append(f'{len(missing)} missing keys (e.g. {", ".join(missing[:3])})')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected keys (e.g. {", ".join(unexpected[:3])})')
    if wrong:
        problems += [f'{k}: {tuple(state[k].shape)} in the checkpoint, {tuple(expected[k])} in the model'
                     for k in wrong[:3]]
        if len(wrong) > 3:
            problems.append(f'and {len(wrong) - 3} more tensors of another shape')
    return problems


def _num_classes(state: Dict[str, torch.Tensor], arch: str) -> int:
    return int(state[f'{ARCHS[resolve_arch(arch)][2]}.weight'].shape[0])


def detect_arch(state: Dict[str, torch.Tensor]) -> str:
    """The architecture whose model matches the checkpoint's keys and shapes exactly.

    Raises:
        ConversionError: If none or several match.
    """
    found = []
    for arch, (_, _, classifier) in ARCHS.items():
        if f'{classifier}.weight' not in state or f'{classifier}.bias' not in state:
            continue
        expected = expected_state(classifier_config(arch, _num_classes(state, arch)))
        if not mismatches(rename(state, arch), expected):
            found.append(arch)
    if len(found) != 1:
        raise ConversionError('the checkpoint matches ' + (f'several architectures ({", ".join(found)})'
                                                            if found else 'none of the known architectures') +
                              ': give --arch')
    return found[0]


def convert(src: str, dst: str, arch: Optional[str] = None, config: Optional[str] = None) -> dict:
    """Convert ``src`` (CRD/RepDistiller layout) to an mmpretrain checkpoint at ``dst``.

    Args:
        src: The source checkpoint.
        dst: Where to write ``{'state_dict': ..., 'meta': ...}``.
        arch: The source's model name (see :data:`ARCHS`); found from the checkpoint if None.
        config: An mmpretrain config whose ``model`` must load the result strictly (checked); by default the
            architecture's classifier with as many classes as the checkpoint.

    Returns:
        The written checkpoint.

    Raises:
        ConversionError: For an unknown architecture, or keys or shapes that do not match.
    """
    state, info = read_source(src)
    arch = resolve_arch(arch) if arch is not None else detect_arch(state)
    converted = rename(state, arch)
    if config is not None:
        from mmengine.config import Config
        model_cfg = Config.fromfile(config).model
        model_cfg = model_cfg.to_dict() if hasattr(model_cfg, 'to_dict') else dict(model_cfg)
        model_cfg.pop('data_preprocessor', None)
        target = f"the model of '{config}'"
    else:
        model_cfg = classifier_config(arch, _num_classes(state, arch))
        target = f"mtkd_rl's '{arch}'"
    problems = mismatches(converted, expected_state(model_cfg))
    if problems:
        raise ConversionError(f"'{src}' read as a CRD/RepDistiller '{arch}' does not match {target}: "
                              + '; '.join(problems))
    checkpoint = dict(state_dict=converted,
                      meta=dict(source=osp.abspath(src), source_arch=arch, converter=osp.basename(__file__),
                                **info))
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    partial = f'{dst}.partial'
    torch.save(checkpoint, partial)
    os.replace(partial, dst)
    return checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', nargs='?', help='CRD/RepDistiller checkpoint ({"model": state_dict, ...})')
    parser.add_argument('dst', nargs='?', help='output mmpretrain checkpoint')
    parser.add_argument('--arch', help='the model name in the CRD/RepDistiller code, e.g. resnet32x4 '
                                       '(found from the checkpoint if omitted)')
    parser.add_argument('--config', help='an mmpretrain config whose model must load the result (checked)')
    parser.add_argument('--list-archs', action='store_true', help='print the known architectures and exit')
    args = parser.parse_args()
    if args.list_archs:
        for name, (backbone, _, classifier) in ARCHS.items():
            print(f'{name:15s} {backbone}  (classifier: {classifier})')
        return
    if not args.src or not args.dst:
        parser.error('give SRC and DST')
    if osp.exists(args.dst) and osp.exists(args.src) and osp.samefile(args.src, args.dst):
        parser.error('DST is SRC: give another output path')
    try:
        checkpoint = convert(args.src, args.dst, args.arch, args.config)
    except ConversionError as error:
        sys.exit(f'repdistiller_to_mmpretrain.py: error: {error}')
    print(f"wrote {len(checkpoint['state_dict'])} tensors of '{checkpoint['meta']['source_arch']}' to {args.dst}")


if __name__ == '__main__':
    main()
