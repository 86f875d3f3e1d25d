"""Is a set of residue vectors laid out on a circle in the order of k·a mod p?
(power.embedding-circle)

Recipe (Power et al. 2022 power.embedding-circle, Verdict): project the p vectors (e.g. the
output-head rows, one per residue a) on their first two principal components, walk around the
centroid by angle, and count the share of angular neighbours whose residues differ by ±k (mod p);
the score is that share for the best k. Pure functions, float64 inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of the centred rows of X on their top two principal components, and the share of
    the total variance each carries. X [n, d] -> ([n, 2], [2])."""
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(0, keepdims=True)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    total = float((s**2).sum())
    if total == 0:
        raise ValueError("pca_2d: all rows are equal")
    return U[:, :2] * s[:2], s[:2] ** 2 / total


def angular_order(Y: np.ndarray) -> np.ndarray:
    """Row indices of the 2-D points Y sorted by their angle around the centroid (counter-clockwise
    from the +x axis). Y [n, 2] -> [n] int."""
    Y = np.asarray(Y, dtype=np.float64)
    c = Y - Y.mean(0, keepdims=True)
    return np.argsort(np.arctan2(c[:, 1], c[:, 0]), kind="stable")


def neighbour_shares(ordered_labels: np.ndarray, p: int) -> np.ndarray:
    """For every k in 0..p//2, the share of cyclically adjacent pairs in `ordered_labels` whose
    labels differ by ±k (mod p). ordered_labels [n] ints (n >= 2) -> [p//2 + 1], summing to 1 (entry
    0 counts repeats).
    """
    a = np.asarray(ordered_labels, dtype=np.int64)
    d = (np.roll(a, -1) - a) % p  # [n] differences to the next point, wrapping around
    d = np.minimum(d, p - d)  # ±k folded to k in 0..p//2
    return np.bincount(d, minlength=p // 2 + 1)[: p // 2 + 1] / len(a)


@dataclass(frozen=True)
class CircleScore:
    """Best multiplier k and the share of angular neighbours that differ by ±k."""

    k: int  # in 1..p//2
    score: float  # in [0, 1]
    shares: np.ndarray  # [p//2 + 1], share for every k (index 0 unused)


def circle_score(ordered_labels: np.ndarray, p: int) -> CircleScore:
    """Score of a cyclic order of residues: max over k >= 1 of neighbour_shares (smallest k on
    ties). ordered_labels [n]. Ref: Power et al. 2022 power.embedding-circle Verdict."""
    shares = neighbour_shares(ordered_labels, p)
    k = int(np.argmax(shares[1:])) + 1
    return CircleScore(k=k, score=float(shares[k]), shares=shares)


@dataclass(frozen=True)
class CircleFit:
    """2-D PCA picture of p residue vectors and its circle score."""

    coords: np.ndarray  # [n, 2] PCA coordinates
    pc_share: np.ndarray  # [2] variance share of PC1 and PC2
    order: np.ndarray  # [n] row indices in angular order
    k: int
    score: float
    shares: np.ndarray  # [p//2 + 1]


def circle_fit(W: np.ndarray, p: int, labels: Optional[np.ndarray] = None) -> CircleFit:
    """PCA to 2-D, angular order, circle score of the rows of W, row i carrying residue labels[i]
    (default i). W [n, d] -> CircleFit. Ref: Power et al. 2022 power.embedding-circle."""
    labels = np.arange(len(W)) if labels is None else np.asarray(labels)
    coords, share = pca_2d(W)
    order = angular_order(coords)
    s = circle_score(labels[order], p)
    return CircleFit(
        coords=coords, pc_share=share, order=order, k=s.k, score=s.score, shares=s.shares
    )


def permutation_null(ordered_labels: np.ndarray, p: int, draws: int, seed: int) -> np.ndarray:
    """Best-k circle scores of `draws` random relabellings of the same points (the labels shuffled
    over the angular positions), from a generator seeded with `seed`. ordered_labels [n] ->
    [draws]."""
    rng = np.random.default_rng(seed)
    a = np.asarray(ordered_labels)
    return np.array([circle_score(rng.permutation(a), p).score for _ in range(draws)])


def fourier_power(W: np.ndarray, p: int) -> np.ndarray:
    """Share of the centred rows' total variance carried by each frequency f = 0..p//2 of the
    residue index a (rows a = 0..p-1 of W). A set of rows lying on one circle a -> (cos 2πfa/p, sin
    2πfa/p) puts all of it at f; a circle traced by steps of k has f = k⁻¹ mod p (folded to
    1..p//2). W [p, d] -> [p//2 + 1] summing to 1 (entry 0 is 0)."""
    X = np.asarray(W, dtype=np.float64)
    if len(X) != p:
        raise ValueError(f"fourier_power: need one row per residue, got {len(X)} rows for p={p}")
    F = np.fft.rfft(X - X.mean(0, keepdims=True), axis=0)  # [p//2 + 1, d]
    power = (np.abs(F) ** 2).sum(1)
    power[1 : (p + 1) // 2] *= 2  # f and p-f carry the same power (real rows)
    return power / power.sum()
