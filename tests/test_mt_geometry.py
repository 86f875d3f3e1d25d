"""Hand-computed values for grokbook.mt_geometry (task gradients, ρ rows, random-walk energy,
envelope detector, lead rows, curvature depth)."""

import math
from types import SimpleNamespace

import functools

import numpy as np

from grokbook.measures.trajectory import random_walk_energy
import pytest
import torch

from grokbook.training.commutator import batch_gradient
from grokbook.training.config import RunConfig
from grokbook.training.model import gather_group, init_theta
from grokbook.papers.multitask.geometry import (
    commutator_samples,
    cross_pairs,
    depth,
    envelope_onset_index,
    integrability_rows,
    trajectory_pca_row,
    k_taus,
    lead_rows,
    mode_name,
    negative_onset,
    task_gradient,
    train_batches,
)
from grokbook.measures.subspaces import random_fraction_mean

TINY = RunConfig(
    p=5, ops=("add", "mul"), d_model=8, n_heads=2, d_ff=16, n_layers=1, train_frac=0.5, batch_size=8
)


def test_task_gradients_sum_to_the_total_gradient_and_cross_pairs():
    x, y = train_batches(TINY, 2, seed=0)  # [2, 8, 2], [2, 8, 2]
    theta = torch.stack([init_theta(TINY, 0), init_theta(TINY, 1)])
    total = batch_gradient(TINY, x, y)(theta)
    parts = task_gradient(TINY, x, y, 0)(theta) + task_gradient(TINY, x, y, 1)(theta)
    torch.testing.assert_close(parts, total)
    assert cross_pairs(TINY) == [(0, 1)]
    assert cross_pairs(RunConfig(p=5, ops=("add", "mul", "x2_y2"))) == [(0, 1), (0, 2), (1, 2)]
    assert mode_name(TINY, None) == "total" and mode_name(TINY, (0, 1)) == "add×mul"


def test_commutator_samples_shapes_and_reproducibility():
    th = init_theta(TINY, 0).numpy()
    a = commutator_samples(TINY, th, K=3, mode=(0, 1), seed=5)
    b = commutator_samples(TINY, th, K=3, mode=(0, 1), seed=5)
    assert a.delta.shape == (3, th.size) and a.defect.shape == (3,)
    torch.testing.assert_close(a.delta, b.delta)
    assert torch.isfinite(a.defect).all() and (a.defect > 0).all()


def _fake_run(cfg, S=5, seed=0):
    rng = np.random.default_rng(seed)
    th0 = init_theta(cfg, seed).numpy()
    snaps = np.cumsum(
        np.vstack([th0[None], 0.05 * rng.standard_normal((S - 1, th0.size))]), 0
    ).astype(np.float32)
    return SimpleNamespace(
        config=cfg,
        snapshot_steps=np.arange(S) * 10,
        final_step=(S - 1) * 10,
        snapshots={
            "all": snaps,
            "attn": gather_group(torch.from_numpy(snaps), cfg, "attn").numpy(),
        },
    )


def test_integrability_rows_are_consistent():
    run = _fake_run(TINY)
    rows = integrability_rows(run, n_c=2, n_checkpoints=3, K=2, modes=[None, (0, 1)], n_random=2)
    assert len(rows) == 3 * 2 * 2  # checkpoints x modes x samples
    r = rows[0]
    assert r["K"] == 8 and r["mode"] == "total" and [x["step"] for x in rows[::4]] == [0, 20, 40]
    for r in rows:
        assert r["rho"] ** 2 + r["proj_exec"] ** 2 == pytest.approx(1.0)
        assert r["proj_all"] == pytest.approx(random_fraction_mean(8, r["P"]))
        assert 0 < r["attn_frac"] <= 1 and r["proj_exec"] <= r["attn_frac"] + 1e-12
        assert 0 <= r["proj_block"] <= r["attn_frac"] + 1e-12


def test_random_walk_energy_orthogonal_limit():
    # P huge: steps orthogonal. Uncentered points (1,0), (1,1): Gram [[1,1],[1,2]] -> PC1 = (3+√5)/6
    e = random_walk_energy(np.array([1.0, 1.0]), 10**12, trials=2, seed=0)
    np.testing.assert_allclose(e[:, 0], (3 + math.sqrt(5)) / 6, atol=1e-5)
    # centred with the origin row: points (0,0), (1,0), (1,1) -> scatter eigenvalues 1 and 1/3 ->
    # PC1 = 0.75
    e = random_walk_energy(np.array([1.0, 1.0]), 10**12, trials=1, seed=0, centred=True)
    np.testing.assert_allclose(e[0], [0.75, 0.25, 0.0], atol=1e-5)
    few = random_walk_energy(np.ones(5), 3, trials=1, seed=0)  # fewer dimensions than steps
    assert few.shape == (1, 5) and np.count_nonzero(few[0] > 1e-12) <= 3


