# Copyright (c) OpenMMLab-style tool for mtkd_rl.
"""Convert torchvision's MobileNetV2 ImageNet checkpoint to an mmdet ``MobileNetV2`` backbone checkpoint.

torchvision keys (``features.N...``) are renamed to mmdet's (``conv1``, ``layer1``..``layer7``, ``conv2``);
the classifier is dropped. The output is a checkpoint ``{'state_dict': ..., 'meta': ...}`` whose keys carry
the prefix ``backbone.`` (default), so a detector config loads it with::

    backbone=dict(type='MobileNetV2', ...,
                  init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint='data/pretrained/...pth'))

Usage: python tools/model_converters/torchvision_mobilenetv2_to_mmdet.py SRC.pth DST.pth [--prefix backbone.]
"""
import argparse
import os
from collections import OrderedDict

import torch

# (expand_ratio, num_blocks) per mmdet layer, same order as torchvision features.1..17
ARCH = [(1, 1), (6, 2), (6, 3), (6, 4), (6, 3), (6, 3), (6, 1)]
_BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def _conv_bn(out, src, tv_conv, tv_bn, mm):
    """Copy a conv (no bias) + BN pair from torchvision names to an mmcv ConvModule name ``mm``."""
    out[f'{mm}.conv.weight'] = src[f'{tv_conv}.weight']
    for k in _BN:
        if f'{tv_bn}.{k}' in src:
            out[f'{mm}.bn.{k}'] = src[f'{tv_bn}.{k}']


def convert(src):
    """Map a torchvision MobileNetV2 state dict to an mmdet MobileNetV2 state dict (no prefix)."""
    out = OrderedDict()
    _conv_bn(out, src, 'features.0.0', 'features.0.1', 'conv1')
    feat = 1
    for li, (t, n) in enumerate(ARCH, start=1):
        for b in range(n):
            tv, mm = f'features.{feat}.conv', f'layer{li}.{b}'
            # mmdet.models.layers.InvertedResidual: expand_conv (absent when t == 1), depthwise_conv,
            # linear_conv; torchvision: conv.0 (ConvBNReLU), [conv.1 (ConvBNReLU)], conv (linear), bn
            if t == 1:
                _conv_bn(out, src, f'{tv}.0.0', f'{tv}.0.1', f'{mm}.depthwise_conv')
                _conv_bn(out, src, f'{tv}.1', f'{tv}.2', f'{mm}.linear_conv')
            else:
                _conv_bn(out, src, f'{tv}.0.0', f'{tv}.0.1', f'{mm}.expand_conv')
                _conv_bn(out, src, f'{tv}.1.0', f'{tv}.1.1', f'{mm}.depthwise_conv')
                _conv_bn(out, src, f'{tv}.2', f'{tv}.3', f'{mm}.linear_conv')
            feat += 1
    _conv_bn(out, src, 'features.18.0', 'features.18.1', 'conv2')
    used = {k for k in src if k.startswith('features.')}
    n_src = sum(1 for k in used if not k.endswith('num_batches_tracked'))
    n_out = sum(1 for k in out if not k.endswith('num_batches_tracked'))
    if n_src != n_out:
        raise ValueError(f'converted {n_out} of {n_src} torchvision feature tensors: not a MobileNetV2 checkpoint?')
    return out


def load_torchvision(path):
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(ckpt, dict) and 'state_dict' in ckpt:
        ckpt = ckpt['state_dict']
    return ckpt


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='torchvision mobilenet_v2 checkpoint (e.g. mobilenet_v2-b0353104.pth)')
    parser.add_argument('dst', help='output mmdet checkpoint')
    parser.add_argument('--prefix', default='backbone.', help="key prefix (default 'backbone.'; '' for none)")
    args = parser.parse_args()
    state = convert(load_torchvision(args.src))
    state = OrderedDict((args.prefix + k, v) for k, v in state.items())
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    tmp = args.dst + '.tmp'
    torch.save({'state_dict': state, 'meta': dict(source=os.path.basename(args.src),
                                                  converter='torchvision_mobilenetv2_to_mmdet')}, tmp)
    os.replace(tmp, args.dst)
    print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
