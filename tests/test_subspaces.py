"""Hand-made cases for grokbook.subspaces (Methods: execution subspace and
commutator invariance; curv.invariance-rho, curv.exec-vs-random)."""

import math
from types import SimpleNamespace

import numpy as np

from grokbook.measures.curves import training_phase
import pytest

from grokbook.training.config import RunConfig
from grokbook.training.model import group_slices, n_params
from grokbook.measures.subspaces import (
    causal_execution_bases,
    chance_rho,
    execution_basis,
    exec_random_rows,
    other_seed_partners,
    projected_fraction,
    random_basis,
    random_block_basis,
    random_fraction_mean,
    random_fraction_quantile,
    rho_from_fraction,
    rho_rows,
    top_directions,
    weight_svd_basis,
    weight_svd_energy,
    weight_svd_terms,
)

CFG = RunConfig(p=7, d_model=8, n_layers=1, n_heads=2, d_ff=16)  # 4 attention matrices of 8 x 8
SL = group_slices(CFG, "attn")
N_ATTN = sum(math.prod(s) for _, s in SL.values())  # 256


def _plane_trajectory(rng, T=12):
    """Snapshots [T, n_attn] in which every matrix moves inside its own known 2-D plane (random
    coefficients), plus the two orthonormal plane vectors of each matrix {name: [2, 64]}."""
    planes, snaps = {}, np.zeros((T, N_ATTN))
    for name, (off, shape) in SL.items():
        n = math.prod(shape)
        E = np.linalg.qr(rng.standard_normal((n, 2)))[0].T  # [2, n]
        planes[name] = E
        snaps[:, off : off + n] = (
            rng.standard_normal(n) + rng.standard_normal((T, 2)) @ E
        )  # M_0 + in-plane moves
    return snaps, planes


def test_rho_inside_and_orthogonal():
    B = np.eye(N_ATTN)[:, :5]  # the first 5 coordinates
    inside = np.zeros(N_ATTN)
    inside[:5] = [1, 2, 3, 4, 5]
    outside = np.zeros(N_ATTN)
    outside[7] = 2.0
    f = projected_fraction(B, np.stack([inside, outside]), [np.linalg.norm(inside), 2.0])
    np.testing.assert_allclose(f, [1.0, 0.0])
    np.testing.assert_allclose(rho_from_fraction(f), [0.0, 1.0])
    # ‖δ‖ over all P larger than ‖δ_attn‖: 3-4-5 triangle -> projected 0.6, ρ 0.8
    np.testing.assert_allclose(
        rho_from_fraction(projected_fraction(B, np.r_[3.0, np.zeros(N_ATTN - 1)], 5.0)), 0.8
    )
    assert np.isnan(projected_fraction(B, np.zeros(N_ATTN), 0.0))


def test_execution_basis_spans_the_planes():
    snaps, planes = _plane_trajectory(np.random.default_rng(0))
    B = execution_basis(snaps, CFG, k=2)
    assert B.shape == (N_ATTN, 8)
    np.testing.assert_allclose(B.T @ B, np.eye(8), atol=1e-10)
    for name, (
        off,
        shape,
    ) in SL.items():  # each plane vector lies in span(B): its projection keeps its norm
        E = np.zeros((2, N_ATTN))
        E[:, off : off + 64] = planes[name]
        np.testing.assert_allclose(np.linalg.norm(E @ B, axis=1), [1.0, 1.0], atol=1e-10)
    # causal: with 2 snapshots the centred trajectory has rank 1 per matrix, so K = 4
    assert execution_basis(snaps[:2], CFG, k=2).shape == (N_ATTN, 4)


def test_top_directions_of_a_line():
    v = np.array([3.0, 4.0, 0.0])
    traj = np.outer(np.arange(5.0), v)  # moves along v only
    d = top_directions(traj, 2)
    assert d.shape == (1, 3)  # the second direction has σ = 0 and is dropped
    np.testing.assert_allclose(np.abs(d[0]), [0.6, 0.8, 0.0], atol=1e-12)


def test_weight_svd_basis_of_a_rank_one_matrix():
    attn = np.zeros(N_ATTN)
    u, v = np.eye(8)[2], np.eye(8)[5]
    off, _ = SL["L0.W_V"]
    attn[off : off + 64] = 7.0 * np.outer(u, v).ravel()  # W_V = 7 u vᵀ, the other matrices zero
    terms = weight_svd_terms(attn, CFG, 1)
    np.testing.assert_allclose(
        np.abs(terms["L0.W_V"][0]), np.outer(u, v).ravel()
    )  # S dropped, unit norm
    B = weight_svd_basis(attn, CFG, 3)
    assert B.shape == (N_ATTN, 12)
    np.testing.assert_allclose(B.T @ B, np.eye(12), atol=1e-10)
    delta = np.zeros(N_ATTN)
    delta[off + 2 * 8 + 5] = 1.5  # δ along u vᵀ exactly
    assert projected_fraction(B, delta, 1.5) == pytest.approx(1.0)


def test_weight_svd_energy_matches_the_basis():
    rng = np.random.default_rng(1)
    attn, delta = rng.standard_normal(N_ATTN), rng.standard_normal(N_ATTN)
    energy = weight_svd_energy(attn, delta, CFG, 3)
    for k in (1, 2, 3):
        assert energy[k - 1] == pytest.approx(
            np.linalg.norm(delta @ weight_svd_basis(attn, CFG, k)) ** 2
        )


