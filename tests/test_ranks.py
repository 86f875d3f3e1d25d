"""Hand-computed values for grokbook.ranks (effective ranks, Gaussian reference, init-residue
diagnostics)."""

import math

import numpy as np
import pytest

from grokbook.measures.ranks import (
    entropy_rank,
    gaussian_reference,
    init_alignment,
    learned_part,
    norm_ratio,
    r_tau,
    ranks,
    stable_rank,
)


def test_identity_is_full_rank_under_every_measure():
    r = ranks(np.eye(4))
    # energies 1/4 each: 3 values hold 0.75 < 0.9, so r_90 = r_99 = 4; p_i = 1/4 -> exp(ln 4) = 4;
    # stable 4/1
    assert (r.n, r.r90, r.r99) == (4, 4, 4)
    assert r.entropy == pytest.approx(4.0)
    assert r.stable == pytest.approx(4.0)
    assert r.normalised() == pytest.approx({"r90": 1.0, "r99": 1.0, "entropy": 1.0, "stable": 1.0})


def test_rank_one_matrix():
    W = np.outer([1.0, 2.0, 3.0], [4.0, -1.0, 0.5, 2.0])  # 3 x 4, one nonzero singular value
    r = ranks(W)
    assert (r.n, r.r90, r.r99) == (3, 1, 1)
    assert r.entropy == pytest.approx(1.0, abs=1e-6)
    assert r.stable == pytest.approx(1.0)


def test_diagonal_with_known_spectrum():
    s = np.array([4.0, 3.0])  # energies 16, 9: 16/25 = 0.64 < 0.9 -> r_90 = 2
    assert r_tau(s, 0.90) == 2 and r_tau(s, 0.60) == 1
    p = np.array([4 / 7, 3 / 7])
    assert entropy_rank(s) == pytest.approx(math.exp(-(p * np.log(p)).sum()))
    assert stable_rank(s) == pytest.approx(25 / 16)
    r = ranks(np.diag([3.0, 0.0, 4.0]))  # same spectrum plus a zero
    assert (r.r90, r.r99, r.n) == (2, 2, 3)
    assert r.entropy == pytest.approx(entropy_rank(s))
    # exactly at the threshold: 0.64 of the energy is reached with one value
    assert r_tau(s, 0.64) == 1


def test_gaussian_128_reference_matches_the_tabulated_values():
    ref = gaussian_reference((128, 128), trials=3, seed=1)
    assert abs(ref["r90"] - 66) <= 3
    assert abs(ref["r99"] - 99) <= 3
    assert abs(ref["entropy"] - 103) <= 3
    assert ref["r90_n"] == pytest.approx(ref["r90"] / 128)


def test_norm_ratio_and_learned_part():
    W0 = np.array([[2.0, 0.0], [0.0, 2.0]])
    WT = np.array([[1.0, 0.0], [0.0, 0.0]])  # ‖W_T‖ = 1, ‖W_0‖ = √8
    ratio = 1 / math.sqrt(8)
    assert norm_ratio(WT, W0) == pytest.approx(ratio)
    np.testing.assert_allclose(learned_part(WT, W0), WT - ratio * W0)
    # pure shrinkage W_T = c·W_0 leaves no learned part
    np.testing.assert_allclose(learned_part(0.3 * W0, W0), 0.0, atol=1e-12)


def test_init_alignment():
    W0 = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert init_alignment(0.2 * W0, W0) == pytest.approx(1.0)  # pure shrinkage: Δ = −0.8 W_0
    assert init_alignment(W0 + np.array([[0.0, 1.0], [0.0, 0.0]]), W0) == pytest.approx(
        0.0
    )  # Δ ⟂ W_0
    # Δ = −W_0 + E12: ⟨W_0 − W_T, W_0⟩ = 2, ‖Δ‖ = √3, ‖W_0‖ = √2
    assert init_alignment(np.array([[0.0, 1.0], [0.0, 0.0]]), W0) == pytest.approx(
        2 / (math.sqrt(3) * math.sqrt(2))
    )
