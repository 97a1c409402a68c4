"""What a distillation step costs against its floor, for any distiller config (classification, detection,
segmentation), on CPU or CUDA.

Variants, each run once per round, rounds interleaved in a new seeded random order every round, so machine
noise and the state a step leaves behind (allocator, caches) hit all alike; a fixed rotation would always run
``D_MTKD-RL`` right after ``D_AVER``, on the memory a step of the same shapes just freed:

* ``S``: a training step of the student alone (its own config, loss, backward, optimizer step);
* ``T``: the teachers' forward passes under ``no_grad``, with what distillation needs from them at the least
  (the task adapter's ``forward_teacher`` computing AVER's terms: features, outputs, per-sample task loss and
  accuracy, which the per-teacher logs read);
* ``D_AVER`` / ``D_MTKD-RL``: a distillation training step with equal weights / with the MTKD-RL agent out of
  warm-up, its ``WeightingLearner`` storing the transition on the CPU as in training (each computes only the
  terms its weighting reads);
* with ``--every-term``: ``D_AVER_every``, ``D_AVER`` computing every optional term as if its weighting read
  them all (what every weighting paid before the terms followed the weighting);
* with ``--teacher-speedups``: ``T`` again with each option of ``model.teacher_speedups`` alone
  (``T_fuse_conv_bn``, ``T_bf16``, ``T_fp16``, ``T_channels_last``);
* with ``--credit K``: ``D_credit``, a ``D_MTKD-RL`` step with ``update='credit'`` measuring the teachers'
  credit (M + 1 extra backward passes), as every K-th training step does; the printout adds its ratio to
  ``D_AVER`` and the amortised ratio of training with the measurement every K steps,
  ``(D_MTKD-RL + (D_credit - D_MTKD-RL) / K) / D_AVER``.
* with ``--mmkd K``: ``D_MMKD``, a step of the MMKD weighting (its meta-weight networks acting, no meta step),
  and ``D_MMKD_meta``, one that takes the meta step (the task gradient, a second-order backward of the KD terms
  and a double backward: about three extra backward passes through the student), as every K-th training step
  does; the printout adds their ratios to ``D_AVER``, the amortised ratio of training with a meta step every K
  steps, ``(D_MMKD + (D_MMKD_meta - D_MMKD) / K) / D_AVER``, and the networks' update per stored batch.

``F = S + T`` (per round) is the floor: what a distillation step cannot go below. The printout gives medians,
the ratios D/F, D_MTKD-RL/D_AVER, T/F and the speedups' T_x/T (and the quartiles of the first three taken
round by round, which say how far the machine's noise reaches), the peak memory of each variant (on CUDA the
maximum allocated during the step above what was allocated before it; on CPU the growth of the process's
resident set during the step, after freed heap memory is given back to the system), and the MTKD-RL agent's update cost
per stored batch. Teachers without a checkpoint on disk get random weights (cost does not depend on them).

Clocks: on CUDA a step is timed by the wall clock (the device synchronised before and after). On the CPU the
ratios come by default from the process's CPU time (``--clock cpu``, ``time.process_time``): what the step
computed, whatever else the machine runs, as long as the process is not starved of memory bandwidth. Wall
times are printed next to them. Run it with ``OMP_NUM_THREADS=1`` on a shared machine: with several threads
the CPU time also counts the threads' spin-waiting.

    python tools/benchmarks/distill_cost.py CONFIG [--batch-size 4] [--input-size 320 320] [--rounds 11]
        [--device cpu] [--clock cpu|wall] [--data synthetic|real] [--every-term]
        [--teacher-speedups [fuse_conv_bn bf16 fp16 channels_last]] [--credit K] [--mmkd K]
        [--cfg-options k=v ...]
"""
import argparse
import copy
import ctypes
import os.path as osp
import random
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, DefaultScope

