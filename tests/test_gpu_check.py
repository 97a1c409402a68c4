"""tools/check_gpu.sh and its helpers. The GPU steps run only on a GPU machine; here the script must parse,
stop at once with a clear message, and its CPU-side helper (random-init teacher checkpoints) must produce
checkpoints that the distiller loads."""
import subprocess
import sys

import pytest
import torch

from conftest import MTKDRL_CONFIG, REPO

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is visible: run bash tools/check_gpu.sh')


def test_check_gpu_script_parses():
    proc = subprocess.run(['bash', '-n', 'tools/check_gpu.sh'], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@NO_GPU
def test_check_gpu_stops_clearly_without_a_gpu(tmp_path):
    proc = subprocess.run(['bash', 'tools/check_gpu.sh', str(tmp_path / 'work')], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={'PYTHON': sys.executable, 'PATH': '/usr/bin:/bin'})
    assert proc.returncode == 1
    assert 'no CUDA GPU is visible to torch' in proc.stdout and 'docs/installation.md' in proc.stdout
    assert not (tmp_path / 'work').exists(), 'nothing is run or written without a GPU'


@NO_GPU
def test_check_cuda_ops_stops_clearly_without_a_gpu():
    proc = subprocess.run([sys.executable, 'tools/misc/check_cuda_ops.py'], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert 'FAIL: no CUDA GPU visible to torch' in proc.stderr


def test_random_teachers_load_into_the_distiller(tmp_path):
    from mmengine.config import Config, DictAction
    from mmengine.registry import MODELS, DefaultScope

    import mtkd_rl  # noqa: F401
    proc = subprocess.run([sys.executable, 'tools/misc/random_teachers.py', MTKDRL_CONFIG, str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    options = proc.stdout.strip().splitlines()[-1].split()
    assert len(options) == 3 and all(str(tmp_path) in o for o in options)
    cfg = Config.fromfile(MTKDRL_CONFIG)
    action = DictAction(option_strings=['--cfg-options'], dest='cfg_options')
    namespace = type('Namespace', (), {})()
    action(None, namespace, options)
    cfg.merge_from_dict(namespace.cfg_options)
    model = dict(cfg.model.to_dict(), data_preprocessor=cfg.data_preprocessor.to_dict())
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        distiller = MODELS.build(model)  # loads every checkpoint, checking keys and shapes
    assert len(distiller.teacher_names) == 3
