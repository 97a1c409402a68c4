"""CPU cost of the pieces of `make demo`, side by side in one process.

Trains each Fashion-MNIST teacher and the MTKD-RL student for ITERS iterations of batch 64 and validates each on
VAL test images; prints CPU and wall seconds per training iteration and per 1000 validation images. Run with
OMP_NUM_THREADS=1 for CPU times that do not count idle threads:

    OMP_NUM_THREADS=1 python tools/benchmarks/demo_pieces.py 20 1000 [WORKERS]
"""
import os.path as osp
import sys
import time

from mmengine.config import Config
from mmengine.runner import Runner

import mtkd_rl  # noqa: F401
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from demo import STUDENT, TEACHERS  # noqa: E402

ITERS, VAL = int(sys.argv[1]), int(sys.argv[2])
WORKERS = int(sys.argv[3]) if len(sys.argv) > 3 else 0
root = 'work_dirs/demo_pieces'


def build(config, name, **over):
    cfg = Config.fromfile(config)
    cfg.work_dir = osp.join(root, name)
    cfg.experiment_name = name
    cfg.train_dataloader.dataset.indices = 64 * ITERS
    cfg.val_dataloader.dataset.indices = VAL
    cfg.train_dataloader.num_workers = cfg.val_dataloader.num_workers = WORKERS
    cfg.train_dataloader.persistent_workers = cfg.val_dataloader.persistent_workers = WORKERS > 0
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 100
    cfg.param_scheduler.T_max = 1
    cfg.default_hooks.logger.interval = 1000
    cfg.log_level = 'WARNING'
    cfg.merge_from_dict(over)
    return Runner.from_cfg(cfg)


def clock(fn):
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


rows, ckpts = [], {}
for name, config in TEACHERS.items():
    r = build(config, name)
    tw, tc = clock(r.train)
    vw, vc = clock(r.val)
    ckpts[name] = osp.join(r.work_dir, 'epoch_1.pth')
    rows.append((name, tc / ITERS, vc / VAL * 1000, tw / ITERS, vw / VAL * 1000))
over = {f'model.teachers.{i}.checkpoint': ckpts[n] for i, n in enumerate(TEACHERS)}
over['custom_hooks'] = [dict(type='mtkd_rl.TeacherWeightingHook', interval=100, warmup_epochs=0),
                       dict(type='mtkd_rl.NonFiniteLossHook')]
r = build(STUDENT, 'student', **over)
tw, tc = clock(r.train)
vw, vc = clock(r.val)
rows.append(('mtkdrl student', tc / ITERS, vc / VAL * 1000, tw / ITERS, vw / VAL * 1000))
print(f'{ITERS} train iterations of batch 64, val on {VAL} images, workers={WORKERS}')
print(f'{"run":<18}{"cpu s/iter":>12}{"cpu s/1k val":>14}{"wall s/iter":>13}{"wall s/1k val":>15}')
for row in rows:
    print(f'{row[0]:<18}' + ''.join(f'{v:>13.3f}' for v in row[1:]))
