"""The reports of a weighting comparison: ``results.md`` (mean ± sample std per arm, its paired difference to a
baseline arm, each seed, the mean teacher weights), ``results.csv`` (every run) and ``results.png`` (a bar
chart)."""
import csv
import math
import os
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .comparison_runs import RunResult


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """The mean and the sample standard deviation (``ddof=1``; 0 for a single value)."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std


def paired_difference(values: Mapping[int, float], baseline: Mapping[int, float]) -> Tuple[float, float, int]:
    """An arm's difference to the baseline arm over the seeds both ran: each seed starts both from the same
    student, so the difference is taken seed by seed.

    Args:
        values: The arm's value by seed.
        baseline: The baseline's value by seed.

    Returns:
        ``(mean, standard error, n)`` of ``values[s] - baseline[s]`` over the ``n`` common seeds; the standard
        error is ``std(ddof=1) / sqrt(n)`` (nan for fewer than 2 seeds); the mean is nan without a common seed.
    """
    diffs = [values[s] - baseline[s] for s in values if s in baseline]
    if not diffs:
        return math.nan, math.nan, 0
    mean, std = mean_std(diffs)
    se = std / math.sqrt(len(diffs)) if len(diffs) > 1 else math.nan
    return mean, se, len(diffs)


def _fmt(value: float, digits: int) -> str:
    return f'{value:.{digits}f}'


def write_reports(work_dir: str, metric: str, results: Sequence[RunResult], teachers: Dict[str, float],
                  order: Sequence[str], seeds: Sequence[int], title: str = '',
                  baseline: Optional[str] = None) -> Dict[str, str]:
    """Write ``results.md``, ``results.csv`` and ``results.png`` in ``work_dir``.

    Args:
        work_dir: The comparison's folder (created if missing).
        metric: The compared key, as logged.
        results: Every run's result.
        teachers: Each teacher's own value of ``metric``, by name (may be empty).
        order: The arms' specs in the order of the table; an arm without results is left out.
        seeds: The seeds, one column each.
        title: Said in the heading and the figure, e.g. the config's file name.
        baseline: An arm's spec (e.g. ``'AVER'``): the table then gives each arm's paired difference to it,
            seed by seed (:func:`paired_difference`), with the standard error of that difference.

    Returns:
        The paths by kind: ``md``, ``csv`` and ``png``.
    """
    os.makedirs(work_dir, exist_ok=True)
    by_variant: Dict[str, List[RunResult]] = {v: [] for v in order}
    for r in results:
        by_variant.setdefault(r.variant, []).append(r)
    weight_keys: List[str] = []
    for r in results:
        weight_keys += [k for k in r.weights if k not in weight_keys]
    values = [r.value for r in results] + list(teachers.values())
    digits = 4 if all(abs(v) <= 1.0 for v in values) else 2

    paths = dict(md=osp.join(work_dir, 'results.md'), csv=osp.join(work_dir, 'results.csv'),
                 png=osp.join(work_dir, 'results.png'))
    with open(paths['csv'], 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['variant', 'seed', metric] + weight_keys + [f'{k} after warm-up' for k in weight_keys])
        for r in results:
            writer.writerow([r.variant, r.seed, repr(r.value)]
                            + [repr(r.weights[k]) if k in r.weights else '' for k in weight_keys]
                            + [repr(r.weights_after_warmup[k]) if k in r.weights_after_warmup else ''
                               for k in weight_keys])
        for name, value in teachers.items():
            writer.writerow([f'teacher {name}', '', repr(value)] + [''] * (2 * len(weight_keys)))

    teacher_names: List[str] = []
    for key in weight_keys:
        name = key.split('.', 1)[1]
        if name not in teacher_names:
            teacher_names.append(name)
    base_runs = {r.seed: r.value for r in by_variant.get(baseline, [])} if baseline else {}
    paired = bool(base_runs)
    header = ['run', f'{metric} (mean ± std)'] + ([f'- {baseline}, paired (± SE)'] if paired else []) + [
        f'seed {s}' for s in seeds] + [
        f'w {n} (logit / feature)' for n in teacher_names]
    lines = [f'# Weighting comparison{": " + title if title else ""}', '',
             f'`{metric}` at the last validation of each run; mean ± sample std (ddof=1) over seeds '
             f'{", ".join(map(str, seeds))}. Weights: the mean of the logged `w_logit.<teacher>` / '
             f'`w_feature.<teacher>` values over the logged training iterations after the agent\'s warm-up '
             f'(all iterations for a weighting without one), averaged over seeds; `results.csv` also has the '
             f'means over all iterations.' + (
                 f' The difference to {baseline} is taken seed by seed (every arm at a seed starts from the same '
                 f'student); ± is the standard error of the mean difference, std(ddof=1) / sqrt(seeds).'
                 if paired else ''), '',
             '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    notes: List[str] = []
    for variant, runs in by_variant.items():
        if not runs:
            continue
        mean, std = mean_std([r.value for r in runs])
        per_seed = {r.seed: r.value for r in runs}
        # the sample std of one value is undefined: say so instead of printing 0
        spread = f'± {_fmt(std, digits)}' if len(runs) > 1 else '(1 seed, no std)'
        cells = [variant, f'{_fmt(mean, digits)} {spread}']
        if paired:
            cells.append(_difference_cell(variant, baseline, per_seed, base_runs, digits))
        cells += [_fmt(per_seed[s], digits) if s in per_seed else '' for s in seeds]
        warmup_only = [r for r in runs if r.weights and not r.weights_after_warmup]
        if warmup_only:
            notes.append(f'{variant}: every logged iteration of {len(warmup_only)} of its {len(runs)} runs was in '
                         f'the warm-up (which lasts {warmup_only[0].warmup_end:.0f} iterations), so the agent never '
                         f'chose the weights; their weight cells read "warm-up only". Raise the schedule '
                         f'(train_cfg.max_*) or lower the hook\'s warmup_epochs / warmup_iters.')
        for name in teacher_names:
            parts = []
            for kind in ('w_logit', 'w_feature'):
                ws = [r.weights_after_warmup[f'{kind}.{name}'] for r in runs
                      if f'{kind}.{name}' in r.weights_after_warmup]
                parts.append(f'{sum(ws) / len(ws):.3f}' if ws else '-')
            if any(p != '-' for p in parts):
                cells.append(' / '.join(parts))
            else:
                cells.append('warm-up only' if warmup_only else '')
        lines.append('| ' + ' | '.join(cells) + ' |')
    for name, value in teachers.items():
        cells = [f'teacher {name}', _fmt(value, digits)] + [''] * (int(paired) + len(seeds) + len(teacher_names))
        lines.append('| ' + ' | '.join(cells) + ' |')
    if notes:
        lines += [''] + [f'- {note}' for note in notes]
    with open(paths['md'], 'w') as f:
        f.write('\n'.join(lines) + '\n')

    _plot(paths['png'], metric, by_variant, teachers, title)
    return paths


def _difference_cell(variant: str, baseline: str, values: Mapping[int, float], base: Mapping[int, float],
                     digits: int) -> str:
    if variant == baseline:
        return '(baseline)'
    mean, se, n = paired_difference(values, base)
    if n == 0:
        return f'(no seed in common with {baseline})'
    if n == 1:
        return f'{mean:+.{digits}f} (1 seed, no SE)'
    return f'{mean:+.{digits}f} ± {_fmt(se, digits)}'


def _plot(path: str, metric: str, by_variant: Dict[str, List[RunResult]], teachers: Dict[str, float],
          title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = [v for v, runs in by_variant.items() if runs]
    stats = [mean_std([r.value for r in by_variant[v]]) for v in names]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(names) + 1.5), 4.0))
    xs = list(range(len(names)))
    ax.bar(xs, [m for m, _ in stats], yerr=[s for _, s in stats], capsize=4, color='#8fb3d9',
           edgecolor='#33557a', label='mean ± std')
    for x, v in zip(xs, names):
        seeds = [r.value for r in by_variant[v]]
        ax.plot([x] * len(seeds), seeds, 'o', color='#1f3b5a', markersize=3,
                label='one seed' if x == 0 else None)
    for i, (name, value) in enumerate(teachers.items()):
        ax.axhline(value, linestyle='--', linewidth=1, color=f'C{i + 1}', label=f'teacher {name}')
    lows = [m - s for m, s in stats] + [r.value for v in names for r in by_variant[v]] + list(teachers.values())
    highs = [m + s for m, s in stats] + [r.value for v in names for r in by_variant[v]] + list(teachers.values())
    span = max(highs) - min(lows) or abs(max(highs)) or 1.0
    ax.set_ylim(min(lows) - 0.3 * span, max(highs) + 0.15 * span)
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=30, ha='right', fontsize=8)
    ax.set_ylabel(metric)
    if title:
        ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7, loc='best')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
