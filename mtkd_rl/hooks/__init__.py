from .non_finite_loss_hook import NonFiniteLossHook
from .teacher_weighting_hook import TeacherWeightingHook

__all__ = ['NonFiniteLossHook', 'TeacherWeightingHook']
