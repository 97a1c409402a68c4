"""Vision transformers in classification: ViT/DeiT and Swin students and teachers and mixed CNN/ViT pools on real
mmpretrain models, their build-time errors, and an end-to-end run of a tiny ViT on real Fashion-MNIST through
tools/ (ViT teacher -> MTKD-RL ViT student with a ViT and a CNN teacher -> test -> export -> mmpretrain's test)."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

import mtkd_rl  # noqa: F401
from mtkd_rl.tasks import IterationContext
from mtkd_rl.tasks.reductions import global_pool, soft_cross_entropy
from mtkd_rl.tasks.classifier_outputs import head_input_from, run_classifier
from conftest import FMNIST_CFG, SMALL_RUN, TEACHER_CONFIGS, attach_acting_learner, cfg_options, run_tool
from test_e2e_classification import MMPRETRAIN_TEST, accuracy

VIT_TEACHER = f'{FMNIST_CFG}/teachers/vit-d4-w64-p4_1xb64-2e_fashion-mnist.py'
VIT_STUDENT = f'{FMNIST_CFG}/students/vit-d2-w32-p4_1xb64-2e_fashion-mnist.py'
VIT_MTKDRL = f'{FMNIST_CFG}/mtkdrl_vit-d2-w32-p4_fmnist-vit-cnn-pool2_1xb64-2e_fashion-mnist.py'
VIT_CAMKD = f'{FMNIST_CFG}/camkd_vit-d2-w32-p4_fmnist-vit-cnn-pool2_1xb64-2e_fashion-mnist.py'
TINY_VIT = dict(type='VisionTransformer', arch=dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32),
                img_size=32, patch_size=8)
NORMALISATION = dict(type='ClsDataPreprocessor', num_classes=10, mean=[72.94] * 3, std=[90.02] * 3, to_rgb=False)


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Tiny models: one torch thread is faster, and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(cfg):
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MMENGINE_MODELS.build(copy.deepcopy(cfg))


def classifier(backbone, head_in, neck=None, head='LinearClsHead'):
    return dict(type='ImageClassifier', backbone=backbone, neck=neck,
                head=dict(type=head, num_classes=10, in_channels=head_in), data_preprocessor=NORMALISATION)


def batch(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g), [DataSample().set_gt_label(i % 10) for i in range(n)]


def reference_map(backbone, inputs):
    """The patch tokens as mmpretrain's own out_type='featmap' gives them."""
    out_type = backbone.out_type
    backbone.out_type = 'featmap'
    try:
        return backbone(inputs)[-1]
    finally:
        backbone.out_type = out_type


VIT_VARIANTS = {
    'cls_token': classifier(TINY_VIT, 16, head='VisionTransformerClsHead'),
    'cls_token-two-outputs': classifier(dict(TINY_VIT, out_indices=(0, 1)), 16, head='VisionTransformerClsHead'),
    'avg_featmap': classifier(dict(TINY_VIT, out_type='avg_featmap'), 16),
    'avg_featmap-no-cls-token': classifier(dict(TINY_VIT, out_type='avg_featmap', with_cls_token=False), 16),
    'featmap-gap': classifier(dict(TINY_VIT, out_type='featmap'), 16, neck=dict(type='GlobalAveragePooling')),
    'deit-distilled': classifier(dict(TINY_VIT, type='DistilledVisionTransformer'), 16, head='DeiTClsHead'),
}


@pytest.mark.parametrize('name', list(VIT_VARIANTS))
def test_vit_feature_is_the_patch_token_map_and_embedding_what_the_head_reads(name):
    torch.manual_seed(0)
    model = build(VIT_VARIANTS[name]).eval()
    inputs, _ = batch()
    with torch.no_grad():
        out = run_classifier(model, inputs)
        torch.testing.assert_close(out.feature, reference_map(model.backbone, inputs))
        assert out.feature.shape == (4, 16, 4, 4)
        torch.testing.assert_close(out.logits, model(inputs, mode='tensor'))
        head_reads = model.head.pre_logits(model.extract_feat(inputs))
        if isinstance(head_reads, tuple):  # DeiT: class and distillation tokens
            head_reads = torch.cat(head_reads, 1)
        torch.testing.assert_close(out.embedding, head_reads)
    assert '_format_output' not in vars(model.backbone)  # the recording is undone


def test_vit_student_map_carries_gradients_to_every_backbone_layer():
    torch.manual_seed(0)
    model = build(VIT_VARIANTS['cls_token']).train()
    out = run_classifier(model, batch()[0])
    out.feature.square().mean().backward()
    grads = {n: p.grad for n, p in model.backbone.named_parameters() if n != 'cls_token'}
    assert all(g is not None and g.abs().sum() > 0 for g in grads.values())


