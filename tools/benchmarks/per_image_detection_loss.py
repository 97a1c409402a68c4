"""What a dense detector's per-image loss costs: ``loss_by_feat`` on each image alone against one target
assignment per batch and one batched reduction (what the detection adapter uses for RetinaNet-style anchor
heads, FCOS and ATSS heads), for the ``bbox_head`` of any mmdet config, on CPU or CUDA.

Both variants run on the same head outputs, each round on fresh data samples (the batched assignment is
memoized per batch), rounds interleaved with the order alternating. It prints the medians, their ratio and
the largest relative difference between the two results (they compute the same values). On the CPU the steps
are timed by the process's CPU time (what they computed, whatever else the machine runs; run it with
``OMP_NUM_THREADS=1``), on CUDA by the wall clock.

    python tools/benchmarks/per_image_detection_loss.py DETECTOR_CONFIG [--batch-size 4] [--input-size 320 320]
        [--boxes 8] [--rounds 7] [--device cpu]
"""
import argparse
import statistics
import time
from typing import Dict, List

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import mtkd_rl  # noqa: F401
from mtkd_rl.tasks.detection import loss_mode, per_image_detection_loss, per_image_loss_by_image


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="A dense head's per-image loss: per-image loss_by_feat against "
                                                 'one batched assignment and reduction')
    parser.add_argument('config', help='an mmdet detector config (a plain model, not a distiller)')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--input-size', type=int, nargs=2, default=(320, 320), metavar=('H', 'W'))
    parser.add_argument('--boxes', type=int, default=8, help='ground-truth boxes per image (random, 10-60 px)')
    parser.add_argument('--rounds', type=int, default=7, help='timed rounds (after 2 untimed ones)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args(argv)


def random_samples(batch: int, size, boxes: int, num_classes: int, generator: torch.Generator,
                   device: torch.device) -> list:
    """``DetDataSample`` objects with random boxes of 10-60 px inside ``size``."""
    from mmdet.structures import DetDataSample
    h, w = size
    out = []
    for _ in range(batch):
        corner = torch.rand(boxes, 2, generator=generator) * torch.tensor([w - 60.0, h - 60.0])
        extent = 10 + torch.rand(boxes, 2, generator=generator) * 50
        sample = DetDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w), batch_input_shape=(h, w)))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([corner, corner + extent], 1).to(device),
            labels=torch.randint(num_classes, (boxes, ), generator=generator).to(device))
        out.append(sample)
    return out


def main(argv=None) -> Dict[str, float]:
    args = parse_args(argv)
    device = torch.device(args.device)
    cfg = Config.fromfile(args.config)
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        from mmdet.registry import MODELS
        model = MODELS.build(cfg.model).to(device).eval()
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(args.batch_size, 3, *args.input_size, generator=generator).to(device)
    variants = {'per-image loss_by_feat': per_image_loss_by_image, 'batched': per_image_detection_loss}
    times: Dict[str, List[float]] = {name: [] for name in variants}
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    clock = time.perf_counter if device.type == 'cuda' else time.process_time
    with torch.no_grad(), loss_mode(model.bbox_head) as head:
        outs = head(model.extract_feat(inputs))
        for round_ in range(args.rounds + 2):
            order = list(variants) if round_ % 2 else list(variants)[::-1]
            for name in order:
                data = random_samples(args.batch_size, args.input_size, args.boxes, head.num_classes, generator,
                                      device)
                sync()
                start = clock()
                variants[name](head, outs, data)
                sync()
                if round_ >= 2:
                    times[name].append(clock() - start)
        data = random_samples(args.batch_size, args.input_size, args.boxes, head.num_classes, generator, device)
        loop, batched = per_image_loss_by_image(head, outs, data), per_image_detection_loss(head, outs, data)
    medians = {name: statistics.median(v) * 1000 for name, v in times.items()}
    result = {f'{name} ms': value for name, value in medians.items()}
    result['batched/per-image'] = medians['batched'] / medians['per-image loss_by_feat']
    result['max relative difference'] = float(((loop - batched).abs() / loop.abs().clamp_min(1e-12)).max())
    print(f'{type(head).__name__} of {args.config}, batch {args.batch_size} at {args.input_size[0]}x'
          f'{args.input_size[1]}, {args.boxes} boxes per image, {args.device}, medians of {args.rounds} rounds '
          f'({"wall clock" if device.type == "cuda" else "CPU time"}):')
    for key, value in result.items():
        print(f'  {key}: {value:.4g}')
    return result


if __name__ == '__main__':
    main()
