"""Spectral gaps of the layer-0 query/key matrices and their commutator over training (README claims
of the Xu 2026b code: multi.spectral-edge-cycle, multi.phase-portrait-loop, multi.per-head-cascade).

Pure functions on attention snapshots (grokbook.model.group_slices "attn" layout, PyTorch (out, in)
orientation), float64 inside: singular gaps g12 = σ1 − σ2 and g23 = σ2 − σ3, ‖W_QW_K − W_KW_Q‖_F,
the same on each head's diagonal d_head × d_head block, event detection (gap minimum, commutator
peak, collapse), the shoelace area of the min-max normalised (g12, commutator) loop, and a
random-walk null with matched step norms.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from grokbook.training.model import group_slices


def singular_gaps(W: np.ndarray) -> tuple[float, float]:
    """(σ1 − σ2, σ2 − σ3) of a matrix W [n, m] with min(n, m) >= 2; g23 is NaN with only 2 singular
    values."""
    s = np.linalg.svd(np.asarray(W, dtype=np.float64), compute_uv=False)
    return float(s[0] - s[1]), float(s[1] - s[2]) if len(s) > 2 else float("nan")


def commutator_norm(A: np.ndarray, B: np.ndarray) -> float:
    """‖AB − BA‖_F of two square matrices [n, n]."""
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    return float(np.linalg.norm(A @ B - B @ A))


def head_block(W: np.ndarray, h: int, d_head: int) -> np.ndarray:
    """Head h's diagonal block W[h·d_head:(h+1)·d_head, h·d_head:(h+1)·d_head]. W [d, d] -> [d_head,
    d_head]."""
    sl = slice(h * d_head, (h + 1) * d_head)
    return np.asarray(W)[sl, sl]


def qk_matrices(attn: np.ndarray, cfg, layer: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """W_Q and W_K of one layer from attention snapshots. attn [S, n_attn] -> ([S, d, d], [S, d,
    d])."""
    sl = group_slices(cfg, "attn")
    out = []
    for m in ("W_Q", "W_K"):
        off, shape = sl[f"L{layer}.{m}"]
        out.append(
            np.asarray(attn[:, off : off + shape[0] * shape[1]], dtype=np.float64).reshape(
                -1, *shape
            )
        )
    return out[0], out[1]


def gap_series(WQ: np.ndarray, WK: np.ndarray, n_heads: int) -> dict[str, np.ndarray]:
    """Per snapshot: g12/g23 of W_Q and W_K, ‖[W_Q, W_K]‖_F, and per head h the same on the diagonal
    blocks ("g12_Q_h0", "comm_h0", ...). WQ, WK [S, d, d] -> {name: [S]}. Ref: Xu 2026b,
    multi.spectral-edge-cycle.
    """
    d_head = WQ.shape[-1] // n_heads
    out: dict[str, list] = {}
    for q, k in zip(WQ, WK):
        vals = {"comm": commutator_norm(q, k)}
        for tag, M in (("Q", q), ("K", k)):
            vals[f"g12_{tag}"], vals[f"g23_{tag}"] = singular_gaps(M)
        for h in range(n_heads):
            qh, kh = head_block(q, h, d_head), head_block(k, h, d_head)
            vals[f"g12_Q_h{h}"] = singular_gaps(qh)[0]
            vals[f"comm_h{h}"] = commutator_norm(qh, kh)
        for name, v in vals.items():
            out.setdefault(name, []).append(v)
    return {name: np.array(v) for name, v in out.items()}


def cycle_events(
    steps: np.ndarray, g12: np.ndarray, comm: np.ndarray, skip: int = 3
) -> dict[str, Optional[int]]:
    """The cycle's events, searched after index `skip` (the code's argmin/argmax after index 3): the
    step of the g12 minimum, of the commutator peak, and the collapse = first step after the peak at
    which the commutator falls below halfway between its peak and its final value (None if it never
    does). steps, g12, comm [S].
    """
    s, g, c = (
        np.asarray(steps),
        np.asarray(g12, dtype=np.float64),
        np.asarray(comm, dtype=np.float64),
    )
    if len(s) <= skip + 1:
        return {"gap_min": None, "comm_peak": None, "collapse": None}
    i_min, i_peak = skip + int(np.argmin(g[skip:])), skip + int(np.argmax(c[skip:]))
    half = (c[i_peak] + c[-1]) / 2
    below = np.flatnonzero(c[i_peak + 1 :] < half)
    return {
        "gap_min": int(s[i_min]),
        "comm_peak": int(s[i_peak]),
        "collapse": int(s[i_peak + 1 + below[0]]) if below.size else None,
    }


def relative_dip(g12: np.ndarray, skip: int = 3) -> float:
    """Depth of the g12 minimum (after index `skip`) below the largest earlier value (from `skip`),
    as a fraction of that value: 1 − min / max-before-min. 0 for a gap that only grows, NaN for a
    series of <= skip + 1 snapshots. g12 [S]."""
    g = np.asarray(g12, dtype=np.float64)[skip:]
    if len(g) < 2:
        return float("nan")
    i = int(np.argmin(g))
    top = float(g[: i + 1].max())
    return 0.0 if top <= 0 else float(1 - g[i] / top)


def minmax(x: np.ndarray) -> np.ndarray:
    """Rescale to [0, 1] (a constant series maps to 0). x [S] -> [S]."""
    x = np.asarray(x, dtype=np.float64)
    span = x.max() - x.min()
    return np.zeros_like(x) if span == 0 else (x - x.min()) / span


def shoelace_area(x: np.ndarray, y: np.ndarray) -> float:
    """|signed area| of the closed polygon through the points (x_i, y_i) (last joined to first), by
    the shoelace formula ½|Σ x_i y_{i+1} − x_{i+1} y_i|. x, y [S]. Ref: Xu 2026b,
    multi.phase-portrait-loop."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


