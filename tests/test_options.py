"""Config options are type-checked where they are built, with one error format that names the config key: a
string is not a boolean (``correctness_gate='no'`` used to turn the gate on), a choice is one of its values, a
number is finite and in range."""
import pytest
import torch
from mmengine.registry import HOOKS

import mtkd_rl  # noqa: F401
from mtkd_rl.options import OptionError, check_bool, check_choice, check_int, check_number, check_pair
from mtkd_rl.registry import MODELS, TEACHER_WEIGHTINGS, build


def mtkdrl(**options):
    return build(dict(type='MTKD-RL', **options), TEACHER_WEIGHTINGS,
                 default_args=dict(num_teachers=3, embedding_dims=[4, 4, 4], summary_dims=[2, 2, 2]),
                 key='model.weighting')


@pytest.mark.parametrize('value', ['no', 'false', 'False', 'yes', 0, 1, None, 1.0])
def test_check_bool_refuses_what_is_not_a_bool(value):
    with pytest.raises(OptionError, match=r"^model\.x must be True or False, got ") as error:
        check_bool(value, 'model.x')
    if isinstance(value, str):
        assert 'a string is not a boolean' in str(error.value)
    assert isinstance(error.value, ValueError) and isinstance(error.value, TypeError)


def test_check_bool_choice_int_number_pair_pass_good_values():
    assert check_bool(True, 'k') is True and check_bool(False, 'k') is False
    assert check_choice('static', ('static', 'dynamic'), 'k') == 'static'
    assert check_int(3, 'k', minimum=1) == 3
    assert check_number(2, 'k', minimum=0, min_inclusive=False) == 2.0
    assert check_pair((0.01, 1), 'k') == (0.01, 1.0)


@pytest.mark.parametrize('call,message', [
    (lambda: check_choice(1, ('a', 'b'), 'k'), "k must be one of 'a', 'b', got 1 (int)"),
    (lambda: check_choice(True, (True, 'x'), 'k'), "k must be one of True, 'x', got True (bool)"),
    (lambda: check_int(True, 'k', minimum=1), 'k must be an integer >= 1, got True (bool)'),
    (lambda: check_int(2.0, 'k'), 'k must be an integer, got 2.0 (float)'),
    (lambda: check_int(0, 'k', minimum=1), 'k must be an integer >= 1, got 0'),
    (lambda: check_number('0.1', 'k'), "k must be a finite number, got '0.1' (str)"),
    (lambda: check_number(float('nan'), 'k'), 'k must be a finite number, got nan (float)'),
    (lambda: check_number(0, 'k', minimum=0, min_inclusive=False), 'k must be a number > 0, got 0.0'),
    (lambda: check_number(2, 'k', minimum=0, maximum=1), 'k must be a number >= 0 and <= 1, got 2.0'),
    (lambda: check_pair((1, 1), 'k'), 'k must be (low, high) with low < high, got (1, 1)'),
])
def test_option_errors_say_what_the_key_takes(call, message):
    with pytest.raises(OptionError) as error:
        call()
    assert str(error.value) == message


@pytest.mark.parametrize('value', ['no', 'false', 'False', 0, 1])
def test_correctness_gate_refuses_a_string_or_number(value):
    """``--cfg-options model.weighting.correctness_gate=no`` gave the string 'no', which turned the gate on."""
    with pytest.raises(OptionError, match=r'model\.weighting\.correctness_gate must be True or False'):
        mtkdrl(correctness_gate=value)


@pytest.mark.parametrize('options,key', [
    (dict(fusion=1), 'fusion'), (dict(update='sgd'), 'update'), (dict(warmup_weights=True), 'warmup_weights'),
    (dict(kl_prior='Reference'), 'kl_prior'), (dict(hidden_dim=0), 'hidden_dim'), (dict(hidden_dim=8.0), 'hidden_dim'),
    (dict(update='policy_gradient', init_std='0.1'), 'init_std'),
    (dict(update='policy_gradient', std_range=0.1), 'std_range'),
])
def test_mtkdrl_options_are_checked_naming_the_key(options, key):
    with pytest.raises(OptionError, match=rf'^model\.weighting\.{key}'):
        mtkdrl(**options)


