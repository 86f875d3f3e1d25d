"""Hand-computed values for grokbook.defect (defect medians, growth, M4 onset, sign test, M5
baseline)."""

import math

import numpy as np

from grokbook.measures.curves import training_phase
import pytest

from grokbook.measures.defect import (
    abs_cos_rows,
    alignment_ratio,
    at_steps,
    defect_parts,
    expected_abs_cos,
    growth,
    lead_time,
    median_defect,
    null_ratio_sd,
    onset_index,
    onset_step,
    random_alignment,
    rolling_median,
    series_stats,
    sign_test,
    smoothed_onset_step,
    value_at,
)

NAN = math.nan
STEPS = np.arange(0, 1000, 100)  # 10 probes, every 100 steps
# baseline median(2, 3, 2.5) = 2.5 -> threshold max(10·2.5, 20) = 25; the jump to 30 at index 6
# (step 600)
JUMP = np.array([2.0, 3.0, 2.5, 4.0, 10.0, 24.0, 30.0, 300.0, 2500.0, 800.0])


def test_median_defect_treats_nan_and_zero_as_missing():
    D = np.array(
        [
            [1.0, 2.0, 3.0],
            [0.0, 4.0, 8.0],  # 0 is missing -> median(4, 8) = 6
            [NAN, NAN, 5.0],
            [0.0, NAN, 0.0],
        ]
    )  # all missing -> NaN
    out = median_defect(D)
    np.testing.assert_allclose(out[:3], [2.0, 6.0, 5.0])
    assert np.isnan(out[3])


def test_onset_on_a_known_jump():
    assert onset_index(JUMP) == 6
    assert onset_step(STEPS, JUMP) == 600
    # factor 5 -> threshold max(12.5, 20) = 20: fires at 24 (index 5); floor 5 too -> 12.5: index 5
    # as well
    assert onset_step(STEPS, JUMP, factor=5) == 500
    assert onset_step(STEPS, JUMP, factor=3, floor=5) == 400  # 10 > max(7.5, 5)


def test_onset_never_before_index_two_and_min_baseline():
    s = np.array([0.001, 0.001, 0.001, 50.0])  # baseline clipped to 0.1 -> needs > max(1, 20)
    assert onset_index(s) == 3
    s = np.array([0.001, 100.0, 0.001, 0.5, 1.5])  # the spike at index 1 is ignored (start = 2)
    assert (
        onset_index(s, floor=0.2) == 4
    )  # median(0.001, 100, 0.001) -> b = 0.1: needs > max(1, 0.2)


def test_series_that_never_crosses_gives_none():
    flat = np.array([2.0, 2.0, 2.0, 15.0, 19.9, 19.0, NAN])
    assert onset_index(flat) is None
    assert onset_step(STEPS[:7], flat) is None
    assert lead_time(3000, None) is None and lead_time(None, 1000) is None
    assert lead_time(3100, 1800) == 1300 and lead_time(1500, 1800) == -300
    assert lead_time(float("nan"), 1800) is None and lead_time(3100.0, 1800.0) == 1300


def test_nan_probes_never_fire_and_are_ignored_in_the_baseline():
    s = np.array([NAN, 2.0, 4.0, NAN, 100.0])  # baseline median(2, 4) = 3 -> threshold 30
    assert onset_index(s) == 4
    assert growth(s) == pytest.approx(100.0 / 3.0)


def test_growth_and_stats():
    assert growth(JUMP) == pytest.approx(2500.0 / 2.5)
    st = series_stats(STEPS, JUMP)
    assert (st["max"], st["max_step"], st["final"], st["final_step"]) == (2500.0, 800, 800.0, 900)
    assert st["growth"] == pytest.approx(1000.0)
    st = series_stats(STEPS, JUMP, last_step=650)  # matched window: steps <= 650
    assert (st["max"], st["max_step"], st["final_step"]) == (30.0, 600, 600)
    assert st["growth"] == pytest.approx(12.0)
    assert value_at(STEPS, JUMP, 750) == 300.0 and math.isnan(value_at(STEPS, JUMP, -1))
    assert math.isnan(growth(np.array([NAN, NAN])))