import mtkd_rl  # noqa: F401
from mtkd_rl.distillers.teacher_speedups import TeacherSpeedups
from mtkd_rl.tasks import IterationContext
from mtkd_rl.weighting import COMMON_TERMS, WeightingLearner, WeightingPhase

DEFAULT = 'configs/cls/fashion_mnist/mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py'
SPEEDUPS = {
    'fuse_conv_bn': dict(fuse_conv_bn=True),
    'bf16': dict(dtype='bf16'),
    'fp16': dict(dtype='fp16'),
    'channels_last': dict(channels_last=True),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Cost of a distillation step against the student-plus-teachers '
                                     'floor')
    parser.add_argument('config', nargs='?', default=DEFAULT)
    parser.add_argument('--batch-size', type=int, default=None, help="default: the config's train batch size")
    parser.add_argument('--input-size', type=int, nargs=2, default=None, metavar=('H', 'W'),
                        help='synthetic image size (default: the adapter probe size)')
    parser.add_argument('--rounds', type=int, default=11, help='timed rounds (after 2 untimed ones)')
    parser.add_argument('--warmup-rounds', type=int, default=2)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--clock', choices=('cpu', 'wall'), default=None,
                        help="what the ratios are computed from: the process's CPU time ('cpu', the default on "
                        "the CPU) or the wall clock ('wall', the only choice on CUDA)")
    parser.add_argument('--data', choices=('synthetic', 'real'), default='synthetic',
                        help="'real': the first batch of the config's train_dataloader")
    parser.add_argument('--teacher-speedups', nargs='*', choices=list(SPEEDUPS), default=None,
                        help='also time the teachers with these model.teacher_speedups options (all without a value)')
    parser.add_argument('--every-term', action='store_true',
                        help='also time D_AVER computing every optional term (D_AVER_every: as if a weighting read '
                        'them all), to show what computing only the terms a weighting reads saves')
    parser.add_argument('--credit', type=int, default=None, metavar='K',
                        help="also time a step of MTKD-RL's update='credit' that measures the teachers' credit, and "
                        'print the amortised cost of measuring it every K steps')
    parser.add_argument('--mmkd', type=int, default=None, metavar='K',
                        help='also time steps of the MMKD weighting without and with its meta step, and print the '
                        'amortised cost of a meta step every K steps (its meta_interval)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------------------------ build
def random_teachers(cfg: Config, tmp: str) -> List[dict]:
    """Teachers without a checkpoint on disk get freshly initialised weights, saved under ``tmp``."""
    from mtkd_rl.distillers.teachers import load_teacher_config
    teachers = []
    for i, t in enumerate(cfg.model.teachers):
        t = dict(t)
        if not osp.isfile(str(t['checkpoint'])):
            tcfg = load_teacher_config(t['config'], f'model.teachers[{i}]')
            model_cfg = tcfg.model
            with DefaultScope.overwrite_default_scope(tcfg.get('default_scope')):
                model = MODELS.build(model_cfg)
            t['checkpoint'] = osp.join(tmp, f'teacher{i}.pth')
            torch.save(dict(state_dict=model.state_dict()), t['checkpoint'])
        teachers.append(t)
    return teachers


def build_distiller(cfg: Config, teachers: List[dict], weighting: dict, device: torch.device):
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.teachers = teachers
    model_cfg.weighting = weighting
    if model_cfg.get('data_preprocessor') is None and cfg.get('data_preprocessor') is not None:
        model_cfg.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(model_cfg).to(device)
    if model.weighting.learnable:  # the agent acts from the first step, its batches stored as in training
        model.attach_learner(WeightingLearner(model.weighting, warmup_epochs=0))
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def build_student(cfg: Config, device: torch.device):
    """The student alone, as its own config trains it."""
    student_cfg = copy.deepcopy(cfg.model.student)
    preprocessor = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor')
    if student_cfg.get('data_preprocessor') is None and preprocessor is not None:
        student_cfg.data_preprocessor = copy.deepcopy(preprocessor)
    model = MODELS.build(student_cfg).to(device)
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


# ------------------------------------------------------------------------------------------------ batches
def synthetic_batch(distiller, args, device: torch.device) -> dict:
    """A preprocessed batch of random images and ground truth of the student's task."""
    student = distiller.student
    n = args.batch_size
    size = tuple(args.input_size or distiller.task.probe_size)
    channels = distiller._probe_channels()
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (channels, *size), dtype=torch.uint8, generator=g) for _ in range(n)]
    toolbox = type(student).__module__.split('.')[0]
    if toolbox == 'mmdet':
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        samples = []
        for _ in range(n):
            s = DetDataSample(metainfo=dict(img_shape=size, ori_shape=size, scale_factor=(1.0, 1.0)))
            k = int(torch.randint(1, 6, (1, ), generator=g))
            xy = torch.rand(k, 2, generator=g) * torch.tensor([size[1], size[0]]) * 0.7
            wh = (torch.rand(k, 2, generator=g) * 0.25 + 0.05) * torch.tensor([size[1], size[0]])
            gt = InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                              labels=torch.randint(0, int(student.bbox_head.num_classes), (k, ), generator=g))
            s.gt_instances = gt
            samples.append(s)
    elif toolbox == 'mmseg':
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        classes = int(student.decode_head.num_classes)
        samples = []
        for _ in range(n):
            labels = torch.randint(0, classes, (1, *size), generator=g)
            labels[:, :size[0] // 10] = 255  # some ignored pixels
            samples.append(SegDataSample(gt_sem_seg=PixelData(data=labels),
                                         metainfo=dict(img_shape=size, ori_shape=size)))
    else:
        from mmpretrain.structures import DataSample
        classes = int(distiller.task.probe(student.eval(), torch.zeros(2, channels, *size)).num_classes)
        student.train()
        samples = [DataSample().set_gt_label(i % classes) for i in range(n)]
    return distiller.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)


