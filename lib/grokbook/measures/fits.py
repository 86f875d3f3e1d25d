"""Scaling fits for run-level data: power laws y = c·x^α with confidence intervals, the
constant-offset alternative y = x − c, and scaling checks against an expected exponent (e.g. grok
time ∝ 1/η).

Pure functions on 1-d arrays (one entry per run), float64 inside, no plotting or I/O. General on
purpose: the curvature book fits lead time vs grok time and grok time vs learning rate; the
multitask book fits grok time vs weight decay with the same functions.

Ref: Xu 2026a curv.lead-time-power-law (α from the log-log OLS slope with a 95 % CI, the
constant-onset model lead = T − c compared by AIC), curv.lr-phase-diagram (grok time ∝ 1/η).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


@dataclass(frozen=True)
class PowerLawFit:
    """y = prefactor · x^exponent, fitted by OLS on (log x, log y)."""

    exponent: float  # α, the log-log slope
    prefactor: float  # c = exp(intercept)
    ci: tuple[
        float, float
    ]  # interval on α (t-interval on the slope unless built by bootstrap_exponent)
    se: float  # standard error of the slope (0 for a perfect fit)
    n: int  # number of points
    rss: float  # residual sum of squares in log space
    level: float  # confidence level of `ci`

    @property
    def aic(self) -> float:
        """Gaussian AIC in log space, 2 parameters (log c, α)."""
        return aic(self.rss, self.n, 2)

    def predict(self, x) -> np.ndarray:
        return self.prefactor * np.asarray(x, dtype=np.float64) ** self.exponent

    def covers(self, value: float) -> bool:
        """Whether `value` lies inside the exponent's interval."""
        return self.ci[0] <= value <= self.ci[1]

    def fmt(self, digits: int = 2, symbol: str = "α") -> str:
        """E.g. "α = 1.32 (95 % CI 1.20–1.44, n=24)"."""
        return (
            f"{symbol} = {self.exponent:.{digits}f} ({100 * self.level:.0f} % CI "
            f"{self.ci[0]:.{digits}f}–{self.ci[1]:.{digits}f}, n={self.n})"
        )


@dataclass(frozen=True)
class OffsetFit:
    """y = x − offset (slope fixed at 1 on the linear scale), one parameter, fitted by least squares
    in `space`."""

    offset: float  # c
    ci: tuple[
        float, float
    ]  # interval on c (t-interval on the mean of x − y in linear space; profile in log space)
    n: int
    rss: float  # residual sum of squares in `space`
    space: str  # "log" (residuals log y − log(x − c)) or "linear" (y − (x − c))

    @property
    def aic(self) -> float:
        """Gaussian AIC in `space`, 1 parameter (c)."""
        return aic(self.rss, self.n, 1)

    def predict(self, x) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) - self.offset


def aic(rss: float, n: int, k: int) -> float:
    """Akaike information criterion of a least-squares fit with Gaussian errors: n·log(RSS/n) + 2k.
    A perfect fit (RSS = 0) gives −inf."""
    if n <= 0:
        raise ValueError("aic: no data points")
    return -math.inf if rss <= 0 else n * math.log(rss / n) + 2 * k


def _clean(x, y, name: str, positive: bool) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{name}: x and y differ in length ({x.size} vs {y.size})")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"{name}: x and y must be finite (drop runs without a value first)")
    for label, a in (("x", x), ("y", y)):
        if positive and (a <= 0).any():
            raise ValueError(
                f"{name}: a power law needs x > 0 and y > 0; {label} has {int((a <= 0).sum())} "
                "value(s) <= 0 (e.g. non-positive lead times): drop them or fit the offset model"
            )
    return x, y


def _ols(u: np.ndarray, v: np.ndarray) -> tuple[float, float, float, float]:
    """Slope, intercept, residual sum of squares and Sxx of v on u."""
    du = u - u.mean()
    sxx = float(du @ du)
    slope = float(du @ (v - v.mean())) / sxx
    intercept = float(v.mean() - slope * u.mean())
    res = v - (intercept + slope * u)
    return slope, intercept, float(res @ res), sxx


def power_law_fit(x, y, level: float = 0.95) -> PowerLawFit:
    """Fit y = c·x^α by OLS of log y on log x. The interval on α is the Student-t interval on the
    slope, ± t_{(1+level)/2, n−2} · sqrt(RSS/(n−2) / Sxx). x, y [n], all > 0, n >= 3, at least 2
    distinct x. Raises ValueError on degenerate input. Ref: Xu 2026a curv.lead-time-power-law
    (run-level OLS, 95 % CI).
    """
    x, y = _clean(x, y, "power_law_fit", positive=True)
    if x.size < 3:
        raise ValueError(
            f"power_law_fit: need at least 3 points for an interval on the exponent, got {x.size}"
        )
    if np.unique(x).size < 2:
        raise ValueError(
            "power_law_fit: all x are equal, so the exponent is undefined (need >= 2 distinct x)"
        )
    if not 0 < level < 1:
        raise ValueError(f"power_law_fit: level={level} must lie in (0, 1)")
    u, v = np.log(x), np.log(y)
    slope, intercept, rss, sxx = _ols(u, v)
    se = math.sqrt(rss / (x.size - 2) / sxx)
    half = float(stats.t.ppf((1 + level) / 2, x.size - 2)) * se
    return PowerLawFit(
        slope, math.exp(intercept), (slope - half, slope + half), se, int(x.size), rss, level
    )


