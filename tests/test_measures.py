"""Hand-computed values for grokbook.measures (trajectory PCA, random-walk null, grok rule,
spreads)."""

import math

import numpy as np
import pytest

from grokbook.training.config import RunConfig
from grokbook.training.train import first_sustained
from grokbook.measures.trajectory import (
    BROWNIAN_PC1,
    Spread,
    expanding_pc1,
    expanding_rows,
    explained_variance,
    layer_means,
    matrix_trajectories,
    pc1_rows,
    pc1_share,
    per_matrix_pc1,
    random_walk_pc1,
    random_walk_rows,
    random_walk_test,
    snapshot_window,
    step_norms,
)
from grokbook.training.model import group_slices
from grokbook.training.train import Run

# Two centred, orthogonal columns with sums of squares 36 and 4: explained variance 0.9 / 0.1.
TWO_COMPONENTS = np.array([[3.0, 1.0, 0.0], [-3.0, 1.0, 0.0], [3.0, -1.0, 0.0], [-3.0, -1.0, 0.0]])


def test_straight_line_has_pc1_one():
    direction = np.array([1.0, -2.0, 0.5, 3.0])
    X = np.arange(10)[:, None] * direction  # [T, n], rank 1 after centring
    assert pc1_share(X) == pytest.approx(1.0, abs=1e-12)


def test_two_orthogonal_components():
    ev = explained_variance(TWO_COMPONENTS)
    np.testing.assert_allclose(ev[:2], [0.9, 0.1], atol=1e-12)
    np.testing.assert_allclose(ev[2:], 0.0, atol=1e-12)
    # a constant offset changes nothing once centred
    np.testing.assert_allclose(explained_variance(TWO_COMPONENTS + 5.0)[:2], [0.9, 0.1], atol=1e-12)


def test_centred_versus_uncentred():
    X = np.array([[1.0, 1.0], [1.0, -1.0]])  # Gram [[2, 0], [0, 2]]; mean (1, 0)
    np.testing.assert_allclose(explained_variance(X, centered=False), [0.5, 0.5], atol=1e-12)
    assert pc1_share(X, centered=True) == pytest.approx(1.0)  # centred rows (0, 1), (0, -1): rank 1


def test_motionless_trajectory_raises():
    with pytest.raises(ValueError):
        pc1_share(np.ones((4, 3)))


def test_first_sustained_reports_the_last_of_the_consecutive_evals():
    steps = np.arange(0, 800, 100)
    acc = np.array([0.1, 0.99, 0.99, 0.5, 0.99, 0.99, 0.99, 0.99])
    assert first_sustained(steps, acc, 0.98, 3) == 600  # the streak at 100-200 is broken at 300
    assert first_sustained(steps, acc, 0.98, 1) == 100
    assert first_sustained(steps, acc, 0.995, 3) is None  # never reached


def test_step_norms_of_a_known_path():
    path = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(step_norms(path), [5.0, 0.0, 5.0])


def test_spread_of_one_two_three():
    s = Spread.of([1, 2, 3])
    assert (s.mean, s.std, s.min, s.max, s.n) == (2.0, 1.0, 1.0, 3.0, 3)  # std with ddof 1
    assert s.fmt() == "2.0 ± 1.0 (range 1.0–3.0, n=3)"
    assert Spread.of([4]).std == 0.0
    assert Spread.of([4]).fmt() == "4.0 (n=1)"  # one value has no spread to print


def test_random_walk_pc1_is_near_the_brownian_value():
    # 200 equal steps in 2,000 dims: one trial's share has s.d. ≈ 0.008 (measured), so the mean of 8
    # lies within ±0.015 of the many-step limit 6/π² (≈ 5 s.e.; the discrete T = 200 value is
    # 0.60795).
    shares = random_walk_pc1(np.ones(200), dim=2000, trials=8, seed=0)
    assert shares.shape == (8,)
    assert BROWNIAN_PC1 == pytest.approx(0.6079271, abs=1e-7)
    assert shares.mean() == pytest.approx(BROWNIAN_PC1, abs=0.015)
    np.testing.assert_array_equal(shares, random_walk_pc1(np.ones(200), dim=2000, trials=8, seed=0))