def real_batch(cfg: Config, distiller, args) -> dict:
    from mmengine.runner import Runner
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    if args.batch_size:
        loader_cfg.batch_size = args.batch_size
    data = next(iter(Runner.build_dataloader(loader_cfg)))
    return distiller.data_preprocessor(data, training=True)


def fresh(batch: dict) -> dict:
    """The batch with new data-sample objects, so no per-batch memo carries over between steps."""
    return dict(inputs=batch['inputs'], data_samples=[s.clone() for s in batch['data_samples']])


# ------------------------------------------------------------------------------------------------ measure
class Meter:
    """Wall time, CPU time and peak memory of a step on ``device``."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def _sync(self) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)

    def __call__(self, step: Callable[[dict], None], batch: dict):
        data = fresh(batch)  # outside the timed region
        self._sync()
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
            base = torch.cuda.memory_allocated(self.device)
        else:
            base = _reset_peak_rss()
        start, cpu_start = time.perf_counter(), time.process_time()
        step(data)
        self._sync()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        if self.device.type == 'cuda':
            peak = torch.cuda.max_memory_allocated(self.device) - base
        else:
            peak = _status_kib('VmHWM') * 1024 - base if base is not None else float('nan')
        return elapsed, cpu, peak


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_rss() -> Optional[int]:
    """Give freed heap memory back to the system, reset the process's peak resident set (Linux) and return
    the current one in bytes: the step's growth above it is then what the step allocates."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return _status_kib('VmRSS') * 1024
    except OSError:
        return None


def train_step(model, optim) -> Callable[[dict], None]:
    def step(data: dict) -> None:
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim.update_params(loss)
    return step


def every_term_step(model, optim) -> Callable[[dict], None]:
    """``model``'s training step with its weighting asking for every optional term."""
    step = train_step(model, optim)

    def every(data: dict) -> None:
        own = model.weighting.__dict__.get('required_terms')
        model.weighting.required_terms = COMMON_TERMS | {'teacher_entropy'}
        try:
            step(data)
        finally:
            del model.weighting.required_terms
            if own is not None:
                model.weighting.required_terms = own
    return every


