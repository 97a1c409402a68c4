"""Helpers shared by the detection tests (test_detection.py, test_two_stage.py and the tests that borrow a tiny
detector): tiny mmdet models from the tree-crown configs, a fixed three-image batch, random-weight teachers
saved as checkpoints, distiller configs around them, and the settings of the tree-crown end-to-end runs."""
import copy
import os.path as osp
import pickle
import re

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from mtkd_rl.registry import TEACHER_WEIGHTINGS, build
from conftest import REPO, attach_acting_learner

mmdet = pytest.importorskip('mmdet', reason='mmdet missing; run: bash tools/setup_env.sh')
from mmdet.structures import DetDataSample  # noqa: E402

TREE_CFG = osp.join(REPO, 'configs', 'det', 'treecrown')
TEACHER_CFGS = {
    'retinanet_r18': f'{TREE_CFG}/teachers/retinanet_r18_fpn_1xb4-24e_treecrown-320.py',
    'retinanet_r34': f'{TREE_CFG}/teachers/retinanet_r34_fpn_1xb4-24e_treecrown-320.py',
    'fcos_r18': f'{TREE_CFG}/teachers/fcos_r18_fpn_1xb4-24e_treecrown-320.py',
}
STUDENT_CFG = f'{TREE_CFG}/students/retinanet_r18-w32_fpn_1xb4-24e_treecrown-320.py'
MTKDRL_CFG = f'{TREE_CFG}/mtkdrl_retinanet_r18-w32_treecrown-pool2_1xb4-24e_treecrown-320.py'
RCNN_TEACHER_CFGS = {
    'faster_rcnn_r18': f'{TREE_CFG}/teachers/faster-rcnn_r18_fpn_1xb4-24e_treecrown-320.py',
    'faster_rcnn_r34': f'{TREE_CFG}/teachers/faster-rcnn_r34_fpn_1xb4-24e_treecrown-320.py',
}
RCNN_STUDENT_CFG = f'{TREE_CFG}/students/faster-rcnn_r18-w32_fpn_1xb4-24e_treecrown-320.py'
RCNN_MTKDRL_CFG = f'{TREE_CFG}/mtkdrl_faster-rcnn_r18-w32_treecrown-pool2_1xb4-24e_treecrown-320.py'
MMDET_TEST = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'test.py')


def tiny_model_cfg(config: str, base: int = 8) -> dict:
    """A tree-crown config's model at ``base`` backbone channels and a 16-channel FPN and head."""
    model = Config.fromfile(config).model.to_dict()
    model['backbone'].update(depth=18, base_channels=base)
    model['neck'].update(in_channels=[base, base * 2, base * 4, base * 8], out_channels=16)
    model['bbox_head'].update(in_channels=16, feat_channels=16)
    return model


def tiny_rcnn_cfg(model: ConfigDict, base: int = 8, num_classes: int = 1) -> ConfigDict:
    """A two-stage model config at ``base`` backbone channels, a 16-channel FPN, RPN and RoI heads."""
    model = copy.deepcopy(model)
    model.backbone.update(depth=18, base_channels=base, init_cfg=None)
    model.neck.update(in_channels=[base, base * 2, base * 4, base * 8], out_channels=16)
    model.rpn_head.update(in_channels=16, feat_channels=16)
    roi = model.roi_head
    extractors = roi.bbox_roi_extractor if isinstance(roi.bbox_roi_extractor, list) else [roi.bbox_roi_extractor]
    for extractor in extractors:
        extractor.update(out_channels=16)
    heads = roi.bbox_head if isinstance(roi.bbox_head, list) else [roi.bbox_head]
    for head in heads:
        head.update(in_channels=16, fc_out_channels=32, num_classes=num_classes)
    if roi.get('mask_head') is not None:
        roi.mask_roi_extractor.update(out_channels=16)
        roi.mask_head.update(in_channels=16, conv_out_channels=16, num_classes=num_classes)
    # a few proposals and sampled RoIs per image keep the CPU tests fast
    rpn_proposal = model.train_cfg.rpn_proposal
    rpn_proposal.update(nms_pre=200, max_per_img=50)
    rcnn = model.train_cfg.rcnn if isinstance(model.train_cfg.rcnn, list) else [model.train_cfg.rcnn]
    for stage in rcnn:
        stage.sampler.update(num=32)
    return model


