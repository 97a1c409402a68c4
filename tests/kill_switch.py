"""A hook for tests that kills its own training process with SIGKILL at a chosen iteration, after that
iteration's checkpoint is saved: a real ``kill -9`` at a point the test can rely on.

Imported by test configs through ``custom_imports=dict(imports=['kill_switch'])`` with ``tests/`` on
``PYTHONPATH``.
"""
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class KillSwitchHook(Hook):
    """SIGKILL the process after iteration ``at_iter`` (1-based) has run all its other hooks.

    Args:
        at_iter: The iteration after which the process dies.
    """
    priority = 'LOWEST'  # after CheckpointHook has saved that iteration's checkpoint

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)
