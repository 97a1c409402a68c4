from .teacher_weighting_hook import TeacherWeightingHook

__all__ = ['TeacherWeightingHook']
