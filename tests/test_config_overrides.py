"""Configs as tools/train.py reads them (Config.fromfile, --cfg-options through DictAction, merge_from_dict, the
Runner): partial ``model.task``/loss/weighting dicts completed with defaults, and the documented example that
points the configs at another data set (an ImageNet-style folder)."""
import argparse
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401
from conftest import FMNIST_CFG, MTKDRL_CONFIG, REPO, SMALL_RUN, cfg_options

IMAGE_FOLDER_CONFIG = f'{FMNIST_CFG}/mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_image-folder.py'


def config_from_command_line(config: str, options: dict, work_dir, name: str) -> Config:
    """The config tools/train.py builds from ``CONFIG --cfg-options k=v ... --no-validate``."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', *cfg_options(options)])
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    return cfg


def teacher_checkpoints(teachers) -> dict:
    return {f'model.teachers.{i}.checkpoint': t['checkpoint'] for i, t in enumerate(teachers)}


def test_partial_task_loss_and_weighting_options_merge_with_the_defaults(fashion_mnist, random_teachers, tmp_path):
    """The documented ``model.task.logit_loss.temperature=2.0`` on a config that leaves model.task (and
    model.weighting) to the distiller's defaults."""
    config = tmp_path / 'mtkdrl_default_task.py'
    config.write_text(f"_base_ = '{MTKDRL_CONFIG}'\n"
                      "model = dict(_delete_=True, type='mtkd_rl.MultiTeacherDistiller', "
                      "student=_base_.model.student, teachers=_base_.model.teachers)\n")
    options = {**SMALL_RUN, **teacher_checkpoints(random_teachers), 'train_dataloader.dataset.indices': 8,
               'train_dataloader.batch_size': 8,
               'train_cfg.max_epochs': 1, 'model.task.logit_loss.temperature': 2.0,
               'model.task.feature_loss.loss_weight': 2.0, 'model.weighting.warmup_weights': 'uniform'}
    cfg = config_from_command_line(str(config), options, tmp_path, 'partial_task')
    assert 'type' not in cfg.model.task and 'type' not in cfg.model.weighting
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    runner = Runner.from_cfg(cfg)
    task = runner.model.task
    assert type(task).__name__ == 'ClassificationAdapter'
    assert type(task.logit_loss).__name__ == 'LogitKL' and task.logit_loss.temperature == 2.0
    assert task.logit_loss.loss_weight == 1.0  # the default loss_weight is kept
    assert type(task.feature_loss).__name__ == 'FeatureMSE' and task.feature_loss.loss_weight == 2.0
    assert type(runner.model.weighting).__name__ == 'MTKDRLWeighting'
    assert runner.model.weighting.warmup_weights == 'uniform'
    runner.train()
    assert runner.iter == 1


def test_partial_configs_complete_with_each_adapters_defaults():
    from mtkd_rl.tasks import ClassificationAdapter, DetectionAdapter, SegmentationAdapter
    seg = SegmentationAdapter.complete_config(dict(logit_loss=dict(temperature=3.0)))
    assert seg['logit_loss'] == dict(type='LogitKL', temperature=3.0, loss_weight=1.0)
    det = DetectionAdapter.complete_config(dict(type='DetectionAdapter', box_loss=dict(score_thr=0.3)))
    assert det == dict(type='DetectionAdapter', box_loss=dict(type='BoxGIoUKD', score_thr=0.3, loss_weight=1.0))
    # a loss config with its own type replaces the default, as before
    cls = ClassificationAdapter.complete_config(dict(feature_loss=dict(type='ChannelWiseKL')))
    assert cls['feature_loss'] == dict(type='ChannelWiseKL')

    class LogitOnlyAdapter(ClassificationAdapter):

        def __init__(self, logit_loss=dict(type='LogitKL'), feature_loss=None, probe_size=(64, 64)):
            super().__init__(logit_loss, feature_loss, probe_size)

    with pytest.raises(ValueError, match=r"model\.task\.feature_loss has no 'type' and LogitOnlyAdapter has no "
                                         r"default feature_loss.*model\.task\.feature_loss=dict\(type="):
        LogitOnlyAdapter.complete_config(dict(feature_loss=dict(loss_weight=2.0)))


def _write_image_folder(root: str, images: np.ndarray, labels: np.ndarray, per_class: int, offset: int) -> None:
    """``root/class<c>/<index>.png``: ``per_class`` images of each of the 10 classes, from ``offset`` on."""
    import cv2
    for c in range(10):
        folder = osp.join(root, f'class{c}')
        os.makedirs(folder)
        for i in np.flatnonzero(labels == c)[offset:offset + per_class]:
            assert cv2.imwrite(osp.join(folder, f'{i}.png'), images[i])


def test_image_folder_example_config(fashion_mnist, random_teachers, tmp_path, monkeypatch):
    """docs/user_guides/other_datasets.md: the example config trains and validates on a data set of its own,
    an ImageNet-style folder of Fashion-MNIST images made here; paths in configs are relative to the repository
    root."""
    with open(osp.join(fashion_mnist, 'train-images-idx3-ubyte'), 'rb') as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with open(osp.join(fashion_mnist, 'train-labels-idx1-ubyte'), 'rb') as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    root = tmp_path / 'image_folder'
    _write_image_folder(str(root / 'train'), images, labels, per_class=2, offset=0)
    _write_image_folder(str(root / 'val'), images, labels, per_class=1, offset=2)

    monkeypatch.chdir(REPO)
    options = {
        **teacher_checkpoints(random_teachers), 'train_dataloader.batch_size': 20, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False, 'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False, 'train_cfg.max_epochs': 1, 'randomness.seed': 0,
        'train_dataloader.dataset.data_root': str(root), 'val_dataloader.dataset.data_root': str(root),
        'test_dataloader.dataset.data_root': str(root)}
    cfg = config_from_command_line(IMAGE_FOLDER_CONFIG, options, tmp_path / 'work', 'image_folder')
    runner = Runner.from_cfg(cfg)
    runner.train()
    train_set = runner.train_dataloader.dataset
    assert type(train_set).__name__ == 'CustomDataset' and len(train_set) == 20
    assert train_set.metainfo['classes'] == tuple(f'class{c}' for c in range(10))
    assert runner.iter == 1
    metrics = runner.test()
    assert len(runner.test_loop.dataloader.dataset) == 10 and 0 <= metrics['accuracy/top1'] <= 100