def test_sign_test_exact():
    assert sign_test([100] * 12) == (12, 12, pytest.approx(2.0**-12))
    k, n, p = sign_test([5, 3, -1, 0, None])  # zero and None dropped: 2 of 3 positive
    assert (k, n) == (2, 3) and p == pytest.approx(4 / 8)  # P[X >= 2] = (3 + 1)/8
    assert sign_test([-1, -2])[2] == pytest.approx(1.0)
    assert sign_test([])[2] == 1.0


def test_random_alignment_baseline():
    assert random_alignment(290_401) == pytest.approx(
        1.4806e-3, rel=1e-4
    )  # the value in the authors' committed data
    rng = np.random.default_rng(0)
    for P in (3, 5, 10):
        x = rng.standard_normal((200_000, P))
        mc = np.abs(x[:, 0]) / np.linalg.norm(x, axis=1)  # |cos| with the first axis
        assert mc.mean() == pytest.approx(expected_abs_cos(P), rel=5e-3)
        assert mc.mean() == pytest.approx(
            random_alignment(P), rel=0.1
        )  # the large-P formula is close
    assert expected_abs_cos(3) == pytest.approx(0.5)  # uniform |z| on the 2-sphere
    assert expected_abs_cos(100_000) == pytest.approx(random_alignment(100_000), rel=1e-4)
    assert null_ratio_sd(12) == pytest.approx(math.sqrt((math.pi / 2 - 1) / 12))
    np.testing.assert_allclose(
        alignment_ratio(np.array([NAN, random_alignment(50)]), 50)[1:], [1.0]
    )


def test_abs_cos_rows():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    b = np.array([[0.0, 2.0], [-3.0, -3.0], [1.0, 0.0]])
    out = abs_cos_rows(a, b)
    np.testing.assert_allclose(out[:2], [0.0, 1.0])
    assert np.isnan(out[2])


def test_defect_parts_split_numerator_and_denominator():
    eta = 1e-3
    probes = {
        "steps": np.array([0, 100]),
        "defect": np.array([[10.0, NAN], [20.0, 0.0]]),
        "delta_norm": np.array([[10.0 * 2 * 3 * eta**2, 9.0], [20.0 * 4 * eta**2, 9.0]]),
        "grad_a_norm": np.array([[2.0, 1.0], [1.0, 1.0]]),
        "grad_b_norm": np.array([[3.0, 1.0], [4.0, 0.0]]),
    }
    parts = defect_parts(probes, eta)
    np.testing.assert_allclose(parts.defect, [10.0, 20.0])
    np.testing.assert_allclose(parts.grad_product, [6.0, 4.0])  # missing samples dropped
    np.testing.assert_allclose(parts.raw, [60.0, 80.0])  # ‖δ‖/η² = D·‖g_A‖‖g_B‖
    np.testing.assert_allclose(parts.grad_norm, [2.5, 2.5])


def test_smoothed_detector_ignores_a_single_spike():
    s = np.array([2.0, 2.0, 2.0, 2.0, 90.0, 2.0, 2.0, 40.0, 50.0, 60.0])
    assert onset_step(STEPS, s) == 400  # the raw detector fires on the lone spike
    assert (
        smoothed_onset_step(STEPS, s, width=3) == 800
    )  # median(2, 40, 50) = 40 > 20 first at index 8
    np.testing.assert_allclose(
        rolling_median(np.array([1.0, 3.0, NAN, 5.0]), 2), [1.0, 2.0, 3.0, 5.0]
    )


def test_phases_and_lookup():
    tr = np.array([0.5, 0.96, 0.99, 1.0, 0.9])
    te = np.array([0.01, 0.1, 0.5, 0.97, 0.96])
    assert list(training_phase(tr, te)) == [
        "early",
        "memorisation",
        "pre-grok",
        "post-grok",
        "post-grok",
    ]
    np.testing.assert_array_equal(
        at_steps(np.array([0, 150, 200, 999]), np.array([0, 100, 200]), np.array([1, 2, 3])),
        [1, 2, 3, 3],
    )


