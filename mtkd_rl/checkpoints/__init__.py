"""Checkpoints for the tools: finding and reading them with clear errors (``files``), choosing what a resumed
run continues from without overwriting anything (``resume``), and checking that one fits a model (``fit``)."""
from .files import (CheckpointError, CheckpointFile, CheckpointNames, damage, list_checkpoints, newest_intact,
                    read_checkpoint)
from .fit import check_weights_fit, describe_checkpoint, weight_mismatch
from .resume import ResumePlan, check_new_run, checkpoint_dir, checkpoint_names, plan_resume

__all__ = [
    'CheckpointError', 'CheckpointFile', 'CheckpointNames', 'damage', 'list_checkpoints', 'newest_intact',
    'read_checkpoint', 'check_weights_fit', 'describe_checkpoint', 'weight_mismatch', 'ResumePlan', 'check_new_run',
    'checkpoint_dir', 'checkpoint_names', 'plan_resume'
]