def teacher_step(task, student, teachers, needed: frozenset) -> Callable[[dict], None]:
    """The teachers' passes computing the optional terms in ``needed`` only.

    A teacher's pass reads the student's pass of its batch (a segmentor's common logit size, a two-stage
    detector's sampled RoIs): it is made once per batch, untimed, and handed to every timed step.
    """
    student_passes = {}

    def step(data: dict) -> None:
        key = id(data['inputs'])
        if key not in student_passes:
            with torch.no_grad():
                context = IterationContext.create(data['inputs'], data['data_samples'], needed)
                student_passes[key] = task.forward_student(student, context)
        context = IterationContext.create(data['inputs'], data['data_samples'], needed)
        with torch.no_grad():
            for t in teachers:
                task.forward_teacher(t, context, student_passes[key])
    return step


def main(argv=None) -> Dict[str, float]:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if args.batch_size is None:
        args.batch_size = int(cfg.get('train_dataloader', {}).get('batch_size', 4))
    device = torch.device(args.device)
    if args.clock is None:
        args.clock = 'wall' if device.type == 'cuda' else 'cpu'
    if args.clock == 'cpu' and device.type == 'cuda':
        raise ValueError('--clock cpu times the host only; on CUDA use --clock wall')
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp, DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        teachers = random_teachers(cfg, tmp)
        rl_weighting = cfg.model.get('weighting', dict(type='MTKD-RL'))
        if rl_weighting.get('type') not in ('MTKD-RL', 'MTKDRLWeighting'):
            rl_weighting = dict(type='MTKD-RL')
        aver, aver_optim = build_distiller(cfg, teachers, dict(type='AVER'), device)
        rl, rl_optim = build_distiller(cfg, teachers, rl_weighting, device)
        student, student_optim = build_student(cfg, device)
        batch = real_batch(cfg, aver, args) if args.data == 'real' else synthetic_batch(aver, args, device)
        steps = {
            'S': train_step(student, student_optim),
            'T': teacher_step(aver.task, aver.student, aver.teachers, aver.weighting.needed_terms(WeightingPhase())),
            'D_AVER': train_step(aver, aver_optim),
            'D_MTKD-RL': train_step(rl, rl_optim),
        }
        if args.every_term:
            steps['D_AVER_every'] = every_term_step(aver, aver_optim)
        if args.credit is not None:
            credit, credit_optim = build_distiller(
                cfg, teachers, dict(rl_weighting, update='credit', credit_interval=args.credit), device)
            steps['D_credit'] = train_step(credit, credit_optim)  # its learner at iteration 0: it measures
        mmkd = None
        if args.mmkd is not None:
            if args.mmkd < 1:
                raise ValueError(f'--mmkd must be an integer >= 1 (the meta_interval), got {args.mmkd}')
            mmkd, mmkd_optim = build_distiller(cfg, teachers, dict(type='MMKD', meta_interval=args.mmkd), device)
            steps['D_MMKD_meta'] = train_step(mmkd, mmkd_optim)  # its learner at iteration 0: a meta step
            plain, plain_optim = build_distiller(cfg, teachers, dict(type='MMKD', meta_interval=2), device)
            plain.learner.begin_iteration(1, 0)  # between two meta steps
            steps['D_MMKD'] = train_step(plain, plain_optim)
        if args.teacher_speedups is not None:
            probe = torch.randn(2, aver._probe_channels(), *aver.task.probe_size,
                                generator=torch.Generator().manual_seed(0)).to(device)
            for name in args.teacher_speedups or list(SPEEDUPS):
                option = SPEEDUPS[name]
                speedups = TeacherSpeedups.from_config(option)
                fast = []
                for i, t in enumerate(aver.teachers):
                    t = copy.deepcopy(t)
                    speedups.apply(t, lambda m: aver.task.probe(m, probe), f'model.teachers[{i}]')
                    fast.append(t)
                steps[f'T_{name}'] = teacher_step(aver.task, aver.student, fast,
                                                  aver.weighting.needed_terms(WeightingPhase()))
        meter = Meter(device)
        times = {k: [] for k in steps}
        wall = {k: [] for k in steps}
        memory = {k: [] for k in steps}
        names = list(steps)
        # D_AVER first in the untimed rounds: segmentation teachers need the student's logit size
        warm_order = ['D_AVER'] + [n for n in names if n != 'D_AVER']
        shuffler = random.Random(0)
        for r in range(args.warmup_rounds + args.rounds):
            order = warm_order if r < args.warmup_rounds else shuffler.sample(names, len(names))
            for name in order:
                elapsed, cpu, peak = meter(steps[name], batch)
                if r >= args.warmup_rounds:
                    times[name].append(cpu if args.clock == 'cpu' else elapsed)
                    wall[name].append(elapsed)
                    memory[name].append(peak)
        clock = time.process_time if args.clock == 'cpu' else time.perf_counter
        update = agent_update_cost(rl.weighting, list(rl.learner.buffer), device, clock)
        mmkd_update = None if mmkd is None else agent_update_cost(mmkd.weighting, list(mmkd.learner.buffer), device,
                                                                  clock)
    return report(args, device, times, wall, memory, update, mmkd_update)


