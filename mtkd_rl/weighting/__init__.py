from .base import COMMON_TERMS, DistillationTerms, TeacherWeighting, TeacherWeights, confidence_prior, restrict_weights
from .baselines import AverageWeighting, ConfidenceAwareWeighting, EntropyWeighting
from .mtkd_rl import MTKDRLWeighting, TeacherPolicy, normalized_reward
from .ones import OnesWeighting

__all__ = [
    'COMMON_TERMS', 'DistillationTerms', 'TeacherWeighting', 'TeacherWeights', 'confidence_prior', 'restrict_weights',
    'AverageWeighting',
    'EntropyWeighting', 'ConfidenceAwareWeighting', 'MTKDRLWeighting', 'TeacherPolicy', 'normalized_reward',
    'OnesWeighting'
]
