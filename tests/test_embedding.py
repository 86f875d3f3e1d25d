"""Hand-computed checks of grokbook.embedding (2-D PCA, angular order, circle score)."""

import numpy as np
import pytest

from grokbook.measures.embedding import (
    angular_order,
    circle_fit,
    circle_score,
    fourier_power,
    neighbour_shares,
    pca_2d,
    permutation_null,
)


def circle_of_multiples(p: int, k: int) -> np.ndarray:
    """Row a sits at angle 2π·j/p where a = k·j mod p, so walking round the circle steps by k. ->
    [p, 2]."""
    j = np.arange(p)
    ang = np.empty(p)
    ang[(k * j) % p] = 2 * np.pi * j / p
    return np.stack([np.cos(ang), np.sin(ang)], 1)


def test_neighbour_shares_by_hand():
    # diffs to the next label, wrapping: 1, 1, 2, (0 - 4) % 5 = 1  ->  k=1: 3/4, k=2: 1/4
    np.testing.assert_allclose(neighbour_shares(np.array([0, 1, 2, 4]), 5), [0.0, 0.75, 0.25])


@pytest.mark.parametrize("p,k,folded", [(11, 3, 3), (11, 8, 3), (47, 8, 8), (97, 8, 8)])
def test_points_in_order_of_k_a_score_one(p, k, folded):
    fit = circle_fit(circle_of_multiples(p, k), p)
    assert fit.k == folded and fit.score == pytest.approx(1.0)


def test_circle_found_inside_a_higher_dimensional_embedding():
    p, d = 23, 16
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))  # random rotation
    W = np.hstack([5 * circle_of_multiples(p, 4), 0.01 * rng.standard_normal((p, d - 2))]) @ Q + 3.0
    fit = circle_fit(W, p)
    assert (fit.k, fit.score) == (4, pytest.approx(1.0))
    assert fit.pc_share.sum() > 0.99


def test_pca_2d_variance_shares():
    X = np.array([[2.0, 0, 0], [-2, 0, 0], [0, 1, 0], [0, -1, 0]])  # variances 8 : 2
    coords, share = pca_2d(X)
    np.testing.assert_allclose(share, [0.8, 0.2])
    np.testing.assert_allclose(np.abs(coords), [[2, 0], [2, 0], [0, 1], [0, 1]], atol=1e-12)


def test_angular_order_counter_clockwise_from_minus_pi():
    Y = np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1]]) + 5.0  # angles 0, π/2, π, -π/2
    np.testing.assert_array_equal(angular_order(Y), [3, 0, 1, 2])


def test_scrambled_circle_scores_low_and_null_is_reproducible():
    p = 47
    order = np.random.default_rng(1).permutation(p)
    assert circle_score(order, p).score < 0.2
    a = permutation_null(np.arange(p), p, draws=50, seed=3)
    np.testing.assert_array_equal(a, permutation_null(np.arange(p), p, draws=50, seed=3))
    assert a.shape == (50,) and a.max() < 0.3


def test_fourier_power_of_a_single_frequency_circle():
    p, f = 47, 5
    a = np.arange(p)
    W = np.stack([np.cos(2 * np.pi * f * a / p), np.sin(2 * np.pi * f * a / p), np.zeros(p)], 1)
    pw = fourier_power(W, p)
    assert pw.shape == (24,) and pw[f] == pytest.approx(1.0) and pw.sum() == pytest.approx(1.0)
    # the same circle traced by steps of k = f⁻¹ mod p: 5 * 19 = 95 = 2·47 + 1
    assert circle_fit(W, p).k == 19


def test_fourier_power_splits_two_frequencies_by_energy():
    p = 11
    a = np.arange(p)
    W = np.stack(
        [np.cos(2 * np.pi * 2 * a / p), 2 * np.cos(2 * np.pi * 3 * a / p)], 1
    )  # energies 1 : 4
    np.testing.assert_allclose(fourier_power(W, p)[[2, 3]], [0.2, 0.8], atol=1e-12)
