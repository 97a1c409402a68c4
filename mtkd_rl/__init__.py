"""mtkd_rl: multi-teacher knowledge distillation with reinforcement-learned teacher weights for OpenMMLab."""
from .compat import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

from .registry import HOOKS, LOOPS, MODELS, TEACHER_WEIGHTINGS, TRANSFORMS  # noqa: E402

__all__ = ['__version__', 'MODELS', 'HOOKS', 'LOOPS', 'TEACHER_WEIGHTINGS', 'TRANSFORMS']
