"""Hand-computed values for grokbook.fits (power laws with intervals, the constant-offset model,
scaling checks)."""

import math

import numpy as np
import pytest

from grokbook.measures.fits import (
    aic,
    bootstrap_exponent,
    offset_fit,
    offset_log_slope,
    power_law_fit,
    scaling_check,
)


def test_noiseless_power_law_is_recovered_exactly():
    x = np.array([1e2, 3e2, 1e3, 3e3, 1e4])
    fit = power_law_fit(x, 3.0 * x**1.5)
    assert fit.exponent == pytest.approx(1.5, abs=1e-12)
    assert fit.prefactor == pytest.approx(3.0, rel=1e-10)
    assert fit.se == pytest.approx(0.0, abs=1e-9)
    assert fit.ci[0] == pytest.approx(1.5, abs=1e-9) and fit.ci[1] == pytest.approx(1.5, abs=1e-9)
    assert fit.aic < -200  # RSS ≈ 0 (rounding only)
    assert aic(0.0, 5, 2) == -math.inf


def test_negative_exponent_inverse_lr():
    eta = np.array([1e-4, 1e-3, 1e-2, 1e-4, 1e-3])
    check = scaling_check(eta, 3.4 / eta, expected=-1.0)
    assert check.fit.exponent == pytest.approx(-1.0, abs=1e-12)
    assert check.consistent
    np.testing.assert_allclose(check.normalised, 3.4)  # T·η constant
    assert check.spread == pytest.approx(1.0)


def test_t_interval_by_hand():
    # log x = 0, 1, 2; log y = 0, 1.1, 2 -> slope 1, intercept 1/30, residuals (-1/30, 2/30, -1/30),
    # RSS = 6/900, s² = RSS/1, Sxx = 2, se = sqrt(RSS/2) = 0.0577350, t_{0.975, 1} = 12.7062047
    fit = power_law_fit(np.exp([0.0, 1.0, 2.0]), np.exp([0.0, 1.1, 2.0]))
    assert fit.exponent == pytest.approx(1.0, abs=1e-12)
    assert fit.prefactor == pytest.approx(math.exp(1 / 30), rel=1e-12)
    assert fit.rss == pytest.approx(6 / 900, rel=1e-12)
    assert fit.se == pytest.approx(math.sqrt(3 / 900), rel=1e-12)
    half = 12.706204736174707 * math.sqrt(3 / 900)
    assert fit.ci == pytest.approx((1 - half, 1 + half), rel=1e-9)
    assert fit.aic == pytest.approx(3 * math.log(6 / 900 / 3) + 4, rel=1e-12)


def test_interval_covers_truth_on_noisy_data():
    rng = np.random.default_rng(7)
    x = np.repeat([3e3, 1e4, 3e4], 12)  # three lr clusters, 12 runs each
    y = 0.2 * x**1.3 * np.exp(0.15 * rng.standard_normal(x.size))
    fit = power_law_fit(x, y)
    assert fit.covers(1.3) and fit.ci[1] - fit.ci[0] < 0.3
    boot = bootstrap_exponent(x, y, n_boot=1000, seed=3, strata=x)
    assert boot.exponent == fit.exponent and boot.covers(1.3)
    assert boot.ci[1] - boot.ci[0] < 0.3


def test_bootstrap_is_deterministic_for_a_seed():
    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    y = np.array([1.1, 1.9, 4.2, 7.7, 16.5])
    a, b = bootstrap_exponent(x, y, n_boot=200, seed=5), bootstrap_exponent(
        x, y, n_boot=200, seed=5
    )
    assert a.ci == b.ci


@pytest.mark.parametrize(
    "x, y, msg",
    [
        ([1.0, 2.0], [1.0, 2.0], "at least 3 points"),
        ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0], "all x are equal"),
        ([1.0, 2.0, 3.0], [1.0, -2.0, 3.0], "y has 1 value"),
        ([0.0, 2.0, 3.0], [1.0, 2.0, 3.0], "x has 1 value"),
        ([1.0, 2.0, 3.0], [1.0, np.nan, 3.0], "finite"),
        ([1.0, 2.0, 3.0], [1.0, 2.0], "differ in length"),
    ],
)
def test_degenerate_input_raises(x, y, msg):
    with pytest.raises(ValueError, match=msg):
        power_law_fit(x, y)


def test_offset_model_exact_and_linear():
    T = np.array([2500.0, 3100.0, 3600.0, 30000.0, 34000.0])
    lead = T - 2000.0
    lin = offset_fit(T, lead, space="linear")
    assert lin.offset == pytest.approx(2000.0) and lin.ci == pytest.approx((2000.0, 2000.0))
    log = offset_fit(T, lead, space="log")
    assert log.offset == pytest.approx(2000.0, rel=1e-6)
    assert log.ci == pytest.approx((2000.0, 2000.0), abs=0.5) and log.rss < 1e-12


def test_offset_model_beats_power_law_on_constant_onset_data():
    rng = np.random.default_rng(0)
    T = np.concatenate([rng.uniform(2500, 3600, 12), rng.uniform(29000, 37000, 12)])
    lead = T - rng.uniform(1800, 2200, T.size)  # onset ≈ 2k at both lrs
    pl, off = power_law_fit(T, lead), offset_fit(T, lead)
    assert pl.exponent > 1.1  # super-linear "power law" from a constant onset
    assert off.aic < pl.aic
    lin = offset_fit(
        T, lead, space="linear"
    )  # additive noise: the linear-space interval is the right one
    assert lin.ci[0] < 2000 < lin.ci[1]


def test_offset_log_interval_covers_truth_with_multiplicative_noise():
    rng = np.random.default_rng(1)
    T = np.concatenate([rng.uniform(2500, 3600, 12), rng.uniform(29000, 37000, 12)])
    lead = (T - 2000.0) * np.exp(0.1 * rng.standard_normal(T.size))
    fit = offset_fit(T, lead)
    assert fit.ci[0] < 2000 < fit.ci[1] and fit.ci[1] - fit.ci[0] < 1000


def test_offset_linear_interval_by_hand():
    # x − y = 1, 2, 3 -> c = 2, s = 1, half = t_{0.975, 2} / sqrt(3) = 4.302652729911275 / 1.7320508
    fit = offset_fit([10.0, 20.0, 30.0], [9.0, 18.0, 27.0], space="linear")
    half = 4.302652729911275 / math.sqrt(3)
    assert fit.offset == pytest.approx(2.0) and fit.ci == pytest.approx((2 - half, 2 + half))
    assert fit.rss == pytest.approx(2.0)


def test_offset_log_slope_and_errors():
    np.testing.assert_allclose(offset_log_slope([4000.0, 40000.0], 2000.0), [2.0, 40000 / 38000])
    with pytest.raises(ValueError, match="exceed the offset"):
        offset_log_slope([1000.0], 2000.0)
    with pytest.raises(ValueError, match="space"):
        offset_fit([1.0, 2.0], [0.5, 1.0], space="cubic")
    with pytest.raises(ValueError, match="no data"):
        aic(1.0, 0, 1)


def test_fmt_names_the_exponent():
    fit = power_law_fit(np.exp([0.0, 1.0, 2.0]), np.exp([0.0, 1.1, 2.0]))
    assert fit.fmt(symbol="β").startswith("β = 1.00 (95 % CI 0.27–1.73, n=3)")