def test_swin_stage_map():
    swin = dict(type='SwinTransformer', arch=dict(embed_dims=16, depths=[1, 1], num_heads=[1, 2]), img_size=32,
                window_size=4, out_indices=(0, 1))
    model = build(classifier(swin, 32, neck=dict(type='GlobalAveragePooling'))).eval()
    inputs, _ = batch()
    with torch.no_grad():
        out = run_classifier(model, inputs)
        torch.testing.assert_close(out.feature, model.backbone(inputs)[-1])
        assert out.feature.shape == (4, 32, 4, 4)
        torch.testing.assert_close(out.embedding, global_pool(out.feature))


def test_head_input_from_keeps_the_heads_structure():
    torch.manual_seed(0)
    model = build(VIT_VARIANTS['deit-distilled']).eval()
    v = torch.randn(4, 16)
    with torch.no_grad():
        out = run_classifier(model, batch()[0])
        logits = model.head(head_input_from(v, out.head_input))
    head = model.head.layers
    torch.testing.assert_close(logits, (head.head(v) + head.head_dist(v)) / 2)


@pytest.fixture(scope='module')
def mixed_pool(random_teachers, tmp_path_factory):
    """A ViT student with a ViT, a CNN and a Swin teacher (random weights, saved as checkpoints)."""
    root = tmp_path_factory.mktemp('vit_pool')
    swin = classifier(dict(type='SwinTransformer', arch=dict(embed_dims=16, depths=[1, 1], num_heads=[1, 2]),
                           img_size=32, window_size=4, out_indices=(1, )), 32,
                      neck=dict(type='GlobalAveragePooling'))
    configs = dict(vit=VIT_TEACHER, swin=dict(model=swin, default_scope='mmpretrain'))
    teachers = []
    for name, config in configs.items():
        model = build(swin if name == 'swin' else _config(config).model)
        path = str(root / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict()), path)
        teachers.append(dict(name=name, config=config, checkpoint=path))
    cnn = next(t for t in random_teachers if t['name'] == 'resnet18_w16')
    return [teachers[0], cnn, teachers[1]]


def _config(path):
    from mmengine.config import Config
    return Config.fromfile(path)


def distiller(teachers, weighting='MTKD-RL', **task):
    cfg = _config(VIT_MTKDRL)
    model = cfg.model.to_dict()
    model.update(teachers=copy.deepcopy(teachers), weighting=dict(type=weighting),
                 data_preprocessor=cfg.data_preprocessor.to_dict())
    model['task'].update(task)
    built = build(model)
    if built.weighting.learnable:
        attach_acting_learner(built)
    return built


@pytest.mark.parametrize('weighting', ['MTKD-RL', 'CA-MKD'])
def test_mixed_pool_builds_and_trains_one_step(mixed_pool, weighting):
    model = distiller(mixed_pool, weighting)
    # the student's 8x8 patch-token map (32 ch) to the ViT's tokens, the ResNet's stage and Swin's stage
    assert [tuple(c[0].conv.weight.shape[:2]) for c in model.connectors] == [(64, 32), (128, 32), (32, 32)]
    model.train()
    inputs, samples = batch()
    data = model.data_preprocessor(dict(inputs=list(inputs * 50 + 73), data_samples=samples), training=True)
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert {'student.loss', 'loss_kd_logit', 'loss_kd_feature', 'w_feature.swin'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is not None for p in model.student.parameters() if p.requires_grad)
    assert all(p.grad is None for t in model.teachers for p in t.parameters())


def test_feature_teacher_loss_for_vit_cnn_and_swin_heads(mixed_pool):
    """CA-MKD's term: each teacher's head on the pooled connected student map in place of what it reads. Given
    the teacher's own map, a pooling head (ResNet, Swin) gives its own loss; the ViT head reads the pooled patch
    tokens in place of the class token."""
    model = distiller(mixed_pool, 'CA-MKD').eval()
    inputs, samples = batch()
    context = IterationContext.create(inputs, samples)
    with torch.no_grad():
        student = model.task.forward_student(model.student, context)
        for teacher_model, name in zip(model.teachers, model.teacher_names):
            teacher = model.task.forward_teacher(teacher_model, context, student)
            own = model.task.feature_teacher_loss(teacher_model, teacher.features, teacher, student, context)
            if name == 'vit':
                expected = soft_cross_entropy(teacher_model.head((global_pool(teacher.features[0]), )),
                                              torch.arange(4))
                assert teacher.embedding.shape == (4, 64)  # the class token
                assert not torch.allclose(own, teacher.task_loss)
            else:
                expected = teacher.task_loss
            torch.testing.assert_close(own, expected)