def test_random_walk_test_of_a_straight_line():
    line = np.arange(31)[:, None] * np.ones(500) / math.sqrt(500)  # unit steps along one direction
    t = random_walk_test(line, trials=5, seed=3)
    null = random_walk_pc1(np.ones(30), 500, 5, 3)
    assert t.real == pytest.approx(1.0)
    assert t.null_mean == pytest.approx(null.mean())
    assert t.null_std == pytest.approx(null.std())  # ddof 0, as the paper's code
    assert t.margin == pytest.approx(1.0 - null.mean())
    assert t.z == pytest.approx((1.0 - null.mean()) / null.std(), rel=1e-6)


def test_snapshot_window_and_thinning():
    steps = np.arange(0, 1100, 100)  # 11 snapshots, 0..1000
    snaps = np.arange(11.0)[:, None] * np.ones((1, 2))
    np.testing.assert_array_equal(snapshot_window(steps, snaps, last_step=300)[:, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(snapshot_window(steps, snaps, n=6)[:, 0], [0, 2, 4, 6, 8, 10])
    np.testing.assert_array_equal(snapshot_window(steps, snaps, n=4)[:, 0], [0, 3, 7, 10])
    np.testing.assert_array_equal(
        snapshot_window(steps, snaps, last_step=500, n=20)[:, 0], [0, 1, 2, 3, 4, 5]
    )
    with pytest.raises(ValueError):
        snapshot_window(steps, snaps, n=1)


def test_layer_means():
    pc1 = {"L0.W_Q": 0.6, "L0.W_K": 0.7, "L0.W_V": 0.8, "L0.W_O": 0.5, "L1.W_Q": 0.4, "L1.W_V": 0.6}
    assert layer_means(pc1) == pytest.approx({"L0": 0.65, "L1": 0.5})


def test_expanding_pc1_windows():
    traj = np.arange(20)[:, None] * np.ones((1, 3))
    ts, shares = expanding_pc1(traj, n_points=15, min_len=5)
    np.testing.assert_array_equal(ts, np.unique(np.linspace(5, 20, 15).astype(int)))
    assert ts[0] == 5 and ts[-1] == 20
    np.testing.assert_allclose(shares, 1.0)


def _synthetic_run(T=4):
    """A 1-layer d_model 4 run whose W_Q moves on a line, W_K and W_O along the same line twice as
    fast and W_V along TWO_COMPONENTS (0.9 / 0.1; only when T = 4, else on the line too); snapshots
    every 100 steps.
    """
    cfg = RunConfig(p=7, d_model=4, n_layers=1, n_heads=2, d_ff=8, seed=5)
    sl = group_slices(cfg, "attn")
    snaps = np.zeros((T, sum(math.prod(s) for _, s in sl.values())), dtype=np.float32)
    for name, (off, shape) in sl.items():
        n = math.prod(shape)
        if name == "L0.W_V" and T == 4:
            snaps[:, off : off + 3] = TWO_COMPONENTS
        else:
            snaps[:, off : off + n] = np.arange(T)[:, None] * (2.0 if name != "L0.W_Q" else 1.0)
    e = np.zeros((T, 1))
    return Run(
        config=cfg,
        eval_steps=np.arange(T) * 100,
        train_acc=e + 1,
        test_acc=e,
        train_loss=e,
        test_loss=e,
        snapshot_steps=np.arange(T) * 100,
        snapshots={"attn": snaps},
        theta_init=np.zeros(1),
        theta_final=np.zeros(1),
        final_step=(T - 1) * 100,
    )


def test_matrix_trajectories_and_per_matrix_pc1():
    run = _synthetic_run()
    trajs = matrix_trajectories(run.snapshots["attn"], run.config)
    assert list(trajs) == ["L0.W_Q", "L0.W_K", "L0.W_V", "L0.W_O"]
    assert trajs["L0.W_V"].shape == (4, 16)
    np.testing.assert_allclose(trajs["L0.W_V"][0], 0.0)  # M_t - M_0
    pc1 = per_matrix_pc1(run.snapshots["attn"], run.config)
    assert pc1 == pytest.approx({"L0.W_Q": 1.0, "L0.W_K": 1.0, "L0.W_V": 0.9, "L0.W_O": 1.0})


def test_pc1_rows_and_random_walk_rows():
    run = _synthetic_run()
    rows = {r["matrix"]: r for r in pc1_rows([run])}
    v = rows["L0.W_V"]
    assert (v["op"], v["seed"], v["weight_decay"], v["layer"], v["kind"], v["n_snapshots"]) == (
        "add",
        5,
        1.0,
        "L0",
        "W_V",
        4,
    )
    assert (v["pc1"], v["pc2"], v["top3"]) == pytest.approx((0.9, 0.1, 1.0))
    assert v["grokked"] is False
    assert pc1_rows([run], last_step=200)[0]["n_snapshots"] == 3
    nulls = {r["matrix"]: r for r in random_walk_rows([run], trials=4)}
    q = nulls["L0.W_Q"]
    ref = random_walk_test(matrix_trajectories(run.snapshots["attn"], run.config)["L0.W_Q"], 4, 5)
    assert (q["real"], q["null_mean"], q["z"], q["margin"]) == pytest.approx(
        (1.0, ref.null_mean, ref.z, ref.margin)
    )


def test_expanding_rows_report_steps():
    rows = expanding_rows([_synthetic_run(T=12)], "L0.W_V", n_points=15)
    assert [r["n_snapshots"] for r in rows] == list(range(5, 13))  # unique(linspace(5, 12, 15))
    assert [r["step"] for r in rows] == [100 * (t - 1) for t in range(5, 13)]
    assert all(r["pc1"] == pytest.approx(1.0) and r["matrix"] == "L0.W_V" for r in rows)


# ── stop_step, cut_at_stop ──


def _grokking_run():
    """_synthetic_run(T=8) with test accuracy 0, 0, 0.5, 0.99, 0.99, 0.99, 1, 1 (R98 = third eval >=
    0.98 = step 500) and three probes at steps 0, 300, 600; it stopped at 700 (a 200-step tail)."""
    import dataclasses

    run = _synthetic_run(T=8)
    acc = np.array([0, 0, 0.5, 0.99, 0.99, 0.99, 1, 1])[:, None]
    probes = {
        "steps": np.array([0, 300, 600]),
        "defect": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
    }
    return dataclasses.replace(run, test_acc=acc, probes=probes)


def test_stop_step_and_cut_at_stop():
    from grokbook.measures.trajectory import cut_at_stop, stop_step

    run = _grokking_run()
    assert stop_step(run) == 500
    assert stop_step(_synthetic_run(T=8)) == 700  # never groks: its final step
    cut = cut_at_stop(run)
    assert cut.final_step == 500 and cut.grok_step() == 500
    np.testing.assert_array_equal(cut.eval_steps, [0, 100, 200, 300, 400, 500])
    assert cut.snapshots["attn"].shape[0] == 6 and cut.test_acc.shape == (6, 1)
    np.testing.assert_array_equal(cut.probes["steps"], [0, 300])
    np.testing.assert_array_equal(cut.probes["defect"], [[1.0, 2.0], [3.0, 4.0]])
    assert cut_at_stop(run, last_step=200).snapshot_steps.tolist() == [0, 100, 200]
    assert run.snapshots["attn"].shape[0] == 8  # the original is untouched


def test_expanding_pc1_on_short_trajectories():
    rng = np.random.default_rng(0)
    ts, shares = expanding_pc1(rng.standard_normal((3, 6)))
    assert list(ts) == [3] and len(shares) == 1 and 0 < shares[0] <= 1  # never t > T
    ts, shares = expanding_pc1(rng.standard_normal((1, 6)))
    assert len(ts) == 0 and len(shares) == 0


def test_auroc_counts_ties_half_and_takes_unpaired_samples_of_any_size():
    from grokbook.measures.spectral import auroc

    assert auroc([3, 4], [1]) == 1.0
    assert auroc([1], [3, 4, 5]) == 0.0
    assert auroc([2, 2], [2]) == 0.5
    assert auroc([1, 3], [2, 2, 2]) == 0.5
    with pytest.raises(ValueError, match="at least one value"):
        auroc([], [1])
