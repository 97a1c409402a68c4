"""Smoke tests of the cost benchmarks (tools/benchmarks/): distill_cost.py builds and runs every variant on
real models of a classification and a detection config; per_image_detection_loss.py times both per-image
detection loss paths and compares their values. No timing is asserted; timings belong to the printouts."""
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
    lo, hi = result['D_MTKD-RL/D_AVER quartiles']
    assert 0 < lo <= hi  # round-by-round spread of the ratio
    for name in VARIANTS:  # on the CPU the ratios come from CPU time; the wall clock is reported beside it
        assert result[name.replace(' ms', ' wall ms')] > 0, name


def test_benchmark_times_a_credit_measuring_step_and_its_amortised_cost():
    result = distill_cost.main([MTKDRL_CONFIG, '--batch-size', '4', '--input-size', '28', '28', '--rounds', '1',
                                '--warmup-rounds', '1', '--device', 'cpu', '--credit', '10'])
    assert result['D_credit ms'] > 0 and math.isfinite(result['D_credit/D_AVER'])
    expected = (result['D_MTKD-RL ms'] + (result['D_credit ms'] - result['D_MTKD-RL ms']) / 10) / result['D_AVER ms']
    assert result['credit every 10 steps/D_AVER'] == pytest.approx(expected)


def test_benchmark_times_mmkd_with_and_without_its_meta_step():
    result = distill_cost.main([MTKDRL_CONFIG, '--batch-size', '4', '--input-size', '28', '28', '--rounds', '1',
                                '--warmup-rounds', '1', '--device', 'cpu', '--mmkd', '5'])
    assert result['D_MMKD ms'] > 0 and result['D_MMKD_meta ms'] > 0 and math.isfinite(result['mmkd_update_ms'])
    expected = (result['D_MMKD ms'] + (result['D_MMKD_meta ms'] - result['D_MMKD ms']) / 5) / result['D_AVER ms']
    assert result['MMKD meta every 5 steps/D_AVER'] == pytest.approx(expected)


def test_benchmark_wall_clock_and_a_cpu_clock_refused_on_cuda():
    result = distill_cost.main([MTKDRL_CONFIG, '--batch-size', '2', '--input-size', '28', '28', '--rounds', '1',
                                '--warmup-rounds', '0', '--device', 'cpu', '--clock', 'wall'])
    assert result['S ms'] == result['S wall ms'] and result['D_AVER ms'] == result['D_AVER wall ms']
    with pytest.raises(ValueError, match='--clock wall'):
        distill_cost.main([MTKDRL_CONFIG, '--device', 'cuda', '--clock', 'cpu'])


def test_benchmark_runs_on_a_detection_pool():
    pytest.importorskip('mmdet')
    config = osp.join(REPO, 'configs', 'det', 'treecrown',
                      'mtkdrl_retinanet_mnv2-fpn32_treecrown-mnv2pool2_1xb4-60e_treecrown-320.py')
    result = distill_cost.main([config, '--batch-size', '2', '--input-size', '128', '128', '--rounds', '1',
                                '--warmup-rounds', '1', '--device', 'cpu', '--every-term'])
    assert all(result[name] > 0 for name in VARIANTS + ('D_AVER_every ms', ))
    assert math.isfinite(result['D_AVER/D_AVER_every'])
    assert math.isfinite(result['agent_update_ms'])


@pytest.mark.parametrize('teacher', ['fcos_r18_fpn_1xb4-24e_treecrown-320.py',
                                     'retinanet_r18_fpn_1xb4-24e_treecrown-320.py', 'mmdet::atss'])
def test_per_image_detection_loss_benchmark_compares_equal_values(teacher):
    """The per-image detection loss benchmark times both paths and finds them equal (FCOS, RetinaNet and ATSS
    heads)."""
    mmdet = pytest.importorskip('mmdet')
    import per_image_detection_loss
    if teacher == 'mmdet::atss':
        config = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'atss', 'atss_r50_fpn_1x_coco.py')
    else:
        config = osp.join(REPO, 'configs', 'det', 'treecrown', 'teachers', teacher)
    result = per_image_detection_loss.main([config, '--batch-size', '2', '--input-size', '128', '128',
                                            '--rounds', '1', '--device', 'cpu'])
    assert result['per-image loss_by_feat ms'] > 0 and result['batched ms'] > 0
    assert math.isfinite(result['batched/per-image'])
    assert result['max relative difference'] < 1e-5
