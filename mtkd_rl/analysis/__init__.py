"""Analysis of trained distillers: the scalar log of a run, the teachers the agent trusts, their figures, and
the arms, finished runs and reports of a weighting comparison."""
from .comparison_report import mean_std, paired_difference, write_reports
from .comparison_runs import RunResult, main_metric, read_run
from .comparison_variants import STUDENT_ALONE, Variant, parse_variant, variant_config, variant_weighting
from .figures import FIGURES, PANELS, draw_figure, draw_trust_heatmap, panel_keys, plot_training_log
from .teacher_trust import (GROUP_BY, TeacherTrust, collect_teacher_weights, load_distiller_checkpoint,
                            sample_group)
from .training_log import (AGENT_SERIES, TEACHER_SERIES, NoTrainingRecordsError, TrainingLog, find_runs,
                           last_validation, load_training_log, read_scalars, scalar_logs)

__all__ = [
    'AGENT_SERIES', 'FIGURES', 'GROUP_BY', 'NoTrainingRecordsError', 'PANELS', 'RunResult', 'STUDENT_ALONE',
    'TEACHER_SERIES', 'TeacherTrust', 'TrainingLog', 'Variant', 'collect_teacher_weights', 'draw_figure',
    'draw_trust_heatmap', 'find_runs', 'last_validation', 'load_distiller_checkpoint', 'load_training_log',
    'main_metric', 'mean_std', 'paired_difference', 'panel_keys', 'parse_variant', 'plot_training_log', 'read_run', 'read_scalars',
    'sample_group', 'scalar_logs', 'variant_config', 'variant_weighting', 'write_reports'
]
