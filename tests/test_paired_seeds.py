"""Paired seeds: at one seed the student starts from the same weights whatever the teacher weighting."""
import pytest
import torch
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope
from mmengine.runner import set_random_seed

import mtkd_rl  # noqa: F401
from conftest import distiller_cfg

WEIGHTINGS = ['AVER', 'EBKD', 'CA-MKD', 'MTKD-RL', 'AEKD', 'MMKD']


def runner_build(teachers, weighting: str, seed: int):
    """What mmengine's Runner does before the first iteration: seed everything, build the model, then
    ``model.init_weights()``."""
    set_random_seed(seed)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MMENGINE_MODELS.build(distiller_cfg(teachers, weighting=dict(type=weighting)))
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def built(random_teachers):
    return {name: runner_build(random_teachers, name, seed=3) for name in WEIGHTINGS}


@pytest.mark.parametrize('weighting', WEIGHTINGS[1:])
def test_student_and_connectors_start_the_same_under_every_weighting(built, weighting):
    reference = built['AVER'].state_dict()
    ours = built[weighting].state_dict()
    assert list(ours) == list(reference)
    student = [k for k in reference if k.startswith('student.')]
    assert len(student) > 100 and any(k.startswith('connectors.') for k in reference)
    # the same computation from the same stream: bit-identical, not merely close
    differ = [k for k in reference if not torch.equal(ours[k], reference[k])]
    assert differ == [], f'{len(differ)} tensors differ from AVER under {weighting}: {differ[:5]}'


def test_the_global_stream_after_the_build_does_not_depend_on_the_weighting(built, random_teachers):
    draws = []
    for name in ('AVER', 'MTKD-RL'):
        runner_build(random_teachers, name, seed=5)
        draws.append(torch.rand(4))
    assert torch.equal(draws[0], draws[1])


def test_the_agent_init_is_deterministic_per_seed(built, random_teachers):
    again = runner_build(random_teachers, 'MTKD-RL', seed=3).weighting.state_dict()
    other = runner_build(random_teachers, 'MTKD-RL', seed=4).weighting.state_dict()
    first = built['MTKD-RL'].weighting.state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first['policy.hidden.weight'], other['policy.hidden.weight'])
