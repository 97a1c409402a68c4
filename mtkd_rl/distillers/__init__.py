from .multi_teacher import MultiTeacherDistiller
from .teachers import load_teacher

__all__ = ['MultiTeacherDistiller', 'load_teacher']
