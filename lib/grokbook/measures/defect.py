"""Commutator-defect time series: growth, the onset detector, lead times, the sign test,
matched-step windows and the trajectory–curvature alignment against its random baseline. Pure
functions on the arrays that training records in Run.probes (grokbook.train); float64 inside.

A probe series is the defect D [Q, K] (K samples per probe, one probe every `probe_every` steps). D
= NaN and D = 0 both mean "missing" (a gradient was exactly zero), as we define it (Methods
chapter).

Ref: Xu 2026a, Methods: commutator defect and onset, curv.defect-explosion,
curv.onset-precedes-grokking, curv.converse-alignment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

# ── per-probe medians ─────────────────────────────────────────────────────────────────────────────


def probe_median(values: np.ndarray, zero_is_missing: bool = False) -> np.ndarray:
    """Median over the K samples of every probe, ignoring NaN (and 0 if zero_is_missing); NaN where
    every sample is missing. values [Q, K] (or [Q], returned as float64) -> [Q]."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    v = np.where(v == 0, np.nan, v) if zero_is_missing else v
    out = np.full(len(v), np.nan)
    ok = ~np.isnan(v).all(1)
    out[ok] = np.nanmedian(v[ok], axis=1)
    return out


def median_defect(defect: np.ndarray) -> np.ndarray:
    """Per-probe median defect with D = NaN and D = 0 treated as missing. defect [Q, K] -> [Q].
    Ref: Xu 2026a, Methods: commutator defect ("treat D = 0 and D = NaN as missing")."""
    return probe_median(defect, zero_is_missing=True)


@dataclass(frozen=True)
class DefectParts:
    """Per-probe medians (over K) of the defect and of the two factors it is made of:
    D = ‖δ‖ / (η² ‖g_A‖‖g_B‖), so raw = ‖δ‖/η² is the numerator and grad_product = ‖g_A‖‖g_B‖ the
    denominator.
    """

    steps: np.ndarray  # [Q]
    defect: np.ndarray  # [Q] median D (0 and NaN missing)
    raw: np.ndarray  # [Q] median ‖δ‖/η²
    grad_product: np.ndarray  # [Q] median ‖g_A‖·‖g_B‖
    grad_norm: np.ndarray  # [Q] median of the 2K batch-gradient norms


def defect_parts(probes: dict, eta: float) -> DefectParts:
    """DefectParts of one run's probes (Run.probes: steps [Q]; defect, delta_norm, grad_a_norm,
    grad_b_norm [Q, K]). Samples whose D is missing are dropped from every part, so all parts use
    the same samples. Ref: Xu 2026a curv.defect-explosion, Nulls (is the rise a
    vanishing-denominator artefact?)."""
    d = np.asarray(probes["defect"], dtype=np.float64)
    keep = np.isfinite(d) & (d != 0)
    mask = lambda x: np.where(keep, np.asarray(x, dtype=np.float64), np.nan)  # noqa: E731
    ga, gb = mask(probes["grad_a_norm"]), mask(probes["grad_b_norm"])
    return DefectParts(
        steps=np.asarray(probes["steps"]),
        defect=median_defect(d),
        raw=probe_median(mask(probes["delta_norm"]) / eta**2),
        grad_product=probe_median(ga * gb),
        grad_norm=probe_median(np.concatenate([ga, gb], 1)),
    )


# ── growth and matched-step windows ───────────────────────────────────────────────────────────────


def early_baseline(series: np.ndarray, n: int = 3) -> float:
    """Median of the first n entries of a per-probe series, ignoring NaN (NaN if all n are
    missing)."""
    head = np.asarray(series, dtype=np.float64)[:n]
    return float(np.nanmedian(head)) if np.isfinite(head).any() else math.nan


def growth(series: np.ndarray, n_baseline: int = 3) -> float:
    """max / baseline of a per-probe series [Q], baseline = median of the first n_baseline probes,
    NaN ignored. Ref: Xu 2026a curv.defect-explosion (growth = max D / median of the first 3
    measurements)."""
    s = np.asarray(series, dtype=np.float64)
    if not np.isfinite(s).any():
        return math.nan
    return float(np.nanmax(s) / early_baseline(s, n_baseline))


def window(
    steps: np.ndarray, series: np.ndarray, last_step: Optional[int] = None
) -> tuple[np.ndarray, np.ndarray]:
    """The probes taken at steps <= last_step (all if None): (steps [Q'], series [Q']). Used to
    compare runs of different lengths on a common window (matched steps)."""
    steps, series = np.asarray(steps), np.asarray(series, dtype=np.float64)
    keep = np.ones(len(steps), bool) if last_step is None else steps <= last_step
    return steps[keep], series[keep]


