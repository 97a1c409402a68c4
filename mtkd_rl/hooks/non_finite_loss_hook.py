"""The hook that stops training at the first NaN or inf loss or logged term."""
import math
from typing import Dict, Optional

import torch
from mmengine.hooks import Hook

from mtkd_rl.registry import HOOKS


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop training at the first iteration whose loss or a logged term is NaN or inf, naming the terms.

    Every value the model's ``loss`` returns is checked after each training iteration (from the copies
    mmengine's ``RuntimeInfoHook`` already made on the host, so the check costs no device sync), unlike
    mmengine's ``CheckInvalidLossHook``, which checks the total loss every few iterations. The error names the
    terms that are not finite (``'loss_kd_logit'``, a teacher's ``'kd_logit.<name>'``...) and the iteration.

    It is not installed by itself: the distiller configs list it in ``custom_hooks`` next to
    ``TeacherWeightingHook`` (in the shared ``_base_/mtkd`` files where a base holds the hooks), for every weighting,
    fixed ones included. A config that writes its own ``custom_hooks`` adds it::

        custom_hooks = [dict(type='mtkd_rl.TeacherWeightingHook', interval=1000, warmup_epochs=1),
                        dict(type='mtkd_rl.NonFiniteLossHook')]

    Its priority (``'ABOVE_NORMAL'``) runs it after ``RuntimeInfoHook`` has logged the iteration's values and
    before ``TeacherWeightingHook`` may update the agent on them, wherever it is listed.
    """
    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[Dict[str, torch.Tensor]] = None) -> None:
        """Raise a ``FloatingPointError`` if a logged value of this iteration is NaN or inf."""
        if not outputs:
            return
        bad = {}
        for key in outputs:
            value = runner.message_hub.get_scalar(f'train/{key}').current()
            if not math.isfinite(value):
                bad[key] = value
        if bad:
            terms = [k for k in bad if k != 'loss'] or ['loss']
            raise FloatingPointError(
                f'training stopped at iteration {runner.iter + 1}: '
                + ', '.join(f"'{k}' is {bad[k]}" for k in terms)
                + '. Check the teachers\' checkpoints and the data, lower the learning rate, or enable '
                'gradient clipping (optim_wrapper.clip_grad)')
