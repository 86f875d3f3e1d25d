"""Hand-made cases for grokbook.compression (Methods: reconstruction from trajectory directions;
holo.per-matrix-svd-failure, holo.joint-svd-failure; multi.reconstruction-threshold,
svd/pruning/scaling claims)."""

import numpy as np

from grokbook.measures.subspaces import random_basis
import pytest

from grokbook.measures.compression import (
    bootstrap_mean_ci,
    norm_ratios,
    captured_energy,
    scan_rows,
    delta_containing_basis,
    first_k,
    joint_truncate,
    k95,
    k_star,
    k_tau,
    magnitude_prune,
    matrix_inventory,
    matrix_ranks,
    reconstruct,
    recovery,
    residual_blocks,
    scale_variants,
    select_checkpoints,
    trajectory_basis,
    truncate_matrices,
)
from grokbook.training.config import RunConfig
from grokbook.training.model import init_theta, n_params, param_layout

CFG = RunConfig(p=7, d_model=8, n_layers=2, n_heads=2, d_ff=16, ops=("add", "mul"))
P = n_params(CFG)


def _pair(seed=0, scale=0.3):
    """θ_0 (the model's init) and a θ_T that differs from it in every coordinate."""
    t0 = init_theta(CFG, seed).double().numpy()
    return t0, t0 + scale * np.random.default_rng(seed).standard_normal(P)


def _trajectory(rng, S=30, P_=50, rank=3):
    """Checkpoints [S, P_] of a path that moves inside a `rank`-dim subspace, θ_0 first, plus its
    steps."""
    t0 = rng.standard_normal(P_)
    coef = np.cumsum(rng.standard_normal((S, rank)), 0)
    coef[0] = 0
    return np.arange(S) * 10, t0 + coef @ rng.standard_normal((rank, P_)), t0


def test_full_basis_reconstructs_the_end_point_exactly():
    steps, snaps, t0 = _trajectory(np.random.default_rng(1), rank=5)
    for centred in (False, True):
        tb = trajectory_basis(steps, snaps, t0, centred=centred)
        assert tb.k == 5 and tb.centred == centred
        np.testing.assert_allclose(tb.V.T @ tb.V, np.eye(5), atol=1e-10)
        np.testing.assert_allclose(tb.energy.sum(), 1.0)
        np.testing.assert_allclose(
            reconstruct(t0, snaps[-1], tb.V, [tb.k])[0], snaps[-1], atol=1e-9
        )
        np.testing.assert_allclose(
            captured_energy(t0, snaps[-1], tb.V, [0, tb.k]), [0.0, 1.0], atol=1e-12
        )


def test_trajectory_basis_of_a_line_and_checkpoint_selection():
    t0, v = np.zeros(3), np.array([3.0, 4.0, 0.0])
    snaps = np.outer(np.arange(6.0), v)  # moves along v only
    tb = trajectory_basis(np.arange(6) * 100, snaps, t0)
    assert tb.k == 1
    np.testing.assert_allclose(np.abs(tb.V[:, 0]), [0.6, 0.8, 0.0])
    np.testing.assert_allclose(reconstruct(t0, snaps[-1], tb.V, [0, 1]), [[0, 0, 0], snaps[-1]])
    # upto_step: only steps <= 200 enter; n_max: the code's linspace selection keeps init and last
    assert list(trajectory_basis(np.arange(6) * 100, snaps, t0, upto_step=200).steps_used) == [
        0,
        100,
        200,
    ]
    assert list(select_checkpoints(10, 4)) == [0, 3, 6, 9]
    assert list(select_checkpoints(3, 100)) == [0, 1, 2]


def test_energy_and_k_tau_on_a_constructed_spectrum():
    # X rows along orthogonal axes with norms 3, 2, 1 (plus the init row) -> σ² = 9, 4, 1
    t0 = np.zeros(4)
    snaps = np.array([[0, 0, 0, 0], [3.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 1.0, 0]])
    tb = trajectory_basis(np.arange(4), snaps, t0)
    np.testing.assert_allclose(tb.energy, [9 / 14, 4 / 14, 1 / 14])
    assert (
        k_tau(tb.energy, 0.5) == 1 and k_tau(tb.energy, 0.9) == 2 and k_tau(tb.energy, 13 / 14) == 2
    )
    assert k_tau(tb.energy, 0.99) == 3 and k_tau([0.5, 0.3, 0.2], 0.8) == 2


def test_nulls_random_and_delta_containing():
    rng = np.random.default_rng(0)
    B = random_basis(200, 6, rng)
    np.testing.assert_allclose(B.T @ B, np.eye(6), atol=1e-10)
    t0, tT = np.zeros(200), rng.standard_normal(200)
    D = delta_containing_basis(tT - t0, 4, rng)
    np.testing.assert_allclose(D.T @ D, np.eye(4), atol=1e-10)
    np.testing.assert_allclose(reconstruct(t0, tT, D, [1])[0], tT, atol=1e-10)  # exact from k = 1
    np.testing.assert_allclose(captured_energy(t0, tT, D, [1, 4]), [1.0, 1.0])


