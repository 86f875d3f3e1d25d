"""Hand-computed checks of grokbook.data_efficiency (censored times and medians, the log-linear fit,
f*)."""

import math

import numpy as np
import pytest

from grokbook.measures.data_efficiency import (
    Censored,
    FStar,
    censored_median,
    compare_f_star,
    exp_fit_bootstrap,
    f_star,
    log_linear_fit,
    mean_curve,
    pct_per_point,
    strictly_decreasing,
    time_to_threshold,
)

STEPS = np.arange(0, 600, 100)  # 0, 100, ..., 500


def test_time_to_threshold_observed_and_censored():
    vals = np.array([0.01, 0.2, 0.98, 0.99, 0.5, 1.0])
    assert time_to_threshold(STEPS, vals, 0.99, last_step=500) == Censored(300.0, False)
    assert time_to_threshold(STEPS, vals * 0.5, 0.99, last_step=500) == Censored(500.0, True)
    assert time_to_threshold(STEPS[:3], vals[:3], 0.99, last_step=250) == Censored(
        250.0, True
    )  # stopped early


def test_censored_median_with_budget_hits():
    obs = lambda v: Censored(v, False)
    cen = lambda v: Censored(v, True)
    assert censored_median([obs(300), obs(100), obs(200)]) == obs(200)
    assert censored_median([obs(300), cen(1000), obs(100)]) == obs(
        300
    )  # one budget hit: still exact
    assert censored_median([cen(1000), obs(100), cen(1000)]) == cen(
        1000
    )  # two of three hit the budget
    assert censored_median([obs(100), obs(300), obs(500), obs(700)]) == obs(400)
    assert censored_median([obs(100), obs(300), cen(900), cen(900)]) == cen(
        600
    )  # > (300 + 900) / 2
    assert censored_median([cen(50), obs(400), obs(100)]) == obs(
        400
    )  # a censored 50 sorts above 400
    with pytest.raises(ValueError):
        censored_median([])


def test_log_linear_fit_recovers_known_slope_exactly():
    frac = np.array([0.3, 0.4, 0.5, 0.8])
    times = np.exp(9.0 - 6.0 * frac)  # noiseless ln T = 9 − 6·frac
    a, b = log_linear_fit(frac, times)
    assert (a, b) == (pytest.approx(9.0, abs=1e-12), pytest.approx(-6.0, abs=1e-12))
    # ln-slope −6 per unit fraction: one point less data multiplies T by e^0.06
    assert pct_per_point(b) == pytest.approx(100 * (math.exp(0.06) - 1), rel=1e-12)
    assert pct_per_point(math.log(2) * -100) == pytest.approx(100.0)  # T doubles per point


def test_exp_fit_bootstrap_noiseless_interval_is_a_point():
    fracs = [0.3, 0.5, 0.7]
    times = [[Censored(float(np.exp(10 - 5 * f)), False)] * 3 for f in fracs]  # identical seeds
    fit = exp_fit_bootstrap(fracs, times, n_boot=50, seed=1)
    assert fit.b == pytest.approx(-5.0, abs=1e-9)
    assert fit.b_lo == pytest.approx(-5.0, abs=1e-9) and fit.b_hi == pytest.approx(-5.0, abs=1e-9)
    assert fit.predict(0.5) == pytest.approx(np.exp(7.5))
    est, lo, hi = fit.pct()
    assert (
        est == pytest.approx(100 * (math.exp(0.05) - 1))
        and lo == pytest.approx(est)
        and hi == pytest.approx(est)
    )


def test_exp_fit_bootstrap_interval_covers_spread():
    fracs = [0.3, 0.6]
    times = [
        [Censored(v, False) for v in (1000, 2000, 4000)],
        [Censored(v, False) for v in (100, 200, 400)],
    ]
    fit = exp_fit_bootstrap(fracs, times, n_boot=400, seed=0)
    assert fit.b == pytest.approx(math.log(200 / 2000) / 0.3)  # medians 2000 and 200
    assert fit.b_lo < fit.b < fit.b_hi


def test_mean_curve_groups_by_fraction():
    u, m, s = mean_curve([0.5, 0.3, 0.5, 0.3, 0.7], [1.0, 0.2, 0.8, 0.4, 1.0])
    np.testing.assert_allclose(u, [0.3, 0.5, 0.7])
    np.testing.assert_allclose(m, [0.3, 0.9, 1.0])
    np.testing.assert_allclose(s, [math.sqrt(0.02), math.sqrt(0.02), 0.0])


def test_f_star_interpolates_on_a_hand_made_curve():
    fracs = [0.3, 0.4, 0.5, 0.7]
    # crosses 0.99 between 0.4 (0.59) and 0.5 (0.99 + 0.01·...): 0.4 + (0.99 − 0.59)·0.1/(1.0 −
    # 0.59)
    r = f_star(fracs, [0.1, 0.59, 1.0, 1.0], 0.99)
    assert r == FStar(pytest.approx(0.4 + 0.40 * 0.1 / 0.41), False, False)
    assert f_star(fracs, [0.1, 0.59, 1.0, 1.0], 0.5).value == pytest.approx(0.3 + 0.4 * 0.1 / 0.49)
    assert f_star(fracs, [0.1, 0.2, 0.3, 0.98], 0.99) == FStar(1.0, True, False)
    assert f_star(fracs, [0.995, 1.0, 1.0, 1.0], 0.99) == FStar(0.3, False, True)
    # a non-monotone curve: the first crossing counts
    assert f_star(fracs, [0.1, 0.99, 0.5, 1.0], 0.99).value == pytest.approx(0.4)
    with pytest.raises(ValueError):
        f_star([0.5, 0.3], [1.0, 1.0], 0.99)


def test_compare_f_star_and_monotonicity():
    edge, never = FStar(0.3, False, True), FStar(1.0, True, False)
    assert compare_f_star(edge, FStar(0.45, False, False)) is True
    assert compare_f_star(FStar(0.45, False, False), edge) is False
    assert compare_f_star(edge, edge) is None
    assert compare_f_star(never, never) is None
    assert compare_f_star(FStar(0.6, False, False), never) is True
    assert strictly_decreasing([5000, 2000, 900]) is True
    assert strictly_decreasing([5000, 5000, 900]) is False