def test_beta_null_mean_matches_monte_carlo():
    n, K = 200, 6
    rng = np.random.default_rng(2)
    x = rng.standard_normal(n)
    mc = [np.linalg.norm(x @ random_basis(n, K, rng)) / np.linalg.norm(x) for _ in range(4000)]
    assert np.mean(mc) == pytest.approx(random_fraction_mean(K, n), rel=0.01)
    assert random_fraction_mean(K, n) == pytest.approx(math.sqrt(K / n), rel=0.05)
    assert np.median(mc) == pytest.approx(random_fraction_quantile(0.5, K, n), rel=0.02)
    assert np.mean(np.square(mc)) == pytest.approx(K / n, rel=0.03)  # E f² = K/n exactly
    assert random_fraction_mean(1, 2) == pytest.approx(
        2 / math.pi
    )  # E|cos| of a random angle in the plane
    assert chance_rho(16, 290_401) == pytest.approx(0.9999725, abs=1e-7)


def test_random_block_basis_is_confined_and_orthonormal():
    B = random_block_basis(CFG, 2, np.random.default_rng(3))
    assert B.shape == (N_ATTN, 8)
    np.testing.assert_allclose(B.T @ B, np.eye(8), atol=1e-10)
    for j, (off, _) in enumerate(SL.values()):  # QR keeps the block structure: 2 columns per block
        assert (
            np.abs(np.delete(B[:, 2 * j : 2 * j + 2], np.s_[off : off + 64], axis=0)).max() < 1e-12
        )


def test_phase_labels_on_a_synthetic_curve():  # post-grok wins over a dipping train accuracy
    train = np.array([0.1, 0.5, 0.96, 1.0, 1.0, 1.0, 1.0, 0.9])
    test = np.array([0.0, 0.02, 0.05, 0.2, 0.5, 0.9, 0.99, 0.99])
    assert list(training_phase(train, test)) == [
        "early",
        "early",
        "memorisation",
        "memorisation",
        "pre-grok",
        "pre-grok",
        "post-grok",
        "post-grok",
    ]


def _fake_run(seed, op="add", wd=1.0, T=8, grok=True, rng=None):
    """A Run-like object with the fields the row builders read: snapshots every 100 steps, probes at
    the same steps (one of them with ‖δ‖ = 0, i.e. missing), evals at the same steps."""
    cfg = CFG.__class__(**{**CFG.to_dict(), "seed": seed, "ops": (op,), "weight_decay": wd})
    snaps, _ = _plane_trajectory(rng, T)
    steps = np.arange(T) * 100
    delta = rng.standard_normal((T, N_ATTN))
    dn = np.linalg.norm(delta, axis=1) * 1.5
    dn[1] = 0.0
    test = np.where(steps >= 500, 1.0, 0.05) if grok else np.full(T, 0.05)
    return SimpleNamespace(
        config=cfg,
        snapshot_steps=steps,
        snapshots={"attn": snaps},
        eval_steps=steps,
        train_acc=np.ones((T, 1)),
        test_acc=test[:, None],
        probes={"steps": steps, "delta_attn": delta, "delta_norm": dn[:, None]},
        grok_step=lambda task=0: 700 if grok else None,
    )


def test_row_builders_on_fake_runs():
    rng = np.random.default_rng(4)
    runs = [_fake_run(s, rng=rng) for s in (1, 2)] + [_fake_run(1, op="mul", rng=rng)]
    assert other_seed_partners(runs) == [1, 0, None]
    rows = rho_rows(runs, k=2, causal_points=3)
    P = n_params(CFG)
    own = [r for r in rows if r["basis"] == "own"]
    assert len(own) == 3 * 7  # the probe with ‖δ‖ = 0 is dropped
    assert {r["basis"] for r in rows} == {"own", "other seed", "causal"}
    assert all(r["K"] == 8 and 0 < r["proj"] < 1 for r in own)
    r0 = own[0]
    assert r0["rho"] == pytest.approx(math.sqrt(1 - r0["proj"] ** 2))
    assert r0["excess"] == pytest.approx(r0["proj"] ** 2 * P / 8)
    assert r0["attn_frac"] == pytest.approx(1 / 1.5)
    assert (
        sum(r["basis"] == "causal" for r in rows) == 3 * 3
        and min(r["step"] for r in rows if r["basis"] == "causal") >= 200
    )
    er = exec_random_rows(runs[:1], svd_ks=(1, 2), pca_k=2, struct_ks=(2,), struct_bases=2)
    assert len(er) == 7 * 3
    row = next(r for r in er if r["basis"] == "weight-SVD" and r["k"] == 2)
    assert row["K"] == 8 and row["pf_all"] == pytest.approx(random_fraction_mean(8, P))
    assert row["pf_attn"] == pytest.approx(row["attn_frac"] * random_fraction_mean(8, N_ATTN))
    assert (
        row["ratio_attn"] == pytest.approx(row["pf_exec"] / row["pf_attn"])
        and "ratio_struct" in row
    )
    assert [r["phase"] for r in er if r["basis"] == "trajectory PCA"] == ["memorisation"] * 4 + [
        "post-grok"
    ] * 3


def test_causal_bases_match_direct_computation():
    snaps, _ = _plane_trajectory(np.random.default_rng(5))
    for t, Bc in zip((3, 7, 12), causal_execution_bases(snaps, CFG, (3, 7, 12), k=2)):
        B = execution_basis(snaps[:t], CFG, k=2)
        np.testing.assert_allclose(
            Bc @ Bc.T, B @ B.T, atol=1e-9
        )  # same subspace (QR signs may differ)
