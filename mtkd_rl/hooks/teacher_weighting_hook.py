"""The hook that schedules the training of a learnable teacher weighting and keeps its state in checkpoints."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from mtkd_rl.checkpoints.weighting_record import META_KEY as WEIGHTING_META_KEY
from mtkd_rl.checkpoints.weighting_record import check_resume_weighting, weighting_record
from mtkd_rl.loops import ExactResumeEpochBasedTrainLoop, batches_done_in_epoch
from mtkd_rl.options import check_bool
from mtkd_rl.registry import HOOKS
from mtkd_rl.weighting.learner import CHECKPOINT_KEY, OPTION_KEY, WeightingLearner

#: How the hook's arguments are named in error messages.
KEY = OPTION_KEY


@HOOKS.register_module()
class TeacherWeightingHook(Hook):
    """Schedule the training of a learnable teacher weighting, and keep the weighting in checkpoints.

    Before the run the hook builds a :class:`~mtkd_rl.weighting.WeightingLearner` from its arguments (the
    schedule, the optimizer, the buffer) and hands it to the distiller, which from then on weights each batch in
    the learner's phase and gives it the batches to learn from. The hook tells the learner where the run is,
    has it update when due (every ``interval`` iterations, at the end of every epoch and at the end of the
    warm-up: one optimizer step per stored batch, in order), logs ``train/agent_loss`` and
    ``train/agent_updates``, and saves the learner's state under ``checkpoint['teacher_weighting']``, restored on
    ``--resume`` and ``load_from``. During the warm-up the weights are fixed (the agent is not used), but as in the
    reference the batches are stored, with the reward of the weights actually used, so the agent has learnt from
    them when it first acts. With several processes the agent is broadcast from rank 0 before training and its
    gradients are averaged across ranks.

    For every weighting, fixed ones (AVER, EBKD, CA-MKD, AEKD) included, the hook writes the weighting record into
    each checkpoint and checks it on resume, and makes the epoch-based loop resume exactly (``exact_resume``).
    The NaN/inf check of each iteration is :class:`~mtkd_rl.hooks.NonFiniteLossHook`'s; an agent update whose
    loss or parameters are NaN or inf stops training here, naming them and the update.

    Args:
        interval: Update the agent every this many training iterations (reference: 1000).
        update_at_epoch_end: Also update at the end of each epoch (reference: True).
        warmup_epochs: Epochs during which the agent is not used: the weights are fixed.
        warmup_iters: Warm-up in iterations instead of epochs; required for iteration-based runs.
        learn_during_warmup: Store the warm-up batches and train the agent on them (reference: True). False
            stores nothing during warm-up, so the agent first acts with its initial weights. The
            ``'policy_gradient'`` update learns only from its own sampled weights and stores nothing during
            warm-up either way.
        optimizer: The agent's optimizer config; None (default): the weighting's own default (MMKD: ``Adam``, lr
            1e-3, weight decay 1e-4, as its authors), else the reference's ``SGD``, lr 0.1, no momentum.
        buffer_size: Most batches kept between updates (oldest dropped); default ``interval``.
        buffer_device: Where transitions wait: ``'cpu'`` (default) or ``'model'`` (the agent's device).
        verify_sync: In distributed runs, check after every update that all ranks hold the same agent.
        exact_resume: Turn mmengine's ``EpochBasedTrainLoop`` (``train_cfg=dict(by_epoch=True, ...)``) into
            :class:`~mtkd_rl.loops.ExactResumeEpochBasedTrainLoop`, so that a run resumed from a checkpoint
            taken inside an epoch continues with the next batch instead of training the epoch again. Other
            loops are left alone (a warning says when such a resume is not exact). The loop can also be named
            in ``train_cfg=dict(type='mtkd_rl.ExactResumeEpochBasedTrainLoop', ...)``.
    """
    priority = 'NORMAL'

    def __init__(self,
                 interval: int = 1000,
                 update_at_epoch_end: bool = True,
                 warmup_epochs: int = 1,
                 warmup_iters: Optional[int] = None,
                 learn_during_warmup: bool = True,
                 optimizer: Optional[dict] = None,
                 buffer_size: Optional[int] = None,
                 buffer_device: str = 'cpu',
                 verify_sync: bool = True,
                 exact_resume: bool = True) -> None:
        self.learner_options = dict(
            interval=interval, update_at_epoch_end=update_at_epoch_end, warmup_epochs=warmup_epochs,
            warmup_iters=warmup_iters, learn_during_warmup=learn_during_warmup, optimizer=dict(optimizer)
            if isinstance(optimizer, dict) else optimizer, buffer_size=buffer_size, buffer_device=buffer_device,
            verify_sync=verify_sync)
        WeightingLearner.check_options(**self.learner_options, key=KEY)
        self.exact_resume = check_bool(exact_resume, KEY.format('exact_resume'))
        #: Built in ``before_run`` for a learnable weighting; None for a fixed one.
        self.learner: Optional[WeightingLearner] = None

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

    def before_run(self, runner) -> None:
        model = self._distiller(runner)
        if self.exact_resume and type(runner.train_loop) is EpochBasedTrainLoop:
            # the subclass only overrides run_epoch and adds no state, so the built loop can take its behaviour
            runner.train_loop.__class__ = ExactResumeEpochBasedTrainLoop
        if not model.weighting.learnable:
            return
        options = self.learner_options
        iteration_based = isinstance(runner.train_loop, IterBasedTrainLoop)
        if iteration_based and options['warmup_iters'] is None and options['warmup_epochs']:
            raise ValueError('custom_hooks TeacherWeightingHook: this run is iteration-based, so warmup_epochs '
                             'cannot be counted; set warmup_iters (e.g. one epoch in iterations, or 0)')
        self._learner_of(model)
        self._warn_if_agent_never_acts(runner)
        if options['learn_during_warmup'] and self.learner.has_warmup() and \
                not model.weighting.learns_from_fixed_weights:
            runner.logger.info('TeacherWeightingHook: this update learns only from the weights the agent samples, '
                               'so nothing is stored during the warm-up')

    def _learner_of(self, model) -> Optional[WeightingLearner]:
        """The learner of the distiller's weighting, built and handed to the distiller the first time; None for a
        fixed weighting."""
        if not model.weighting.learnable:
            return None
        if self.learner is None or self.learner.weighting is not model.weighting:
            self.learner = WeightingLearner(model.weighting, key=KEY, **self.learner_options)
        if model.learner is not self.learner:
            model.attach_learner(self.learner)
        return self.learner

    def _warn_if_agent_never_acts(self, runner) -> None:
        warmup_iters, warmup_epochs = self.learner_options['warmup_iters'], self.learner_options['warmup_epochs']
        if warmup_iters is not None:
            warmup, limit = ('warmup_iters', warmup_iters), ('train_cfg.max_iters', runner.max_iters)
        else:
            warmup, limit = ('warmup_epochs', warmup_epochs), ('train_cfg.max_epochs', runner.max_epochs)
        if warmup[1] >= limit[1] > 0:
            runner.logger.warning(
                f'TeacherWeightingHook: custom_hooks[i].{warmup[0]}={warmup[1]} >= {limit[0]}={limit[1]}: the '
                f'whole run is warm-up, so the MTKD-RL agent never weights the teachers (the weights stay '
                f'fixed). Lower {warmup[0]} or raise {limit[0]}')

    def before_train(self, runner) -> None:
        self._warn_on_inexact_resume(runner)
        if self.learner is not None:
            self.learner.broadcast()

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

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self.learner is not None:
            self.learner.begin_iteration(runner.iter, runner.epoch)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.learner is not None and self.learner.end_iteration():
            self.update_agent(runner)

    def after_train_epoch(self, runner) -> None:
        if self.learner is not None and self.learner.end_epoch(runner.epoch):
            self.update_agent(runner)

    def update_agent(self, runner) -> None:
        """Have the learner update the agent on the stored batches, and log the update.

        Raises:
            FloatingPointError: The agent's loss or parameters are NaN or inf after the update (named).
        """
        loss = self.learner.update()
        if loss is None:  # nothing stored
            return
        runner.message_hub.update_scalar('train/agent_loss', loss)
        runner.message_hub.update_scalar('train/agent_updates', self.learner.num_updates)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        model_cfg = self._model_cfg(runner)
        if model_cfg is not None:
            checkpoint.setdefault('meta', {})[WEIGHTING_META_KEY] = weighting_record(model_cfg.get('weighting'))
        learner = self._learner_of(self._distiller(runner))
        if learner is not None:
            checkpoint[CHECKPOINT_KEY] = learner.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model_cfg = self._model_cfg(runner)
        if runner._resume and model_cfg is not None:  # a resumed run keeps its weighting; load_from may change it
            check_resume_weighting(checkpoint, model_cfg.get('weighting'),
                                   str(runner._load_from or 'the latest checkpoint'))
        state = checkpoint.get(CHECKPOINT_KEY)
        learner = self._learner_of(self._distiller(runner))
        if state is not None and learner is not None:
            learner.load_state_dict(state)
