"""When each task groks, and how grok time depends on weight decay (Xu 2026b multi.staggered-order,
multi.wd-groktime-powerlaw, multi.wd-phase-structure).

Pure functions, float64 inside, no plotting or I/O:
- order statistics of per-task grok steps with ties (one eval interval) counted apart from support;
- continuous grok times that do not snap to the eval grid (interpolated and logistic 0.5 crossings);
- cosines between the task heads against the 1/sqrt(d·p) chance level;
- alternative grok-time-vs-λ models compared with one metric (leave-one-λ-out log-space error);
- trend tests for the composite λ table (quadratic-in-log λ vs linear likelihood ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
from scipy import optimize, stats

from grokbook.measures.fits import power_law_fit
from grokbook.training.model import param_layout

PAPER_ORDER = ("mul", "x2_y2", "add")  # Xu 2026b multi.staggered-order: mul → sq → add


# ── order statistics ──


def order_string(times: dict[str, Optional[float]], tie_within: float) -> str:
    """Tasks sorted by grok time, joined by " → " (later by more than `tie_within`) or " = " (a
    tie); tasks that never grokked come last as "never(op)". {"add": 1500, "mul": 1450} -> "mul =
    add" (tie 100).
    """
    done = sorted((t, op) for op, t in times.items() if t is not None)
    out = ""
    for i, (t, op) in enumerate(done):
        out += op if i == 0 else (" = " if t - done[i - 1][0] <= tie_within else " → ") + op
    never = [f"never({op})" for op, t in times.items() if t is None]
    return " → ".join([s for s in [out] if s] + never)


def pair_relation(t_first: Optional[float], t_second: Optional[float], tie_within: float) -> str:
    """How a pair of grok times relates to the expected order first ≤ second: "support" (first
    earlier by more than tie_within), "tie" (|Δ| ≤ tie_within), "contradict" (second earlier by
    more), "missing".
    """
    if t_first is None or t_second is None:
        return "missing"
    d = t_second - t_first
    return "tie" if abs(d) <= tie_within else ("support" if d > 0 else "contradict")


def order_status(
    times: dict[str, Optional[float]],
    expected: Sequence[str] = PAPER_ORDER,
    tie_within: float = 100.0,
) -> str:
    """One run's verdict on the expected order over the consecutive pairs of the tasks it has
    (tri: mul–x2_y2, x2_y2–add; dual: mul–add): "contradict" if any pair is reversed, else "missing"
    if a task never grokked, else "tie" if any pair ties, else "support". Ref: Xu 2026b,
    multi.staggered-order, Verdict.
    """
    ops = [op for op in expected if op in times]
    rel = [pair_relation(times[a], times[b], tie_within) for a, b in zip(ops, ops[1:])]
    for status in ("contradict", "missing", "tie"):
        if status in rel:
            return status
    return "support"


def delays(
    times: dict[str, Optional[float]], expected: Sequence[str] = PAPER_ORDER
) -> dict[str, Optional[float]]:
    """t_b − t_a for every ordered pair (a before b in `expected`) of the tasks present, e.g.
    "add−mul"."""
    ops = [op for op in expected if op in times]
    return {
        f"{b}−{a}": (None if times[a] is None or times[b] is None else float(times[b] - times[a]))
        for i, a in enumerate(ops)
        for b in ops[i + 1 :]
    }


# ── continuous grok time ──


def interpolated_crossing(
    steps: np.ndarray, acc: np.ndarray, level: float = 0.5
) -> Optional[float]:
    """Step of the last upward crossing of `level`, linearly interpolated between the two evals
    around it (so it is not tied to the eval grid); steps[0] if acc never is below level, None if it
    ends below. steps, acc [E]. Ref: Xu 2026b, multi.staggered-order, eval-resolution null."""
    s, a = np.asarray(steps, dtype=np.float64), np.asarray(acc, dtype=np.float64)
    below = np.flatnonzero(a < level)
    if below.size == 0:
        return float(s[0])
    i = int(below[-1])
    if i == len(a) - 1:
        return None
    return float(s[i] + (level - a[i]) / (a[i + 1] - a[i]) * (s[i + 1] - s[i]))


@dataclass(frozen=True)
class LogisticFit:
    """acc(t) ≈ lo + (hi − lo)·σ((t − t0)/width), least squares on the eval curve."""

    t0: float  # midpoint step
    width: float  # steps per e-fold of the odds
    lo: float
    hi: float
    crossing: Optional[
        float
    ]  # step where the fitted curve crosses the level (None if lo ≥ level or hi ≤ level)
    rmse: float

    def predict(self, t) -> np.ndarray:
        return self.lo + (self.hi - self.lo) / (
            1 + np.exp(-(np.asarray(t, dtype=np.float64) - self.t0) / self.width)
        )


def logistic_crossing(
    steps: np.ndarray, acc: np.ndarray, level: float = 0.5
) -> Optional[LogisticFit]:
    """Fit a 4-parameter logistic to a test-accuracy curve and return where it crosses `level` (the
    continuous grok time). Started from the interpolated crossing; None if the curve never crosses
    or the least-squares fit does not converge (counted as a missing time, never replaced by another
    estimate). steps, acc [E]. Ref: Xu 2026b, multi.staggered-order, Nulls (eval-resolution
    null)."""
    s, a = np.asarray(steps, dtype=np.float64), np.asarray(acc, dtype=np.float64)
    t_start = interpolated_crossing(s, a, level)
    if t_start is None or len(s) < 5:
        return None
    scale = float(s[-1] - s[0]) or 1.0
    f = lambda t, t0, w, lo, hi: lo + (hi - lo) / (
        1 + np.exp(-np.clip((t - t0) / w, -50, 50))
    )  # noqa: E731
    p0 = [(t_start - s[0]) / scale, 0.02, float(a.min()), float(a.max())]
    try:
        (t0, w, lo, hi), _ = optimize.curve_fit(
            f, (s - s[0]) / scale, a, p0=p0, maxfev=20_000, bounds=([-1, 1e-4, 0, 0], [2, 10, 1, 1])
        )
    except RuntimeError:  # scipy's "optimal parameters not found"
        return None
    cross = (
        None
        if not lo < level < hi
        else float(s[0] + scale * (t0 + w * math.log((level - lo) / (hi - level))))
    )
    rmse = float(np.sqrt(np.mean((f((s - s[0]) / scale, t0, w, lo, hi) - a) ** 2)))
    return LogisticFit(
        float(s[0] + t0 * scale), float(w * scale), float(lo), float(hi), cross, rmse
    )


# ── task heads ──


def head_cosines(thetas: np.ndarray, cfg) -> dict[str, np.ndarray]:
    """cos between the flattened weight matrices (p × d each) of every pair of task heads, at every
    θ. thetas [S, P] (e.g. run.snapshots["all"]) -> {"add·mul": [S], ...}. Ref: Xu 2026b,
    multi.staggered-order.
    """
    off, (T, V, d) = param_layout(cfg)["heads.weight"]
    H = np.asarray(thetas, dtype=np.float64)[:, off : off + T * V * d].reshape(
        -1, T, V * d
    )  # [S, T, p·d]
    H = H / np.linalg.norm(H, axis=-1, keepdims=True)
    return {
        f"{cfg.ops[i]}·{cfg.ops[j]}": np.einsum("sn,sn->s", H[:, i], H[:, j])
        for i in range(T)
        for j in range(i + 1, T)
    }


def chance_cosine(n: int) -> float:
    """1/sqrt(n): the typical |cos| of two independent random directions in R^n (the head-cosine
    baseline with n = d·p; the exact mean |cos| of Gaussian vectors is sqrt(2/(π n)) ≈
    0.80/sqrt(n)).
    """
    return 1.0 / math.sqrt(n)


# ── grok time vs weight decay: alternative models and one comparison metric ──


def fit_power(x, y) -> Callable:
    """t = a·λ^b by OLS in log-log (grokbook.fits.power_law_fit) -> predictor."""
    return power_law_fit(x, y).predict


def fit_exponential(x, y) -> Callable:
    """t = a·exp(−b·λ) by OLS of log t on λ -> predictor."""
    b, log_a = np.polyfit(np.asarray(x, dtype=np.float64), np.log(y), 1)
    return lambda q: np.exp(log_a + b * np.asarray(q, dtype=np.float64))


def fit_reciprocal(x, y) -> Callable:
    """t = a/(λ + b) + c (a > 0, λ + b > 0, c ≥ 0), least squares in log t so that every model is
    fitted in the same space -> predictor. Needs >= 3 distinct λ."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    res = lambda q: np.log(q[0] / (x + q[1]) + q[2]) - np.log(y)  # noqa: E731
    lo_b = -float(x.min()) + 1e-6 * float(x.max())
    q = optimize.least_squares(
        res,
        [float(y.mean() * x.mean()), max(0.0, lo_b), 0.0],
        bounds=([1e-12, lo_b, 0.0], [np.inf, np.inf, np.inf]),
    ).x
    return lambda t: q[0] / (np.asarray(t, dtype=np.float64) + q[1]) + q[2]


