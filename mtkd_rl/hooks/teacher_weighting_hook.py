"""The hook that owns the teacher-weighting agent's learning."""
import math
from collections import deque
from typing import Dict, Optional

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import OPTIMIZERS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from mtkd_rl.checkpoints.weighting_record import META_KEY as WEIGHTING_META_KEY
from mtkd_rl.checkpoints.weighting_record import check_resume_weighting, weighting_record
from mtkd_rl.loops import ExactResumeEpochBasedTrainLoop, batches_done_in_epoch
from mtkd_rl.options import OptionError, check_bool, check_choice, check_int
from mtkd_rl.registry import HOOKS
from .transition_copy import to_host

CHECKPOINT_KEY = 'teacher_weighting'
#: How the hook's arguments are named in error messages.
KEY = 'custom_hooks[i].{}, where custom_hooks[i] is the TeacherWeightingHook,'


@HOOKS.register_module()
class TeacherWeightingHook(Hook):
    """Store each iteration's (state, action, reward) and train a learnable teacher weighting on schedule.

    The agent has its own optimizer, untouched by the student's learning-rate schedule and weight decay.
    Every ``interval`` iterations, at the end of every epoch and at the end of the warm-up it takes one
    optimizer step per stored batch, in order, then clears the buffer. During the warm-up the weights are
    fixed (the agent is not used), but as in the reference the batches are stored, with the reward of the
    weights actually used, so the agent has learnt from them when it first acts. With several processes each
    rank stores its own transitions; the agent's gradients are averaged across ranks so the agent stays
    identical everywhere. The agent, its optimizer, the buffer and the hook's counters are saved in
    checkpoints and restored on resume.

    The hook also stops training at the first iteration with a NaN or inf term, naming the terms and the
    iteration, and after any agent update whose loss or parameters are NaN or inf, naming them and the update;
    keep it in the configs of fixed weightings (AVER, EBKD, CA-MKD) for the first check.

    Args:
        interval: Update the agent every this many training iterations (reference: 1000).
        update_at_epoch_end: Also update at the end of each epoch (reference: True).
        warmup_epochs: Epochs during which the agent is not used: the weights are fixed.
        warmup_iters: Warm-up in iterations instead of epochs; required for iteration-based runs.
        learn_during_warmup: Store the warm-up batches and train the agent on them (reference: True). False
            stores nothing during warm-up, so the agent first acts with its initial weights. The
            ``'policy_gradient'`` update learns only from its own sampled weights and stores nothing during
            warm-up either way.
        optimizer: The agent's optimizer config (reference: ``SGD``, lr 0.1, no momentum).
        buffer_size: Most batches kept between updates (oldest dropped); default ``interval``.
        buffer_device: Where transitions wait: ``'cpu'`` (default) or ``'model'`` (the agent's device).
        verify_sync: In distributed runs, check after every update that all ranks hold the same agent.
        exact_resume: Turn mmengine's ``EpochBasedTrainLoop`` (``train_cfg=dict(by_epoch=True, ...)``) into
            :class:`~mtkd_rl.loops.ExactResumeEpochBasedTrainLoop`, so that a run resumed from a checkpoint
            taken inside an epoch continues with the next batch instead of training the epoch again. Other
            loops are left alone (a warning says when such a resume is not exact).
    """
    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 1000,
                 update_at_epoch_end: bool = True,
                 warmup_epochs: int = 1,
                 warmup_iters: Optional[int] = None,
                 learn_during_warmup: bool = True,
                 optimizer: dict = dict(type='SGD', lr=0.1),
                 buffer_size: Optional[int] = None,
                 buffer_device: str = 'cpu',
                 verify_sync: bool = True,
                 exact_resume: bool = True) -> None:
        check_int(interval, KEY.format('interval'), minimum=1)
        check_int(warmup_epochs, KEY.format('warmup_epochs'), minimum=0)
        if warmup_iters is not None:
            check_int(warmup_iters, KEY.format('warmup_iters'), minimum=0)  # None: warmup_epochs counts
        if buffer_size is not None:
            check_int(buffer_size, KEY.format('buffer_size'), minimum=1)  # None: the interval
        for name, value in (('update_at_epoch_end', update_at_epoch_end),
                            ('learn_during_warmup', learn_during_warmup), ('verify_sync', verify_sync),
                            ('exact_resume', exact_resume)):
            check_bool(value, KEY.format(name))
        if not isinstance(optimizer, dict) or 'type' not in optimizer:
            raise OptionError(KEY.format('optimizer'), f"must be an optimizer config with a 'type', e.g. "
                              f"dict(type='SGD', lr=0.1), got {optimizer!r}")
        check_choice(buffer_device, ('cpu', 'model'), KEY.format('buffer_device'))
        self.interval = interval
        self.update_at_epoch_end = update_at_epoch_end
        self.warmup_epochs = warmup_epochs
        self.warmup_iters = warmup_iters
        self.learn_during_warmup = learn_during_warmup
        self.optimizer_cfg = dict(optimizer)
        self.buffer: deque = deque(maxlen=buffer_size or interval)
        self.buffer_device = buffer_device
        self.verify_sync = verify_sync
        self.exact_resume = exact_resume
        self.num_updates = 0
        self._last_iter = 0
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self._sync_reported = False

    @staticmethod
    def _distiller(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'weighting'):
            raise TypeError(f"custom_hooks: TeacherWeightingHook needs model.type='mtkd_rl.MultiTeacherDistiller', "
                            f'got {type(model).__name__}')
        return model

    @staticmethod
    def _model_cfg(runner) -> Optional[dict]:
        """The distiller's config, or None for a Runner given a built model instead of its config."""
        model_cfg = runner.cfg.get('model')
        return model_cfg if isinstance(model_cfg, dict) else None

    def _learnable(self, runner) -> bool:
        return self._distiller(runner).weighting.learnable

    def before_run(self, runner) -> None:
        weighting = self._distiller(runner).weighting
        if self.exact_resume and type(runner.train_loop) is EpochBasedTrainLoop:
            # the subclass only overrides run_epoch and adds no state, so the built loop can take its behaviour
            runner.train_loop.__class__ = ExactResumeEpochBasedTrainLoop
        if not weighting.learnable:
            return
        iteration_based = isinstance(runner.train_loop, IterBasedTrainLoop)
        if iteration_based and self.warmup_iters is None and self.warmup_epochs:
            raise ValueError('custom_hooks TeacherWeightingHook: this run is iteration-based, so warmup_epochs '
                             'cannot be counted; set warmup_iters (e.g. one epoch in iterations, or 0)')
        weighting.trained_by_hook = True
        weighting.learn_during_warmup = self.learn_during_warmup
        self.optimizer = OPTIMIZERS.build(dict(self.optimizer_cfg, params=weighting.parameters()))
        self._warn_if_agent_never_acts(runner)
        if self.learn_during_warmup and self._has_warmup() and not weighting.learns_from_fixed_weights:
            runner.logger.info('TeacherWeightingHook: this update learns only from the weights the agent samples, '
                               'so nothing is stored during the warm-up')

    def _has_warmup(self) -> bool:
        return (self.warmup_iters if self.warmup_iters is not None else self.warmup_epochs) > 0

    def _warn_if_agent_never_acts(self, runner) -> None:
        if self.warmup_iters is not None:
            warmup, limit = ('warmup_iters', self.warmup_iters), ('train_cfg.max_iters', runner.max_iters)
        else:
            warmup, limit = ('warmup_epochs', self.warmup_epochs), ('train_cfg.max_epochs', runner.max_epochs)
        if warmup[1] >= limit[1] > 0:
            runner.logger.warning(
                f'TeacherWeightingHook: custom_hooks[i].{warmup[0]}={warmup[1]} >= {limit[0]}={limit[1]}: the '
                f'whole run is warm-up, so the MTKD-RL agent never weights the teachers (the weights stay '
                f'fixed). Lower {warmup[0]} or raise {limit[0]}')

    def before_train(self, runner) -> None:
        self._warn_on_inexact_resume(runner)
        if self._learnable(runner) and dist.get_world_size() > 1:
            for p in self._distiller(runner).weighting.parameters():
                dist.broadcast(p.data, src=0)

    @staticmethod
    def _warn_on_inexact_resume(runner) -> None:
        """mmengine's epoch-based loop trains a resumed epoch from its first batch: say so."""
        loop = runner.train_loop
        if not isinstance(loop, EpochBasedTrainLoop) or isinstance(loop, ExactResumeEpochBasedTrainLoop):
            return
        done = batches_done_in_epoch(loop)
        if 0 < done < len(loop.dataloader):
            runner.logger.warning(
                f'Resumed at iteration {loop.iter}, inside epoch {loop.epoch + 1} ({done} of '
                f'{len(loop.dataloader)} batches done): {type(loop).__name__} trains this epoch again from its '
                f'first batch, so the run does {done} more iterations (and agent steps) than an uninterrupted '
                f'one. For an exact continuation use train_cfg=dict(by_epoch=True, ...) or '
                f"train_cfg=dict(type='mtkd_rl.ExactResumeEpochBasedTrainLoop', ...) with "
                f'TeacherWeightingHook(exact_resume=True)')

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
        self._last_iter = runner.iter + 1
        self._check_finite(runner, outputs)
        model = self._distiller(runner)
        if not model.weighting.learnable:
            return
        transition, model.latest_transition = model.latest_transition, None
        if transition is not None:
            if self.buffer_device == 'cpu':
                transition = to_host(transition)
            self.buffer.append(transition)
        if (runner.iter + 1) % self.interval == 0 or (
                self.warmup_iters is not None and runner.iter + 1 == self.warmup_iters):
            self.update_agent(runner)

    def after_train_epoch(self, runner) -> None:
        if not self._learnable(runner):
            return
        warmup_ends = self.warmup_iters is None and runner.epoch + 1 == self.warmup_epochs
        if self.update_at_epoch_end or warmup_ends:
            self.update_agent(runner)

    def update_agent(self, runner) -> None:
        """One optimizer step of the agent per stored batch, in order; then clear the buffer.

        Raises:
            FloatingPointError: The agent's loss or parameters are NaN or inf after the update (named).
        """
        if not self.buffer:
            return
        weighting = self._distiller(runner).weighting
        device = next(weighting.parameters()).device
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # the non-blocking copies into the buffer have landed
        weighting.train()
        world_size = dist.get_world_size()
        losses = []
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
            losses.append(loss.detach())
        self.buffer.clear()
        self.num_updates += 1
        losses = torch.stack(losses)
        names, params = zip(*weighting.named_parameters())
        finite = torch.stack([torch.isfinite(losses).all()] + [torch.isfinite(p).all() for p in params])
        summary = torch.cat([losses.mean().reshape(1), finite.float()]).cpu()  # one host sync per update
        if not bool(summary[1:].all()):
            self._raise_non_finite(runner, losses, names, summary[2:])
        runner.message_hub.update_scalar('train/agent_loss', float(summary[0]))
        runner.message_hub.update_scalar('train/agent_updates', self.num_updates)
        if world_size > 1 and self.verify_sync:
            self._verify_sync(runner, weighting)

    def _raise_non_finite(self, runner, losses: torch.Tensor, names, params_finite: torch.Tensor) -> None:
        bad_steps = (~torch.isfinite(losses.cpu())).nonzero().flatten().tolist()
        bad_params = [n for n, ok in zip(names, params_finite.tolist()) if not ok]
        parts = []
        if bad_steps:
            more = f' (and on {len(bad_steps) - 1} later ones)' if len(bad_steps) > 1 else ''
            parts.append(f'its loss is {float(losses[bad_steps[0]])} on stored batch {bad_steps[0] + 1} of '
                         f'{len(losses)}{more}')
        if bad_params:
            parts.append(f"parameters {', '.join(bad_params)} hold NaN or inf")
        raise FloatingPointError(
            f'teacher-weighting agent update {self.num_updates} (after iteration {self._last_iter}): '
            + '; '.join(parts) + '. Check the teachers\' checkpoints and the data, lower '
            'custom_hooks[i].optimizer.lr, or use model.weighting.update=\'surrogate\'')

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
        model_cfg = self._model_cfg(runner)
        if model_cfg is not None:
            checkpoint.setdefault('meta', {})[WEIGHTING_META_KEY] = weighting_record(model_cfg.get('weighting'))
        if not weighting.learnable:
            return
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # the non-blocking copies into the buffer have landed
        checkpoint[CHECKPOINT_KEY] = dict(
            type=type(weighting).__name__,
            state_dict=weighting.state_dict(),
            optimizer=self.optimizer.state_dict() if self.optimizer is not None else None,
            buffer=[{k: v.detach().cpu() for k, v in t.items()} for t in self.buffer],
            num_updates=self.num_updates)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(CHECKPOINT_KEY)
        weighting = self._distiller(runner).weighting
        model_cfg = self._model_cfg(runner)
        if runner._resume and model_cfg is not None:  # a resumed run keeps its weighting; load_from may change it
            check_resume_weighting(checkpoint, model_cfg.get('weighting'),
                                   str(runner._load_from or 'the latest checkpoint'))
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