def bootstrap_exponent(
    x, y, n_boot: int = 2000, seed: int = 0, level: float = 0.95, strata=None
) -> PowerLawFit:
    """power_law_fit with a percentile-bootstrap interval on α: resample the points (runs) with
    replacement, within each stratum if `strata` [n] is given (e.g. the lr of every run, so every
    resample keeps every lr). Resamples whose x are all equal are redrawn, at most 10·n_boot draws
    in total. x, y [n]."""
    x, y = _clean(x, y, "bootstrap_exponent", positive=True)
    fit = power_law_fit(x, y, level)
    groups = (
        [np.arange(x.size)]
        if strata is None
        else [np.flatnonzero(np.asarray(strata) == s) for s in np.unique(np.asarray(strata))]
    )
    if strata is not None and np.asarray(strata).shape != x.shape:
        raise ValueError("bootstrap_exponent: strata must have one entry per point")
    rng = np.random.default_rng(seed)
    u, v = np.log(x), np.log(y)
    slopes: list[float] = []
    for _ in range(10 * n_boot):
        idx = np.concatenate([rng.choice(g, g.size) for g in groups])
        if np.unique(u[idx]).size >= 2:
            slopes.append(_ols(u[idx], v[idx])[0])
        if len(slopes) == n_boot:
            break
    if len(slopes) < n_boot:
        raise ValueError(
            "bootstrap_exponent: too many resamples with a single distinct x; use strata"
        )
    lo, hi = np.quantile(slopes, [(1 - level) / 2, (1 + level) / 2])
    return PowerLawFit(
        fit.exponent,
        fit.prefactor,
        (float(lo), float(hi)),
        float(np.std(slopes, ddof=1)),
        fit.n,
        fit.rss,
        level,
    )


def offset_fit(x, y, space: str = "log", level: float = 0.95) -> OffsetFit:
    """Fit y = x − c (e.g. lead = T_grok − onset with an onset step that does not depend on T).
    space="linear": c = mean(x − y), t-interval on that mean. space="log": c minimises Σ (log y −
    log(x − c))² over c < min(x) (the same residual space as power_law_fit, so their AICs compare),
    with a likelihood-ratio (profile) interval. x, y [n], n >= 2 (log space: y > 0). Ref: Xu 2026a
    curv.lead-time-power-law, Nulls.
    """
    if space not in ("log", "linear"):
        raise ValueError(f"offset_fit: space={space!r}; use 'log' or 'linear'")
    x, y = _clean(x, y, "offset_fit", positive=(space == "log"))
    if x.size < 2:
        raise ValueError(f"offset_fit: need at least 2 points, got {x.size}")
    if space == "linear":
        d = x - y
        c = float(d.mean())
        half = (
            float(stats.t.ppf((1 + level) / 2, x.size - 1))
            * float(d.std(ddof=1))
            / math.sqrt(x.size)
        )
        return OffsetFit(c, (c - half, c + half), int(x.size), float(((d - c) ** 2).sum()), space)
    lv = np.log(y)
    rss = lambda c: float(((lv - np.log(x - c)) ** 2).sum())  # noqa: E731
    hi = float(x.min()) * (1 - 1e-12)
    span = float(x.max() - x.min()) + float(x.max())
    lo = hi - 10 * span
    c = float(
        optimize.minimize_scalar(
            rss, bounds=(lo, hi), method="bounded", options={"xatol": 1e-9 * span}
        ).x
    )
    r0 = rss(c)
    if r0 == 0:
        return OffsetFit(c, (c, c), int(x.size), r0, space)
    # profile interval: RSS(c) <= RSS(ĉ)·exp(χ²_{1,level}/n)  (Gaussian likelihood ratio with σ
    # profiled out)
    bound = r0 * math.exp(float(stats.chi2.ppf(level, 1)) / x.size)
    f = lambda t: rss(t) - bound  # noqa: E731
    left = optimize.brentq(f, lo, c) if f(lo) > 0 else -math.inf
    right = optimize.brentq(f, c, hi) if f(hi) > 0 else hi
    return OffsetFit(c, (float(left), float(right)), int(x.size), r0, space)


def offset_log_slope(x, offset: float) -> np.ndarray:
    """Local log-log slope of y = x − offset: d log y / d log x = x / (x − offset). It exceeds 1 for
    every offset > 0, so a constant onset makes a log-log fit of lead on grok time steeper than 1 by
    construction. x [n] (all > offset) -> [n]."""
    x = np.asarray(x, dtype=np.float64)
    if (x <= offset).any():
        raise ValueError("offset_log_slope: every x must exceed the offset")
    return x / (x - offset)


@dataclass(frozen=True)
class ScalingCheck:
    """A power-law fit of y on x compared with an expected exponent (e.g. T_grok ∝ η^−1)."""

    fit: PowerLawFit
    expected: float
    consistent: bool  # the expected exponent lies inside the interval
    normalised: np.ndarray  # y / x^expected per point [n]: constant if the expected law holds
    spread: float  # max/min of `normalised`


def scaling_check(x, y, expected: float, level: float = 0.95) -> ScalingCheck:
    """Fit y = c·x^α and test α against `expected` (−1 for grok time vs learning rate). x, y [n]."""
    fit = power_law_fit(x, y, level)
    x, y = _clean(x, y, "scaling_check", positive=True)
    norm = y / x**expected
    return ScalingCheck(fit, expected, fit.covers(expected), norm, float(norm.max() / norm.min()))
