"""Figures of the analysis tools (matplotlib, without pyplot's global state)."""
import os
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
from matplotlib.figure import Figure

from .teacher_trust import TeacherTrust
from .training_log import TrainingLog

#: Each panel: the logged key (a per-teacher prefix or an agent key), its title and y label.
PANELS = {
    'w_logit': ('Mean logit weight per teacher', 'weight'),
    'w_feature': ('Mean feature weight per teacher', 'weight'),
    'kd_logit': ('Logit distillation term per teacher', 'KD term (batch mean)'),
    'kd_feature': ('Feature distillation term per teacher', 'KD term (batch mean)'),
    'agent_loss': ('Agent loss', 'loss'),
    'agent_updates': ('Agent updates', 'updates'),
}
PER_TEACHER = ('w_logit', 'w_feature', 'kd_logit', 'kd_feature')
FIGURES = {
    'weights': ('w_logit', 'w_feature'),
    'kd_terms': ('kd_logit', 'kd_feature'),
    'agent': ('agent_loss', 'agent_updates'),
    'overview': tuple(PANELS),
}


def panel_keys(log: TrainingLog, panel: str) -> List[str]:
    """The logged keys a panel draws (one per teacher, or the agent key)."""
    if panel in PER_TEACHER:
        return [f'{panel}.{t}' for t in log.teachers]
    return [panel]


def draw_panel(ax, log: TrainingLog, panel: str) -> bool:
    """Draw one panel into ``ax``; return whether the log had anything to draw."""
    title, ylabel = PANELS[panel]
    ax.set_title(title, fontsize=10)
    ax.set_xlabel('iteration')
    ax.set_ylabel(ylabel)
    drawn = False
    for i, key in enumerate(panel_keys(log, panel)):
        steps, values = log.series(key)
        if len(steps) == 0:
            continue
        label = key.split('.', 1)[1] if panel in PER_TEACHER else None
        style = dict(drawstyle='steps-post') if panel == 'agent_updates' else dict(marker='.', markersize=3)
        ax.plot(steps, values, color=f'C{i}', label=label, linewidth=1.2, **style)
        drawn = True
    if log.warmup_end is not None:
        ax.axvspan(0, log.warmup_end, color='0.85', zorder=0,
                   label='warm-up (agent not acting)' if panel in PER_TEACHER[:2] else None)
        if panel in PER_TEACHER[:2]:
            _zoom_past_warmup(ax, log, panel_keys(log, panel))
    if not drawn:
        ax.text(0.5, 0.5, 'not logged in this run', transform=ax.transAxes, ha='center', va='center',
                color='0.4')
    elif panel in PER_TEACHER:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return drawn


def _zoom_past_warmup(ax, log: TrainingLog, keys: Sequence[str]) -> None:
    """Scale the y axis to the weights the agent chose; the warm-up weights (all ones by default, or per image
    with the correctness gate) would flatten them. The warm-up values stay plotted, and the range of their
    logged means is written in the band."""
    during, after = [], []
    for key in keys:
        steps, values = log.series(key)
        during += values[steps <= log.warmup_end].tolist()
        after += values[steps > log.warmup_end].tolist()
    if not after or not during:
        return
    low, high = min(after), max(after)
    if min(during) >= low and max(during) <= high:
        return
    pad = max(high - low, 1e-3) * 0.15
    ax.set_ylim(low - pad, high + pad)
    span = f'{min(during):.3g}' if min(during) == max(during) else f'{min(during):.3g} to {max(during):.3g}'
    ax.text(log.warmup_end / 2, high + pad / 2, f'warm-up: {span}', ha='center', va='center', fontsize=8,
            color='0.3')


def draw_figure(log: TrainingLog, panels: Sequence[str], title: str = '') -> Figure:
    """A figure with the given panels, two per row."""
    rows = (len(panels) + 1) // 2
    fig = Figure(figsize=(12, 3.6 * rows), layout='constrained')
    axes = fig.subplots(rows, 2, squeeze=False).flatten()
    for ax, panel in zip(axes, panels):
        draw_panel(ax, log, panel)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_training_log(log: TrainingLog, out_dir: str) -> Dict[str, str]:
    """Write the figures of :data:`FIGURES` as PNGs into ``out_dir``; return their paths by name."""
    os.makedirs(out_dir, exist_ok=True)
    runs = ', '.join(osp.basename(r.path) for r in log.runs)
    warmup = f'; warm-up: {log.warmup_source}' if log.warmup_end is not None else ''
    paths = {}
    for name, panels in FIGURES.items():
        if not any(log.has(k) for p in panels for k in panel_keys(log, p)):
            continue
        fig = draw_figure(log, panels, title=f'{osp.dirname(log.runs[-1].path)} (run {runs}{warmup})')
        paths[name] = osp.join(out_dir, f'{name}.png')
        fig.savefig(paths[name], dpi=100)
    return paths


def draw_trust_heatmap(trust: TeacherTrust, title: str = '') -> Figure:
    """A heat map per weight kind (logit, feature): groups by teachers, the mean weight in each cell."""
    table = trust.by_group()
    kinds = ['logit'] + (['feature'] if trust.feature is not None else [])
    groups = list(table)
    fig = Figure(figsize=(2.2 + 1.6 * len(trust.teachers) * len(kinds), 1.5 + 0.38 * len(groups)),
                 layout='constrained')
    axes = fig.subplots(1, len(kinds), squeeze=False)[0]
    for ax, kind in zip(axes, kinds):
        values = np.stack([table[g][kind].numpy() for g in groups])
        image = ax.imshow(values, cmap='viridis', aspect='auto')
        ax.set_xticks(range(len(trust.teachers)), trust.teachers, rotation=20, ha='right', fontsize=8)
        ax.set_yticks(range(len(groups)), [f'{g} ({table[g]["samples"]})' for g in groups], fontsize=8)
        ax.axhline(len(groups) - 1.5, color='white', linewidth=2)
        spread = values.max() - values.min()
        for (r, c), v in np.ndenumerate(values):
            ax.text(c, r, f'{v:.3f}', ha='center', va='center', fontsize=7,
                    color='black' if spread and v > values.min() + 0.6 * spread else 'white')
        ax.set_title(f'mean {kind} weight', fontsize=10)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(title, fontsize=10)
    return fig