def loop_area(g12: np.ndarray, comm: np.ndarray) -> float:
    """Shoelace area of the (g12, ‖[W_Q,W_K]‖) trajectory after min-max normalising both
    coordinates."""
    return shoelace_area(minmax(g12), minmax(comm))


def matched_walk(traj: np.ndarray, seed: int) -> np.ndarray:
    """Null trajectory: starts at traj[0] and takes isotropic Gaussian steps whose norms equal the
    real trajectory's step norms. traj [S, n] -> [S, n]. Ref: Xu 2026b, multi.spectral-edge-cycle,
    Null.
    """
    t = np.asarray(traj, dtype=np.float64)
    rng = np.random.default_rng(seed)
    steps = rng.standard_normal((len(t) - 1, t.shape[1]))
    steps *= (np.linalg.norm(np.diff(t, axis=0), axis=1) / np.linalg.norm(steps, axis=1))[:, None]
    return np.vstack([t[:1], t[:1] + np.cumsum(steps, axis=0)])


def shuffled_walk(traj: np.ndarray, seed: int) -> np.ndarray:
    """Null trajectory that keeps the real drift: the real steps in a random order, from traj[0].
    Same step norms, same start and end point (so a steadily growing norm grows here too), no
    temporal order. traj [S, n] -> [S, n]. Ref: Xu 2026b code README (per-head cascade)."""
    t = np.asarray(traj, dtype=np.float64)
    steps = np.diff(t, axis=0)[np.random.default_rng(seed).permutation(len(t) - 1)]
    return np.vstack([t[:1], t[:1] + np.cumsum(steps, axis=0)])