def test_teacher_that_pools_inside_is_an_error_naming_it(mixed_pool, tmp_path):
    convnext = classifier(dict(type='ConvNeXt', arch=dict(depths=[1, 1, 1, 1], channels=[8, 8, 16, 16])), 16)
    path = str(tmp_path / 'convnext.pth')
    torch.save(dict(state_dict=build(convnext).state_dict()), path)
    teachers = mixed_pool[:1] + [dict(name='convnext', config=dict(model=convnext, default_scope='mmpretrain'),
                                      checkpoint=path)]
    with pytest.raises(ValueError, match=r"model\.teachers\[1\] \(convnext\)'s backbone gives a pooled vector of 16 "
                                         r'channels.*feature_loss=None'):
        distiller(teachers)
    assert distiller(teachers, feature_loss=None).connectors is None  # logit KD alone works


def test_camkd_with_a_head_that_cannot_read_the_map_is_an_error_naming_the_teacher(mixed_pool, tmp_path):
    # a LinearNeck turns the 128-channel map into 32 channels: the head cannot read the pooled map
    cnn = _config(TEACHER_CONFIGS['resnet18_w16']).model.to_dict()
    cnn.update(neck=dict(type='LinearNeck', in_channels=128, out_channels=32, gap_dim=2),
               head=dict(cnn['head'], in_channels=32))
    path = str(tmp_path / 'necked.pth')
    torch.save(dict(state_dict=build(cnn).state_dict()), path)
    teachers = mixed_pool[:1] + [dict(name='necked', config=dict(model=cnn, default_scope='mmpretrain'),
                                      checkpoint=path)]
    with pytest.raises(ValueError, match=r"'CA-MKD' needs \['feature_teacher_loss'\].*model\.teachers\[1\] "
                                         r'\(necked\): its head \(LinearClsHead\) cannot read its pooled 128-channel'):
        distiller(teachers, 'CA-MKD')
    assert distiller(teachers, 'MTKD-RL').task.provides == {'teacher_entropy'}


# ----------------------------------------------------------------------------------------------------------
# end to end on real Fashion-MNIST through tools/


def test_vit_end_to_end(fashion_mnist, random_teachers, tmp_path):
    """Train the ViT teacher, distil the ViT student from it and a CNN teacher (MTKD-RL, agent updated), test,
    export, and get the same accuracy from mmpretrain's own test tool with the plain student config."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(VIT_TEACHER)  # trained in this process: one interpreter start fewer
    cfg.merge_from_dict({**SMALL_RUN, 'train_cfg.max_epochs': 1})
    cfg.work_dir, cfg.experiment_name = str(tmp_path / 'vit_teacher'), 'vit_teacher'
    Runner.from_cfg(cfg).train()
    cnn = next(t for t in random_teachers if t['name'] == 'resnet18_w16')
    teachers = {'model.teachers.0.checkpoint': str(tmp_path / 'vit_teacher' / 'epoch_1.pth'),
                'model.teachers.1.checkpoint': cnn['checkpoint']}
    work_dir = tmp_path / 'mtkdrl'
    log = run_tool('python', 'tools/train.py', VIT_MTKDRL, '--work-dir', str(work_dir), '--cfg-options',
                   *cfg_options({**SMALL_RUN, **teachers, 'custom_hooks.0.interval': 2}))
    assert 'agent_updates: 1' in log and 'w_feature.vit_d4_w64' in log and 'w_logit.resnet18_w16' in log
    val_acc = accuracy(log)
    ckpt = str(work_dir / 'epoch_2.pth')
    test_log = run_tool('python', 'tools/test.py', VIT_MTKDRL, ckpt, '--work-dir', str(tmp_path / 'test'),
                        '--cfg-options', *cfg_options(SMALL_RUN))
    assert accuracy(test_log) == val_acc
    exported = str(tmp_path / 'student.pth')
    run_tool('python', 'tools/model_converters/export_student.py', ckpt, exported)
    assert not any(k.startswith(('student.', 'connectors.')) for k in torch.load(exported)['state_dict'])
    own_log = run_tool('python', MMPRETRAIN_TEST, VIT_STUDENT, exported, '--work-dir', str(tmp_path / 'own'),
                       '--cfg-options', *cfg_options(SMALL_RUN))
    assert accuracy(own_log) == val_acc
    assert osp.isfile(VIT_CAMKD)