def test_random_walk_energy_matches_brute_force_on_average():
    norms = np.array([3.0, 1.0, 2.0, 1.0])
    rng = np.random.default_rng(1)
    brute = []
    for _ in range(400):
        z = rng.standard_normal((4, 6))
        w = np.cumsum(z / np.linalg.norm(z, axis=1, keepdims=True) * norms[:, None], 0)
        lam = np.linalg.eigvalsh(w @ w.T)[::-1]
        brute.append(lam[0] / lam.sum())
    ours = random_walk_energy(norms, 6, trials=400, seed=2)[:, 0]
    assert ours.mean() == pytest.approx(np.mean(brute), abs=0.02)


def test_k_taus():
    assert k_taus([0.9, 0.09, 0.009, 0.001], [0.95, 0.99, 0.999]) == {0.95: 2, 0.99: 2, 0.999: 3}


def test_envelope_onset_hand_case():
    D = np.array([1.0] * 7 + [10.0] * 5)  # L = 0, then 1 from index 7; centred E = 1 from index 5
    assert envelope_onset_index(D) == 7  # causal (default): fires at the jump itself
    centred = functools.partial(envelope_onset_index, causal=False)  # the paper code's window
    assert centred(D) == 5  # baseline median(E_0..E_2) = 0, threshold log10 5 = 0.70
    assert centred(D, floor=20) is None  # log10 20 = 1.30 > 1
    assert centred(D, factor=20) is None
    assert centred(np.array([1.0] * 7 + [100.0] * 5), floor=20) == 5
    # 0 and NaN count as 0.01 (L = -2): E = -2 up to index 2 (baseline -2), E_3 = L_5 = 0 > -2 +
    # 0.70
    assert centred(np.array([0.0, np.nan, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])) == 3


def _grid_point(task_set, wd, defect, test, train, steps):
    cfg = SimpleNamespace(
        n_tasks=test.shape[1], ops=("add", "mul") if test.shape[1] == 2 else ("add", "mul", "x2_y2")
    )
    from grokbook.training.train import first_sustained

    run = SimpleNamespace(
        config=cfg,
        probes={"steps": steps, "defect": defect[:, None]},
        grok_step=lambda t, threshold=0.98, patience=3: first_sustained(
            steps, test[:, t], threshold, patience
        ),
        memorised_step=lambda t: first_sustained(steps, train[:, t], 0.99, 1),
    )
    return SimpleNamespace(task_set=task_set, weight_decay=wd, seed=42, run=run, is_control=wd == 0)


def test_lead_rows_hand_case():
    steps = np.arange(12) * 100
    D = np.array(
        [1.0] * 7 + [50.0] * 5
    )  # envelope fires at index 5 (500), spike (10x, >20) at 7 (700)
    test = np.zeros((12, 2))
    test[9:, 0] = 1.0
    test[8:, 1] = 1.0  # 0.98x3: add 1100, mul 1000; R90 900 / 800
    train = np.ones((12, 2))
    rows = lead_rows([_grid_point("dual", 1.0, D, test, train, steps)], envelope=dict(causal=False))
    add, mul = rows
    assert add["envelope_onset"] == 500 and add["spike_onset"] == 700
    assert add["code_grok"] == mul["code_grok"] == 1000  # first task to grok (mul)
    assert (add["code_condition"], mul["code_condition"]) == (False, True)
    assert mul["code_lead"] == 500 and add["unified_lead"] == 600 and mul["unified_lead"] == 500
    tri = lead_rows(
        [_grid_point("tri", 0.5, D, np.hstack([test, test[:, :1]]), np.ones((12, 3)), steps)],
        envelope=dict(causal=False),
    )
    assert [r["code_grok"] for r in tri] == [900, 800, 900]  # first test acc >= 0.90
    assert [r["code_lead"] for r in tri] == [200, 100, 200]  # spike onset 700
    assert all(r["code_condition"] for r in tri) and tri[0]["memorised"] == 0


def test_depth_and_negative_onset():
    rows = [
        {"step": s, "mode": "total", "lam_min": v}
        for s, v in zip([0, 100, 200, 300, 400], [0.5, -0.02, -0.5, -0.3, 0.1])
    ] + [{"step": 0, "mode": "add", "lam_min": -9.0}]
    assert depth(rows) == -0.5 and depth(rows, "add") == -9.0 and math.isnan(depth(rows, "mul"))
    assert negative_onset(rows) == 100
    assert negative_onset(rows, run_len=4) is None


def test_trajectory_pca_row_on_a_straight_line():
    # θ_t = θ_0 + t·u: uncentered PCA has one direction (k_τ = 1 for every τ)
    th0 = np.zeros(50)
    u = np.zeros(50)
    u[3] = 1.0
    snaps = np.stack([th0 + t * u for t in range(6)]).astype(np.float32)
    run = SimpleNamespace(
        snapshot_steps=np.arange(6) * 10,
        snapshots={"all": snaps},
        final_step=50,
        theta_init=th0,
        theta_final=snaps[-1],
    )
    row = trajectory_pca_row(run, trials=3)
    assert row["unc_pc1"] == pytest.approx(1.0) and row["unc_k0.99"] == 1 and row["cen_k0.999"] == 1
    assert row["n_checkpoints"] == 6 and 0 < row["unc_null_pc1"] < 1 and row["unc_null_k0.99"] >= 2
