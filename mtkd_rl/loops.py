"""An epoch-based training loop that resumes inside an epoch exactly where its checkpoint was taken."""
import itertools
import logging

from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from mtkd_rl.registry import LOOPS


def batches_done_in_epoch(loop: EpochBasedTrainLoop) -> int:
    """How many batches of the current epoch were trained before a resume: ``iter - epoch * len(dataloader)``.

    0 at the start of an epoch. Assumes every earlier epoch ran ``len(dataloader)`` iterations, which holds when
    a run is resumed with the train dataloader it was started with.
    """
    return loop.iter - loop.epoch * len(loop.dataloader)


@LOOPS.register_module()
class ExactResumeEpochBasedTrainLoop(EpochBasedTrainLoop):
    """mmengine's ``EpochBasedTrainLoop``, except that a run resumed from a checkpoint taken inside an epoch
    (``CheckpointHook(by_epoch=False)``) skips the batches of that epoch it already trained.

    mmengine's loop starts the resumed epoch from its first batch, so the run trains those batches twice and
    ends with more iterations (and agent updates) than an uninterrupted one. Here the resumed epoch's
    dataloader is advanced past them without running the model (as mmengine's ``IterBasedTrainLoop`` does on
    resume); the sampler's order for the epoch depends only on the seed and the epoch, both restored from the
    checkpoint, so the run continues with the very batch it would have trained next. The hooks see the true
    batch index of the epoch.

    ``TeacherWeightingHook(exact_resume=True)`` (the default) gives a ``train_cfg=dict(by_epoch=True, ...)``
    run this behaviour; without the hook, name the loop::

        train_cfg = dict(type='mtkd_rl.ExactResumeEpochBasedTrainLoop', max_epochs=2, val_interval=1)

    Args:
        runner: The runner.
        dataloader: The train dataloader or its config.
        max_epochs: Total training epochs.
        val_begin: The epoch that begins validating.
        val_interval: Validation interval in epochs.
        dynamic_intervals: As in mmengine's ``EpochBasedTrainLoop``.
    """

    def run_epoch(self) -> None:
        """Iterate one epoch, skipping the batches a resumed checkpoint already trained."""
        skip = batches_done_in_epoch(self)
        if not 0 <= skip <= len(self.dataloader):
            raise ValueError(
                f'the resumed checkpoint was taken at iteration {self.iter} in epoch {self.epoch + 1}, which does '
                f'not fit {len(self.dataloader)} iterations per epoch: resume with the train_dataloader '
                f'(dataset and batch_size) the run was started with')
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        if skip:
            print_log(f'Resuming inside epoch {self.epoch + 1}: skipping its first {skip} of '
                      f'{len(self.dataloader)} batches, already trained', logger='current', level=logging.INFO)
        if skip == len(self.dataloader):  # a checkpoint from the epoch's last iteration: only its end is left
            batches = iter(())
        else:
            batches = itertools.islice(enumerate(self.dataloader), skip, None)
        for idx, data_batch in batches:
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
