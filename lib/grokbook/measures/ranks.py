"""Effective-rank measures of single weight matrices, their i.i.d. Gaussian reference, and the
init-residue diagnostics of holo.local-full-rank.

For a matrix W (m × n, n_min = min(m, n)) with singular values σ_1 ≥ σ_2 ≥ ...:
- r_τ: the number of singular values needed for a share τ of Σσ² (r_90, r_99);
- entropy effective rank: exp(−Σ p_i ln p_i) with p_i = σ_i / Σσ_j (Roy & Vetterli);
- stable rank: ‖W‖_F² / σ_1².
Each is also given divided by n_min ("normalised"), so that matrices of different shapes compare.

The reference of a full-rank random matrix is simulated for any shape (`gaussian_reference`); our
table (128×128: r_90 66, r_99 99, entropy 103) is reproduced by it (tests/test_ranks.py).

Under strong weight decay W_T is much smaller than W_0, so Δ_W = W_T − W_0 is mostly −W_0 and
inherits the full-rank spectrum of the random init. `norm_ratio` and the exploratory `learned_part`
make that visible.

Ref: Xu 2026c holo.local-full-rank (Protocol, Nulls / caveat).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

MEASURES = ("r90", "r99", "entropy", "stable")


def singular_values(W: np.ndarray) -> np.ndarray:
    """Singular values of W [m, n] in float64, decreasing -> [min(m, n)]."""
    return torch.linalg.svdvals(torch.as_tensor(np.asarray(W, dtype=np.float64))).numpy()


def r_tau(sigma: np.ndarray, tau: float) -> int:
    """Smallest r with Σ_{i≤r} σ_i² ≥ τ Σ σ_i² (σ decreasing). A zero matrix has r = 0."""
    e = np.asarray(sigma, dtype=np.float64) ** 2
    if e.sum() == 0:
        return 0
    return int(np.searchsorted(np.cumsum(e) / e.sum(), tau - 1e-12) + 1)


def entropy_rank(sigma: np.ndarray) -> float:
    """exp of the Shannon entropy of p_i = σ_i / Σσ_j (zero singular values contribute nothing)."""
    s = np.asarray(sigma, dtype=np.float64)
    p = s[s > 0] / s.sum()
    return float(math.exp(-(p * np.log(p)).sum())) if p.size else 0.0


def stable_rank(sigma: np.ndarray) -> float:
    """Σσ² / σ_1² = ‖W‖_F² / ‖W‖_2² (0 for a zero matrix)."""
    s = np.asarray(sigma, dtype=np.float64)
    return float((s**2).sum() / s[0] ** 2) if s.size and s[0] > 0 else 0.0


@dataclass(frozen=True)
class Ranks:
    """The rank measures of one matrix; n = min(m, n) is the normaliser."""

    n: int
    r90: int
    r99: int
    entropy: float
    stable: float

    def normalised(self) -> dict[str, float]:
        """Every measure divided by n: {"r90": r_90/n, ...}."""
        return {k: getattr(self, k) / self.n for k in MEASURES}

    def row(self) -> dict:
        """The raw measures and their normalised versions (suffix `_n`) as one flat dict."""
        return asdict(self) | {k + "_n": v for k, v in self.normalised().items()}


def ranks(W: np.ndarray) -> Ranks:
    """r_90, r_99, entropy and stable rank of W [m, n]. Ref: Xu 2026c holo.local-full-rank."""
    s = singular_values(W)
    return Ranks(len(s), r_tau(s, 0.90), r_tau(s, 0.99), entropy_rank(s), stable_rank(s))


def gaussian_reference(shape: tuple[int, int], trials: int = 5, seed: int = 0) -> dict[str, float]:
    """Mean of each rank measure (raw and normalised) over `trials` i.i.d. N(0, 1) matrices of
    `shape`. -> {"r90": ..., "r90_n": ..., ...}. Ref: Xu 2026c holo.local-full-rank (Gaussian
    reference table).
    """
    rng = np.random.default_rng(seed)
    rows = [ranks(rng.standard_normal(shape)).row() for _ in range(trials)]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "n"}


def norm_ratio(W_T: np.ndarray, W_0: np.ndarray) -> float:
    """‖W_T‖_F / ‖W_0‖_F (< 1 when weight decay has shrunk the matrix below its init)."""
    return float(
        np.linalg.norm(np.asarray(W_T, np.float64)) / np.linalg.norm(np.asarray(W_0, np.float64))
    )


def init_alignment(W_T: np.ndarray, W_0: np.ndarray) -> float:
    """cos(Δ_W, −W_0) = ⟨W_0 − W_T, W_0⟩ / (‖W_T − W_0‖_F ‖W_0‖_F): 1 when the update only removes
    the init (W_T = c·W_0 with c < 1), about 0 when Δ_W is unrelated to W_0. Ref: Xu 2026c
    holo.local-full-rank.
    """
    W_T, W_0 = np.asarray(W_T, np.float64), np.asarray(W_0, np.float64)
    d = W_0 - W_T
    return float((d * W_0).sum() / (np.linalg.norm(d) * np.linalg.norm(W_0)))


def learned_part(W_T: np.ndarray, W_0: np.ndarray) -> np.ndarray:
    """EXPLORATORY crude de-shrinking: Δ_W + (1 − ‖W_T‖/‖W_0‖)·W_0 = W_T − (‖W_T‖/‖W_0‖)·W_0, i.e.
    Δ_W with the part of −W_0 that pure norm shrinkage would explain added back. [m, n] -> [m, n].
    Ref: Xu 2026c holo.local-full-rank, Nulls / caveat."""
    W_T, W_0 = np.asarray(W_T, np.float64), np.asarray(W_0, np.float64)
    return (W_T - W_0) + (1.0 - norm_ratio(W_T, W_0)) * W_0
