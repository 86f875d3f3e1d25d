"""One plotting style for every figure. Functions take result objects and return a Figure; they
never compute measurements and never save files. Train is drawn dashed, test solid; steps on the x
axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np

from grokbook.training.train import Run

STYLE = Path(__file__).with_name("grok.mplstyle")


def use_style() -> None:
    plt.style.use(STYLE)


def _grid(n: int, ncols: int = 3, size=(3.2, 2.6)):
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False, sharey=True
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _train_test_panels(
    groups: dict[str, Sequence[Run]],
    metric: str,
    task: int,
    logx: bool,
    ylabel: str,
    marks: Optional[dict[str, Sequence[Optional[int]]]] = None,
) -> plt.Figure:
    """One panel per group, one colour per run: train_<metric> dashed, test_<metric> solid."""
    fig, axes = _grid(len(groups))
    for ax, (name, runs) in zip(axes, groups.items()):
        for i, r in enumerate(runs):
            col = f"C{i % 10}"
            ax.plot(r.eval_steps, getattr(r, f"train_{metric}")[:, task], "--", color=col, lw=1)
            ax.plot(
                r.eval_steps,
                getattr(r, f"test_{metric}")[:, task],
                "-",
                color=col,
                label=f"seed {r.config.seed}",
            )
            if marks and marks.get(name) and marks[name][i] is not None:
                ax.axvline(marks[name][i], color=col, ls=":", lw=1)
        ax.set_title(name)
        ax.set_xlabel("step")
        if metric == "loss":
            ax.set_yscale("log")
        if logx:
            ax.set_xscale("symlog", linthresh=100)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(loc="lower left" if metric == "loss" else "lower right")
    fig.tight_layout()
    return fig


def accuracy_curves(
    groups: dict[str, Sequence[Run]],
    task: int = 0,
    logx: bool = False,
    marks: Optional[dict[str, Sequence[Optional[int]]]] = None,
) -> plt.Figure:
    """One panel per group (e.g. per op), one colour per run (seed); train dashed, test solid.
    marks: optional grok steps per group, drawn as dotted vertical lines."""
    return _train_test_panels(groups, "acc", task, logx, "accuracy (train --, test —)", marks)


def heatmap(
    values: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    title: str = "",
    fmt: str = "{:.1f}",
    cmap: str = "viridis",
    vmin=None,
    vmax=None,
) -> plt.Figure:
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
                ax.text(
                    j,
                    i,
                    fmt.format(v),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if light else "black",
                )
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def accuracy_events(
    groups: dict[str, Sequence[Run]],
    events: dict[str, Sequence[dict[str, Optional[int]]]],
    task: int = 0,
    logx: bool = True,
) -> plt.Figure:
    """accuracy_curves with named event steps per run (e.g. {"T_train": 300, "T_val": 2100}) drawn
    as vertical lines in the run's colour, one line style per event name (legend in the first
    panel).
    """
    fig = accuracy_curves(groups, task=task, logx=logx)
    styles = ["-.", ":", (0, (1, 3)), (0, (5, 5))]
    names = list(dict.fromkeys(n for evs in events.values() for ev in evs for n in ev))
    for ax, (name, runs) in zip(fig.axes, groups.items()):
        for i, ev in enumerate(events.get(name, [])):
            for j, ename in enumerate(names):
                if ev.get(ename) is not None:
                    ax.axvline(ev[ename], color=f"C{i % 10}", ls=styles[j % len(styles)], lw=0.9)
    for j, ename in enumerate(names):
        fig.axes[0].plot([], [], color="0.4", ls=styles[j % len(styles)], lw=0.9, label=ename)
    fig.axes[0].legend(loc="center right", fontsize=7)
    return fig


def val_loss_bumps(
    groups: dict[str, Sequence[Run]],
    task: int = 0,
    logx: bool = True,
    logy: bool = False,
    peaks: Optional[dict[str, Sequence[tuple[int, float]]]] = None,
) -> plt.Figure:
    """Test (solid) and train (dashed, thin) cross-entropy per run, linear y by default (so a bump
    of the test loss above its start is visible), a grey line at the step-0 test loss of the first
    run and an x at each run's (peak step, peak loss) if given."""
    fig, axes = _grid(len(groups))
    for ax, (name, runs) in zip(axes, groups.items()):
        for i, r in enumerate(runs):
            col = f"C{i % 10}"
            ax.plot(r.eval_steps, r.train_loss[:, task], "--", color=col, lw=0.8)
            ax.plot(
                r.eval_steps, r.test_loss[:, task], "-", color=col, label=f"seed {r.config.seed}"
            )
            if peaks and peaks.get(name):
                ax.plot(*peaks[name][i], "x", color=col, ms=8, mew=2)
        if runs:
            ax.axhline(runs[0].test_loss[0, task], color="0.5", ls=":", lw=1)
        if logy:
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("step")
        if logx:
            ax.set_xscale("symlog", linthresh=100)
        ax.set_xlim(left=0)
    axes[0].set_ylabel("cross-entropy (train --, test —)")
    axes[0].legend(loc="upper left")
    fig.tight_layout()
    return fig