GROKTIME_MODELS: dict[str, tuple[Callable, int]] = {  # name -> (fitter, number of parameters)
    "power a·λ^b": (fit_power, 2),
    "exponential a·e^(−bλ)": (fit_exponential, 2),
    "reciprocal a/(λ+b)+c": (fit_reciprocal, 3),
}


def loo_log_error(x, y, fitter: Callable, n_params: int) -> float:
    """Leave-one-λ-out error: for every distinct x, fit on the other x values and predict the
    held-out points; the RMS of log y − log ŷ over all points. NaN if some fold has fewer distinct x
    than parameters. x, y [n]. Ref: Xu 2026b, multi.wd-groktime-powerlaw, Nulls (one metric for
    every model)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    errs = []
    for v in np.unique(x):
        out = x == v
        if np.unique(x[~out]).size < n_params:
            return float("nan")
        errs.append(np.log(fitter(x[~out], y[~out])(x[out])) - np.log(y[out]))
    return float(np.sqrt(np.mean(np.concatenate(errs) ** 2)))


def group_means(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Mean of y at every distinct x (sorted). x, y [n] -> (x values [k], means [k])."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    xs = np.unique(x)
    return xs, np.array([y[x == v].mean() for v in xs])


def is_decreasing(values) -> bool:
    """Strictly decreasing sequence (e.g. seed-mean grok time over increasing λ)."""
    v = np.asarray(values, dtype=np.float64)
    return bool(np.all(np.diff(v) < 0))


# ── trend shape of a per-λ observable (multi.wd-phase-structure) ──


@dataclass(frozen=True)
class ShapeTest:
    """Linear vs quadratic fit of an observable against u = log λ, compared by a likelihood
    ratio."""

    lr_stat: float  # n·log(RSS_linear / RSS_quadratic), ~ χ²(1) under the linear model
    p_value: float
    curvature: float  # coefficient of u²: > 0 a U shape (minimum), < 0 an inverted U (maximum)
    vertex: float  # λ at the extremum of the quadratic, exp(−b1 / (2·b2))
    n: int


def quadratic_log_test(x, y) -> ShapeTest:
    """Quadratic-in-log-x vs linear-in-log-x least squares, Gaussian likelihood-ratio test with 1
    d.o.f. x > 0, y [n], n >= 4 and >= 3 distinct x. Ref: Xu 2026b, multi.wd-phase-structure,
    Protocol."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 4 or np.unique(x).size < 3:
        raise ValueError(
            f"quadratic_log_test: need >= 4 points at >= 3 distinct x, got {x.size} at "
            f"{np.unique(x).size}"
        )
    u = np.log(x)
    rss = [float(np.sum((np.polyval(np.polyfit(u, y, k), u) - y) ** 2)) for k in (1, 2)]
    c2, c1, _ = np.polyfit(u, y, 2)
    tiny = 1e-20 * float(np.sum((y - y.mean()) ** 2) + np.sum(y**2))  # rounding level: an exact fit
    rss = [r if r > tiny else 0.0 for r in rss]
    lr = 0.0 if rss[0] == 0 else (math.inf if rss[1] == 0 else x.size * math.log(rss[0] / rss[1]))
    return ShapeTest(
        float(lr),
        float(stats.chi2.sf(lr, 1)),
        float(c2),
        float(math.exp(-c1 / (2 * c2))) if c2 != 0 else float("nan"),
        int(x.size),
    )


