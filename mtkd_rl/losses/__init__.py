from .feature import ChannelWiseKL, FeatureMSE
from .logit import LogitKL

__all__ = ['LogitKL', 'FeatureMSE', 'ChannelWiseKL']
