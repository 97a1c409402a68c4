"""Small distillers of each task with a given weighting, for the tests that run one iteration of a weighting on
every task (AEKD, MMKD)."""
import copy

import pytest
import torch

from mtkd_rl.registry import build


def classification_pool(random_teachers, weighting: dict):
    """A Fashion-MNIST distiller with random teachers, and a preprocessed batch of 4: ``(model, inputs,
    data_samples)``."""
    from conftest import distiller_cfg
    from test_distiller import batch, build_distiller
    model = build_distiller(distiller_cfg(random_teachers, weighting=weighting))
    inputs, samples = batch(n=4)
    data = model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), training=True)
    return model, data['inputs'], data['data_samples']


def detection_pool_with_a_feature_only_teacher(root, weighting: dict):
    """A tiny RetinaNet student with two RetinaNet teachers and an FCOS one (feature-only, the third), and a
    batch: ``(model, inputs, data_samples)``."""
    pytest.importorskip('mmdet')
    from detection_helpers import (MTKDRL_CFG, STUDENT_CFG, TEACHER_CFGS, batch, build_det, distiller_cfg,
                                   save_teacher, tiny_model_cfg)
    torch.manual_seed(0)
    pool = [save_teacher(root, name, tiny_model_cfg(TEACHER_CFGS[name], base), init_weights=True)
            for name, base in (('retinanet_r18', 16), ('retinanet_r34', 8), ('fcos_r18', 8))]
    cfg = distiller_cfg(MTKDRL_CFG, tiny_model_cfg(STUDENT_CFG, 8), pool, feature_only_teachers=['fcos_r18'])
    cfg.weighting = weighting
    model = build_det(cfg)
    model.student.init_weights()
    inputs, samples = batch()
    return model, inputs, samples


def segmentation_pool(root, weighting: dict):
    """A tiny segmentor student with a PSPNet and an FCN (stride 16) teacher, and a batch: ``(model, inputs,
    data_samples)``. Build and run it under mmseg's default scope."""
    pytest.importorskip('mmseg')
    from test_segmentation import batch, save_teacher, seg_model
    teachers = [dict(save_teacher(c, root / f't{i}.pth'), name=f't{i}')
                for i, c in enumerate([seg_model('PSPHead', base=8), seg_model('FCNHead', base=8, d16=True)])]
    torch.manual_seed(0)
    model = build(dict(type='MultiTeacherDistiller', student=seg_model(), teachers=copy.deepcopy(teachers),
                       weighting=weighting))
    inputs, samples = batch()
    return model, inputs, samples