def build_det(model_cfg: dict):
    """Build a model config (a detector or a distiller) in mmdet's scope."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MMENGINE_MODELS.build(copy.deepcopy(model_cfg))


def samples(shapes, batch_shape, boxes):
    """DetDataSamples with ``img_shape`` per image, one padded ``batch_input_shape`` and GT boxes (class 0)."""
    out = []
    for shape, bxs in zip(shapes, boxes):
        s = DetDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=batch_shape,
                                        batch_input_shape=batch_shape, scale_factor=(1.0, 1.0)))
        gt = InstanceData()
        gt.bboxes = torch.tensor(bxs, dtype=torch.float32).reshape(-1, 4)
        gt.labels = torch.zeros(len(bxs), dtype=torch.long)
        s.gt_instances = gt
        out.append(s)
    return out


#: Three 64x64-padded images: full size with two trees, 48x40 with one, and 64x56 without any.
SHAPES = [(64, 64), (48, 40), (64, 56)]
BOXES = [[[4, 6, 30, 28], [36, 30, 60, 62]], [[10, 8, 30, 40]], []]


def batch(seed=0):
    """The three images of ``SHAPES`` (random pixels, zero padding) and their samples."""
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(3, 3, 64, 64, generator=g)
    for img, (h, w) in zip(inputs, SHAPES):
        img[:, h:] = 0
        img[:, :, w:] = 0
    return inputs, samples(SHAPES, (64, 64), BOXES)


def save_teacher(root, name: str, cfg, init_weights: bool = False) -> dict:
    """Save a detector with random weights under ``root`` and return its ``model.teachers`` entry.

    Without ``init_weights`` the weights are PyTorch's default initialisation (mmdet's ``init_weights`` logs
    every parameter).
    """
    model = build_det(cfg)
    if init_weights:
        model.init_weights()
    path = str(root / f'{name}.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return dict(name=name, config=dict(model=cfg, default_scope='mmdet'), checkpoint=path)


def distiller_cfg(config: str, student, teachers, **task) -> ConfigDict:
    """The model of the distiller ``config`` with another student and teachers, its task updated by ``task``."""
    cfg = Config.fromfile(config).model
    cfg.student = student
    cfg.teachers = [copy.deepcopy(t) for t in teachers]
    cfg.task.update(task)
    return cfg


def build_distiller(cfg):
    """Build a distiller whose agent acts and stores each training batch, as under its hook past the warm-up."""
    model = build_det(cfg)
    if model.weighting.learnable:
        attach_acting_learner(model)
    return model


def fixed_weighting_losses(model, weighting: str) -> dict:
    """The distiller's losses on ``batch()`` under the fixed weighting ``weighting``; checks they are finite."""
    model.weighting = build(dict(type=weighting), TEACHER_WEIGHTINGS,
                            default_args=dict(num_teachers=len(model.teachers)))
    assert set(model.weighting.required_terms) <= set(model.task.provides)
    inputs, data = batch()
    torch.manual_seed(0)  # two-stage students sample their RoIs at random
    losses = model.loss(inputs, data)
    assert torch.isfinite(losses['loss_kd_logit']) and torch.isfinite(losses['loss_kd_feature'])
    return losses


#: Settings that shrink a tree-crown run to a few real batches (4 train and 4 val tiles), deterministically.
SMALL_RUN = {
    'train_dataloader.dataset.indices': 4, 'train_dataloader.batch_size': 2,
    'val_dataloader.dataset.indices': 4, 'test_dataloader.dataset.indices': 4,
    'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
    'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
    'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
    'randomness.seed': 0, 'default_hooks.logger.interval': 1, 'train_cfg.max_epochs': 1,
    'train_cfg.val_interval': 1,
}


def coco_metrics(log: str) -> str:
    """The last ``bbox_mAP_copypaste`` line of a training or test log."""
    found = re.findall(r'bbox_mAP_copypaste: ([0-9. -]+)', log)
    assert found, log[-3000:]
    return found[-1].strip()


def assert_same_predictions(ours: str, own: str, count: int) -> None:
    """The ``--out`` pickles of two test runs hold the same boxes, scores and labels for ``count`` images."""
    with open(ours, 'rb') as f:
        ours = pickle.load(f)
    with open(own, 'rb') as f:
        own = pickle.load(f)
    assert len(ours) == len(own) == count
    for a, b in zip(ours, own):
        assert a['img_id'] == b['img_id'] and len(a['pred_instances']['bboxes']) > 0
        for key in ('bboxes', 'scores', 'labels'):
            assert torch.equal(a['pred_instances'][key], b['pred_instances'][key])
