"""Hand-computed values for grokbook.timing (order statistics, continuous grok time, head cosines,
model comparison, shape tests)."""

import math

import numpy as np
import pytest

from grokbook.training.config import RunConfig
from grokbook.training.model import n_params, param_layout
from grokbook.papers.multitask.timing import (
    GROKTIME_MODELS,
    chance_cosine,
    delays,
    fit_reciprocal,
    group_means,
    head_cosines,
    interpolated_crossing,
    is_decreasing,
    logistic_crossing,
    loo_log_error,
    order_status,
    order_string,
    pair_relation,
    quadratic_log_test,
)


def test_order_string_ties_and_never():
    assert order_string({"add": 1500, "mul": 1450}, tie_within=100) == "mul = add"
    assert (
        order_string({"add": 1700, "mul": 1500, "x2_y2": 1350}, tie_within=100)
        == "x2_y2 → mul → add"
    )
    assert order_string({"add": None, "mul": 900}, tie_within=50) == "mul → never(add)"


def test_pair_relation_and_status():
    assert pair_relation(100, 300, 100) == "support"
    assert pair_relation(100, 200, 100) == "tie"  # exactly one interval is a tie
    assert pair_relation(300, 100, 100) == "contradict"
    assert pair_relation(None, 100, 100) == "missing"
    # tri: mul 1500, sq 1350, add 1700 -> mul–sq reversed by 150 > 100: contradict
    assert order_status({"add": 1700, "mul": 1500, "x2_y2": 1350}, tie_within=100) == "contradict"
    assert order_status({"add": 13900, "mul": 12300, "x2_y2": 13000}, tie_within=100) == "support"
    assert (
        order_status({"add": 16400, "mul": 16300}, tie_within=100) == "tie"
    )  # dual s42 of the paper
    assert order_status({"add": 10000, "mul": 9600}, tie_within=100) == "support"


def test_delays_paper_tri_s42():
    d = delays({"add": 30500, "mul": 17900, "x2_y2": 24800})
    assert d == {"x2_y2−mul": 6900.0, "add−mul": 12600.0, "add−x2_y2": 5700.0}


def test_interpolated_crossing_hand_values():
    steps = np.array([0, 100, 200, 300, 400])
    acc = np.array(
        [0.0, 0.6, 0.2, 0.4, 0.8]
    )  # last upward crossing between 300 (0.4) and 400 (0.8)
    assert interpolated_crossing(steps, acc, 0.5) == pytest.approx(325.0)
    assert interpolated_crossing(steps, np.full(5, 0.9), 0.5) == 0.0
    assert interpolated_crossing(steps, np.full(5, 0.1), 0.5) is None


def test_logistic_crossing_recovers_midpoint():
    steps = np.arange(0, 3001, 50, dtype=float)
    acc = 0.01 + 0.99 / (1 + np.exp(-(steps - 1234.0) / 60.0))
    fit = logistic_crossing(steps, acc, 0.5)
    assert fit.t0 == pytest.approx(1234.0, abs=0.5)
    assert fit.width == pytest.approx(60.0, rel=1e-3)
    # crossing of 0.5: t0 + w·log((0.5 − 0.01)/(1 − 0.5)) = 1234 + 60·log(0.98)
    assert fit.crossing == pytest.approx(1234.0 + 60.0 * math.log(0.98), abs=0.5)
    assert fit.rmse < 1e-4
    assert logistic_crossing(steps, np.full(steps.size, 0.1)) is None


def test_head_cosines_constructed_heads():
    cfg = RunConfig(p=5, ops=("add", "mul"), d_model=8, n_layers=1, n_heads=2, d_ff=16)
    off, (T, V, d) = param_layout(cfg)["heads.weight"]
    theta = np.zeros((2, n_params(cfg)))
    h0, h1 = np.zeros(V * d), np.zeros(V * d)
    h0[0], h1[0], h1[1] = 1.0, 1.0, 1.0  # cos = 1/sqrt(2)
    theta[0, off : off + 2 * V * d] = np.concatenate([h0, h1])
    theta[1, off : off + 2 * V * d] = np.concatenate([h0, -h0])  # cos = −1
    cos = head_cosines(theta, cfg)
    np.testing.assert_allclose(cos["add·mul"], [1 / math.sqrt(2), -1.0])
    assert chance_cosine(97 * 128) == pytest.approx(
        0.0089745, abs=1e-6
    )  # 1/sqrt(12416) ≈ 0.009