def agent_update_cost(weighting, transitions: List[dict], device: torch.device,
                      clock: Callable[[], float] = time.perf_counter) -> float:
    """Median time (by ``clock``) of one agent optimizer step on one stored batch (as the hook's update
    loop)."""
    optim = torch.optim.SGD(weighting.parameters(), lr=0.1)
    weighting.train()
    out = []
    for tr in transitions:
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = clock()
        loss = weighting.update_loss({k: v.to(device, non_blocking=True) for k, v in tr.items()})
        optim.zero_grad(set_to_none=False)
        loss.backward()
        optim.step()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        out.append(clock() - start)
    return statistics.median(out) if out else float('nan')


def _medians(times: Dict[str, List[float]]) -> Dict[str, float]:
    med = {k: statistics.median(v) for k, v in times.items()}
    med['F'] = statistics.median(s + t for s, t in zip(times['S'], times['T']))
    return med


def report(args, device, times, wall, memory, update, mmkd_update: Optional[float] = None) -> Dict[str, float]:
    med, wall_med = _medians(times), _medians(wall)
    mem = {k: statistics.median(v) for k, v in memory.items()}
    kind = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'CPU, {torch.get_num_threads()} threads'
    print(f'config: {args.config}')
    print(f'device: {device} ({kind}); batch {args.batch_size}, input {args.input_size or "probe size"}, '
          f'{args.data} data; medians of {args.rounds} interleaved rounds; ratios from the '
          f'{"CPU time" if args.clock == "cpu" else "wall clock"}')
    mem_note = 'max allocated above the step start' if device.type == 'cuda' else 'RSS growth in the step'
    clock = 'CPU time' if args.clock == 'cpu' else 'wall'
    extra = ' wall (ms) | wall / F |' if args.clock == 'cpu' else ''
    print(f'| variant | {clock} (ms) | / F |{extra} peak memory (MiB, {mem_note}) |')
    print('|---|---|---|' + ('---|---|' if extra else '') + '---|')
    for name in ['S', 'T', 'F'] + [k for k in times if k not in ('S', 'T')]:
        peak = f'{mem[name] / 2**20:.1f}' if name in mem else ''
        walls = f' {wall_med[name] * 1e3:.1f} | {wall_med[name] / wall_med["F"]:.3f} |' if extra else ''
        print(f'| {name} | {med[name] * 1e3:.1f} | {med[name] / med["F"]:.3f} |{walls} {peak} |')
    ratios = {
        'D_AVER/F': med['D_AVER'] / med['F'],
        'D_MTKD-RL/F': med['D_MTKD-RL'] / med['F'],
        'D_MTKD-RL/D_AVER time': med['D_MTKD-RL'] / med['D_AVER'],
        'D_MTKD-RL/D_AVER memory': mem['D_MTKD-RL'] / mem['D_AVER'] if mem['D_AVER'] > 0 else float('nan'),
        'T/F': med['T'] / med['F'],
    }
    if 'D_AVER_every' in med:
        ratios['D_AVER/D_AVER_every'] = med['D_AVER'] / med['D_AVER_every']
    if 'D_credit' in med:
        k = args.credit
        ratios['D_credit/D_AVER'] = med['D_credit'] / med['D_AVER']
        ratios[f'credit every {k} steps/D_AVER'] = (
            med['D_MTKD-RL'] + (med['D_credit'] - med['D_MTKD-RL']) / k) / med['D_AVER']
    if 'D_MMKD_meta' in med:
        k = args.mmkd
        ratios['D_MMKD/D_AVER'] = med['D_MMKD'] / med['D_AVER']
        ratios['D_MMKD_meta/D_AVER'] = med['D_MMKD_meta'] / med['D_AVER']
        ratios[f'MMKD meta every {k} steps/D_AVER'] = (
            med['D_MMKD'] + (med['D_MMKD_meta'] - med['D_MMKD']) / k) / med['D_AVER']
    for name in times:
        if name.startswith('T_'):
            ratios[f'{name}/T'] = med[name] / med['T']
    print('ratios: ' + ', '.join(f'{k} {v:.3f}' for k, v in ratios.items()))
    spread = paired_ratio_quartiles(times)
    print('the same ratios round by round (the two steps of one round share its machine state), quartiles: '
          + ', '.join(f'{k} {lo:.3f}-{hi:.3f}' for k, (lo, hi) in spread.items())
          + ' (a ratio whose quartiles straddle 1 is within the noise)')
    print(f'agent update per stored batch: {update * 1e3:.2f} ms ({update / med["D_MTKD-RL"] * 100:.1f}% of a '
          f'D_MTKD-RL step; runs once per stored batch at each agent update)')
    if mmkd_update is not None:
        share = mmkd_update / med['D_MMKD'] * 100
        print(f'MMKD networks update per stored batch: {mmkd_update * 1e3:.2f} ms ({share:.1f}% of a D_MMKD step; '
              f'once per meta step)')
    sys.stdout.flush()
    extra = {} if mmkd_update is None else dict(mmkd_update_ms=mmkd_update * 1e3)
    return dict(ratios, **extra, **{f'{k} ms': v * 1e3 for k, v in med.items()},
                **{f'{k} wall ms': v * 1e3 for k, v in wall_med.items()}, agent_update_ms=update * 1e3,
                **{f'{k} quartiles': v for k, v in spread.items()})


def paired_ratio_quartiles(times: Dict[str, List[float]]) -> Dict[str, tuple]:
    """First and third quartiles of the per-round ratios D_AVER/F, D_MTKD-RL/F and D_MTKD-RL/D_AVER."""
    floor = [s + t for s, t in zip(times['S'], times['T'])]
    pairs = {
        'D_AVER/F': (times['D_AVER'], floor),
        'D_MTKD-RL/F': (times['D_MTKD-RL'], floor),
        'D_MTKD-RL/D_AVER': (times['D_MTKD-RL'], times['D_AVER']),
    }
    out = {}
    for name, (num, den) in pairs.items():
        values = sorted(a / b for a, b in zip(num, den))
        if len(values) == 1:
            out[name] = (values[0], values[0])
        else:
            q = statistics.quantiles(values, n=4, method='inclusive')
            out[name] = (q[0], q[2])
    return out


if __name__ == '__main__':
    main()
