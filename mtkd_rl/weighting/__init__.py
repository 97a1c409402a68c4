from .base import (COMMON_TERMS, DistillationTerms, StudentOutput, TeacherWeighting, TeacherWeights, confidence_prior,
                   restrict_weights)
from .aekd import AEKDWeighting
from .baselines import AverageWeighting, ConfidenceAwareWeighting, EntropyWeighting
from .mtkd_rl import MTKDRLWeighting, TeacherPolicy, normalized_reward
from .ones import OnesWeighting

__all__ = [
    'COMMON_TERMS', 'DistillationTerms', 'StudentOutput', 'TeacherWeighting', 'TeacherWeights', 'confidence_prior',
    'restrict_weights', 'AverageWeighting', 'EntropyWeighting', 'ConfidenceAwareWeighting', 'AEKDWeighting',
    'MTKDRLWeighting', 'TeacherPolicy', 'normalized_reward', 'OnesWeighting'
]