# ── per-run tables for the notebooks ──


def continuous_times(
    run, level: float = 0.5, method: str = "logistic"
) -> dict[str, Optional[float]]:
    """Continuous grok time of every task of a run: the `level` crossing of a logistic fit
    ("logistic") or of the interpolated curve ("interpolated") of its test accuracy. Run -> {op:
    step or None}."""
    out = {}
    for t, op in enumerate(run.config.ops):
        if method == "interpolated":
            out[op] = interpolated_crossing(run.eval_steps, run.test_acc[:, t], level)
        else:
            fit = logistic_crossing(run.eval_steps, run.test_acc[:, t], level)
            out[op] = None if fit is None else fit.crossing
    return out


def order_rows(
    grid, tie_within: float, level: float = 0.5, expected: Sequence[str] = PAPER_ORDER
) -> list[dict]:
    """One row per grid run (GridRun from grokbook.papers.multitask.grids): task set, λ, seed, the
    R98 step of every task ("R98 op"), its order string, status and delays, and the same under the
    logistic and interpolated `level` crossings ("<basis> status"). Ref: Xu 2026b,
    multi.staggered-order, Protocol."""
    rows = []
    for g in grid:
        bases = {
            "R98": g.grok_steps(),
            "logistic": continuous_times(g.run, level, "logistic"),
            "interpolated": continuous_times(g.run, level, "interpolated"),
        }
        row = {"task_set": g.task_set, "weight_decay": g.weight_decay, "seed": g.seed}
        for name, times in bases.items():
            row |= {f"{name} {op}": times[op] for op in g.ops}
            row |= {
                f"{name} order": order_string(times, tie_within),
                f"{name} status": order_status(times, expected, tie_within),
            }
            row |= {f"{name} delay {k}": v for k, v in delays(times, expected).items()}
        rows.append(row)
    return rows


