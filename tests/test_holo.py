"""Hand-computed values for grokbook.holo (scales, random-walk null, per-run reconstruction table,
summaries)."""

import numpy as np

from grokbook.measures.trajectory import random_walk_energy
import pytest

from grokbook.papers.holographic import scales as holo
from grokbook.training.config import RunConfig
from grokbook.training.model import init_theta, n_params
from grokbook.training.train import Run

TRI = RunConfig(ops=("add", "mul", "x2_y2"))


def test_scales_have_the_papers_parameter_counts():
    assert n_params(holo.scaled(TRI, 128, 4, 256, 2)) == 315_427
    assert n_params(holo.scaled(TRI, 256, 8, 512, 2)) == 1_154_851
    assert n_params(holo.scaled(TRI, 256, 8, 512, 4)) == 2_209_059
    assert n_params(holo.scaled(TRI, 128, 4, 256, 4)) == 580_387  # scale M′ (Xu 2026c)


def test_walk_in_one_dimension_is_rank_one():
    e = random_walk_energy(np.array([1.0, 2.0, 0.5]), dim=1, trials=3, seed=0)
    np.testing.assert_allclose(e[:, 0], 1.0, atol=1e-12)  # all positions on one line


def test_walk_in_huge_dimension_has_orthogonal_steps():
    # steps of norm 3 and 4 at right angles: positions x1 = s1, x2 = s1 + s2 -> Gram [[9, 9], [9,
    # 25]]
    e = random_walk_energy(np.array([3.0, 4.0]), dim=10**12, trials=2, seed=1)
    lam = np.linalg.eigvalsh(np.array([[9.0, 9.0], [9.0, 25.0]]))[::-1]
    np.testing.assert_allclose(e, np.tile(lam / lam.sum(), (2, 1)), atol=1e-5)
    # centred: rows 0, x1, x2 minus their mean; the spectrum still sums to one
    c = random_walk_energy(np.array([3.0, 4.0]), dim=10**12, trials=1, seed=1, centred=True)
    assert c.shape == (1, 3) and c.sum() == pytest.approx(1.0)


def _line_run(cfg: RunConfig) -> Run:
    """A run whose θ moves on a straight line from θ_0 to θ_T = θ_0 + Δ (every task "grokked" at
    step 300)."""
    t0 = init_theta(cfg, 0).numpy().astype(np.float64)
    delta = 0.1 * np.random.default_rng(0).standard_normal(len(t0))
    steps = np.arange(5) * 100
    snaps = np.stack([t0 + (s / 400) * delta for s in steps]).astype(np.float32)
    acc = np.tile(np.array([0.0, 0.0, 0.99, 0.99, 0.99])[:, None], (1, cfg.n_tasks))
    return Run(
        config=cfg,
        eval_steps=steps,
        train_acc=acc,
        test_acc=acc,
        train_loss=acc,
        test_loss=acc,
        snapshot_steps=steps,
        snapshots={"all": snaps},
        theta_init=snaps[0].astype(np.float64),
        theta_final=snaps[-1].astype(np.float64),
        final_step=400,
    )


def test_straight_trajectory_is_one_dimensional_and_reconstructs_at_k1():
    cfg = RunConfig(
        p=7, ops=("add", "mul"), d_model=8, n_heads=2, d_ff=16, n_layers=1, train_frac=0.5
    )
    run = _line_run(cfg)
    dims = holo.subspace_dims(run, [0.99], [100], walk_trials=2)
    assert [d["k_0.99"] for d in dims if d["pca"] == "uncentred"] == [1]
    pts = holo.reconstruction_points(
        run, ["pca", "svd", "joint"], ks=[1], rank_fractions=[0.5, 1.0]
    )
    pca = [p for p in pts if p["method"] == "trajectory PCA"]
    assert pca[0]["energy"] == pytest.approx(1.0) and pca[0]["R"] == pytest.approx(1.0)
    full = [
        p
        for p in pts
        if p["method"] in ("per-matrix SVD", "joint SVD")
        and p["budget"] == 1.0
        and p["variant"] in ("split", "fused", "J1", "J4")
    ]
    assert all(p["R"] == pytest.approx(1.0) and p["energy"] == pytest.approx(1.0) for p in full)


