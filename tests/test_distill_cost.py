"""Smoke test of the cost benchmark (tools/benchmarks/distill_cost.py): it builds and runs every variant on
real models of a classification and a detection config. No timing is asserted; timings belong to its
printout."""
import math
import os.path as osp
import sys

import pytest

from conftest import MTKDRL_CONFIG, REPO

sys.path.insert(0, osp.join(REPO, 'tools', 'benchmarks'))
import distill_cost  # noqa: E402

VARIANTS = ('S ms', 'T ms', 'F ms', 'D_AVER ms', 'D_MTKD-RL ms')


def test_benchmark_runs_every_variant_on_a_classification_pool():
    result = distill_cost.main([MTKDRL_CONFIG, '--batch-size', '4', '--input-size', '28', '28', '--rounds', '2',
                                '--warmup-rounds', '1', '--device', 'cpu', '--teacher-speedups'])
    for name in VARIANTS + ('T_fuse_conv_bn ms', 'T_bf16 ms', 'T_channels_last ms'):
        assert result[name] > 0, name
    for key in ('D_AVER/F', 'D_MTKD-RL/F', 'D_MTKD-RL/D_AVER time', 'T/F', 'T_fuse_conv_bn/T'):
        assert math.isfinite(result[key]), key
    assert math.isfinite(result['agent_update_ms'])  # MTKD-RL stored its transitions


def test_benchmark_runs_on_a_detection_pool():
    pytest.importorskip('mmdet')
    config = osp.join(REPO, 'configs', 'det', 'treecrown',
                      'mtkdrl_retinanet_mnv2-fpn32_treecrown-mnv2pool2_1xb4-60e_treecrown-320.py')
    result = distill_cost.main([config, '--batch-size', '2', '--input-size', '128', '128', '--rounds', '1',
                                '--warmup-rounds', '1', '--device', 'cpu', '--every-term'])
    assert all(result[name] > 0 for name in VARIANTS + ('D_AVER_every ms', ))
    assert math.isfinite(result['D_AVER/D_AVER_every'])
    assert math.isfinite(result['agent_update_ms'])
