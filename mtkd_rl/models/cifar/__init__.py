"""The CIFAR knowledge-distillation model zoo as mmpretrain backbones.

These are the 32x32-input networks on which CIFAR-100 distillation results are reported (the zoo of the CRD
benchmark: ResNet-8 to -110 and the x4 variants, WRN, VGG with BN, MobileNetV2, ShuffleNetV1/V2; and the CIFAR
RegNets of MTKD-RL). Each backbone returns a tuple of stage outputs (``out_indices``); its last stage ends where
the published network's global average pooling begins, so ``ImageClassifier`` with a ``GlobalAveragePooling``
neck and a ``LinearClsHead`` is the published network. Parameter and buffer names follow the published
definitions, so their checkpoints convert by renaming the classifier only
(``tools/model_converters/repdistiller_to_mmpretrain.py``).
"""
from .mobilenetv2 import CIFARMobileNetV2
from .regnet import CIFARRegNet
from .resnet import CIFARResNet
from .shufflenet_v1 import CIFARShuffleNetV1
from .shufflenet_v2 import CIFARShuffleNetV2
from .vgg import CIFARVGG
from .wrn import CIFARWideResNet

__all__ = ['CIFARResNet', 'CIFARWideResNet', 'CIFARVGG', 'CIFARMobileNetV2', 'CIFARShuffleNetV1',
           'CIFARShuffleNetV2', 'CIFARRegNet']