def series_stats(
    steps: np.ndarray, series: np.ndarray, last_step: Optional[int] = None, n_baseline: int = 3
) -> dict:
    """Baseline, max, step of the max, final value (last non-missing probe), its step and growth of
    a per-probe series, over the probes at steps <= last_step. steps, series [Q] -> dict of
    floats/ints.
    """
    s, v = window(steps, series, last_step)
    ok = np.isfinite(v)
    if not ok.any():
        return {
            "baseline": math.nan,
            "max": math.nan,
            "max_step": None,
            "final": math.nan,
            "final_step": None,
            "growth": math.nan,
        }
    i_max, i_last = int(np.nanargmax(v)), int(np.flatnonzero(ok)[-1])
    return {
        "baseline": early_baseline(v, n_baseline),
        "max": float(v[i_max]),
        "max_step": int(s[i_max]),
        "final": float(v[i_last]),
        "final_step": int(s[i_last]),
        "growth": growth(v, n_baseline),
    }


def value_at(steps: np.ndarray, series: np.ndarray, step: int) -> float:
    """The series at the last probe at or before `step` (NaN if there is none or it is missing)."""
    s, v = window(steps, series, step)
    return float(v[-1]) if len(v) else math.nan


# ── onset detector and lead times (onset) ─────────────────────────────────────────────────────────


def onset_index(
    series: np.ndarray,
    factor: float = 10.0,
    floor: float = 20.0,
    min_baseline: float = 0.1,
    n_baseline: int = 3,
    start: int = 2,
) -> Optional[int]:
    """Index of the first probe i >= start with D_i > factor·b and D_i > floor, where
    b = max(min_baseline, median of the first n_baseline probes); None if it never fires. Missing
    (NaN) probes never fire. series [Q] (per-probe median D).
    Ref: Xu 2026a, Methods: onset (find_spike_step: factor 10, floor 20 in the fast regime, 5 in the
    slow one).
    """
    s = np.asarray(series, dtype=np.float64)
    base = early_baseline(s, n_baseline)
    b = max(min_baseline, base) if np.isfinite(base) else min_baseline
    with np.errstate(invalid="ignore"):
        fire = (s > factor * b) & (s > floor)
    fire[:start] = False
    hits = np.flatnonzero(fire)
    return int(hits[0]) if len(hits) else None


def onset_step(steps: np.ndarray, series: np.ndarray, **kw) -> Optional[int]:
    """Step of the onset (onset_index with the same keyword arguments), None if it never fires."""
    i = onset_index(series, **kw)
    return None if i is None else int(np.asarray(steps)[i])


def rolling_median(series: np.ndarray, width: int = 3) -> np.ndarray:
    """Causal rolling median: entry i is the median of the (non-missing) entries i-width+1..i. [Q]
    -> [Q]. Used by the smoothed detector variant: a single noisy probe cannot fire it."""
    s = np.asarray(series, dtype=np.float64)
    out = np.full(len(s), np.nan)
    for i in range(len(s)):
        w = s[max(0, i - width + 1) : i + 1]
        if np.isfinite(w).any():
            out[i] = np.nanmedian(w)
    return out


def smoothed_onset_step(
    steps: np.ndarray, series: np.ndarray, width: int = 3, **kw
) -> Optional[int]:
    """The onset rule applied to the causal rolling median of the series (width probes). The
    baseline is taken from the raw first probes, as the onset rule does. An alternative to the
    paper's single-probe detector (its slow-regime figures used an uncommitted smoothed detector; Xu
    2026a ambiguity 4)."""
    s = np.asarray(series, dtype=np.float64)
    sm = rolling_median(s, width)
    sm[: kw.get("n_baseline", 3)] = s[
        : kw.get("n_baseline", 3)
    ]  # same baseline as the raw detector
    return onset_step(steps, sm, **kw)


def lead_time(grok: Optional[int], onset: Optional[int]) -> Optional[int]:
    """R90 step minus onset step (positive: the onset comes first); None if either is missing (None
    or NaN)."""
    missing = lambda x: x is None or (isinstance(x, float) and math.isnan(x))  # noqa: E731
    return None if missing(grok) or missing(onset) else int(grok) - int(onset)


