"""Compressing a grokked solution: trajectory-PCA reconstruction, per-matrix and joint SVD
truncation, magnitude pruning, uniform rescaling, and the accuracy-recovery metrics they are judged
by.

Every function is pure: flat parameter vectors θ [P] (model.param_layout order) and numpy arrays in,
numpy arrays or small results out, float64 inside. Candidate parameter vectors come back stacked,
[n, P], ready for `train.accuracy_of(cfg, thetas)`. Notation (Xu 2026c (Methods chapter)): θ_0 =
init, θ_T = the end point (our runs: `run.theta_final`, θ at the stop step), Δ = θ_T − θ_0, Δ_W =
W_T − W_0 for one weight matrix.

- Trajectory basis: uncentered (or centred) PCA of the checkpoints θ_c − θ_0 via the n × n Gram
  matrix.
- Reconstruction θ_k = θ_0 + B_k B_kᵀ Δ and its captured energy E_k = ‖B_kB_kᵀΔ‖²/‖Δ‖²; random,
  Δ-containing nulls.
- Per-matrix SVD truncation of Δ_W (or of W_T), QKV fused or split, 1-D parameters at their final
  values.
- Joint (residual-stream) SVD truncation, variants J1–J4 (Xu 2026c holo.joint-svd-failure, our
  resolution).
- Global magnitude pruning of Δ (or random, or of θ_T towards 0); uniform rescalings and their
  init-residue controls.
- Recovery R = min_t acc_t/acc_t(θ_T), R̄ (mean over tasks), the code's absolute rule (all tasks >=
  0.90), k_95 (first and stable crossing) and k*.

Ref: Xu 2026c (Methods chapter), holo.trajectory-pca-recovery, holo.per-matrix-svd-failure,
holo.joint-svd-failure; Xu 2026b multi.reconstruction-threshold, multi.svd-truncation-failure,
multi.magnitude-pruning-failure, multi.uniform-scaling-fragility.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from grokbook.training.config import RunConfig
from grokbook.training.model import param_layout
from grokbook.measures.subspaces import random_basis

# eigenvalues of X Xᵀ below this fraction of the largest are numerical zeros (σ < 1e-6 σ₁)
GRAM_RTOL = 1e-12
# the code's k* rule: every task's test accuracy >= 0.90 (Xu 2026b, protocol step 8)
ABS_THRESHOLD = 0.90


# ── trajectory PCA ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class TrajectoryBasis:
    """Principal directions of a parameter trajectory.
    V [P, k] orthonormal columns (decreasing σ), energy [k] = σ_i²/Σσ² (sums to 1), steps_used [n] =
    the checkpoint steps that entered the PCA (init included), centred = whether X's columns were
    centred.
    """

    V: np.ndarray
    energy: np.ndarray
    steps_used: np.ndarray
    centred: bool

    @property
    def k(self) -> int:
        return self.V.shape[1]


def select_checkpoints(n: int, n_max: int = 100) -> np.ndarray:
    """Indices of the checkpoints the code's PCA uses: all n if n <= n_max, else
    np.linspace(0, n − 1, n_max, dtype=int) (first = init and last always kept). -> [min(n, n_max)].
    """
    if n_max < 2:
        raise ValueError(f"select_checkpoints: n_max={n_max} must be >= 2")
    return np.arange(n) if n <= n_max else np.linspace(0, n - 1, n_max, dtype=int)


def run_trajectory(run) -> tuple[np.ndarray, np.ndarray]:
    """The full-θ checkpoints of a run recorded with snapshot group "all", with θ_T =
    run.theta_final appended at run.final_step when the last stored snapshot precedes the stop step
    (the code's θ_T is the last stored checkpoint, up to 199 steps earlier; ours is θ exactly at the
    stop). -> (steps [S], thetas [S, P]).
    """
    if "all" not in run.snapshots:
        raise ValueError(
            "run_trajectory: the run has no full-θ snapshots; train it with snapshot_groups "
            "containing 'all'"
        )
    steps, snaps = np.asarray(run.snapshot_steps), run.snapshots["all"]
    if len(steps) and steps[-1] >= run.final_step:
        return steps, snaps
    return np.append(steps, run.final_step), np.vstack(
        [snaps, np.asarray(run.theta_final, snaps.dtype)[None]]
    )


def trajectory_basis(
    steps,
    snapshots_all,
    theta0,
    n_max: int = 100,
    centred: bool = False,
    upto_step: Optional[int] = None,
) -> TrajectoryBasis:
    """Full-parameter trajectory PCA through the Gram matrix, in float64.
    steps [S], snapshots_all [S, P] (step 0 = θ_0 first), theta0 [P] -> TrajectoryBasis with V [P,
    k].
    1. keep the checkpoints at steps <= upto_step (leak-free / pre-grok basis; None = all), then
       select at most n_max with np.linspace (select_checkpoints; the init is always included);
    2. X = [θ_c − θ_0]. Uncentered (the code's k* scan): the zero row of the init is dropped, no
       centring. Centred (the code's postgrok_compression.py): the init row is kept and X's columns
       are centred, so Δ = (θ_T − θ_0) still lies in the row span when θ_T is a checkpoint;
    3. eigendecompose G = XXᵀ (n × n); V = XᵀUΣ⁻¹; directions with σ² < GRAM_RTOL·σ₁² are dropped.
    Ref: Xu 2026c (Methods chapter) (Trajectory PCA); Xu 2026b multi.reconstruction-threshold 1–4.
    """
    steps = np.asarray(steps)
    keep = np.arange(len(steps)) if upto_step is None else np.flatnonzero(steps <= upto_step)
    if len(keep) < 2:
        raise ValueError(
            f"trajectory_basis: need >= 2 checkpoints at steps <= {upto_step}, found {len(keep)}"
        )
    idx = keep[select_checkpoints(len(keep), n_max)]
    X = np.asarray(snapshots_all[idx], np.float64) - np.asarray(theta0, np.float64)  # [n, P]
    if centred:
        X = X - X.mean(0, keepdims=True)
    else:
        X = X[np.linalg.norm(X, axis=1) > 0]  # drop the zero (init) row
    lam, U = np.linalg.eigh(X @ X.T)  # ascending σ²
    lam, U = lam[::-1], U[:, ::-1]
    good = lam > GRAM_RTOL * lam[0]
    lam, U = lam[good], U[:, good]
    V = X.T @ (U / np.sqrt(lam))  # [P, k] = Xᵀ U Σ⁻¹
    return TrajectoryBasis(V, lam / lam.sum(), steps[idx], centred)


def k_tau(energy, tau: float) -> int:
    """Smallest k whose cumulative energy Σ_{i<=k} energy_i reaches tau (τ = 0.99 primary). energy
    [k] -> int. Ref: Xu 2026c holo.global-subspace-dim, Protocol 2."""
    c = np.cumsum(np.asarray(energy, np.float64))
    hit = np.flatnonzero(c >= tau * c[-1] - 1e-12)
    return int(hit[0]) + 1


def _ks(ks, kmax: int) -> list[int]:
    ks = [int(k) for k in ks]
    bad = [k for k in ks if not 0 <= k <= kmax]
    if bad:
        raise ValueError(f"k={bad[0]} is out of range for a basis of {kmax} directions")
    return ks


def reconstruct(theta0, theta_T, V, ks: Sequence[int]) -> np.ndarray:
    """θ_k = θ_0 + B_kB_kᵀΔ with B_k = V[:, :k] (orthonormal columns), for every k in ks.
    theta0, theta_T [P], V [P, K] -> [len(ks), P] float64. Ref: Xu 2026c (Methods chapter)."""
    t0 = np.asarray(theta0, np.float64)
    delta = np.asarray(theta_T, np.float64) - t0
    c = V.T @ delta  # [K] coordinates of Δ
    return np.stack([t0 + V[:, :k] @ c[:k] for k in _ks(ks, V.shape[1])])


def captured_energy(theta0, theta_T, V, ks: Sequence[int]) -> np.ndarray:
    """E_k = ‖B_kB_kᵀΔ‖²/‖Δ‖² for every k in ks. theta0, theta_T [P], V [P, K] -> [len(ks)]."""
    delta = np.asarray(theta_T, np.float64) - np.asarray(theta0, np.float64)
    cum = np.concatenate([[0.0], np.cumsum((V.T @ delta) ** 2)])
    return cum[_ks(ks, V.shape[1])] / float(delta @ delta)


def delta_containing_basis(delta, k: int, rng: np.random.Generator) -> np.ndarray:
    """Null: [Δ/‖Δ‖, k − 1 random directions], orthonormalised (first column = ±Δ/‖Δ‖), so it
    reconstructs θ_T exactly from k = 1. delta [P] -> [P, k]. Ref: Xu 2026b
    multi.reconstruction-threshold, Nulls."""
    d = np.asarray(delta, np.float64)
    A = np.column_stack([d / np.linalg.norm(d), rng.standard_normal((len(d), k - 1))])
    return np.linalg.qr(A)[0]


# ── matrices of the model ─────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Matrix:
    """One 2-D weight matrix inside θ: flat offset, (rows, cols), role ("read": input is the
    residual stream; "write": output is the residual stream; "embed": rows are tokens or positions,
    columns the residual stream), layer (None for embeddings and heads) and whether it is an
    attention matrix."""

    name: str
    offset: int
    shape: tuple[int, int]
    role: str
    layer: Optional[int]
    attention: bool

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def take(self, theta: np.ndarray) -> np.ndarray:
        """The matrix from one θ [P] (or a stack [..., P]) -> [..., rows, cols]."""
        return theta[..., self.offset : self.offset + self.size].reshape(
            *theta.shape[:-1], *self.shape
        )


def matrix_inventory(cfg: RunConfig, qkv: str = "split", only: str = "all") -> list[Matrix]:
    """The 2-D matrices of Xu 2026c's inventory, in θ order: token embedding E (V × d), positional
    (2 × d), per layer W_Q, W_K, W_V (d × d each; qkv="fused": the code's one 3d × d in_proj), W_O
    (d × d), W_1 (d_ff × d), W_2 (d × d_ff), then one head per task (V × d). only="attention":
    W_Q/W_K/W_V (or in_proj) and W_O. Biases and LayerNorm parameters (1-D; heads.bias) are not
    matrices here. Ref: Xu 2026c Matrix inventory.
    """
    if qkv not in ("split", "fused"):
        raise ValueError(f"qkv={qkv!r}: use 'split' or 'fused'")
    if only not in ("all", "attention"):
        raise ValueError(f"only={only!r}: use 'all' or 'attention'")
    lay, d = param_layout(cfg), cfg.d_model
    out = [
        Matrix("E", lay["embed.weight"][0], lay["embed.weight"][1], "embed", None, False),
        Matrix("pos", lay["pos"][0], lay["pos"][1], "embed", None, False),
    ]
    for l in range(cfg.n_layers):
        pre = f"layers.{l}."
        if qkv == "fused":
            out.append(
                Matrix(
                    f"L{l}.W_QKV",
                    lay[pre + "self_attn.in_proj_weight"][0],
                    (3 * d, d),
                    "read",
                    l,
                    True,
                )
            )
        else:
            out += [
                Matrix(f"L{l}.W_{m}", lay[f"L{l}.W_{m}"][0], (d, d), "read", l, True) for m in "QKV"
            ]
        out += [
            Matrix(f"L{l}.W_O", lay[f"L{l}.W_O"][0], (d, d), "write", l, True),
            Matrix(
                f"L{l}.W_1",
                lay[pre + "linear1.weight"][0],
                lay[pre + "linear1.weight"][1],
                "read",
                l,
                False,
            ),
            Matrix(
                f"L{l}.W_2",
                lay[pre + "linear2.weight"][0],
                lay[pre + "linear2.weight"][1],
                "write",
                l,
                False,
            ),
        ]
    off, (T, V, _) = lay["heads.weight"]
    out += [
        Matrix(f"head.{op}", off + t * V * d, (V, d), "read", None, False)
        for t, op in enumerate(cfg.ops)
    ]
    return [m for m in out if only == "all" or m.attention]


def _svd(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD in float64 through torch's LAPACK (faster than numpy's threaded OpenBLAS on a shared
    2-core box)."""
    U, S, Vt = torch.linalg.svd(torch.from_numpy(np.asarray(M, np.float64)), full_matrices=False)
    return U.numpy(), S.numpy(), Vt.numpy()


def matrix_ranks(
    n: int, ranks: Optional[Sequence[int]] = None, rank_fractions: Optional[Sequence[float]] = None
) -> list[int]:
    """Per-matrix ranks for a matrix with n = min(rows, cols): absolute ranks capped at n, or
    r = max(1, round(ρ·n)) for rank fractions ρ (Xu 2026c holo.per-matrix-svd-failure rank grid)."""
    if (ranks is None) == (rank_fractions is None):
        raise ValueError("give exactly one of ranks and rank_fractions")
    if ranks is not None:
        return [min(int(r), n) for r in ranks]
    return [max(1, min(n, int(round(f * n)))) for f in rank_fractions]


def truncate_matrices(
    cfg: RunConfig,
    theta0,
    theta_T,
    ranks: Optional[Sequence[int]] = None,
    rank_fractions: Optional[Sequence[float]] = None,
    target: str = "delta",
    qkv: str = "split",
    only: str = "all",
    random: bool = False,
    rng: Optional[np.random.Generator] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-matrix rank truncation, one candidate θ per rank; every coordinate outside the truncated
    matrices (biases, LayerNorms, heads.bias, and the non-attention matrices when only="attention")
    is θ_T's. target="delta": W = W_0 + top-r SVD of Δ_W (the code); target="final": W = top-r SVD
    of W_T (init-residue null). random=True: the SVD projection is replaced by a random rank-r
    projection of the matrix's smaller side, X V_rV_rᵀ (cols <= rows) or U_rU_rᵀ X, with a random
    orthonormal V_r or U_r (rank r, exact at r = n). Energy = Σ_W ‖X_W,r‖²_F / Σ_W ‖X_W‖²_F with X =
    Δ_W or W_T. theta0, theta_T [P] -> (thetas [n_ranks, P], energy [n_ranks]). Ref: Xu 2026c
    holo.per-matrix-svd-failure; Xu 2026b multi.svd-truncation-failure."""
    if target not in ("delta", "final"):
        raise ValueError(f"target={target!r}: use 'delta' or 'final'")
    if random and rng is None:
        raise ValueError("truncate_matrices: random=True needs an rng")
    t0, tT = np.asarray(theta0, np.float64), np.asarray(theta_T, np.float64)
    mats = matrix_inventory(cfg, qkv, only)
    n_out = len(ranks if ranks is not None else rank_fractions)
    out, kept, total = np.tile(tT, (n_out, 1)), np.zeros(n_out), 0.0
    for m in mats:
        base = m.take(t0) if target == "delta" else np.zeros(m.shape)
        X = m.take(tT) - base
        total += float((X**2).sum())
        rs = matrix_ranks(min(m.shape), ranks, rank_fractions)
        if not random:
            U, S, Vt = _svd(X)
        for i, r in enumerate(rs):
            if (
                random
            ):  # project the smaller side onto a random r-dim subspace: rank r, identity at r = n
                if m.shape[1] <= m.shape[0]:
                    Vr = random_basis(m.shape[1], r, rng)
                    Xr = (X @ Vr) @ Vr.T
                else:
                    Ur = random_basis(m.shape[0], r, rng)
                    Xr = Ur @ (Ur.T @ X)
            else:
                Xr = (U[:, :r] * S[:r]) @ Vt[:r]
            kept[i] += float((Xr**2).sum())
            out[i, m.offset : m.offset + m.size] = (base + Xr).ravel()
    return out, kept / total


def norm_ratios(cfg: RunConfig, theta0, theta_T, qkv: str = "split") -> dict[str, float]:
    """‖W_T‖_F/‖W_0‖_F of every inventory matrix (init-residue diagnostic: under strong weight decay
    W_T ≪ W_0, so Δ_W ≈ −W_0 is a full-rank random matrix). theta0, theta_T [P] -> {name: ratio}.
    Ref: Xu 2026b multi.svd-truncation-failure, Nulls; Xu 2026c holo.local-full-rank, Nulls."""
    t0, tT = np.asarray(theta0, np.float64), np.asarray(theta_T, np.float64)
    return {
        m.name: float(np.linalg.norm(m.take(tT)) / np.linalg.norm(m.take(t0)))
        for m in matrix_inventory(cfg, qkv)
    }


# ── joint (residual-stream) SVD ───────────────────────────────────────────────────────────────────

JOINT_VARIANTS = ("J1", "J2", "J3", "J4")


def residual_blocks(cfg: RunConfig, X: np.ndarray) -> list[tuple[Matrix, np.ndarray]]:
    """Every inventory matrix (Q, K, V split) of one flat vector X [P] (Δ or θ_T), oriented so that
    its residual-stream side is the column index: read and embedding matrices as they are, write
    matrices (W_O, W_2) transposed. -> [(matrix, block [rows, d_model])]. Ref: Xu 2026c
    holo.joint-svd-failure, Protocol 1.
    """
    return [
        (m, m.take(X).T if m.role == "write" else m.take(X)) for m in matrix_inventory(cfg, "split")
    ]


def joint_groups(blocks: list[tuple[Matrix, np.ndarray]], variant: str) -> list[list[int]]:
    """Which blocks share one residual subspace: all of them (J1, J2, J4) or one group per encoder
    layer plus one for embeddings and heads (J3). -> list of block-index groups."""
    if variant != "J3":
        return [list(range(len(blocks)))]
    layers = sorted({m.layer for m, _ in blocks if m.layer is not None})
    return [[i for i, (m, _) in enumerate(blocks) if m.layer == l] for l in layers] + [
        [i for i, (m, _) in enumerate(blocks) if m.layer is None]
    ]


def _joint_subspace(J: np.ndarray, r_max: int, variant: str) -> np.ndarray:
    """Top-r_max right singular vectors of J [N, d] -> [d, r_max]. J4 takes the left singular
    vectors of Jᵀ [d, N] in numpy (a second code path for the same subspace); the others use torch
    on J."""
    if variant == "J4":
        return np.linalg.svd(J.T, full_matrices=False)[0][:, :r_max]
    return _svd(J)[2][:r_max].T


def joint_truncate(
    cfg: RunConfig,
    theta0,
    theta_T,
    ranks: Optional[Sequence[int]] = None,
    rank_fractions: Optional[Sequence[float]] = None,
    variant: str = "J1",
    target: str = "delta",
    random: bool = False,
    rng: Optional[np.random.Generator] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint SVD truncation with one shared residual-stream subspace (our resolution of
    holo.joint-svd-failure): stack the oriented blocks of X (Δ for target="delta", θ_T for "final")
    into J [N, d], project every row onto the top-r right singular vectors V_r (J_r = J V_rV_rᵀ),
    unstack, W = W_0 + block (or W = block), 1-D parameters at θ_T. Variants: J1 plain; J2 blocks
    divided by their Frobenius norm before the SVD (multiplied back after); J3 one J per encoder
    layer plus one for embeddings and heads; J4 = J1 through a separate code path (left singular
    vectors of Jᵀ). random=True: a random orthonormal V_r (shared, per group for J3). ranks <=
    d_model, or rank_fractions of d_model. Energy = Σ‖J_r‖²/Σ‖J‖² over the unnormalised blocks.
    theta0, theta_T [P] -> (thetas [n_ranks, P], energy [n_ranks]). Ref: Xu 2026c
    holo.joint-svd-failure.
    """
    if variant not in JOINT_VARIANTS:
        raise ValueError(f"variant={variant!r}: use one of {JOINT_VARIANTS}")
    if target not in ("delta", "final"):
        raise ValueError(f"target={target!r}: use 'delta' or 'final'")
    if random and rng is None:
        raise ValueError("joint_truncate: random=True needs an rng")
    d = cfg.d_model
    rs = matrix_ranks(d, ranks, rank_fractions)
    t0, tT = np.asarray(theta0, np.float64), np.asarray(theta_T, np.float64)
    base = t0 if target == "delta" else np.zeros_like(t0)
    blocks = residual_blocks(cfg, tT - base)
    out, kept = np.tile(tT, (len(rs), 1)), np.zeros(len(rs))
    total = sum(float((B**2).sum()) for _, B in blocks)
    for group in joint_groups(blocks, variant):
        scale = [np.linalg.norm(blocks[i][1]) if variant == "J2" else 1.0 for i in group]
        J = np.vstack([blocks[i][1] / max(s, 1e-300) for i, s in zip(group, scale)])  # [N, d]
        Vr = random_basis(d, max(rs), rng) if random else _joint_subspace(J, max(rs), variant)
        for j, r in enumerate(rs):
            P_r = Vr[:, :r] @ Vr[:, :r].T  # [d, d] projector
            for i in group:
                m, B = blocks[i]
                Br = B @ P_r
                kept[j] += float((Br**2).sum())
                W = Br.T if m.role == "write" else Br
                out[j, m.offset : m.offset + m.size] = (m.take(base) + W).ravel()
    return out, kept / total


# ── pruning and rescaling ─────────────────────────────────────────────────────────────────────────


def magnitude_prune(
    theta0,
    theta_T,
    fractions: Sequence[float],
    mode: str = "magnitude",
    rng: Optional[np.random.Generator] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep round(q·P) entries, for every kept fraction q in `fractions`, over ALL P entries (1-D
    included): "magnitude": the largest |Δ_i| kept, the rest reset to θ_0 (the code); "random": a
    random set of entries of Δ kept (null); "to_zero": the largest |θ_T,i| kept, the rest set to 0
    (standard pruning of θ_T, init-residue null). Kept energy = Σ_kept x_i²/Σ x_i² with x = Δ (or
    θ_T for to_zero). theta0, theta_T [P] -> (thetas [n, P], energy [n]). Ref: Xu 2026b
    multi.magnitude-pruning-failure.
    """
    if mode not in ("magnitude", "random", "to_zero"):
        raise ValueError(f"mode={mode!r}: use 'magnitude', 'random' or 'to_zero'")
    if mode == "random" and rng is None:
        raise ValueError("magnitude_prune: mode='random' needs an rng")
    t0, tT = np.asarray(theta0, np.float64), np.asarray(theta_T, np.float64)
    x, base = (tT, np.zeros_like(tT)) if mode == "to_zero" else (tT - t0, t0)
    order = rng.permutation(len(x)) if mode == "random" else np.argsort(-np.abs(x), kind="stable")
    out, energy, total = np.tile(base, (len(fractions), 1)), np.zeros(len(fractions)), float(x @ x)
    for i, q in enumerate(fractions):
        if not 0 <= q <= 1:
            raise ValueError(f"magnitude_prune: fraction {q} is outside [0, 1]")
        idx = order[: int(round(q * len(x)))]
        out[i, idx] += x[idx]
        energy[i] = float(x[idx] @ x[idx]) / total
    return out, energy


SCALE_KINDS = ("delta", "final", "random_perturbation", "independent_init")


def scale_variants(
    theta0,
    theta_T,
    scales: Sequence[float],
    kind: str = "delta",
    rng: Optional[np.random.Generator] = None,
    theta0_other=None,
) -> np.ndarray:
    """Uniform rescalings and their controls, one θ per s in `scales`:
    "delta": θ_0 + sΔ = θ_T + (1 − s)(θ_0 − θ_T) (the paper's test);
    "final": s·θ_T (LayerNorm makes much of the network scale-tolerant);
    "random_perturbation": θ_T + |1 − s|·‖Δ‖·u with one random unit direction u (same norm as the
    paper's
        perturbation; s = 0.95 gives a random perturbation of norm 0.05‖Δ‖);
    "independent_init": θ_0' + s(θ_T − θ_0') = θ_T + (1 − s)(θ_0' − θ_T), the same move towards an
    independent
        init θ_0' (theta0_other, e.g. model.init_theta(cfg, other_seed)).
    theta0, theta_T [P] -> [len(scales), P]. Ref: Xu 2026b multi.uniform-scaling-fragility, Nulls.
    """
    t0, tT = np.asarray(theta0, np.float64), np.asarray(theta_T, np.float64)
    s = np.asarray(scales, np.float64)[:, None]
    if kind == "delta":
        return t0 + s * (tT - t0)
    if kind == "final":
        return s * tT
    if kind == "random_perturbation":
        if rng is None:
            raise ValueError("scale_variants: kind='random_perturbation' needs an rng")
        u = rng.standard_normal(len(tT))
        return tT + np.abs(1 - s) * np.linalg.norm(tT - t0) * (u / np.linalg.norm(u))
    if kind == "independent_init":
        if theta0_other is None:
            raise ValueError("scale_variants: kind='independent_init' needs theta0_other")
        o = np.asarray(theta0_other, np.float64)
        return o + s * (tT - o)
    raise ValueError(f"kind={kind!r}: use one of {SCALE_KINDS}")


# ── recovery metrics ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Recovery:
    """Recovery of n candidate models against the end point: R [n] = min over tasks of
    acc/acc_final, R_mean [n] (mean over tasks), all_above [n] = every task's absolute accuracy >=
    the threshold (the code's rule).
    """

    R: np.ndarray
    R_mean: np.ndarray
    all_above: np.ndarray


def recovery(acc, acc_final, threshold: float = ABS_THRESHOLD) -> Recovery:
    """acc [n, T] (per-task test accuracy of each candidate), acc_final [T] (of θ_T) -> Recovery.
    Ref: Xu 2026c (Methods chapter) (Accuracy recovery, our resolution)."""
    a, f = np.atleast_2d(np.asarray(acc, np.float64)), np.asarray(acc_final, np.float64)
    rel = a / f
    return Recovery(rel.min(1), rel.mean(1), (a >= threshold).all(1))


def first_k(ks: Sequence[int], ok, stable: bool = False) -> Optional[int]:
    """Smallest k in ks (increasing) where ok holds: the first crossing, or (stable=True) the first
    k from which ok holds for every later k in the scan. ks [n], ok [n] bool -> k or None."""
    ok = np.asarray(ok, bool)
    if stable:
        tail = np.flip(np.cumprod(np.flip(ok)).astype(bool))  # tail[i]: ok at every j >= i
        hit = np.flatnonzero(tail)
    else:
        hit = np.flatnonzero(ok)
    return int(ks[hit[0]]) if len(hit) else None


def k95(ks: Sequence[int], R, level: float = 0.95, stable: bool = False) -> Optional[int]:
    """k_95: smallest k with R(θ_k) >= level, first or stable crossing (R ≥ level at every later
    scanned k). ks [n] increasing, R [n] -> k or None. Ref: Xu 2026c (Methods chapter)."""
    return first_k(ks, np.asarray(R) >= level, stable)


def k_star(ks: Sequence[int], acc, threshold: float = ABS_THRESHOLD) -> Optional[int]:
    """The code's k*: smallest k (scanned upward, first hit) at which every task's test accuracy >=
    threshold. ks [n], acc [n, T] -> k or None. Ref: Xu 2026b multi.reconstruction-threshold, step
    8."""
    return first_k(ks, (np.asarray(acc) >= threshold).all(1))


def bootstrap_mean_ci(
    values, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of the values (seeds) and a percentile-bootstrap interval of it (resample with
    replacement). values [n] -> (mean, low, high); a single value gives (v, v, v). Ref: Xu 2026b
    multi.reconstruction-threshold, Verdict ("seed-mean k* per λ with bootstrap CIs")."""
    v = np.asarray(values, np.float64)
    if v.size == 0:
        raise ValueError("bootstrap_mean_ci: no values")
    means = np.random.default_rng(seed).choice(v, (n_boot, v.size)).mean(1)
    a = (1 - level) / 2
    return float(v.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


# ── evaluating candidates of one run ──────────────────────────────────────────────────────────────


def end_point(run, part: str = "test") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """θ_0 [P], θ_T [P] (θ at the stop step) and θ_T's per-task accuracy [T] on the run's own
    split."""
    from grokbook.training.train import accuracy_of

    t0, tT = np.asarray(run.theta_init, np.float64), np.asarray(run.theta_final, np.float64)
    return t0, tT, accuracy_of(run.config, tT[None], part)[0]


def scan_rows(
    cfg: RunConfig, thetas, acc_final, budgets: Sequence, energy=None, part: str = "test", **fields
) -> list[dict]:
    """Evaluate candidate θs of one run (a k-, rank-, fraction- or scale-scan) on the run's split:
    one row per candidate with `fields` (method, seed, λ, ...), its budget (k, r, q or s), the
    energy it keeps, the accuracy of every task ("acc_<op>"), R, R_mean and all_above (recovery
    against acc_final). thetas [n, P], acc_final [T], budgets [n], energy [n] or None -> [n]
    dicts."""
    from grokbook.training.train import accuracy_of

    acc = accuracy_of(cfg, thetas, part)
    rec = recovery(acc, acc_final)
    en = [None] * len(acc) if energy is None else [float(e) for e in energy]
    return [
        fields
        | {
            "budget": b,
            "energy": e,
            "R": float(rec.R[i]),
            "R_mean": float(rec.R_mean[i]),
            "all_above": bool(rec.all_above[i]),
            **{f"acc_{op}": float(a) for op, a in zip(cfg.ops, acc[i])},
        }
        for i, (b, e) in enumerate(zip(budgets, en))
    ]