def test_good_mtkdrl_options_still_build_the_same_agent():
    torch.manual_seed(0)
    a = mtkdrl(correctness_gate=True, fusion='dynamic', hidden_dim=16)
    torch.manual_seed(0)
    b = mtkdrl(correctness_gate=True, fusion='dynamic', hidden_dim=16)
    assert a.correctness_gate is True and a.fusion == 'dynamic' and a.policy.hidden.out_features == 16
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize('cfg,message', [
    (dict(type='LogitKL', temperature=0), 'model.task.logit_loss.temperature must be a number > 0, got 0.0'),
    (dict(type='LogitKL', temperature='4'), "model.task.logit_loss.temperature must be a finite number, got '4'"),
    (dict(type='LogitKL', loss_weight=-1), 'model.task.logit_loss.loss_weight must be a number >= 0, got -1.0'),
    (dict(type='ChannelWiseKL', temperature=-1), 'model.task.logit_loss.temperature must be a number > 0'),
    (dict(type='FeatureMSE', loss_weight='5'), 'model.task.logit_loss.loss_weight must be a finite number'),
    (dict(type='DenseSigmoidKL', temperature=0.0), 'model.task.logit_loss.temperature must be a number > 0'),
    (dict(type='BoxGIoUKD', score_thr=1.5), 'model.task.logit_loss.score_thr must be a number >= 0 and <= 1'),
])
def test_loss_options_name_their_config_key(cfg, message):
    """A loss does not know where it sits in the config; ``build(..., key=...)`` names it."""
    with pytest.raises(OptionError) as error:
        build(cfg, MODELS, key='model.task.logit_loss')
    assert str(error.value).startswith(message)
    with pytest.raises(OptionError, match=rf"^{cfg['type']}\."):  # built without a key: the class's name
        build(cfg, MODELS)


def test_a_located_error_keeps_its_key_through_outer_builds():
    error = OptionError('model.task.logit_loss.temperature', 'must be a number > 0, got 0.0')
    assert error.under('model.task') is error
    assert OptionError('LogitKL.temperature', 'x').under('model.task.logit_loss').key == \
        'model.task.logit_loss.temperature'


@pytest.mark.parametrize('kw,key', [(dict(verify_sync='no'), 'verify_sync'), (dict(exact_resume=1), 'exact_resume'),
                                    (dict(update_at_epoch_end='True'), 'update_at_epoch_end'),
                                    (dict(interval=2.0), 'interval'), (dict(buffer_device=0), 'buffer_device')])
def test_hook_options_are_checked_naming_the_key(kw, key):
    with pytest.raises(OptionError, match=rf'custom_hooks\[i\]\.{key}, where custom_hooks\[i\] is the '
                                          r'TeacherWeightingHook, must be'):
        HOOKS.build(dict(type='mtkd_rl.TeacherWeightingHook', **kw))


@pytest.mark.parametrize('kw,key', [(dict(iters=1.5), 'iters'), (dict(loss_ratio='2'), 'loss_ratio'),
                                    (dict(accuracy_gap=1.0), 'accuracy_gap'), (dict(min_loss_gap=-1), 'min_loss_gap')])
def test_teacher_check_options_are_checked(kw, key):
    from mtkd_rl.distillers.teacher_check import TeacherPoolCheck
    with pytest.raises(OptionError, match=rf'^model\.teacher_check\.{key} must be'):
        TeacherPoolCheck(['a', 'b'], **kw)


def test_harness_variant_values_are_checked_before_any_run():
    """``MTKD-RL:correctness_gate=false`` is the boolean False (as --cfg-options reads it); ``=no`` stops at
    once, before any run starts, naming the variant and the key."""
    from mtkd_rl.analysis import parse_variant
    assert parse_variant('MTKD-RL:correctness_gate=false').options == dict(correctness_gate=False)
    assert parse_variant('MTKD-RL:correctness_gate=True').options == dict(correctness_gate=True)
    with pytest.raises(ValueError, match=r"--weightings 'MTKD-RL:correctness_gate=no': model\.weighting\.correctness_gate must "
                                         r'be True or False'):
        parse_variant('MTKD-RL:correctness_gate=no')


@pytest.mark.parametrize('cfg,message', [
    (dict(type='ClassificationAdapter', probe_size=64), 'model.task.probe_size must be an image size (h, w)'),
    (dict(type='ClassificationAdapter', probe_size=(32, 0)), 'model.task.probe_size[1] must be an integer >= 1'),
    (dict(type='ClassificationAdapter', logit_loss=dict(type='LogitKL', temperature=0)),
     'model.task.logit_loss.temperature must be a number > 0'),
    (dict(type='ClassificationAdapter', feature_loss=dict(type='FeatureMSE', loss_weight='5')),
     'model.task.feature_loss.loss_weight must be a finite number'),
    (dict(type='SegmentationAdapter', kd_size='pixel'), "model.task.kd_size must be one of 'student', 'label'"),
    (dict(type='SegmentationAdapter', logit_loss=[dict(type='LogitKL'), dict(type='ChannelWiseKL', temperature=0)]),
     'model.task.logit_loss[1].temperature must be a number > 0'),
    (dict(type='DetectionAdapter', box_loss=dict(type='BoxGIoUKD', score_thr=2)),
     'model.task.box_loss.score_thr must be a number >= 0 and <= 1'),
    (dict(type='TwoStageDetectionAdapter', box_weight='1'), 'model.task.box_weight must be a finite number'),
])
def test_adapter_options_name_their_config_key(cfg, message):
    with pytest.raises(OptionError) as error:
        build(cfg, MODELS, key='model.task')
    assert str(error.value).startswith(message), str(error.value)
