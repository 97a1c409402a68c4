from .base import DistillationTerms, TeacherWeighting, TeacherWeights, confidence_prior
from .baselines import AverageWeighting, ConfidenceAwareWeighting, EntropyWeighting
from .mtkd_rl import MTKDRLWeighting, TeacherPolicy, normalized_reward

__all__ = [
    'DistillationTerms', 'TeacherWeighting', 'TeacherWeights', 'confidence_prior', 'AverageWeighting',
    'EntropyWeighting', 'ConfidenceAwareWeighting', 'MTKDRLWeighting', 'TeacherPolicy', 'normalized_reward'
]
