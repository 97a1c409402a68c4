"""The hook that owns the teacher-weighting agent's learning."""
import math
from collections import deque
from typing import Dict, Optional

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import OPTIMIZERS
from mmengine.runner import IterBasedTrainLoop

from mtkd_rl.registry import HOOKS

CHECKPOINT_KEY = 'teacher_weighting'


@HOOKS.register_module()
class TeacherWeightingHook(Hook):
    """Store each iteration's (state, action, reward) and train a learnable teacher weighting on schedule.

    The agent has its own optimizer, untouched by the student's learning-rate schedule and weight decay.
    Every ``interval`` iterations and at the end of every epoch it takes one optimizer step per stored batch,
    in order, then clears the buffer. With several processes each rank stores its own transitions; the
    agent's gradients are averaged across ranks so the agent stays identical everywhere. The agent, its
    optimizer, the buffer and the hook's counters are saved in checkpoints and restored on resume.

    The hook also stops training at the first iteration with a NaN or inf term, naming the terms and the
    iteration; keep it in the configs of fixed weightings (AVER, EBKD, CA-MKD) for that check.

    Args:
        interval: Update the agent every this many training iterations (reference: 1000).
        update_at_epoch_end: Also update at the end of each epoch (reference: True).
        warmup_epochs: Epochs during which the agent is not used (fixed weights) and nothing is stored.
        warmup_iters: Warm-up in iterations instead of epochs; required for iteration-based runs.
        optimizer: The agent's optimizer config (reference: ``SGD``, lr 0.1, no momentum).
        buffer_size: Most batches kept between updates (oldest dropped); default ``interval``.
        buffer_device: Where transitions wait: ``'cpu'`` (default) or ``'model'`` (the agent's device).
        verify_sync: In distributed runs, check after every update that all ranks hold the same agent.
    """
    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 1000,
                 update_at_epoch_end: bool = True,
                 warmup_epochs: int = 1,
                 warmup_iters: Optional[int] = None,
                 optimizer: dict = dict(type='SGD', lr=0.1),
                 buffer_size: Optional[int] = None,
                 buffer_device: str = 'cpu',
                 verify_sync: bool = True) -> None:
        if interval < 1:
            raise ValueError(f'TeacherWeightingHook.interval must be >= 1, got {interval}')
        if buffer_device not in ('cpu', 'model'):
            raise ValueError(f"TeacherWeightingHook.buffer_device must be 'cpu' or 'model', got '{buffer_device}'")
        self.interval = interval
        self.update_at_epoch_end = update_at_epoch_end
        self.warmup_epochs = warmup_epochs
        self.warmup_iters = warmup_iters
        self.optimizer_cfg = dict(optimizer)
        self.buffer: deque = deque(maxlen=buffer_size or interval)
        self.buffer_device = buffer_device
        self.verify_sync = verify_sync
        self.num_updates = 0
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self._sync_reported = False

    @staticmethod
    def _distiller(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'weighting'):
            raise TypeError(f"custom_hooks: TeacherWeightingHook needs model.type='mtkd_rl.MultiTeacherDistiller', "
                            f'got {type(model).__name__}')
        return model

    def _learnable(self, runner) -> bool:
        return self._distiller(runner).weighting.learnable

    def before_run(self, runner) -> None:
        weighting = self._distiller(runner).weighting
        if not weighting.learnable:
            return
        if isinstance(runner.train_loop, IterBasedTrainLoop) and self.warmup_iters is None and self.warmup_epochs:
            raise ValueError('custom_hooks TeacherWeightingHook: this run is iteration-based, so warmup_epochs '
                             'cannot be counted; set warmup_iters (e.g. one epoch in iterations, or 0)')
        weighting.trained_by_hook = True
        self.optimizer = OPTIMIZERS.build(dict(self.optimizer_cfg, params=weighting.parameters()))

    def before_train(self, runner) -> None:
        if self._learnable(runner) and dist.get_world_size() > 1:
            for p in self._distiller(runner).weighting.parameters():
                dist.broadcast(p.data, src=0)

    def _warming_up(self, runner) -> bool:
        if self.warmup_iters is not None:
            return runner.iter < self.warmup_iters
        return runner.epoch < self.warmup_epochs

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = self._distiller(runner)
        if model.weighting.learnable:
            model.weighting.warming_up = self._warming_up(runner)
            model.latest_transition = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._check_finite(runner, outputs)
        model = self._distiller(runner)
        if not model.weighting.learnable:
            return
        transition, model.latest_transition = model.latest_transition, None
        if transition is not None:
            if self.buffer_device == 'cpu':
                transition = {k: v.detach().to('cpu', non_blocking=True) for k, v in transition.items()}
            self.buffer.append(transition)
        if (runner.iter + 1) % self.interval == 0:
            self.update_agent(runner)

    def after_train_epoch(self, runner) -> None:
        if self.update_at_epoch_end and self._learnable(runner):
            self.update_agent(runner)

    def update_agent(self, runner) -> None:
        """One optimizer step of the agent per stored batch, in order; then clear the buffer."""
        if not self.buffer:
            return
        weighting = self._distiller(runner).weighting
        device = next(weighting.parameters()).device
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # the non-blocking copies into the buffer have landed
        weighting.train()
        world_size = dist.get_world_size()
        total = torch.zeros((), device=device)
        for transition in self.buffer:
            transition = {k: v.to(device, non_blocking=True) for k, v in transition.items()}
            loss = weighting.update_loss(transition)
            self.optimizer.zero_grad(set_to_none=False)
            loss.backward()
            if world_size > 1:
                for p in weighting.parameters():
                    if p.grad is None:
                        p.grad = torch.zeros_like(p)
                    dist.all_reduce(p.grad, op='mean')
            self.optimizer.step()
            total += loss.detach()
        steps = len(self.buffer)
        self.buffer.clear()
        self.num_updates += 1
        runner.message_hub.update_scalar('train/agent_loss', (total / steps).item())
        runner.message_hub.update_scalar('train/agent_updates', self.num_updates)
        if world_size > 1 and self.verify_sync:
            self._verify_sync(runner, weighting)

    def _verify_sync(self, runner, weighting) -> None:
        flat = torch.cat([p.detach().flatten() for p in weighting.parameters()])
        gathered = dist.all_gather(flat)
        diff = max(float((g - gathered[0]).abs().max()) for g in gathered)
        if diff != 0.0:
            raise RuntimeError(f'teacher-weighting agents differ across ranks after update {self.num_updates} '
                               f'(max abs difference {diff})')
        if not self._sync_reported:
            runner.logger.info(f'TeacherWeightingHook: agent parameters identical on {len(gathered)} ranks '
                               f'after update {self.num_updates}')
            self._sync_reported = True

    @staticmethod
    def _check_finite(runner, outputs: Optional[Dict[str, torch.Tensor]]) -> None:
        """Stop at NaN or inf terms; reads the values RuntimeInfoHook already copied to the host."""
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

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        weighting = self._distiller(runner).weighting
        if not weighting.learnable:
            return
        checkpoint[CHECKPOINT_KEY] = dict(
            type=type(weighting).__name__,
            state_dict=weighting.state_dict(),
            optimizer=self.optimizer.state_dict() if self.optimizer is not None else None,
            buffer=[{k: v.detach().cpu() for k, v in t.items()} for t in self.buffer],
            num_updates=self.num_updates)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(CHECKPOINT_KEY)
        weighting = self._distiller(runner).weighting
        if state is None or not weighting.learnable:
            return
        if state['type'] != type(weighting).__name__:
            raise ValueError(f"the checkpoint's teacher weighting is {state['type']} but model.weighting builds "
                             f'{type(weighting).__name__}; resume with the same weighting')
        try:
            weighting.load_state_dict(state['state_dict'])
        except RuntimeError as e:
            raise RuntimeError(f'the checkpoint\'s teacher-weighting agent does not fit this teacher pool: {e}. '
                               f'Resume or load with the same model.teachers') from None
        if self.optimizer is not None and state.get('optimizer') is not None:
            self.optimizer.load_state_dict(state['optimizer'])
        device = next(weighting.parameters()).device
        self.buffer.clear()
        for t in state.get('buffer', []):
            self.buffer.append(t if self.buffer_device == 'cpu' else {k: v.to(device) for k, v in t.items()})
        self.num_updates = int(state.get('num_updates', 0))