def sign_test(values: Sequence[float]) -> tuple[int, int, float]:
    """One-sided exact sign test of "positive more often than not": (number positive, number of
    non-zero values, p = P[Binomial(n, 1/2) >= k]). Zeros are dropped, as in the standard sign test.
    12 positive of 12 gives p = 2^-12. Ref: Xu 2026a curv.onset-precedes-grokking, Protocol step
    4."""
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    v = v[v != 0]
    n, k = len(v), int((v > 0).sum())
    p = sum(math.comb(n, j) for j in range(k, n + 1)) / 2**n if n else 1.0
    return k, n, float(p)


# ── alignment (trajectory–curvature) ──────────────────────────────────────────────────────────────


def random_alignment(P: int) -> float:
    """The paper's random baseline for mean |cos| between a fixed vector and a random direction in
    R^P: sqrt(2/(πP)) (large-P limit). Ref: Xu 2026a, Methods: commutator defect (1.4806e-3 for P =
    290,401).
    """
    return math.sqrt(2.0 / (math.pi * P))


def expected_abs_cos(P: int) -> float:
    """Exact E|cos| between a fixed vector and a uniformly random direction in R^P:
    Γ(P/2) / (√π Γ((P+1)/2)); tends to random_alignment(P) as P grows (ratio 1 + O(1/P))."""
    return math.exp(math.lgamma(P / 2) - math.lgamma((P + 1) / 2)) / math.sqrt(math.pi)


def null_ratio_sd(K: int) -> float:
    """Standard deviation of c̄/random_alignment(P) when c̄ averages K independent random |cos|
    (large P): sd|cos| = sqrt((1 − 2/π)/P), so the ratio's sd is sqrt((π/2 − 1)/K) (≈0.22 for K =
    12)."""
    return math.sqrt((math.pi / 2 - 1) / K)


def alignment_ratio(align: np.ndarray, P: int) -> np.ndarray:
    """c̄_t / sqrt(2/(πP)) per probe. align [Q] (Run.probes["align"], NaN at the first probe) ->
    [Q]."""
    return np.asarray(align, dtype=np.float64) / random_alignment(P)


def abs_cos_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|cos| between matching rows of a and b. [Q, n], [Q, n] -> [Q] (NaN where a row is zero)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs((a * b).sum(1)) / np.where(den > 0, den, np.nan)


# ── phases ────────────────────────────────────────────────────────────────────────────────────────

def at_steps(query: np.ndarray, steps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values (recorded at `steps`, increasing) at the last recorded step <= each query step.
    query [Q], steps [E], values [E, ...] -> [Q, ...]. A query before the first step gets the first
    value.
    """
    i = np.searchsorted(np.asarray(steps), np.asarray(query), side="right") - 1
    return np.asarray(values)[np.clip(i, 0, None)]


def displacement_alignment(
    snapshot_steps: np.ndarray,
    snapshots: np.ndarray,
    probe_steps: np.ndarray,
    deltas: np.ndarray,
    span: int,
    shift: int = 0,
) -> np.ndarray:
    """|cos(W_t − W_{t−span}, δ_{q+shift})| for every probe q at step t, in the coordinates of a
    snapshot group (e.g. the attention weights): the displacement over the last `span` steps against
    the stored commutator vector of the same probe (shift = 0) or of a probe `shift` places away
    (the different-checkpoint null). NaN where a snapshot or the shifted probe does not exist.
    snapshot_steps [S], snapshots [S, n], probe_steps [Q], deltas [Q, n] -> [Q]. Ref: Xu 2026a,
    Methods: commutator defect, Nulls.
    """
    where = {int(s): i for i, s in enumerate(np.asarray(snapshot_steps))}
    Q, n = np.asarray(deltas).shape
    move, delta = np.full((Q, n), np.nan), np.full((Q, n), np.nan)
    for q, t in enumerate(np.asarray(probe_steps)):
        a, b = where.get(int(t)), where.get(int(t) - span)
        if a is not None and b is not None and 0 <= q + shift < Q:
            move[q] = np.asarray(snapshots[a], np.float64) - snapshots[b]
            delta[q] = deltas[q + shift]
    return abs_cos_rows(move, delta)


def growth_factors(parts: DefectParts, step: int, n_baseline: int = 3) -> dict:
    """How D, its numerator ‖δ‖/η² and the inverse denominator 1/(‖g_A‖‖g_B‖) have changed between
    the early baseline (median of the first n_baseline probes) and the last probe at or before
    `step`, and the share of D's log-growth that comes from the shrinking denominator: log(1/gprod
    factor) / log(D factor) (0: all numerator, i.e. curvature; 1: all vanishing gradients; < 0: the
    gradients grew). Ref: Xu 2026a curv.defect-explosion, Nulls."""
    f = {
        k: value_at(parts.steps, getattr(parts, k), step)
        / early_baseline(getattr(parts, k), n_baseline)
        for k in ("defect", "raw", "grad_product")
    }
    log_d = math.log(f["defect"]) if f["defect"] > 0 else math.nan
    share = (
        -math.log(f["grad_product"]) / log_d if log_d != 0 and f["grad_product"] > 0 else math.nan
    )
    return {
        "D ×": f["defect"],
        "‖δ‖/η² ×": f["raw"],
        "1/(‖g_A‖‖g_B‖) ×": 1 / f["grad_product"],
        "denominator share": share,
    }


def null_alignment_means(P: int, K: int, n_probes: int, trials: int, seed: int) -> np.ndarray:
    """Run-mean alignment ratios under the random null: each of n_probes probes averages K values of
    |cos| between a fixed vector and an isotropic Gaussian vector in R^P, divided by
    random_alignment(P); the run mean averages the probes. Exact sampling without P-dimensional
    draws: |cos| = |z| / sqrt(z² + χ²_{P−1}). -> [trials]. Ref: Xu 2026a curv.converse-alignment,
    Nulls (empirical Gaussian null)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((trials, n_probes, K))
    c = np.abs(z) / np.sqrt(z**2 + rng.chisquare(P - 1, (trials, n_probes, K)))
    return c.mean((1, 2)) / random_alignment(P)