# ── the four observables of one grid run (multi.wd-phase-structure) ──


def kstar_of(run, k_max: int, n_max: int = 100, threshold: float = 0.90) -> Optional[int]:
    """The code's reconstruction threshold k* of one run: uncentered full-parameter trajectory PCA
    (grokbook.compression), θ_k = θ_0 + B_kB_kᵀΔ for k = 1..k_max, smallest k with every task's test
    accuracy >= threshold; None if none. Ref: Xu 2026b, multi.reconstruction-threshold, Protocol."""
    from grokbook.measures import compression as cp
    from grokbook.training.train import accuracy_of

    steps, thetas = cp.run_trajectory(run)
    basis = cp.trajectory_basis(steps, thetas, run.theta_init, n_max=n_max)
    ks = list(range(1, min(k_max, basis.k) + 1))
    acc = accuracy_of(run.config, cp.reconstruct(run.theta_init, run.theta_final, basis.V, ks))
    return cp.k_star(ks, acc, threshold)


def phase_rows(
    grid,
    *,
    n_checkpoints: int,
    lanczos_iters: int,
    hessian_samples: int,
    k_max: int,
    n_max_pca: int = 100,
    n_max_defect: int = 120,
    envelope: Optional[dict] = None,
) -> list[dict]:
    """One row per grid run with the four observables of the composite claim: grok time (mean R98
    over the tasks; None if a task never grokked), curvature depth (min over ≤ n_checkpoints of the
    total-loss Hessian's bottom Ritz value, geometry.curvature_rows), k* (kstar_of, grokked runs
    only) and the defect lead (envelope onset of the probed total-loss defect vs the first task's
    R98: lead and lead/grok, geometry.lead_rows). Ref: Xu 2026b, multi.wd-phase-structure,
    Protocol."""
    from grokbook.papers.multitask.geometry import curvature_rows, depth, lead_rows

    rows = []
    for g in grid:
        groks = g.grok_steps()
        done = None not in groks.values()
        lead = lead_rows([g], n_max_defect, envelope)
        onset = lead[0]["envelope_onset"]
        first = min(groks.values()) if done else None
        lt = None if first is None or onset is None else first - onset
        rows.append(
            {
                "task_set": g.task_set,
                "weight_decay": g.weight_decay,
                "seed": g.seed,
                "grokked": done,
                "grok_time": float(np.mean(list(groks.values()))) if done else None,
                "depth": depth(
                    curvature_rows(g, n_checkpoints, lanczos_iters, hessian_samples, per_task=False)
                ),
                "kstar": kstar_of(g.run, k_max, n_max_pca) if done else None,
                "onset": onset,
                "lead": lt,
                "lead_frac": None if lt is None else lt / first,
            }
        )
    return rows


