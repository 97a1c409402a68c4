from .detection import BoxGIoUKD, DenseSigmoidKL
from .feature import ChannelWiseKL, FeatureMSE
from .logit import LogitKL

__all__ = ['LogitKL', 'FeatureMSE', 'ChannelWiseKL', 'DenseSigmoidKL', 'BoxGIoUKD']
