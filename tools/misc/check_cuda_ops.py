"""Check that mmcv was compiled with CUDA and that its CUDA ops used by mmdet and mmseg agree with their CPU or
pure-PyTorch references: nms, roi_align and sigmoid_focal_loss (with its gradient).

Usage:
    python tools/misc/check_cuda_ops.py
"""
import sys

import torch


def fail(msg: str) -> None:
    print(f'[check_cuda_ops] FAIL: {msg}', file=sys.stderr)
    sys.exit(1)


def main() -> None:
    if not torch.cuda.is_available():
        fail(f'no CUDA GPU visible to torch {torch.__version__} (torch.version.cuda={torch.version.cuda}); run '
             'this on a GPU machine with a CUDA build of torch')
    try:
        import mmcv
        from mmcv.ops import get_compiling_cuda_version, nms, roi_align, sigmoid_focal_loss
    except ImportError as e:
        fail(f'mmcv has no compiled ops ({e}); build it as docs/installation.md says')
    compiled = get_compiling_cuda_version()
    if compiled == 'not available':
        fail(f'mmcv {mmcv.__version__} was built without CUDA ops: rebuild it with FORCE_CUDA=1 and nvcc on PATH '
             '(docs/installation.md), or install the prebuilt wheel for your torch and CUDA')
    print(f'torch {torch.__version__} (CUDA {torch.version.cuda}), {torch.cuda.get_device_name()}; '
          f'mmcv {mmcv.__version__} compiled with CUDA {compiled}')
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(300, 2, generator=gen) * 200
    boxes = torch.cat([xy, xy + 8 + torch.rand(300, 2, generator=gen) * 60], dim=1)
    scores = torch.rand(300, generator=gen)
    keep_cpu = nms(boxes, scores, 0.5)[1]
    keep_gpu = nms(boxes.cuda(), scores.cuda(), 0.5)[1].cpu()
    if not torch.equal(keep_cpu, keep_gpu):
        fail('nms keeps other boxes on CUDA than on the CPU')
    print(f'nms: CUDA == CPU ({len(keep_cpu)} of 300 boxes kept)')

    feats = torch.randn(2, 16, 32, 32, generator=gen)
    rois = torch.cat([torch.randint(0, 2, (40, 1), generator=gen).float(), boxes[:40] / 8], dim=1)
    out_cpu = roi_align(feats, rois, (7, 7), 1.0, 2, 'avg', True)
    out_gpu = roi_align(feats.cuda(), rois.cuda(), (7, 7), 1.0, 2, 'avg', True).cpu()
    err = (out_cpu - out_gpu).abs().max().item()
    if err > 1e-4:
        fail(f'roi_align differs between CUDA and CPU by {err:.2e}')
    print(f'roi_align: CUDA == CPU (max abs difference {err:.1e})')

    logits = torch.randn(500, 80, generator=gen).cuda().requires_grad_()
    labels = torch.randint(0, 81, (500, ), generator=gen).cuda()  # 80 = background
    loss = sigmoid_focal_loss(logits, labels, 2.0, 0.25, None, 'sum')
    target = torch.nn.functional.one_hot(labels, 81)[:, :80].float()
    p = logits.sigmoid()
    pt = (1 - p) * target + p * (1 - target)
    weight = (0.25 * target + 0.75 * (1 - target)) * pt.pow(2)
    ref = (torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction='none') * weight).sum()
    rel = ((loss - ref).abs() / ref).item()
    if rel > 1e-4:
        fail(f'sigmoid_focal_loss (CUDA) differs from the PyTorch formula by {rel:.2e} (relative)')
    grad, = torch.autograd.grad(loss, logits)
    ref_grad, = torch.autograd.grad(ref, logits)
    if not torch.allclose(grad, ref_grad, rtol=1e-3, atol=1e-5):
        fail('sigmoid_focal_loss gradient (CUDA) differs from the PyTorch formula')
    print(f'sigmoid_focal_loss: CUDA == PyTorch formula (relative difference {rel:.1e}), gradients too')
    print('[check_cuda_ops] OK')


if __name__ == '__main__':
    main()