def walk_qk(WQ: np.ndarray, WK: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """matched_walk applied to the concatenated (W_Q, W_K) trajectory, split back. [S, d, d] x2 ->
    same."""
    S, d, _ = WQ.shape
    w = matched_walk(np.concatenate([WQ.reshape(S, -1), WK.reshape(S, -1)], axis=1), seed)
    return w[:, : d * d].reshape(S, d, d), w[:, d * d :].reshape(S, d, d)


def cycle_rows(grid, skip: int = 3, walk_seed: int = 0, layer: int = 0) -> list[dict]:
    """One row per grid run (GridRun): events (gap_min, comm_peak, collapse) of the real
    layer-`layer` W_Q/W_K and of a matched random walk, the relative g12 dip of each, whether the
    g12 minimum is interior (after the first searchable snapshot and before the last), the loop
    area, and the first task's R98 step. Ref: Xu 2026b, multi.spectral-edge-cycle,
    multi.phase-portrait-loop."""
    rows = []
    for g in grid:
        r = g.run
        WQ, WK = qk_matrices(r.snapshots["attn"], r.config, layer)
        real = gap_series(WQ, WK, r.config.n_heads)
        null = gap_series(*walk_qk(WQ, WK, walk_seed + g.seed), r.config.n_heads)
        groks = [v for v in g.grok_steps().values() if v is not None]
        row = {
            "task_set": g.task_set,
            "weight_decay": g.weight_decay,
            "seed": g.seed,
            "first_grok": min(groks) if groks else None,
        }
        for tag, s in (("real", real), ("walk", null)):
            ev = cycle_events(r.snapshot_steps, s["g12_Q"], s["comm"], skip)
            row |= {f"{tag} {k}": v for k, v in ev.items()}
            row |= {
                f"{tag} dip": relative_dip(s["g12_Q"], skip),
                f"{tag} loop area": loop_area(s["g12_Q"], s["comm"]),
                f"{tag} interior": ev["gap_min"] is not None
                and int(r.snapshot_steps[skip]) < ev["gap_min"] < int(r.snapshot_steps[-1]),
            }
        rows.append(row)
    return rows


def head_peaks(
    series: dict[str, np.ndarray], steps: np.ndarray, n_heads: int, skip: int = 3
) -> Optional[list[int]]:
    """Step of each head's commutator peak ("comm_h{h}" of gap_series), searched after index `skip`;
    None if the series is too short. Ref: Xu 2026b, multi.per-head-cascade."""
    if len(steps) <= skip + 1:
        return None
    return [int(steps[skip + int(np.argmax(series[f"comm_h{h}"][skip:]))]) for h in range(n_heads)]


def interior_peaks(peaks: Optional[list[int]], steps: np.ndarray, skip: int = 3) -> Optional[list]:
    """The head peaks with a peak at the first searchable snapshot or at the last one (the stop
    step) replaced by None: such a peak is the edge of the window, not a flare. Ref: Xu 2026b code
    README.
    """
    if peaks is None:
        return None
    edge = {int(steps[skip]), int(steps[-1])}
    return [None if p in edge else p for p in peaks]


def peak_spread(peaks: Optional[list], scale: Optional[float]) -> float:
    """(latest − earliest head peak) / scale (e.g. the first grok step), over the peaks that are not
    None; NaN if fewer than 2 peaks or no scale."""
    known = [p for p in (peaks or []) if p is not None]
    if len(known) < 2 or not scale:
        return float("nan")
    return float((max(known) - min(known)) / scale)


def full_cycle(events: dict, grok: Optional[float], tolerance: float, min_dip: float) -> bool:
    """The cycle with its dip: has_cycle on the events AND a relative g12 dip >= min_dip AND a g12
    minimum inside the searched window (not at its first or last snapshot). events: {"gap_min",
    "comm_peak", "dip", "interior"} (cycle_rows' "<tag> ..." columns). Ref: Xu 2026b code README
    (spectral-edge cycle).
    """
    dip = events.get("dip")
    return bool(
        has_cycle(events.get("gap_min"), events.get("comm_peak"), grok, tolerance)
        and dip is not None
        and np.isfinite(dip)
        and dip >= min_dip
        and bool(events.get("interior"))
    )


def has_cycle(
    gap_min: Optional[int], comm_peak: Optional[int], grok: Optional[int], tolerance: float
) -> bool:
    """The README's event order: |gap minimum − commutator peak| <= tolerance·grok and the peak
    before grok (False when any event or the grok step is missing). Ref: Xu 2026b,
    multi.spectral-edge-cycle, Verdict.
    """
    if (
        gap_min is None
        or comm_peak is None
        or grok is None
        or np.isnan([gap_min, comm_peak, grok]).any()
    ):
        return False
    return bool(abs(gap_min - comm_peak) <= tolerance * grok and comm_peak < grok)


# ── tables and panels of the notebooks
# ───────────────────────────────────────────────────────────────────


def run_series(
    g, walk_seed: Optional[int] = None, layer: int = 0, null: str = "walk"
) -> dict[str, np.ndarray]:
    """gap_series of one grid run's layer-`layer` W_Q/W_K, or, when walk_seed is given, of its null
    (seed walk_seed + the run's seed): "walk" a matched random walk, "shuffle" the real steps in
    random order.
    """
    c = g.run.config
    WQ, WK = qk_matrices(g.run.snapshots["attn"], c, layer)
    if walk_seed is not None and null == "shuffle":
        S, d, _ = WQ.shape
        w = shuffled_walk(
            np.concatenate([WQ.reshape(S, -1), WK.reshape(S, -1)], axis=1), walk_seed + g.seed
        )
        WQ, WK = w[:, : d * d].reshape(S, d, d), w[:, d * d :].reshape(S, d, d)
    elif walk_seed is not None:
        WQ, WK = walk_qk(WQ, WK, walk_seed + g.seed)
    return gap_series(WQ, WK, c.n_heads)


def gap_panels(runs) -> dict[str, dict[str, tuple]]:
    """One panel per grid run: min-max normalised g12 of W_Q and ‖[W_Q, W_K]‖_F over the
    snapshots."""
    out = {}
    for g in runs:
        s, steps = run_series(g), g.run.snapshot_steps
        out[f"{g.task_set} λ={g.weight_decay:g} s{g.seed}"] = {
            "g12(W_Q)": (steps, minmax(s["g12_Q"])),
            "‖[W_Q,W_K]‖": (steps, minmax(s["comm"])),
        }
    return out


def portrait_panels(grid, walk_seed: int) -> dict[str, dict[str, tuple]]:
    """One panel per (task set, λ), from the run with the first seed: the min-max normalised (g12,
    commutator) path of the real run and of its matched random walk. Ref: Xu 2026b code README
    (phase portrait).
    """
    first = {(g.task_set, g.weight_decay): g for g in reversed(list(grid))}
    portrait = lambda s: (minmax(s["g12_Q"]), minmax(s["comm"]))  # noqa: E731
    return {
        f"{ts} λ={wd:g}": {
            "real": portrait(run_series(g)),
            "walk": portrait(run_series(g, walk_seed)),
        }
        for (ts, wd), g in first.items()
    }


def collapse_rows(grid, rows) -> list[dict]:
    """Every grid run's per-task R98 steps beside the collapse step of its commutator
    (cycle_rows)."""
    collapse = {(r["task_set"], r["weight_decay"], r["seed"]): r["real collapse"] for r in rows}
    return [
        {
            "task_set": g.task_set,
            "λ": g.weight_decay,
            "seed": g.seed,
            **g.grok_steps(),
            "collapse": collapse[(g.task_set, g.weight_decay, g.seed)],
        }
        for g in grid
    ]


def head_maps(runs) -> dict[str, tuple]:
    """Head × time maps: per grid run, (snapshot steps, [n_heads, S] per-head commutator norms)."""
    out = {}
    for g in runs:
        s, n = run_series(g), g.run.config.n_heads
        out[f"{g.task_set} λ={g.weight_decay:g} s{g.seed}"] = (
            g.run.snapshot_steps,
            np.stack([s[f"comm_h{h}"] for h in range(n)]),
        )
    return out


def cascade_rows(runs, skip: int, walk_seed: int, null: str = "shuffle") -> list[dict]:
    """Per grid run: the first task's R98 step, the step of every head's commutator peak of the real
    run and of its null ("shuffle": the real steps in random order, which keeps the drift; "walk": a
    matched random walk), peaks at the window's edges dropped (interior_peaks), and both spreads as
    a share of that grok step.
    Ref: Xu 2026b code README (per-head cascade)."""
    rows = []
    for g in runs:
        n, steps = g.run.config.n_heads, g.run.snapshot_steps
        groks = [v for v in g.grok_steps().values() if v]
        first = min(groks) if groks else None
        peaks = interior_peaks(head_peaks(run_series(g), steps, n, skip), steps, skip)
        walk = interior_peaks(
            head_peaks(run_series(g, walk_seed, null=null), steps, n, skip), steps, skip
        )
        rows.append(
            {
                "run": f"{g.task_set} λ={g.weight_decay:g} s{g.seed}",
                "task_set": g.task_set,
                "weight_decay": g.weight_decay,
                "seed": g.seed,
                "first_grok": first,
                "peaks": peaks,
                "walk peaks": walk,
                "spread": peak_spread(peaks, first),
                "walk spread": peak_spread(walk, first),
            }
        )
    return rows


def cycle_inputs(
    rows, headline_weight_decay: float, control_weight_decay: float
) -> tuple[dict, dict]:
    """The spectral-edge rule's inputs from cycle_rows: headline runs {label: {"grok", "real",
    "walk"}} and no-decay controls {label: {"grok", "real"}}, where a control's "grok" is the first
    grok step of the headline run with the same task set and seed (else the median over the headline
    runs): the time scale the same cycle rule is applied with. events: {"gap_min", "comm_peak",
    "dip", "interior"}."""
    ev = lambda r, tag: {
        k: r[f"{tag} {k}"] for k in ("gap_min", "comm_peak", "dip", "interior")
    }  # noqa: E731
    head = [r for r in rows if r["weight_decay"] == headline_weight_decay]
    groks = [
        r["first_grok"]
        for r in head
        if r["first_grok"] is not None and np.isfinite(r["first_grok"])
    ]
    scale = {(r["task_set"], r["seed"]): r["first_grok"] for r in head}
    fallback = float(np.median(groks)) if groks else None
    headline = {
        f"{r['task_set']} s{r['seed']}": {
            "grok": r["first_grok"],
            "real": ev(r, "real"),
            "walk": ev(r, "walk"),
        }
        for r in head
    }
    controls = {
        f"{r['task_set']} s{r['seed']}": {
            "grok": scale.get((r["task_set"], r["seed"])) or fallback,
            "real": ev(r, "real"),
        }
        for r in rows
        if r["weight_decay"] == control_weight_decay
    }
    return headline, controls
