"""The training of a learnable teacher weighting: its schedule, reward, rollout buffer, optimizer and state.

:class:`WeightingLearner` is where an agent update plugs in. A learnable weighting (``learnable = True``) gives,
in the phases that collect (:class:`~mtkd_rl.weighting.base.WeightingPhase`), a rollout (a dict of tensors: its
state, its action), and defines ``update_loss(transition)``: the loss of one optimizer step on a stored rollout
with its ``'reward'`` ``[B]``. The learner does the rest: which phase each iteration is in, the reward, the buffer,
the steps (with the gradients averaged across ranks), the NaN/inf check of the agent, and the checkpoint state.
"""
from collections import deque
from dataclasses import dataclass
from typing import Dict, Optional

import mmengine.optim  # noqa: F401 (registers torch's optimizers in OPTIMIZERS)
import torch
from mmengine import dist
from mmengine.logging import print_log
from mmengine.registry import OPTIMIZERS

from mtkd_rl.options import OptionError, check_bool, check_choice, check_int
from .base import TeacherWeighting, WeightingPhase
from .transition_copy import to_host

#: The key of the learner's state in a checkpoint.
CHECKPOINT_KEY = 'teacher_weighting'
#: How the learner's options are named in error messages: as the arguments of the hook that builds it.
OPTION_KEY = 'custom_hooks[i].{}, where custom_hooks[i] is the TeacherWeightingHook,'
BUFFER_DEVICES = ('cpu', 'model')
#: The optimizer of a weighting that names no ``default_optimizer``, where the hook names none (reference).
DEFAULT_OPTIMIZER = dict(type='SGD', lr=0.1)


def normalized_reward(reward: torch.Tensor) -> torch.Tensor:
    """``clamp((r - mean) / std, 0, 1)`` over the batch (unbiased std); 0 where the std is 0 or undefined.

    Computed on the device without synchronising with the host.
    """
    reward = reward.detach().float()
    if reward.numel() < 2:
        return torch.zeros_like(reward)
    std = reward.std(unbiased=True)
    z = (reward - reward.mean()) / std.clamp_min(torch.finfo(reward.dtype).tiny)
    return torch.where(std > 0, z.clamp(0.0, 1.0), torch.zeros_like(z))


@dataclass
class RewardTerms:
    """What the student paid for one batch, per sample: the reward's terms.

    Attributes:
        student_loss: The student's own task loss, ``[B]``.
        kd_logit: The teacher-weighted logit KD, ``sum_m w_logit alpha KL``, ``[B]``.
        kd_feature: The teacher-weighted feature KD, ``sum_m w_feature beta MSE``, ``[B]``, or None without
            feature KD.
    """
    student_loss: torch.Tensor
    kd_logit: torch.Tensor
    kd_feature: Optional[torch.Tensor]


