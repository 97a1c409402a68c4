"""Analysis of trained distillers: the scalar log of a run, the teachers the agent trusts, their figures."""
from .figures import FIGURES, PANELS, draw_figure, draw_trust_heatmap, panel_keys, plot_training_log
from .teacher_trust import (GROUP_BY, TeacherTrust, collect_teacher_weights, load_distiller_checkpoint,
                            sample_group)
from .training_log import AGENT_SERIES, TEACHER_SERIES, TrainingLog, find_runs, load_training_log, read_scalars

__all__ = [
    'AGENT_SERIES', 'FIGURES', 'GROUP_BY', 'PANELS', 'TEACHER_SERIES', 'TeacherTrust', 'TrainingLog',
    'collect_teacher_weights', 'draw_figure', 'draw_trust_heatmap', 'find_runs', 'load_distiller_checkpoint',
    'load_training_log', 'panel_keys', 'plot_training_log', 'read_scalars', 'sample_group'
]