def circle_panels(fits: dict[str, object], p: int, labels: bool = True) -> plt.Figure:
    """One panel per CircleFit (grokbook.embedding): the 2-D PCA points coloured by residue a on a
    cyclic colour map, a grey segment from a to a + k (mod p) for the fit's best k, residues written
    next to the points."""
    fig, axes = _grid(len(fits), ncols=3, size=(3.4, 3.4))
    for ax, (name, fit) in zip(axes, fits.items()):
        xy = fit.coords
        for a in range(p):
            b = (a + fit.k) % p
            ax.plot([xy[a, 0], xy[b, 0]], [xy[a, 1], xy[b, 1]], color="0.7", lw=0.6, zorder=1)
        ax.scatter(xy[:, 0], xy[:, 1], c=np.arange(p), cmap="twilight", s=14, zorder=2)
        if labels:
            for a in range(p):
                ax.annotate(str(a), xy[a], fontsize=5, xytext=(2, 2), textcoords="offset points")
        ax.set_title(f"{name}\nk = {fit.k}, score {fit.score:.2f}")
        ax.set_xlabel(f"PC1 ({fit.pc_share[0]:.0%})")
        ax.set_ylabel(f"PC2 ({fit.pc_share[1]:.0%})")
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(False)
    fig.tight_layout()
    return fig


