"""Backbones of this project, registered into mmpretrain's ``MODELS`` registry.

Import this package (``custom_imports=dict(imports=['mtkd_rl.models'])`` in a config) to use them as
``backbone=dict(type=...)`` under ``default_scope='mmpretrain'``. Needs mmpretrain.
"""
from .cifar import (CIFARMobileNetV2, CIFARRegNet, CIFARResNet, CIFARShuffleNetV1, CIFARShuffleNetV2, CIFARVGG,
                    CIFARWideResNet)

__all__ = ['CIFARResNet', 'CIFARWideResNet', 'CIFARVGG', 'CIFARMobileNetV2', 'CIFARShuffleNetV1',
           'CIFARShuffleNetV2', 'CIFARRegNet']