def test_models_recover_their_own_data():
    lam = np.array([0.1, 0.2, 0.3, 0.5, 1.0, 2.0])
    t_pow = 10585.0 * lam**-0.911
    fit, k = GROKTIME_MODELS["power a·λ^b"]
    np.testing.assert_allclose(fit(lam, t_pow)(lam), t_pow, rtol=1e-10)
    assert loo_log_error(lam, t_pow, fit, k) == pytest.approx(0.0, abs=1e-10)
    fit_e, k_e = GROKTIME_MODELS["exponential a·e^(−bλ)"]
    t_exp = 2e4 * np.exp(-1.5 * lam)
    assert loo_log_error(lam, t_exp, fit_e, k_e) == pytest.approx(0.0, abs=1e-10)
    t_rec = 5000.0 / (lam + 0.05) + 2000.0
    np.testing.assert_allclose(fit_reciprocal(lam, t_rec)(lam), t_rec, rtol=1e-5)
    assert (
        loo_log_error(lam, t_pow, *GROKTIME_MODELS["exponential a·e^(−bλ)"]) > 0.1
    )  # wrong model errs
    assert math.isnan(
        loo_log_error(lam[:3], t_rec[:3], fit_reciprocal, 3)
    )  # 2 λ left < 3 parameters


def test_group_means_and_monotone():
    xs, m = group_means([1.0, 0.5, 1.0, 0.5, 2.0], [10, 30, 20, 50, 5])
    np.testing.assert_allclose(xs, [0.5, 1.0, 2.0])
    np.testing.assert_allclose(m, [40, 15, 5])
    assert is_decreasing(m) and not is_decreasing([3, 1, 1])


def test_quadratic_log_test_u_shape():
    lam = np.array([0.1, 0.2, 0.3, 0.5, 1.0] * 2)
    u = np.log(lam)
    y = (u - math.log(0.4)) ** 2 + np.tile([0.01, -0.01], 5)
    t = quadratic_log_test(lam, y)
    assert t.curvature == pytest.approx(1.0, abs=0.05)
    assert t.vertex == pytest.approx(0.4, rel=0.05)
    assert t.p_value < 1e-3
    line = quadratic_log_test(lam, 2 * u + 1)  # exactly linear: no gain from the u² term
    assert line.lr_stat == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        quadratic_log_test([0.1, 0.2, 0.1], [1, 2, 3])


def test_extremum_and_grid_points():
    from grokbook.papers.multitask.timing import extremum_position, within_grid_points

    lams = [0.1, 0.2, 0.3, 0.5, 1.0]
    assert (
        extremum_position(lams, [8.3, 7.7, 5.7, 5.0, 6.3], "min") == 0.5
    )  # the paper's dual k* means
    assert (
        extremum_position(lams, [-17.5, -14.5, -15, -36, -63.5], "max") == 0.2
    )  # shallowest curvature
    assert extremum_position(lams, [np.nan] * 5) is None
    assert within_grid_points(lams, 0.3, [0.5]) and within_grid_points(lams, 1.0, [0.5])
    assert not within_grid_points(lams, 0.2, [0.5])
    assert within_grid_points(lams, 0.5, [0.2, 0.3]) and not within_grid_points(
        lams, 1.0, [0.2, 0.3]
    )
    assert not within_grid_points(lams, None, [0.5])


def test_shape_summary_hand_values():
    from grokbook.papers.multitask.timing import shape_summary

    s = shape_summary([0.1, 0.2, 0.5, 1.0], [40.0, 30.0, 20.0, 10.0])
    assert s["spearman"] == pytest.approx(-1.0) and s["n"] == 4 and s["λ values"] == 4
    s = shape_summary([0.5, 1.0, 2.0, 0.5], [1.0, np.nan, 3.0, 2.0])  # NaN dropped: 2 λ left
    assert math.isnan(s["spearman"]) and math.isnan(s["LR p"]) and s["n"] == 3