def extremum_position(lams, values, kind: str = "min") -> Optional[float]:
    """λ at which the per-λ values are smallest ("min") or largest ("max"); NaNs ignored, None if
    all NaN. lams [k] (distinct, sorted), values [k]."""
    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).all():
        return None
    return float(np.asarray(lams)[np.nanargmin(v) if kind == "min" else np.nanargmax(v)])


def within_grid_points(
    lams: Sequence[float], found: Optional[float], targets: Sequence[float], tol: int = 1
) -> bool:
    """Whether `found` lies within `tol` grid positions of the nearest target λ on the sorted grid
    `lams` (targets outside the grid are placed at their nearest grid point). Ref: Xu 2026b,
    multi.wd-phase-structure, Verdict ("positions of the extrema agree within one grid point")."""
    if found is None:
        return False
    grid = np.sort(np.asarray(lams, dtype=np.float64))
    pos = lambda v: int(np.argmin(np.abs(np.log(grid) - math.log(v))))  # noqa: E731
    return min(abs(pos(found) - pos(t)) for t in targets) <= tol


def shape_summary(x, y) -> dict:
    """Trend of an observable y against λ = x over runs (NaNs dropped): Spearman ρ (>= 3 distinct λ)
    and the quadratic-in-log λ test (>= 4 points at >= 3 λ); NaN where undefined. x, y [n] -> dict.
    Ref: Xu 2026b, multi.wd-phase-structure, Protocol."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    k = np.unique(x).size
    sp = float(stats.spearmanr(x, y)[0]) if k >= 3 else float("nan")
    q = quadratic_log_test(x, y) if x.size >= 4 and k >= 3 else None
    nan = float("nan")
    return {
        "spearman": sp,
        "LR p": q.p_value if q else nan,
        "curvature": q.curvature if q else nan,
        "vertex λ": q.vertex if q else nan,
        "n": int(x.size),
        "λ values": int(k),
    }


# ── tables of the staggered-order page ──


def single_task_configs(
    grid_params: dict, ops: Sequence[str], seeds: Sequence[int], weight_decay: float
):
    """Single-task models of the per-task difficulty null: the grid's tri config at `weight_decay`
    for every seed with only the head list changed to one op. grid_params: the shared grid's
    parameters (grids.SHARED.pick). -> [RunConfig], seeds outer, ops inner. Ref: Xu 2026b (staggered
    order)."""
    import dataclasses

    from grokbook.papers.multitask.grids import grid_configs

    pts = grid_configs(
        **{
            **grid_params,
            "task_sets": ["tri"],
            "weight_decays": [weight_decay],
            "seeds": list(seeds),
            "control_seeds": [],
            "snapshot_groups": ("attn", "all"),
        }
    )
    tri = {s: c for _, wd, s, c in pts if wd == weight_decay}
    return [dataclasses.replace(tri[s], ops=(op,)) for s in seeds for op in ops]


def single_task_rows(runs, seeds: Sequence[int], tie_within: float) -> list[dict]:
    """Per seed: the R98 step of every single-task model, their order string and order status."""
    rows = []
    for s in seeds:
        t = {r.config.ops[0]: r.grok_step(0) for r in runs if r.config.seed == s}
        rows.append(
            {
                "seed": s,
                **t,
                "order": order_string(t, tie_within),
                "status": order_status(t, tie_within=tie_within),
            }
        )
    return rows


def paper_comparison(
    rows: Sequence[dict], paper_steps: dict, weight_decay: float, tie_within: float
) -> list[dict]:
    """The paper's order and status (from its R98 steps, {"tri 42": {op: step}}) beside ours at the
    same λ. rows: order_rows."""
    ours = {f"{r['task_set']} {r['seed']}": r for r in rows if r["weight_decay"] == weight_decay}
    return [
        {
            "run": key,
            "paper order": order_string(v, tie_within),
            "paper status": order_status(v, tie_within=tie_within),
            "our order": ours[key]["R98 order"] if key in ours else "not run",
            "our status": ours[key]["R98 status"] if key in ours else "not run",
        }
        for key, v in paper_steps.items()
    ]


def head_cosine_panels(runs) -> dict[str, dict[str, tuple]]:
    """Per grid run: cos between every pair of task heads at every full-parameter snapshot
    (head_cosines)."""
    return {
        f"{g.task_set} s{g.seed}": {
            pair: (g.run.snapshot_steps, c)
            for pair, c in head_cosines(g.run.snapshots["all"], g.run.config).items()
        }
        for g in runs
    }
