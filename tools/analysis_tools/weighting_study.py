"""The driver of a weighting comparison: each seed of each arm trained as an ordinary ``tools/train.py`` run in
its own folder, a finished run skipped, an interrupted one resumed, then the reports written.

What a comparison reads and writes (the variants, the finished runs, the reports) is in :mod:`mtkd_rl.analysis`;
this module and :mod:`study_process` start and stop the processes. Both sit beside ``compare_weightings.py`` in
``tools/analysis_tools`` (``mtkd_rl/.mim/tools/analysis_tools`` in a wheel), the folder Python puts on
``sys.path`` when it runs that script; a script elsewhere adds the folder to ``sys.path`` before importing them.
"""
import copy
import json
import os
import os.path as osp
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence

from mmengine.config import Config

from mtkd_rl.analysis import (STUDENT_ALONE, RunResult, Variant, main_metric, read_run, scalar_logs,
                              variant_config, write_reports)
from mtkd_rl.checkpoints import checkpoint_dir, checkpoint_names, damage, list_checkpoints
from mtkd_rl.student import is_distiller_config
from mtkd_rl.tool_scripts import tool_script
from study_process import StudyLock, stop_on_sigterm, stop_process_group, stop_with_parent

#: Written into a run's folder when the run is finished and read; its presence skips the run.
RESULT_FILE = 'result.json'


