"""Cost of MTKD-RL over equal weights (AVER) for a classification distiller: train steps side by side.

The paper reports +15% time and +14% memory per epoch on one GPU. This benchmark builds two distillers that
differ only in ``model.weighting`` (same student, teachers, batch), runs their train steps interleaved
(ABAB...) so machine noise hits both alike, and prints the median step time of each and their ratio; on CUDA
also the peak memory of each step and their ratio. The MTKD-RL step includes storing the transition; the
agent's update (every ``interval`` iterations) is timed separately per stored batch.

    python tools/benchmarks/weighting_overhead.py [CONFIG] [--batch-size 64] [--steps 20]
"""
import argparse
import copy
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, DefaultScope

import mtkd_rl  # noqa: F401

DEFAULT = 'configs/cls/fashion_mnist/mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py'


def random_teachers(cfg, tmp):
    """Give teachers without a checkpoint on disk random weights (timing does not depend on them)."""
    import os.path as osp

    from mtkd_rl.distillers.teachers import load_teacher_config
    teachers = []
    for i, t in enumerate(cfg.model.teachers):
        t = dict(t)
        if not osp.isfile(t['checkpoint']):
            tcfg = load_teacher_config(t['config'], f'model.teachers[{i}]')
            with DefaultScope.overwrite_default_scope(tcfg.get('default_scope')):
                model = MODELS.build(tcfg.model)
            t['checkpoint'] = osp.join(tmp, f'teacher{i}.pth')
            torch.save(dict(state_dict=model.state_dict()), t['checkpoint'])
        teachers.append(t)
    return teachers


def main():
    parser = argparse.ArgumentParser(description='MTKD-RL vs AVER training-step cost')
    parser.add_argument('config', nargs='?', default=DEFAULT)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--input-size', type=int, nargs=2, default=(32, 32))
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    import tempfile
    cfg = Config.fromfile(args.config)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp, DefaultScope.overwrite_default_scope(cfg.default_scope):
        teachers = random_teachers(cfg, tmp)
        runs = {}
        for name, weighting in (('AVER', dict(type='AVER')), ('MTKD-RL', cfg.model.weighting)):
            model_cfg = copy.deepcopy(cfg.model)
            model_cfg.teachers = teachers
            model_cfg.weighting = weighting
            model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
            model = MODELS.build(model_cfg).to(device)
            model.weighting.trained_by_hook = True
            model.train()
            optim = build_optim_wrapper(model, cfg.optim_wrapper)
            runs[name] = dict(model=model, optim=optim, times=[], memory=[])
        agent_optim = torch.optim.SGD(runs['MTKD-RL']['model'].weighting.parameters(), lr=0.1)
        batch = make_batch(runs['AVER']['model'], args, device)
        transitions = []
        for step in range(args.steps + 2):
            for name, run in runs.items():
                if device.type == 'cuda':
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                start = time.perf_counter()
                losses = run['model'](**batch, mode='loss')
                loss, _ = run['model'].parse_losses(losses)
                run['optim'].update_params(loss)
                if run['model'].latest_transition is not None:
                    transitions.append({k: v.detach().to('cpu', non_blocking=True)
                                        for k, v in run['model'].latest_transition.items()})
                if device.type == 'cuda':
                    torch.cuda.synchronize()
                    run['memory'].append(torch.cuda.max_memory_allocated())
                if step >= 2:  # warm-up steps are not timed
                    run['times'].append(time.perf_counter() - start)
        weighting = runs['MTKD-RL']['model'].weighting
        update_times = []
        for tr in transitions:
            start = time.perf_counter()
            loss = weighting.update_loss({k: v.to(device) for k, v in tr.items()})
            agent_optim.zero_grad()
            loss.backward()
            agent_optim.step()
            if device.type == 'cuda':
                torch.cuda.synchronize()
            update_times.append(time.perf_counter() - start)
    aver, rl = (statistics.median(runs[n]['times']) for n in ('AVER', 'MTKD-RL'))
    print(f'config: {args.config}\ndevice: {device}, batch {args.batch_size}, input {tuple(args.input_size)}, '
          f'{args.steps} interleaved steps each')
    print(f'median train step: AVER {aver * 1e3:.1f} ms, MTKD-RL {rl * 1e3:.1f} ms, ratio {rl / aver:.3f} '
          f'(paper: 1.15 per epoch)')
    print(f'agent update per stored batch: {statistics.median(update_times) * 1e3:.2f} ms '
          f'({statistics.median(update_times) / rl * 100:.1f}% of a step; runs once per stored batch)')
    if device.type == 'cuda':
        ma, mr = (max(runs[n]['memory']) for n in ('AVER', 'MTKD-RL'))
        print(f'peak memory: AVER {ma / 2**20:.0f} MiB, MTKD-RL {mr / 2**20:.0f} MiB, ratio {mr / ma:.3f} '
              f'(paper: 1.14)')
    else:
        print('peak memory: measured on CUDA only (run with a GPU)')


def make_batch(model, args, device):
    from mmpretrain.structures import DataSample
    n = args.batch_size
    with torch.no_grad():
        classes = model.task.probe(model.student.eval(), torch.zeros(2, 3, *args.input_size,
                                                                      device=device)).num_classes
    model.train()
    inputs = [torch.randint(0, 256, (3, *args.input_size), dtype=torch.uint8) for _ in range(n)]
    samples = [DataSample().set_gt_label(i % classes) for i in range(n)]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)


if __name__ == '__main__':
    main()
