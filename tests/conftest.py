"""Shared fixtures: the repository root, real Fashion-MNIST and tree-crown data, tool runners and quickly made
teachers."""
import os
import os.path as osp
import subprocess
import sys
import warnings

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FMNIST = osp.join(REPO, 'data', 'fashion_mnist')
FMNIST_CFG = osp.join(REPO, 'configs', 'cls', 'fashion_mnist')
TEACHER_CONFIGS = {
    'resnet18_w16': f'{FMNIST_CFG}/teachers/resnet18-w16_1xb64-2e_fashion-mnist.py',
    'regnetx_s8': f'{FMNIST_CFG}/teachers/regnetx-s8_1xb64-2e_fashion-mnist.py',
    'mobilenetv2_w05': f'{FMNIST_CFG}/teachers/mobilenetv2-w0.5_1xb64-2e_fashion-mnist.py',
}
STUDENT_CONFIG = f'{FMNIST_CFG}/students/resnet18-w8_1xb64-2e_fashion-mnist.py'
MTKDRL_CONFIG = f'{FMNIST_CFG}/mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py'
TREECROWN = osp.join(REPO, 'data', 'treecrown')

#: Settings that shrink a Fashion-MNIST run to a few real batches, deterministically.
SMALL_RUN = {
    'train_dataloader.dataset.indices': 128, 'val_dataloader.dataset.indices': 256,
    'test_dataloader.dataset.indices': 256, 'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False, 'val_dataloader.num_workers': 0,
    'val_dataloader.persistent_workers': False, 'test_dataloader.num_workers': 0,
    'test_dataloader.persistent_workers': False, 'train_dataloader.batch_size': 32, 'randomness.seed': 0,
    'default_hooks.logger.interval': 1
}


def cfg_options(options):
    """``--cfg-options`` arguments from a dict."""
    out = []
    for key, value in options.items():
        if isinstance(value, (list, tuple)):
            value = '[' + ','.join(map(str, value)) + ']'
        out.append(f'{key}={value}')
    return out


warnings.filterwarnings('ignore', message='pkg_resources is deprecated')


@pytest.fixture(scope='session')
def fashion_mnist():
    """The real Fashion-MNIST files (installed by `make test` / tools/setup_env.sh)."""
    names = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
             't10k-labels-idx1-ubyte']
    if not all(osp.isfile(osp.join(FMNIST, n)) for n in names):
        pytest.skip(f'Fashion-MNIST is missing from {FMNIST}; run: bash tools/setup_env.sh')
    return FMNIST


@pytest.fixture(scope='module')
def treecrown_data():
    """The tree-crown COCO tiles (installed by tools/setup_env.sh)."""
    if not osp.isfile(osp.join(TREECROWN, 'annotations', 'instances_train.json')):
        pytest.skip(f'the tree-crown data is missing from {TREECROWN}; run: bash tools/setup_env.sh')
    return TREECROWN


def run_tool(*args, env=None, timeout=600):
    """Run a command from the repository root with this interpreter; fail with its output."""
    cmd = [sys.executable if a == 'python' else a for a in args]
    full_env = dict(os.environ, PYTHONWARNINGS='ignore', **(env or {}))
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n'
                             f'{proc.stderr[-6000:]}')
    return proc.stdout + proc.stderr


@pytest.fixture(scope='session')
def random_teachers(tmp_path_factory):
    """The three Fashion-MNIST teachers with freshly initialised weights, saved as mmengine checkpoints."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import mtkd_rl  # noqa: F401
    root = tmp_path_factory.mktemp('teachers')
    teachers = []
    torch.manual_seed(0)
    for name, config in TEACHER_CONFIGS.items():
        cfg = Config.fromfile(config)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            model = MODELS.build(cfg.model)
        model.init_weights()
        path = str(root / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), path)
        teachers.append(dict(name=name, config=config, checkpoint=path))
    return teachers


def distiller_cfg(teachers, **overrides):
    """The Fashion-MNIST MTKD-RL distiller's model config with the given teachers."""
    from mmengine.config import Config
    cfg = Config.fromfile(MTKDRL_CONFIG)
    model = cfg.model.to_dict()
    model['teachers'] = [dict(t) for t in teachers]
    model['data_preprocessor'] = cfg.data_preprocessor.to_dict()
    model.update(overrides)
    return model


def attach_acting_learner(model, **options):
    """Give a built distiller the learner its TeacherWeightingHook would, without a warm-up: the agent acts from
    the first training iteration and each training batch is stored to learn from. Returns the learner."""
    from mtkd_rl.weighting import WeightingLearner
    learner = WeightingLearner(model.weighting, **dict(dict(warmup_epochs=0), **options))
    model.attach_learner(learner)
    return learner


#: Every optional DistillationTerms field the adapters compute on request (all of them computed these before).
EVERY_OPTIONAL_TERM = frozenset({'student_loss', 'embeddings', 'summaries', 'cosine', 'teacher_entropy'})


def count_calls(monkeypatch, owner, name: str, counts: dict) -> None:
    """Count the calls of ``owner.name`` (a module's function or an object's method) in ``counts[name]``."""
    function = getattr(owner, name)
    counts.setdefault(name, 0)

    def counting(*args, **kwargs):
        counts[name] += 1
        return function(*args, **kwargs)
    monkeypatch.setattr(owner, name, counting)


def assert_equal_losses(ours: dict, reference: dict) -> None:
    """The same loss keys with bitwise equal values (tensors or per-level lists of tensors)."""
    assert list(ours) == list(reference)
    for key, value in ours.items():
        values, expected = (value, reference[key]) if isinstance(value, list) else ([value], [reference[key]])
        assert all(torch.equal(v, e) for v, e in zip(values, expected)), key
