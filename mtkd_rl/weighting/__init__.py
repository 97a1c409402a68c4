from .base import (COMMON_TERMS, DistillationTerms, StudentOutput, TeacherWeighting, TeacherWeights, WeightingPhase,
                   confidence_prior, restrict_weights)
from .aekd import AEKDWeighting
from .baselines import AverageWeighting, ConfidenceAwareWeighting, EntropyWeighting
from .learner import RewardTerms, WeightingLearner, normalized_reward
from .mmkd import MMKDWeighting
from .mtkd_rl import MTKDRLWeighting
from .policy import TeacherPolicy
from .ones import OnesWeighting

__all__ = [
    'COMMON_TERMS', 'DistillationTerms', 'StudentOutput', 'TeacherWeighting', 'TeacherWeights', 'WeightingPhase',
    'confidence_prior', 'restrict_weights', 'AverageWeighting', 'EntropyWeighting', 'ConfidenceAwareWeighting',
    'AEKDWeighting', 'MMKDWeighting', 'MTKDRLWeighting', 'TeacherPolicy', 'normalized_reward', 'OnesWeighting',
    'RewardTerms', 'WeightingLearner'
]