class WeightingLearner:
    """Train a learnable teacher weighting on the batches it weighs, on the reference schedule.

    Every ``interval`` iterations (counted over the run), at the end of every epoch (``update_at_epoch_end``) and
    at the end of the warm-up, :meth:`update` takes one optimizer step per stored batch, in order, then clears the
    buffer. During the warm-up the weighting's warm-up weights are used (:meth:`phase` does not act), but with
    ``learn_during_warmup`` its batches are collected, with the reward of the weights actually used. With several
    processes each rank stores its own batches and the gradients are averaged across ranks at every step.

    Args:
        weighting: The learnable weighting.
        interval: Update every this many training iterations.
        update_at_epoch_end: Also update at the end of each epoch.
        warmup_epochs: Epochs during which the warm-up weights are used.
        warmup_iters: The warm-up in iterations instead of epochs (for iteration-based runs).
        learn_during_warmup: Collect the warm-up batches and learn from them.
        optimizer: The weighting's optimizer config, e.g. ``dict(type='SGD', lr=0.1)``; None: the weighting's
            ``default_optimizer`` (MMKD: Adam), else :data:`DEFAULT_OPTIMIZER`.
        buffer_size: Most batches kept between updates (the oldest dropped); default ``interval``.
        buffer_device: Where batches wait: ``'cpu'`` (copied without a host sync) or ``'model'`` (the agent's
            device).
        verify_sync: In distributed runs, check after every update that all ranks hold the same weighting.
        key: How the options are named in error messages (a format string taking the option's name).
    """

    def __init__(self,
                 weighting: TeacherWeighting,
                 interval: int = 1000,
                 update_at_epoch_end: bool = True,
                 warmup_epochs: int = 1,
                 warmup_iters: Optional[int] = None,
                 learn_during_warmup: bool = True,
                 optimizer: Optional[dict] = None,
                 buffer_size: Optional[int] = None,
                 buffer_device: str = 'cpu',
                 verify_sync: bool = True,
                 key: str = OPTION_KEY) -> None:
        self.check_options(interval, update_at_epoch_end, warmup_epochs, warmup_iters, learn_during_warmup,
                           optimizer, buffer_size, buffer_device, verify_sync, key)
        if not weighting.learnable:
            raise ValueError(f'{type(weighting).__name__} does not learn: a WeightingLearner trains a learnable '
                             f'weighting only')
        self.weighting = weighting
        self.interval = interval
        self.update_at_epoch_end = update_at_epoch_end
        self.warmup_epochs = warmup_epochs
        self.warmup_iters = warmup_iters
        self.learn_during_warmup = learn_during_warmup
        if optimizer is None:
            optimizer = weighting.default_optimizer or DEFAULT_OPTIMIZER
        self.optimizer: torch.optim.Optimizer = OPTIMIZERS.build(dict(optimizer, params=weighting.parameters()))
        self.buffer: deque = deque(maxlen=buffer_size or interval)
        self.buffer_device = buffer_device
        self.verify_sync = verify_sync
        self.num_updates = 0
        #: The index of the iteration under way (the number done before it), and of its epoch.
        self.iteration, self.epoch = 0, 0
        #: Iterations done when the last one ended (named by the NaN/inf error of an update).
        self.iterations_done = 0
        self._sync_reported = False

    @staticmethod
    def check_options(interval, update_at_epoch_end, warmup_epochs, warmup_iters, learn_during_warmup, optimizer,
                      buffer_size, buffer_device, verify_sync, key: str = OPTION_KEY) -> None:
        """Raise an :class:`~mtkd_rl.options.OptionError` naming the first unusable option (arguments as
        :class:`WeightingLearner`'s)."""
        check_int(interval, key.format('interval'), minimum=1)
        check_int(warmup_epochs, key.format('warmup_epochs'), minimum=0)
        if warmup_iters is not None:
            check_int(warmup_iters, key.format('warmup_iters'), minimum=0)  # None: warmup_epochs counts
        if buffer_size is not None:
            check_int(buffer_size, key.format('buffer_size'), minimum=1)  # None: the interval
        for name, value in (('update_at_epoch_end', update_at_epoch_end),
                            ('learn_during_warmup', learn_during_warmup), ('verify_sync', verify_sync)):
            check_bool(value, key.format(name))
        if optimizer is not None and (not isinstance(optimizer, dict) or 'type' not in optimizer):
            raise OptionError(key.format('optimizer'), f"must be an optimizer config with a 'type', e.g. "
                              f"dict(type='SGD', lr=0.1), got {optimizer!r}")
        check_choice(buffer_device, BUFFER_DEVICES, key.format('buffer_device'))

    # ------------------------------------------------------------------------------------------- the schedule
    def begin_iteration(self, iteration: int, epoch: int) -> None:
        """Where the run is: ``iteration`` iterations done before the one starting, in epoch ``epoch`` (0-based)."""
        self.iteration, self.epoch = iteration, epoch

    def in_warmup(self) -> bool:
        """Whether the iteration under way is in the warm-up."""
        if self.warmup_iters is not None:
            return self.iteration < self.warmup_iters
        return self.epoch < self.warmup_epochs

    def has_warmup(self) -> bool:
        """Whether the run starts with a warm-up."""
        return (self.warmup_iters if self.warmup_iters is not None else self.warmup_epochs) > 0

    def phase(self) -> WeightingPhase:
        """The phase of the iteration under way: the weighting acts after the warm-up; a batch is collected
        after the warm-up, and during it with ``learn_during_warmup``; a weighting that learns from teacher
        credit has it measured on a collected batch every ``credit_interval`` iterations; one trained by a meta
        step takes it on a collected batch every ``meta_interval`` iterations."""
        acting = not self.in_warmup()
        collecting = acting or self.learn_during_warmup
        every = self.weighting.credit_interval
        meta_every = self.weighting.meta_interval
        return WeightingPhase(acting=acting, collecting=collecting,
                              measuring_credit=collecting and every is not None and self.iteration % every == 0,
                              meta_step=collecting and meta_every is not None and self.iteration % meta_every == 0)

    def end_iteration(self) -> bool:
        """The iteration under way has ended; whether an update is due now (every ``interval`` iterations, and
        at the end of a warm-up counted in iterations)."""
        self.iterations_done = self.iteration + 1
        return self.iterations_done % self.interval == 0 or (
            self.warmup_iters is not None and self.iterations_done == self.warmup_iters)

    def end_epoch(self, epoch: int) -> bool:
        """Epoch ``epoch`` (0-based) has ended; whether an update is due now (``update_at_epoch_end``, and at the
        end of a warm-up counted in epochs)."""
        return self.update_at_epoch_end or (self.warmup_iters is None and epoch + 1 == self.warmup_epochs)

    # ------------------------------------------------------------------------------------ the batches and steps
    def reward(self, terms: RewardTerms) -> torch.Tensor:
        """``normalized_reward(-(student_loss + kd_logit + kd_feature))``, ``[B]``, detached."""
        total = terms.student_loss + terms.kd_logit.detach()
        if terms.kd_feature is not None:
            total = total + terms.kd_feature.detach()
        return normalized_reward(-total)

    def collect(self, rollout: Dict[str, torch.Tensor], terms: RewardTerms) -> None:
        """Store a batch's rollout with its reward (copied to the CPU without a host sync, by default)."""
        transition = dict(rollout, reward=self.reward(terms))
        if self.buffer_device == 'cpu':
            transition = to_host(transition)
        self.buffer.append(transition)

    def update(self) -> Optional[float]:
        """One optimizer step per stored batch, in order; then clear the buffer.

        Returns:
            The mean loss of the steps, or None when nothing was stored (no update).

        Raises:
            FloatingPointError: The weighting's loss or parameters are NaN or inf after the update (named).
            RuntimeError: With ``verify_sync``, the ranks' weightings differ after the update.
        """
        if not self.buffer:
            return None
        weighting = self.weighting
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
            self._raise_non_finite(losses, names, summary[2:])
        if world_size > 1 and self.verify_sync:
            self._verify_sync()
        return float(summary[0])

    def _raise_non_finite(self, losses: torch.Tensor, names, params_finite: torch.Tensor) -> None:
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
            f'teacher-weighting agent update {self.num_updates} (after iteration {self.iterations_done}): '
            + '; '.join(parts) + '. Check the teachers\' checkpoints and the data, lower '
            'custom_hooks[i].optimizer.lr, or use model.weighting.update=\'surrogate\'')

    def broadcast(self) -> None:
        """Give every rank the weighting of rank 0 (before training)."""
        if dist.get_world_size() > 1:
            for p in self.weighting.parameters():
                dist.broadcast(p.data, src=0)

    def _verify_sync(self) -> None:
        flat = torch.cat([p.detach().flatten() for p in self.weighting.parameters()])
        gathered = dist.all_gather(flat)
        diff = max(float((g - gathered[0]).abs().max()) for g in gathered)
        if diff != 0.0:
            raise RuntimeError(f'teacher-weighting agents differ across ranks after update {self.num_updates} '
                               f'(max abs difference {diff})')
        if not self._sync_reported:
            print_log(f'TeacherWeightingHook: agent parameters identical on {len(gathered)} ranks after update '
                      f'{self.num_updates}', logger='current')
            self._sync_reported = True

    # -------------------------------------------------------------------------------------- checkpoint state
    def state_dict(self) -> dict:
        """``dict(type, state_dict, optimizer, buffer, num_updates)``: the weighting's class name and state, its
        optimizer's state, the stored batches (on the CPU) and the number of updates."""
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # the non-blocking copies into the buffer have landed
        return dict(
            type=type(self.weighting).__name__,
            state_dict=self.weighting.state_dict(),
            optimizer=self.optimizer.state_dict(),
            buffer=[{k: v.detach().cpu() for k, v in t.items()} for t in self.buffer],
            num_updates=self.num_updates)

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`.

        Raises:
            ValueError: It is the state of another weighting class.
            RuntimeError: The weighting's state does not fit (another teacher pool).
        """
        weighting = self.weighting
        if state['type'] != type(weighting).__name__:
            raise ValueError(f"the checkpoint's teacher weighting is {state['type']} but model.weighting builds "
                             f'{type(weighting).__name__}; resume with the same weighting')
        try:
            weighting.load_state_dict(state['state_dict'])
        except RuntimeError as e:
            raise RuntimeError(f'the checkpoint\'s teacher-weighting agent does not fit this teacher pool: {e}. '
                               f'Resume or load with the same model.teachers') from None
        if state.get('optimizer') is not None:
            self.optimizer.load_state_dict(state['optimizer'])
        device = next(weighting.parameters()).device
        self.buffer.clear()
        for t in state.get('buffer', []):
            self.buffer.append(t if self.buffer_device == 'cpu' else {k: v.to(device) for k, v in t.items()})
        self.num_updates = int(state.get('num_updates', 0))