def test_displacement_alignment():
    from grokbook.measures.defect import displacement_alignment

    snap_steps = np.array([0, 100, 200, 300])
    snaps = np.array(
        [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, 3.0]]
    )  # moves along x, then y, then y
    probe_steps = np.array([0, 100, 200, 300])
    deltas = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    out = displacement_alignment(snap_steps, snaps, probe_steps, deltas, span=100)
    assert np.isnan(out[0])
    np.testing.assert_allclose(out[1:], [1.0, 1.0, 1 / math.sqrt(2)])
    out = displacement_alignment(
        snap_steps, snaps, probe_steps, deltas, span=200
    )  # (1,1), (0,3) over 200 steps
    np.testing.assert_allclose(out[2:], [1 / math.sqrt(2), 1 / math.sqrt(2)])
    out = displacement_alignment(
        snap_steps, snaps, probe_steps, deltas, span=100, shift=1
    )  # next probe's δ
    np.testing.assert_allclose(out[1:3], [0.0, 1 / math.sqrt(2)])
    assert np.isnan(out[3])


def test_growth_factors_share():
    from grokbook.measures.defect import DefectParts, growth_factors

    steps = np.array([0, 100, 200, 300])
    # D grows 100x: the numerator 10x and the denominator shrinks 10x -> share 0.5
    parts = DefectParts(
        steps,
        np.array([1.0, 1.0, 1.0, 100.0]),
        np.array([2.0, 2.0, 2.0, 20.0]),
        np.array([4.0, 4.0, 4.0, 0.4]),
        np.ones(4),
    )
    f = growth_factors(parts, 300)
    assert (f["D ×"], f["‖δ‖/η² ×"], f["1/(‖g_A‖‖g_B‖) ×"]) == pytest.approx((100.0, 10.0, 10.0))
    assert f["denominator share"] == pytest.approx(0.5)
    f = growth_factors(parts, 250)
    assert f["D ×"] == pytest.approx(1.0) and math.isnan(
        f["denominator share"]
    )  # no growth: no share


def test_null_alignment_means():
    from grokbook.measures.defect import null_alignment_means

    m = null_alignment_means(P=10_000, K=3, n_probes=20, trials=4000, seed=0)
    assert m.mean() == pytest.approx(expected_abs_cos(10_000) / random_alignment(10_000), abs=0.01)
    assert m.std() == pytest.approx(
        null_ratio_sd(3) / math.sqrt(20), rel=0.05
    )  # sd of a mean of 60 draws
    rng = np.random.default_rng(1)  # against P-dim draws, P = 4
    x = rng.standard_normal((100_000, 4))
    direct = (np.abs(x[:, 0]) / np.linalg.norm(x, axis=1)).mean() / random_alignment(4)
    assert null_alignment_means(4, 1, 1, 100_000, 2).mean() == pytest.approx(direct, rel=0.01)


def test_precision_check_agrees_when_the_step_is_large():
    from grokbook.training.config import RunConfig
    from grokbook.measures.defect import FLOAT32_UNIT, precision_check
    from grokbook.training.model import init_theta

    cfg = RunConfig(p=7, d_model=8, n_layers=1, n_heads=2, d_ff=16, batch_size=16)
    theta = init_theta(cfg, 0).numpy()
    big = precision_check(
        cfg, theta, n_samples=2, seed=0, eta=0.1
    )  # δ ~ η² H g is far above rounding
    assert big["D32"].shape == (2,) and np.all(big["rel_err"] < 1e-3)
    np.testing.assert_allclose(big["D32"], big["D64"], rtol=1e-3)
    assert big["rounding"] == pytest.approx(FLOAT32_UNIT * np.linalg.norm(theta.astype(np.float64)))
    tiny = precision_check(
        cfg, theta, n_samples=2, seed=0, eta=1e-5
    )  # δ ~ 1e-10: lost in float32 rounding
    assert np.all(tiny["rel_err"] > 0.5)


def test_run_group_labels_the_curvature_grid():
    from grokbook.training.config import RunConfig
    from grokbook.measures.defect import run_group

    g = dict(weight_decay=1.0, grok_ops=["add"], no_grok_ops=["x3_xy"])
    assert run_group(RunConfig(p=7, ops=("add",)), **g) == "grokking op"
    assert run_group(RunConfig(p=7, ops=("x3_xy",)), **g) == "non-grokking op"
    assert run_group(RunConfig(p=7, ops=("sub",)), **g) == "other"
    assert run_group(RunConfig(p=7, ops=("add",), weight_decay=0.0), **g) == "λ=0"