@dataclass
class Study:
    """Train and compare the arms of a study, each seed of each arm in its own folder of ``work_dir``.

    Args:
        config: The path of a ``MultiTeacherDistiller`` config.
        variants: The weighting variants (see :func:`mtkd_rl.analysis.parse_variant`).
        seeds: The seeds; every arm runs once per seed.
        work_dir: The study's folder: per run ``<variant>/seed_<seed>/`` and its config
            ``<variant>/seed_<seed>.py``, and the reports.
        cfg_options: ``--cfg-options`` for every run (merged before the variant's changes).
        student_alone: Also train the student without teachers.
        eval_teachers: Also evaluate each teacher of the pool on the validation set (once, not per seed).
        metric: The logged key to compare; by default the main metric of ``val_evaluator``.
        baseline: The arm (its spec) the report gives every arm's paired difference to; by default ``'AVER'``
            where it is compared, else none.
        train_script: ``tools/train.py``; by default the one of this package (:func:`tool_script`).
        python: The interpreter of the runs.
        log: Called with each progress line.
    """
    config: str
    variants: Sequence[Variant]
    seeds: Sequence[int]
    work_dir: str
    cfg_options: Optional[Dict[str, Any]] = None
    student_alone: bool = False
    eval_teachers: bool = False
    metric: Optional[str] = None
    baseline: Optional[str] = None
    train_script: Optional[str] = None
    python: str = sys.executable
    log: Callable[[str], Any] = print

    def __post_init__(self) -> None:
        self.train_script = self.train_script or tool_script('train.py')
        self.base = Config.fromfile(self.config)
        if self.cfg_options:
            self.base.merge_from_dict(self.cfg_options)
        if not is_distiller_config(self.base):
            raise ValueError(f"{self.config}: model.type is '{self.base.get('model', {}).get('type')}'; the study "
                             f"needs a config with model.type='mtkd_rl.MultiTeacherDistiller'")
        if not self.seeds:
            raise ValueError('--seeds: give at least one seed')
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f'--seeds has duplicates: {list(self.seeds)}')
        arms = ([Variant(STUDENT_ALONE)] if self.student_alone else []) + list(self.variants)
        if not arms:
            raise ValueError('nothing to compare: give --weightings and/or --student-alone')
        slugs = [v.slug for v in arms]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f'--weightings names a variant twice: {[v.spec for v in arms]}')
        self.arms: List[Variant] = arms
        specs = [v.spec for v in arms]
        if self.baseline is None:
            self.baseline = 'AVER' if 'AVER' in specs else None
        elif self.baseline not in specs:
            raise ValueError(f'--baseline {self.baseline} is not an arm of the study ({specs}): name one of them, '
                             f'as written in --weightings')
        self.metric = self.metric or main_metric(self.base)

    def run_dir(self, variant: Variant, seed: int) -> str:
        """The folder of one run: ``<work_dir>/<variant slug>/seed_<seed>``."""
        return osp.join(self.work_dir, variant.slug, f'seed_{seed}')

    def run(self) -> List[RunResult]:
        """Train what is not finished, then write the reports; returns every run's result.

        The study folder is locked for the whole call: a second study on it stops with an error. A run is a
        child process in its own process group; when the study is stopped (Ctrl-C, SIGTERM) the run's whole
        group is stopped with it, and when the study is killed outright (SIGKILL) the kernel stops the run.

        Raises:
            StudyBusyError: Another study holds the folder.
        """
        with StudyLock(self.work_dir) as lock, stop_on_sigterm():
            self._lock = lock
            results = []
            for variant in self.arms:
                for seed in self.seeds:
                    results.append(self._run_one(variant, seed))
            teachers = self._eval_teachers() if self.eval_teachers else {}
            write_reports(self.work_dir, self.metric, results, teachers, [v.spec for v in self.arms], self.seeds,
                          title=osp.basename(self.config), baseline=self.baseline)
        return results

    def _prepare(self, run_dir: str, cfg: Config) -> str:
        """Write the run's config as ``<run_dir>.py`` (the Runner dumps its own copy into the run folder); a
        run of another config is an error, never overwritten."""
        os.makedirs(run_dir, exist_ok=True)
        path = run_dir.rstrip('/') + '.py'
        text = cfg.pretty_text
        if osp.exists(path):
            with open(path) as f:
                if f.read() != text:
                    raise ValueError(
                        f'{run_dir} holds a run of another config (the config, --cfg-options or the variant '
                        f'changed since it ran); its results are kept: choose a new --work-dir, or remove '
                        f'{run_dir} to train it again')
        else:
            with open(path, 'w') as f:
                f.write(text)
        return path

    def _run_one(self, variant: Variant, seed: int) -> RunResult:
        run_dir = self.run_dir(variant, seed)
        config = self._prepare(run_dir, variant_config(self.base, variant, seed))
        done = osp.join(run_dir, RESULT_FILE)
        if osp.exists(done):
            if scalar_logs(run_dir):  # what the logs say now (a result written by an older version lacks keys)
                result = read_run(run_dir, self.metric, variant.spec, seed)
            else:
                with open(done) as f:
                    result = RunResult(**json.load(f))
            self.log(f'[study] {variant.spec} seed {seed}: finished before, {self.metric} = {result.value}')
            return result
        # an interrupted run continues from its latest checkpoint; a new one keeps the config's load_from
        resume = ['--resume'] if self._resumable(run_dir, Config.fromfile(config), variant, seed) else []
        self.log(f'[study] {variant.spec} seed {seed}: {"resuming" if resume else "training"} in {run_dir} '
                 f'with {self.train_script}')
        self._call([self.python, self.train_script, config, '--work-dir', run_dir] + resume,
                   osp.join(run_dir, 'train.log'))
        result = read_run(run_dir, self.metric, variant.spec, seed)
        with open(done, 'w') as f:
            json.dump(result.__dict__, f, indent=1)
        self.log(f'[study] {variant.spec} seed {seed}: {self.metric} = {result.value}')
        return result

    def _resumable(self, run_dir: str, cfg: Config, variant: Variant, seed: int) -> bool:
        """Whether an interrupted run left a checkpoint to continue from.

        A run stopped while it saved a checkpoint can leave that file truncated: it is moved aside
        (``<name>.damaged``, named in the log) so the run continues from the newest intact one. A run stopped
        before its first checkpoint, or while mmengine replaced its only kept one (``max_keep_ckpts=1`` deletes
        the old file before writing the new), has none left: it trains again from the start.
        """
        cfg.work_dir = run_dir
        directory, naming = checkpoint_dir(cfg), checkpoint_names(cfg)
        for checkpoint in list_checkpoints(directory, naming):
            problem = damage(checkpoint.path)
            if problem is not None:
                os.replace(checkpoint.path, checkpoint.path + '.damaged')
                self.log(f'[study] {variant.spec} seed {seed}: {checkpoint.path} was cut short when the run was '
                         f'stopped ({problem}); moved aside to {checkpoint.name}.damaged')
        if list_checkpoints(directory, naming):
            return True
        if osp.exists(osp.join(run_dir, 'last_checkpoint')):
            self.log(f'[study] {variant.spec} seed {seed}: the stopped run left no checkpoint; training it again '
                     f'from the start')
        return False

    def _call(self, cmd: List[str], log_file: str) -> None:
        with open(log_file, 'a') as log:
            # the child holds the study's lock too: the folder stays locked until the run has really ended
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                    pass_fds=(self._lock.fd, ), preexec_fn=stop_with_parent)
            self.log(f'[study] run pid {proc.pid}, log {log_file}')
            try:
                proc.wait()
            except BaseException:
                stop_process_group(proc)
                raise
        if proc.returncode != 0:
            with open(log_file) as f:
                tail = f.read()[-4000:]
            raise RuntimeError(f'{" ".join(cmd)} failed ({proc.returncode}); its log is {log_file}:\n{tail}')

    def _eval_teachers(self) -> Dict[str, float]:
        """Each teacher's metric on the students' validation set (the study's data options), tested once with
        mmengine's Runner in this process; the result is kept in ``teachers/<name>/result.json``."""
        from mmengine.runner import Runner
        out = {}
        for teacher in self.base.model.teachers:
            name = teacher.get('name') or osp.splitext(osp.basename(str(teacher['config'])))[0]
            run_dir = osp.join(self.work_dir, 'teachers', re.sub(r'[^A-Za-z0-9_.-]+', '_', name))
            cfg = Config.fromfile(teacher['config'])
            for key in ('val_dataloader', 'val_evaluator'):  # the images and evaluator of the students' runs
                cfg[key] = copy.deepcopy(self.base[key])
            cfg.test_dataloader, cfg.test_evaluator = cfg.val_dataloader, cfg.val_evaluator
            cfg.test_cfg = cfg.get('test_cfg') or dict(type='TestLoop')
            cfg.load_from, cfg.work_dir = str(teacher['checkpoint']), run_dir
            self._prepare(run_dir, cfg)
            done = osp.join(run_dir, RESULT_FILE)
            if not osp.exists(done):
                self.log(f'[study] testing teacher {name} ({teacher["checkpoint"]})')
                metrics = Runner.from_cfg(cfg).test()
                if self.metric not in metrics:
                    raise RuntimeError(f"teacher {name}: its test gave {sorted(metrics)}, not '{self.metric}'")
                with open(done, 'w') as f:
                    json.dump(dict(name=name, value=float(metrics[self.metric])), f, indent=1)
            with open(done) as f:
                out[name] = json.load(f)['value']
        return out