def null_histogram(null: np.ndarray, marks: dict[str, float], xlabel: str = "score") -> plt.Figure:
    """Histogram of a null distribution with vertical lines at the observed values (one colour
    each)."""
    fig, ax = plt.subplots(figsize=(6.0, 2.8))
    ax.hist(null, bins=20, color="0.75", label=f"null ({len(null)} draws)")
    for i, (name, v) in enumerate(marks.items()):
        ax.axvline(v, color=f"C{i % 10}", lw=1.5, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.legend(loc="upper center", fontsize=7, ncols=2)
    fig.tight_layout()
    return fig


def steps_vs_fraction(runs, medians, fit=None, budget: Optional[int] = None) -> plt.Figure:
    """Left: steps to the validation threshold against the training fraction, log y: one dot per run
    (an open triangle when censored, drawn at its censoring step), the median over seeds (line; open
    square when the median itself is censored), the median steps to fit the training set (dashed),
    and an exponential fit (dotted). Right: the delay T_val − T_train per run and its median
    (censored delays are lower bounds). runs: table with columns frac, T_val, val_censored, delay;
    medians: table with columns frac, T_val, val_censored, T_train, delay, delay_censored (e.g.
    pandas DataFrames); fit: an object with .predict(frac) and .fracs (data_efficiency.ExpFit)."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    for a, col, cens, mcol, mcens, lab in (
        (ax, "T_val", "val_censored", "T_val", "val_censored", "T_val"),
        (bx, "delay", "val_censored", "delay", "delay_censored", "T_val − T_train"),
    ):
        obs, cen = ~np.asarray(runs[cens], bool), np.asarray(runs[cens], bool)
        a.plot(
            np.asarray(runs["frac"])[obs],
            np.asarray(runs[col])[obs],
            "o",
            color="C1",
            alpha=0.5,
            ms=4,
            label="one seed",
        )
        if cen.any():
            a.plot(
                np.asarray(runs["frac"])[cen],
                np.asarray(runs[col])[cen],
                "^",
                mfc="none",
                color="C1",
                ms=6,
                label="censored (> value)",
            )
        a.plot(medians["frac"], medians[mcol], "-", color="C1", label=f"median {lab}")
        mc = np.asarray(medians[mcens], bool)
        if mc.any():
            a.plot(
                np.asarray(medians["frac"])[mc],
                np.asarray(medians[mcol])[mc],
                "s",
                mfc="none",
                color="C1",
                ms=8,
                label="censored median",
            )
        a.set_yscale("log")
        a.set_xlabel("training fraction")
        if budget:
            a.axhline(budget, color="0.5", ls=":", lw=1)
    ax.plot(medians["frac"], medians["T_train"], "--", color="C0", label="median T_train")
    if fit is not None:
        f = np.linspace(min(fit.fracs), max(fit.fracs), 50)
        ax.plot(f, fit.predict(f), ":", color="k", label="fit ln T = a + b·frac")
    ax.set_ylabel("steps")
    ax.set_title("steps to the threshold")
    bx.set_title("delay after fitting the training set")
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig


def accuracy_vs_fraction(
    curves: dict, thresholds: Sequence[float] = (0.99,), ylabel: str = "best validation accuracy"
) -> plt.Figure:
    """One line per curve (variant or operation): mean over seeds against the training fraction,
    with ± one std as error bars; dotted horizontal lines at the thresholds. curves: label -> (fracs
    [F], mean [F], std [F]).
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for i, (name, (f, m, s)) in enumerate(curves.items()):
        ax.errorbar(
            f,
            m,
            yerr=s,
            marker="o",
            ms=4,
            capsize=2,
            color=f"C{i % 8}",
            ls="-" if i < 8 else "--",
            label=name,
        )
    for t in thresholds:
        ax.axhline(t, color="0.4", ls=":", lw=1)
    ax.set_xlabel("training fraction")
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.04)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    fig.tight_layout()
    return fig


def line_panels(
    groups: dict[str, dict[str, tuple]],
    xlabel: str = "step",
    ylabel: str = "",
    hlines: Optional[dict[str, float]] = None,
    ncols: int = 3,
) -> plt.Figure:
    """One panel per group, one line per entry {label: (x, y)} (e.g. one per seed), with optional
    labelled grey reference lines {label: y} drawn in every panel (e.g. a null level)."""
    fig, axes = _grid(len(groups), ncols=ncols)
    for ax, (name, lines) in zip(axes, groups.items()):
        for i, (label, (x, y)) in enumerate(lines.items()):
            ax.plot(x, y, "o-", ms=2.5, color=f"C{i % 10}", label=label)
        for j, (label, y) in enumerate((hlines or {}).items()):
            ax.axhline(y, color="0.5", ls=("--", ":", "-.")[j % 3], lw=1, label=label)
        ax.set_title(name)
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig


def grouped_bars(
    values: dict[str, np.ndarray], index: Sequence, xlabel: str = "", ylabel: str = ""
) -> plt.Figure:
    """Grouped bar chart: one bar colour per key of `values`, one group per entry of `index`
    (values[key][i] belongs to index[i])."""
    fig, ax = plt.subplots(figsize=(7.0, 2.8))
    n = max(len(values), 1)
    x = np.arange(len(index))
    for i, (name, v) in enumerate(values.items()):
        ax.bar(x + (i - (n - 1) / 2) * 0.8 / n, v, width=0.8 / n, color=f"C{i % 10}", label=name)
    ax.set_xticks(x, [str(i) for i in index])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=6, ncols=2)
    fig.tight_layout()
    return fig