def test_matrix_inventory_covers_the_papers_matrices():
    split, fused = matrix_inventory(CFG), matrix_inventory(CFG, qkv="fused")
    names = [m.name for m in split]
    assert names[:2] == ["E", "pos"] and names[-2:] == ["head.add", "head.mul"]
    assert len(split) == 2 + 2 * 6 + 2 and len(fused) == 2 + 2 * 4 + 2
    assert [m.name for m in matrix_inventory(CFG, only="attention")] == [
        f"L{l}.W_{x}" for l in (0, 1) for x in "QKVO"
    ]
    lay = param_layout(CFG)
    assert sum(m.size for m in split) == sum(m.size for m in fused)
    head_mul = split[-1]
    assert head_mul.offset == lay["heads.weight"][0] + 7 * 8 and head_mul.shape == (7, 8)
    assert {m.role for m in split if m.name.endswith(("W_O", "W_2"))} == {"write"}


def test_svd_truncation_full_rank_is_identity_and_low_rank_is_kept():
    t0, tT = _pair()
    for target in ("delta", "final"):
        for qkv in ("split", "fused"):
            th, e = truncate_matrices(CFG, t0, tT, ranks=[10_000], target=target, qkv=qkv)
            np.testing.assert_allclose(th[0], tT, atol=1e-10)
            np.testing.assert_allclose(e, [1.0])
    # Δ_W of exact rank 2 in every matrix: truncation at r = 2 is unchanged, at r = 1 it is not
    tT2 = t0.copy()
    rng = np.random.default_rng(3)
    for m in matrix_inventory(CFG):
        d2 = rng.standard_normal((m.shape[0], 2)) @ rng.standard_normal((2, m.shape[1]))
        tT2[m.offset : m.offset + m.size] += d2.ravel()
    tT2[param_layout(CFG)["ln_f.weight"][0]] += 5.0  # a 1-D parameter: always at its final value
    th, e = truncate_matrices(CFG, t0, tT2, ranks=[1, 2, 3])
    np.testing.assert_allclose(th[1], tT2, atol=1e-10)
    np.testing.assert_allclose(th[2], tT2, atol=1e-10)
    assert th[0, param_layout(CFG)["ln_f.weight"][0]] == tT2[param_layout(CFG)["ln_f.weight"][0]]
    assert e[0] < 1 and e[1] == pytest.approx(1.0)
    # attention-only: the other matrices sit at their final values whatever the rank
    th, _ = truncate_matrices(CFG, t0, tT, ranks=[1], only="attention")
    E = matrix_inventory(CFG)[0]
    np.testing.assert_allclose(E.take(th[0]), E.take(tT))
    # random rank-r projection: identity at full rank, less energy than the SVD at r = 1
    rng = np.random.default_rng(0)
    th, e_rand = truncate_matrices(CFG, t0, tT, ranks=[1, 100], random=True, rng=rng)
    np.testing.assert_allclose(th[1], tT, atol=1e-9)
    assert e_rand[0] < truncate_matrices(CFG, t0, tT, ranks=[1])[1][0]


def test_rank_fractions():
    assert matrix_ranks(128, rank_fractions=[1 / 128, 1 / 2, 15 / 16, 1]) == [1, 64, 120, 128]
    assert matrix_ranks(2, rank_fractions=[1 / 128, 1 / 2, 1]) == [1, 1, 2]
    assert matrix_ranks(97, ranks=[1, 64, 128]) == [1, 64, 97]
    with pytest.raises(ValueError):
        matrix_ranks(8)


def test_joint_svd_variants():
    t0, tT = _pair(1)
    ranks = [1, 3, 8]
    th1, e1 = joint_truncate(CFG, t0, tT, ranks, variant="J1")
    th4, e4 = joint_truncate(CFG, t0, tT, ranks, variant="J4")
    np.testing.assert_allclose(th1, th4, atol=1e-5)  # two code paths, one subspace
    np.testing.assert_allclose(e1, e4, atol=1e-10)
    for v in ("J1", "J2", "J3"):
        th, e = joint_truncate(CFG, t0, tT, [8], variant=v)
        np.testing.assert_allclose(th[0], tT, atol=1e-9)  # r = d is exact
        assert e[0] == pytest.approx(1.0)
    th, _ = joint_truncate(CFG, t0, tT, [8], target="final")
    np.testing.assert_allclose(th[0], tT, atol=1e-9)
    # J1 energy = Σ_{i<=r} s_i² / Σ s_i² of the stacked J
    J = np.vstack([B for _, B in residual_blocks(CFG, tT - t0)])
    s2 = np.linalg.svd(J, compute_uv=False) ** 2
    np.testing.assert_allclose(e1, np.cumsum(s2)[[0, 2, 7]] / s2.sum())
    # a Δ whose oriented blocks all live in one residual direction is exact at r = 1
    u = np.eye(8)[2]
    tT1 = t0.copy()
    for m, B in residual_blocks(CFG, np.zeros(P)):
        blk = np.outer(np.arange(1.0, B.shape[0] + 1), u)
        tT1[m.offset : m.offset + m.size] += (blk.T if m.role == "write" else blk).ravel()
    np.testing.assert_allclose(joint_truncate(CFG, t0, tT1, [1])[0][0], tT1, atol=1e-10)
    thr, er = joint_truncate(CFG, t0, tT, [2, 8], random=True, rng=np.random.default_rng(0))
    np.testing.assert_allclose(thr[1], tT, atol=1e-9)
    assert er[0] < 1