def test_curve_summary_first_stable_and_e50():
    pts = [
        {"budget": k, "R": R, "R_mean": Rm, "all90": a, "energy": e}
        for k, R, Rm, a, e in [
            (1, 0.2, 0.6, False, 0.90),
            (2, 0.96, 0.97, True, 0.95),
            (3, 0.60, 0.96, False, 0.97),
            (4, 0.97, 0.98, True, 0.99),
            (5, 1.00, 1.00, True, 1.00),
        ]
    ]
    s = holo.curve_summary(pts)
    assert (s["first"], s["stable"], s["first_mean"], s["stable_mean"], s["k_star"]) == (
        2,
        4,
        2,
        2,
        2,
    )
    assert s["E_50"] == 0.95 and s["max_R_below_full"] == 0.97


def test_matched_energy_picks_the_first_k_with_enough_energy():
    lab = {"scale": "S", "params": 1, "weight_decay": 1.0, "seed": 42}
    pca = [
        lab | {"method": "trajectory PCA", "variant": "uncentred", "budget": k, "energy": e, "R": R}
        for k, e, R in [(1, 0.5, 0.1), (2, 0.9, 0.4), (3, 0.99, 0.97)]
    ]
    svd = [
        lab | {"method": "per-matrix SVD", "variant": "split", "budget": b, "energy": e, "R": 0.01}
        for b, e in [(0.25, 0.6), (0.5, 0.95), (0.75, 0.999)]
    ]
    rows = holo.matched_energy(pca + svd, "per-matrix SVD", "split")
    assert [r["k_matched"] for r in rows] == [2, 3, None]
    assert [r["R_matched"] for r in rows] == [0.4, 0.97, None]


def test_sub_full_failure():
    lab = {
        "scale": "S",
        "params": 1,
        "weight_decay": 1.0,
        "seed": 42,
        "method": "joint SVD",
        "variant": "J1",
    }
    pts = [
        lab | {"budget": b, "R": R} for b, R in [(0.25, 0.1), (0.5, 0.4), (0.75, 0.96), (1.0, 1.0)]
    ]
    (row,) = holo.sub_full_failure(pts)
    assert (row["fails_half"], row["fails_below_full"], row["best_sub"], row["first_full"]) == (
        True,
        False,
        0.96,
        0.75,
    )
    (row,) = holo.sub_full_failure(pts, half_R=0.3)
    assert row["fails_half"] is False


def test_scale_components():
    def row(scale, w, k, k95, share, svd, joint):
        return {
            "scale": scale,
            "weight_decay": w,
            "k_0.99": k,
            "k95_stable": k95,
            "delta_pass_share": share,
            "svd_first_full": svd,
            "joint_first_full": joint,
        }

    rows = [
        row("S", 1.0, 2, 5, 0.9, 1.0, None),
        row("S", 1.0, 3, 7, 1.0, 1.0, 1.0),  # median k95 6
        row("M", 1.0, 8, None, 0.5, 0.5, 1.0),
    ]
    comps = {c["scale"]: c for c in holo.scale_components(rows, 0.99, (2, 6), 0.9, 5, 6, 0.8, 0.8)}
    assert comps["S"] | {} == {
        "scale": "S",
        "runs": 2,
        "dimension": True,
        "recovery": False,
        "full rank": True,
        "SVD failure": True,
    }
    assert (
        comps["M"]["dimension"],
        comps["M"]["recovery"],
        comps["M"]["full rank"],
        comps["M"]["SVD failure"],
    ) == (False, False, False, False)


def test_rescaled_keeps_the_grid_config_and_drops_probes_elsewhere():
    grid = RunConfig(ops=("add", "mul", "x2_y2"), probe_every=200)
    assert holo._rescaled(grid, [128, 4, 256, 2], None) == grid  # S: the grid run itself
    m = holo._rescaled(grid, [256, 8, 512, 2], None)
    assert (m.d_model, m.n_heads, m.d_ff, m.n_layers, m.probe_every, m.steps) == (
        256,
        8,
        512,
        2,
        0,
        grid.steps,
    )
    assert holo._rescaled(grid, [64, 4, 128, 1], 300).steps == 300


def test_grok_steps_of_a_multi_task_run():
    cfg = RunConfig(
        p=7, ops=("add", "mul"), d_model=8, n_heads=2, d_ff=16, n_layers=1, train_frac=0.5
    )
    run = _line_run(cfg)
    run.test_acc[:, 1] = [0.0, 0.0, 0.0, 0.99, 0.99]  # mul groks one eval later than add
    assert (run.first_grok_step(), run.all_grok_step(), run.grokked) == (400, None, False)
    run.test_acc[:, 1] = [0.0, 0.0, 0.99, 0.99, 0.99]  # both grok at step 400 (3 evals)
    run.test_acc[:, 0] = [0.99, 0.99, 0.99, 0.99, 0.99]  # add at step 200
    assert (run.first_grok_step(), run.all_grok_step(), run.grokked) == (200, 400, True)