def probe_panels(
    groups: dict[str, dict[str, tuple]],
    ylabel: str = "",
    logy: bool = True,
    accuracy: Optional[dict[str, dict[str, tuple]]] = None,
    marks: Optional[dict[str, dict[str, dict[str, Optional[int]]]]] = None,
    hlines: Optional[dict[str, float]] = None,
    ncols: int = 3,
) -> plt.Figure:
    """One panel per group, one colour per entry {label: (steps, values)} (e.g. the median defect of
    one seed), log y by default. accuracy: optional {group: {label: (eval steps, test acc)}} drawn
    thin on a right-hand axis (0–1) in the same colour; marks: optional {group: {label: {event:
    step}}} drawn as vertical lines in the entry's colour, one line style per event name; hlines:
    labelled grey reference levels."""
    fig, axes = _grid(len(groups), ncols=ncols, size=(3.6, 2.8))
    styles = [":", "-.", (0, (1, 3)), (0, (5, 5))]
    names = list(dict.fromkeys(e for g in (marks or {}).values() for ev in g.values() for e in ev))
    for ax, (name, lines) in zip(axes, groups.items()):
        twin = ax.twinx() if accuracy and accuracy.get(name) else None
        for i, (label, (x, y)) in enumerate(lines.items()):
            col = f"C{i % 10}"
            ax.plot(x, y, "o-", ms=2, lw=1.2, color=col, label=label)
            if twin is not None and label in accuracy[name]:
                twin.plot(*accuracy[name][label], "-", lw=0.7, alpha=0.6, color=col)
            for j, ev in enumerate(names):
                step = (marks or {}).get(name, {}).get(label, {}).get(ev)
                if step is not None and np.isfinite(step):
                    ax.axvline(step, color=col, ls=styles[j % len(styles)], lw=0.9)
        for j, (label, y) in enumerate((hlines or {}).items()):
            ax.axhline(y, color="0.5", ls=("--", ":", "-.")[j % 3], lw=1, label=label)
        if twin is not None:
            twin.set_ylim(-0.02, 1.02)
            twin.set_ylabel("test accuracy (thin)", fontsize=7)
            twin.grid(False)
        if logy:
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("step")
    for j, ev in enumerate(names):
        axes[0].plot([], [], color="0.4", ls=styles[j % len(styles)], lw=0.9, label=ev)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(loc="upper left", fontsize=6)
    fig.tight_layout()
    return fig