def test_pruning_keeps_the_stated_fraction():
    t0 = np.zeros(10)
    tT = np.array([1.0, -5, 2, 0.5, 3, -4, 0.1, 0.2, 0.3, 0.4])
    th, e = magnitude_prune(t0, tT, [0.0, 0.2, 0.5, 1.0])
    np.testing.assert_allclose(th[1], [0, -5, 0, 0, 0, -4, 0, 0, 0, 0])
    assert [(row != 0).sum() for row in th] == [0, 2, 5, 10]
    tot = (tT**2).sum()
    np.testing.assert_allclose(e, [0, 41 / tot, (41 + 9 + 4 + 1) / tot, 1.0])
    rng = np.random.default_rng(0)
    thr, _ = magnitude_prune(t0, tT, [0.3], mode="random", rng=rng)
    assert (thr[0] != 0).sum() == 3
    # towards zero: the small entries of θ_T become 0 (not θ_0)
    th0, _ = magnitude_prune(np.ones(10), tT, [0.2], mode="to_zero")
    np.testing.assert_allclose(th0[0], [0, -5, 0, 0, 0, -4, 0, 0, 0, 0])
    big = magnitude_prune(np.zeros(1000), np.random.default_rng(1).standard_normal(1000), [0.37])[0]
    assert (big != 0).sum() == 370


def test_scale_variants():
    t0, tT = np.array([4.0, 0.0]), np.array([1.0, 1.0])
    np.testing.assert_allclose(scale_variants(t0, tT, [0, 1, 0.95]), [[4, 0], [1, 1], [1.15, 0.95]])
    np.testing.assert_allclose(scale_variants(t0, tT, [0.5], "final"), [[0.5, 0.5]])
    rp = scale_variants(
        t0, tT, [0.95, 1.05, 1.0], "random_perturbation", rng=np.random.default_rng(0)
    )
    np.testing.assert_allclose(np.linalg.norm(rp - tT, axis=1), [0.05 * 10**0.5] * 2 + [0.0])
    ii = scale_variants(t0, tT, [0.95, 1.0], "independent_init", theta0_other=np.array([0.0, 3.0]))
    np.testing.assert_allclose(ii, [[0.95, 1.1], [1.0, 1.0]])


def test_recovery_and_crossings():
    acc = np.array([[0.5, 0.9], [0.95, 0.99], [0.99, 0.8]])
    r = recovery(acc, [1.0, 0.99])
    np.testing.assert_allclose(r.R, [0.5, 0.95, 0.8 / 0.99])
    np.testing.assert_allclose(
        r.R_mean, [(0.5 + 0.9 / 0.99) / 2, (0.95 + 1) / 2, (0.99 + 0.8 / 0.99) / 2]
    )
    assert list(r.all_above) == [False, True, False]
    # a non-monotone curve: first crossing at 3, stable (every later k too) at 6
    ks = [1, 2, 3, 4, 5, 6, 7]
    R = [0.1, 0.4, 0.96, 0.7, 0.94, 0.97, 1.0]
    assert k95(ks, R) == 3 and k95(ks, R, stable=True) == 6
    assert k95(ks, [0.1] * 7) is None and k95(ks, [1.0] * 7, stable=True) == 1
    assert k95(ks, [1, 1, 1, 1, 1, 1, 0.5], stable=True) is None
    assert k_star([1, 2, 3], acc) == 2 and k_star([1, 2, 3], acc * 0.5) is None
    assert first_k([5, 6], [False, True]) == 6


def test_bootstrap_mean_ci():
    m, lo, hi = bootstrap_mean_ci([5.0, 5.0, 5.0])
    assert (m, lo, hi) == (5.0, 5.0, 5.0)
    m, lo, hi = bootstrap_mean_ci([4.0, 6.0, 8.0], n_boot=4000)
    assert m == 6.0 and 4.0 <= lo < 6.0 < hi <= 8.0


def test_scan_rows_of_the_init():
    th0 = init_theta(CFG, 0).double().numpy()
    rows = scan_rows(
        CFG, np.stack([th0, th0]), [0.5, 0.5], budgets=[1, 2], energy=[0.1, 0.2], method="x"
    )
    assert [r["budget"] for r in rows] == [1, 2] and rows[0]["method"] == "x"
    assert set(rows[0]) >= {"R", "R_mean", "all_above", "acc_add", "acc_mul", "energy"}
    assert rows[0]["R"] == pytest.approx(min(rows[0]["acc_add"], rows[0]["acc_mul"]) / 0.5)


def test_norm_ratios():
    t0 = init_theta(CFG, 0).double().numpy()
    r = norm_ratios(CFG, t0, 0.25 * t0)
    assert set(r) == {m.name for m in matrix_inventory(CFG)} and np.allclose(list(r.values()), 0.25)