# ── float32 resolution of the probe ───────────────────────────────────────────────────────────────

FLOAT32_UNIT = (
    2.0**-24
)  # unit roundoff of float32: θ − ηg is stored with a relative error up to this


def precision_check(
    cfg, theta: np.ndarray, n_samples: int, seed: int, eta: Optional[float] = None
) -> dict:
    """The commutator of n_samples batch pairs at one θ [P], computed twice from the same batches:
    in float32 (as during training) and in float64. Returns arrays [n_samples]: D32, D64, delta32 =
    ‖δ‖ in float32, delta64, rel_err = ‖δ32 − δ64‖/‖δ64‖, and the scalar rounding = 2⁻²⁴‖θ‖ (the
    size of one float32 rounding of θ, against which a ‖δ‖ of η²·‖H g‖ has to stand out). Batches of
    cfg.batch_size train pairs are drawn with replacement from the run's split by a generator seeded
    with `seed`. Ref: Xu 2026a, Methods: commutator defect (D is computed in float32 with η = 1e-3)
    (our float32 check).
    """
    import torch
    from grokbook.training.commutator import batch_gradient, commutator
    from grokbook.training.train import run_split

    eta = cfg.probe_eta if eta is None else eta
    split = run_split(cfg)
    g = torch.Generator().manual_seed(seed)
    out = {k: [] for k in ("D32", "D64", "delta32", "delta64", "rel_err")}
    for _ in range(n_samples):
        idx = [torch.randint(len(split.train_x), (cfg.batch_size,), generator=g) for _ in range(2)]
        fns = {
            dt: [batch_gradient(cfg, split.train_x[i][None], split.train_y[i][None]) for i in idx]
            for dt in (torch.float32, torch.float64)
        }
        c = {dt: commutator(*fns[dt], torch.as_tensor(theta, dtype=dt)[None], eta) for dt in fns}
        d32, d64 = c[torch.float32], c[torch.float64]
        out["D32"].append(float(d32.defect[0])), out["D64"].append(float(d64.defect[0]))
        out["delta32"].append(float(d32.delta_norm[0])), out["delta64"].append(
            float(d64.delta_norm[0])
        )
        out["rel_err"].append(float((d32.delta.double() - d64.delta).norm() / d64.delta.norm()))
    return {k: np.array(v) for k, v in out.items()} | {
        "rounding": FLOAT32_UNIT * float(np.linalg.norm(np.asarray(theta, np.float64)))
    }


def run_group(cfg, weight_decay: float, grok_ops, no_grok_ops) -> str:
    """Comparison group of a run of the curvature grid: the control λ, a grokking op, a non-grokking
    op, or other."""
    if cfg.weight_decay != weight_decay:
        return f"λ={cfg.weight_decay:g}"
    return (
        "grokking op"
        if cfg.ops[0] in grok_ops
        else "non-grokking op" if cfg.ops[0] in no_grok_ops else "other"
    )