def scatter_fits(
    panels: dict[str, dict[str, tuple]],
    lines: Optional[dict[str, dict[str, tuple]]] = None,
    xlabel: str = "",
    ylabel: str = "",
    logx: bool = True,
    logy: bool = True,
    hlines: Optional[dict[str, float]] = None,
    ncols: int = 3,
) -> plt.Figure:
    """One panel per key of `panels`: dots for every series {label: (x, y)} (e.g. one per lr or op),
    and optional fitted curves {label: (x, y)} from `lines[panel]`, drawn dashed/dotted in black and
    grey, plus optional labelled grey horizontal reference lines {label: y}. Log-log by default; y
    not shared.
    """
    ncols = min(ncols, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (name, series) in zip(axes.flat, panels.items()):
        for i, (label, (x, y)) in enumerate(series.items()):
            ax.plot(x, y, "o", ms=4, alpha=0.8, color=f"C{i % 10}", label=label)
        for j, (label, (x, y)) in enumerate(((lines or {}).get(name) or {}).items()):
            ax.plot(
                x,
                y,
                ("--", ":", "-.")[j % 3],
                color=("k", "0.45", "0.3")[j % 3],
                lw=1.2,
                label=label,
            )
        for j, (label, y) in enumerate((hlines or {}).items()):
            ax.axhline(y, color="0.6", ls=(":", "--")[j % 2], lw=1, label=label)
        ax.set_xscale("log" if logx else "linear")
        ax.set_yscale("log" if logy else "linear")
        ax.xaxis.set_minor_formatter(
            plt.NullFormatter()
        )  # minor labels collide on a short log axis
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def dose_response(
    rows: Sequence[dict],
    x: str = "level",
    xlabel: str = "strength s",
    paper: Optional[dict[str, tuple]] = None,
    ncols: int = 4,
) -> plt.Figure:
    """Grok step against intervention strength, one panel per op, one colour per arm: every seed as
    a dot, the seed mean as a line; runs that never grokked are drawn as ✕ at their budget (capped).
    rows: dicts with op, arm, `x`, grok (None = never), budget. paper: {op: (levels, mean grok
    steps)} drawn dashed grey.
    """
    ops = list(dict.fromkeys(r["op"] for r in rows))
    arms = list(dict.fromkeys(r["arm"] for r in rows))
    fig, axes = _grid(len(ops), ncols=ncols, size=(3.0, 2.6))
    for ax, op in zip(axes, ops):
        for i, arm in enumerate(arms):
            sel = [r for r in rows if r["op"] == op and r["arm"] == arm]
            lv = sorted({r[x] for r in sel})
            ok = [(r[x], r["grok"]) for r in sel if r["grok"] is not None]
            bad = [(r[x], r["budget"]) for r in sel if r["grok"] is None]
            jit = (i - (len(arms) - 1) / 2) * 0.012 * (max(lv) - min(lv) if len(lv) > 1 else 1)
            if ok:
                ax.plot(
                    [a + jit for a, _ in ok],
                    [b for _, b in ok],
                    "o",
                    ms=3,
                    color=f"C{i}",
                    alpha=0.6,
                )
            if bad:
                ax.plot([a + jit for a, _ in bad], [b for _, b in bad], "x", ms=5, color=f"C{i}")
            means = [
                (
                    np.mean([r["grok"] for r in sel if r[x] == v])
                    if all(r["grok"] is not None for r in sel if r[x] == v)
                    else np.nan
                )
                for v in lv
            ]
            ax.plot(lv, means, "-", color=f"C{i}", label=arm)
        if paper and op in paper:
            ax.plot(*paper[op], "--", color="0.5", lw=1, label="paper")
        ax.set_title(op)
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("grok step (R98); ✕ = never")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return fig


def method_curves(
    rows: Sequence[dict],
    panel: str,
    method: str,
    x: str = "budget",
    y: str = "R",
    xlabel: str = "k",
    ylabel: str = "recovery R",
    logx: bool = False,
    hlines: Optional[dict[str, float]] = None,
    ncols: int = 3,
) -> plt.Figure:
    """Seed-mean y against x, one panel per value of rows[panel], one line per value of rows[method]
    (each seed as a faint line behind it), with optional labelled reference lines {label: y}. rows:
    dicts holding panel, method, x, y and "seed" (compression scans of
    grokbook.compression.scan_rows)."""
    panels = list(dict.fromkeys(r[panel] for r in rows))
    methods = list(dict.fromkeys(r[method] for r in rows))
    fig, axes = _grid(len(panels), ncols=ncols)
    for ax, pv in zip(axes, panels):
        for i, m in enumerate(methods):
            sel = [r for r in rows if r[panel] == pv and r[method] == m]
            if not sel:
                continue
            xs = sorted({r[x] for r in sel})
            for s in dict.fromkeys(r["seed"] for r in sel):
                pts = sorted((r[x], r[y]) for r in sel if r["seed"] == s)
                ax.plot(*zip(*pts), "-", color=f"C{i % 10}", lw=0.6, alpha=0.35)
            ax.plot(
                xs,
                [np.mean([r[y] for r in sel if r[x] == v]) for v in xs],
                "o-",
                ms=2.5,
                color=f"C{i % 10}",
                label=str(m),
            )
        for j, (label, v) in enumerate((hlines or {}).items()):
            ax.axhline(v, color="0.5", ls=("--", ":", "-.")[j % 3], lw=1, label=label)
        if logx:
            ax.set_xscale("log")
        ax.set_title(str(pv))
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel(ylabel)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return fig


def spectrum_panels(panels: dict[str, dict], ncols: int = 3) -> plt.Figure:
    """Normalised power spectra P̂(ω), one panel per entry {title: {"lines": {label: P̂ [m]},
    "band": (q95 [m], q99 [m]) of a null per frequency, "levels": {label: y}}}; ω = 1..m on the x
    axis, the null band grey, reference levels (e.g. the white-noise mean F) dotted."""
    fig, axes = _grid(len(panels), ncols=ncols, size=(3.6, 2.6))
    for ax, (title, d) in zip(axes, panels.items()):
        m = len(next(iter(d["lines"].values())))
        w = np.arange(1, m + 1)
        if d.get("band") is not None:
            q95, q99 = d["band"]
            ax.fill_between(w, 0, q99, color="0.88", step="mid", label="random dirs 99th pct")
            ax.fill_between(w, 0, q95, color="0.75", step="mid", label="random dirs 95th pct")
        for i, (label, P) in enumerate(d["lines"].items()):
            ax.plot(w, P, "-", lw=1, drawstyle="steps-mid", color=f"C{i % 10}", label=label)
        for j, (label, y) in enumerate(d.get("levels", {}).items()):
            ax.axhline(y, color="k", ls=(":", "--")[j % 2], lw=0.8, label=label)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("ω")
    axes[0].set_ylabel("P̂(ω)")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return fig


def field_maps(
    maps: dict[str, np.ndarray], ncols: int = 4, xlabel: str = "b", ylabel: str = "a"
) -> plt.Figure:
    """Square heatmaps of fields over the input grid, one panel per entry {title: [n, n]} (NaN = not
    evaluated), each on its own colour scale (the fields' sizes differ)."""
    fig, axes = _grid(len(maps), ncols=ncols, size=(2.8, 2.6))
    for ax, (title, M) in zip(axes, maps.items()):
        im = ax.imshow(M, cmap="magma", origin="lower", interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(xlabel)
        ax.grid(False)
        fig.colorbar(im, ax=ax, fraction=0.045)
    axes[0].set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def shared_x_panels(
    panels: dict[str, dict[str, tuple]],
    xlabel: str = "",
    logx: bool = True,
    zero_at: Optional[float] = None,
    paper: Optional[dict[str, tuple]] = None,
) -> plt.Figure:
    """One row of panels sharing the x axis (e.g. four observables against λ), each with its own y.
    panels: {observable: {series: (x, mean, sd)}} drawn as error bars joined by lines; paper:
    {observable: (x, y)} drawn as grey dashed. On a log axis, x = 0 (a no-decay control) is drawn at
    `zero_at` and labelled "0".
    """
    fig, axes = plt.subplots(
        1, len(panels), figsize=(3.0 * len(panels), 2.8), sharex=True, squeeze=False
    )
    for ax, (name, series) in zip(axes.flat, panels.items()):
        for i, (label, (x, m, s)) in enumerate(series.items()):
            x = np.asarray(x, dtype=float)
            xp = np.where(x == 0, zero_at if (logx and zero_at) else x, x)
            ax.errorbar(xp, m, yerr=s, fmt="o-", ms=3, capsize=2, color=f"C{i % 10}", label=label)
        if paper and name in paper:
            ax.plot(*paper[name], "--", color="0.5", lw=1, label="paper")
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        if logx:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(plt.NullFormatter())
    axes.flat[0].legend(fontsize=6)
    if logx and zero_at:
        axes.flat[0].axvline(zero_at * 1.5, color="0.8", lw=0.8)  # separates the "λ = 0" position
    fig.tight_layout()
    return fig


def time_heatmaps(maps: dict[str, tuple], ylabel: str = "head", ncols: int = 3) -> plt.Figure:
    """One heatmap per entry {title: (steps [S], values [H, S])}: rows (e.g. attention heads)
    against training step, each panel on its own colour scale."""
    fig, axes = _grid(len(maps), ncols=ncols, size=(3.4, 2.2))
    for ax, (title, (steps, M)) in zip(axes, maps.items()):
        M = np.asarray(M, dtype=float)
        im = ax.imshow(
            M,
            cmap="magma",
            aspect="auto",
            interpolation="nearest",
            extent=(float(steps[0]), float(steps[-1]), M.shape[0] - 0.5, -0.5),
        )
        ax.set_yticks(range(M.shape[0]))
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("step")
        ax.grid(False)
        fig.colorbar(im, ax=ax, fraction=0.045)
    axes[0].set_ylabel(ylabel)
    fig.tight_layout()
    return fig
