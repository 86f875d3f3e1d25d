"""Data-efficiency measurements: censored times to a threshold, their medians over seeds, the
exponential fit of time against training fraction, and the smallest training fraction f* at which a
(mean) accuracy curve reaches a threshold. Pure functions: arrays in, numbers or small results out,
float64 inside.

Ref: Power et al. 2022 power.data-fraction-vs-steps (T_val, censored medians, log-linear fit),
power.weight-decay-most-effective and power.operation-difficulty (best validation accuracy, f*).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np


@dataclass(frozen=True)
class Censored:
    """A time that may be right-censored: if `censored`, the event did not happen by `value`
    (the true time is > value); otherwise it happened at `value`."""

    value: float
    censored: bool

    def fmt(self, digits: int = 0) -> str:
        return f"> {self.value:,.{digits}f}" if self.censored else f"{self.value:,.{digits}f}"


def time_to_threshold(
    steps: np.ndarray, values: np.ndarray, threshold: float, last_step: int
) -> Censored:
    """First step with values >= threshold; if that never happens, censored at `last_step` (the last
    step the run was observed: the budget, or an earlier stop). steps/values [E].
    Ref: Power et al. 2022 power.data-fraction-vs-steps (T_val, T_train; budget hits are censored,
    not dropped).
    """
    hit = np.flatnonzero(np.asarray(values, dtype=np.float64) >= threshold)
    if hit.size:
        return Censored(float(np.asarray(steps)[hit[0]]), False)
    return Censored(float(last_step), True)


def censored_median(times: Sequence[Censored]) -> Censored:
    """Median of right-censored times. Censored entries sort above every observed time (they are
    known only to exceed their value), so the median is exact while at most the upper half of the
    entries is censored; otherwise it is returned as censored at the lower bound it is known to
    exceed (for an even count, the mean of the two middle values, each at its observed or censoring
    value). [n] -> one Censored. Ref: Power et al. 2022 power.data-fraction-vs-steps "Nulls"
    (censored-data medians)."""
    if not times:
        raise ValueError("censored_median: no times")
    order = sorted(times, key=lambda t: (t.censored, t.value))  # observed first, then censored
    n = len(order)
    mid = [order[(n - 1) // 2], order[n // 2]]  # the same entry twice when n is odd
    return Censored(float(np.mean([t.value for t in mid])), any(t.censored for t in mid))


def log_linear_fit(frac: np.ndarray, times: np.ndarray) -> tuple[float, float]:
    """Least-squares fit of ln T = a + b·frac. frac, times [n] (n >= 2, times > 0) -> (a, b)."""
    frac = np.asarray(frac, dtype=np.float64)
    y = np.log(np.asarray(times, dtype=np.float64))
    if frac.size < 2 or np.ptp(frac) == 0:
        raise ValueError("log_linear_fit: need at least two distinct fractions")
    b, a = np.polyfit(frac, y, 1)
    return float(a), float(b)


def pct_per_point(b: float, points: float = 1.0) -> float:
    """Relative increase of T (in %) when the fraction falls by `points` percentage points under ln
    T = a + b·frac: 100·(exp(−b·points/100) − 1)."""
    return 100.0 * (math.exp(-b * points / 100.0) - 1.0)


@dataclass(frozen=True)
class ExpFit:
    """ln T = a + b·frac fitted to the medians, with a seed-bootstrap interval of b."""

    a: float
    b: float
    b_lo: float  # lower end of the bootstrap interval of b
    b_hi: float
    fracs: tuple  # the fractions the fit used
    n_boot: int

    def predict(self, frac) -> np.ndarray:
        return np.exp(self.a + self.b * np.asarray(frac, dtype=np.float64))

    def pct(self) -> tuple[float, float, float]:
        """% increase of T per 1-point decrease of the fraction: (estimate, low, high)."""
        lo, hi = sorted((pct_per_point(self.b_lo), pct_per_point(self.b_hi)))
        return pct_per_point(self.b), lo, hi


def exp_fit_bootstrap(
    fracs: Sequence[float],
    times: Sequence[Sequence[Censored]],
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> ExpFit:
    """Fit ln(median T) = a + b·frac over the given fractions, and a percentile interval of b from
    resampling the seeds of every fraction with replacement (n_boot replicates). A resampled median
    that is censored enters at its lower bound, so the interval leans towards flatter slopes when
    budget hits are drawn. fracs [F]; times[F][n_seeds] Censored. Ref: Power et al. 2022
    power.data-fraction-vs-steps (fit log T_val = a + b·frac).
    """
    fracs = np.asarray(fracs, dtype=np.float64)
    med = np.array([censored_median(list(t)).value for t in times])
    a, b = log_linear_fit(fracs, med)
    rng = np.random.default_rng(seed)
    bs = np.empty(n_boot)
    for k in range(n_boot):
        boot = [
            censored_median([t[i] for i in rng.integers(len(t), size=len(t))]).value for t in times
        ]
        bs[k] = log_linear_fit(fracs, boot)[1]
    lo, hi = np.quantile(bs, [(1 - level) / 2, (1 + level) / 2])
    return ExpFit(a, b, float(lo), float(hi), tuple(float(f) for f in fracs), n_boot)


def mean_curve(
    fracs: Sequence[float], values: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group per-run values by training fraction: per-run fracs, values [n] -> (sorted unique fracs
    [F], mean [F], std over runs [F] (0 for a single run))."""
    fracs = np.asarray(fracs, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    u = np.unique(fracs)
    mean = np.array([values[fracs == f].mean() for f in u])
    std = np.array([values[fracs == f].std(ddof=1) if (fracs == f).sum() > 1 else 0.0 for f in u])
    return u, mean, std


@dataclass(frozen=True)
class FStar:
    """Smallest training fraction at which a mean accuracy curve reaches a threshold.
    `value` is 1.0 when no fraction reaches it (never); `at_edge` when already the smallest fraction
    tested reaches it (f* is then only known to be <= value)."""

    value: float
    never: bool
    at_edge: bool

    def fmt(self) -> str:
        if self.never:
            return "1 (never)"
        return f"≤ {self.value:.2f}" if self.at_edge else f"{self.value:.3f}"


def f_star(fracs: Sequence[float], acc: Sequence[float], threshold: float) -> FStar:
    """f*: the first (smallest) fraction whose accuracy is >= threshold, interpolated linearly
    between it and the fraction before it, f* = f₀ + (thr − a₀)·(f₁ − f₀)/(a₁ − a₀); 1 if no
    fraction reaches the threshold. fracs [F] strictly increasing, acc [F] (e.g. the mean best
    validation accuracy over seeds). Ref: Power et al. 2022 power.weight-decay-most-effective
    "Summary" (f*, linear interpolation, 1 if never).
    """
    f = np.asarray(fracs, dtype=np.float64)
    a = np.asarray(acc, dtype=np.float64)
    if f.size == 0 or f.size != a.size or np.any(np.diff(f) <= 0):
        raise ValueError("f_star: fracs must be non-empty, strictly increasing and as long as acc")
    hit = np.flatnonzero(a >= threshold)
    if hit.size == 0:
        return FStar(1.0, True, False)
    j = int(hit[0])
    if j == 0:
        return FStar(float(f[0]), False, True)
    f0, f1, a0, a1 = f[j - 1], f[j], a[j - 1], a[j]
    return FStar(float(f0 + (threshold - a0) * (f1 - f0) / (a1 - a0)), False, False)


def strictly_decreasing(values: Sequence[float]) -> bool:
    """True if every value is smaller than the one before it (a series ordered by increasing
    fraction)."""
    v = np.asarray(values, dtype=np.float64)
    return bool(np.all(np.diff(v) < 0))


def compare_f_star(a: FStar, b: FStar) -> Optional[bool]:
    """Is f*(a) < f*(b)? None when undecidable on the grid: both reach the threshold already at the
    smallest fraction tested, or neither reaches it at all."""
    if (a.at_edge and b.at_edge) or (a.never and b.never):
        return None
    return a.value < b.value
