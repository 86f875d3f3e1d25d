"""One plotting style for every figure. Functions take result objects and return a Figure; they never
compute measurements and never save files. Train is drawn dashed, test solid; steps on the x axis."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .train import Run

STYLE = Path(__file__).with_name("grok.mplstyle")


def use_style() -> None:
    plt.style.use(STYLE)


def _grid(n: int, ncols: int = 3, size=(3.2, 2.6)):
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False,
                             sharey=True)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def accuracy_curves(groups: dict[str, Sequence[Run]], task: int = 0, logx: bool = False,
                    marks: Optional[dict[str, Sequence[Optional[int]]]] = None) -> plt.Figure:
    """One panel per group (e.g. per op), one colour per run (seed); train dashed, test solid.
    marks: optional grok steps per group, drawn as dotted vertical lines."""
    fig, axes = _grid(len(groups))
    for ax, (name, runs) in zip(axes, groups.items()):
        for i, r in enumerate(runs):
            col = f"C{i % 10}"
            ax.plot(r.eval_steps, r.train_acc[:, task], "--", color=col, lw=1)
            ax.plot(r.eval_steps, r.test_acc[:, task], "-", color=col, label=f"seed {r.config.seed}")
            if marks and marks.get(name) and marks[name][i] is not None:
                ax.axvline(marks[name][i], color=col, ls=":", lw=1)
        ax.set_title(name)
        ax.set_xlabel("step")
        if logx:
            ax.set_xscale("symlog", linthresh=100)
    axes[0].set_ylabel("accuracy (train --, test —)")
    axes[0].legend(loc="lower right")
    fig.tight_layout()
    return fig


def loss_curves(groups: dict[str, Sequence[Run]], task: int = 0, logx: bool = False) -> plt.Figure:
    """Train (dashed) and test (solid) cross-entropy, log y, one panel per group."""
    fig, axes = _grid(len(groups))
    for ax, (name, runs) in zip(axes, groups.items()):
        for i, r in enumerate(runs):
            col = f"C{i % 10}"
            ax.plot(r.eval_steps, r.train_loss[:, task], "--", color=col, lw=1)
            ax.plot(r.eval_steps, r.test_loss[:, task], "-", color=col, label=f"seed {r.config.seed}")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("step")
        if logx:
            ax.set_xscale("symlog", linthresh=100)
    axes[0].set_ylabel("cross-entropy (train --, test —)")
    axes[0].legend(loc="lower left")
    fig.tight_layout()
    return fig


def heatmap(values: np.ndarray, rows: Sequence[str], cols: Sequence[str], title: str = "",
            fmt: str = "{:.1f}", cmap: str = "viridis", vmin=None, vmax=None) -> plt.Figure:
    """Annotated heatmap of a small table (rows x cols)."""
    values = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(0.9 * len(cols) + 2.0, 0.45 * len(rows) + 1.2))
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    norm = im.norm
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if np.isfinite(v):
                light = norm(v) < 0.5
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                        color="white" if light else "black")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig
