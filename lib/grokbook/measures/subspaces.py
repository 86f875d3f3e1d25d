"""Low-dimensional subspaces of the attention weights, and how much of a commutator vector δ they
hold.

Every basis here lives in the coordinates of the "attn" snapshot group (W_Q, W_K, W_V, W_O of every
layer, concatenated as in `model.group_slices(cfg, "attn")`, n_attn numbers); θ's other coordinates
are zero in it. So for a basis B [n_attn, K] with orthonormal columns and the full δ [P],
‖BBᵀδ‖ = ‖Bᵀ δ_attn‖, and only δ_attn (stored by the probes) and ‖δ‖ over all P are needed.

- Execution basis (Xu 2026a, Methods: trajectory PCA): top right singular vectors of every matrix's
  centred trajectory M_t − M_0.
- Weight-SVD basis (the code of curv.exec-vs-random): the top-k rank-one terms u_i v_iᵀ of every
  current matrix.
- Random nulls: a uniformly random K-dim subspace of all P coordinates or of the attention
  coordinates, for which ‖QQᵀδ‖/‖δ_S‖ = √Beta(K/2, (n−K)/2) exactly (n = size of the coordinate set
  S), and random rank-one matrices per attention block (structured null, Monte Carlo).
- ρ = ‖δ − BBᵀδ‖/‖δ‖ and the projected fraction √(1 − ρ²).
- Phase labels of curv.exec-vs-random (early / memorisation / pre-grok / post-grok).

Ref: Xu 2026a, Methods: execution subspace, curv.invariance-rho, curv.exec-vs-random.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import torch
from scipy import special, stats

from grokbook.measures.curves import training_phase
from grokbook.training.config import RunConfig
from grokbook.measures.trajectory import matrix_trajectories, snapshot_window
from grokbook.training.model import group_slices, n_params

# Small dense factorisations go through torch's LAPACK: numpy's threaded OpenBLAS was ~20x slower
# matrices on a loaded 2-core machine (measured), and these run once per probe and
# matrix.
def _svd(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    U, _, Vt = torch.linalg.svd(torch.from_numpy(np.asarray(M, np.float64)))
    return U.numpy(), Vt.numpy()


def _qr(A: np.ndarray) -> np.ndarray:
    return torch.linalg.qr(torch.from_numpy(np.asarray(A, np.float64)))[0].numpy()


# ── bases ─────────────────────────────────────────────────────────────────────────────────────────


def top_directions(traj: np.ndarray, k: int, rtol: float = 1e-6) -> np.ndarray:
    """Top-k right singular vectors of the column-centred trajectory (via the T x T Gram matrix, so
    n may be large). Directions whose singular value is below rtol·σ₁ are dropped (a centred
    trajectory of T snapshots has rank <= T − 1). traj [T, n] -> [k', n] unit rows, k' <= k. Ref: Xu
    2026a, Methods: trajectory PCA steps 2–4.
    """
    X = np.asarray(traj, dtype=np.float64)
    return _gram_directions(X, X @ X.T, k, rtol)


def _gram_directions(X: np.ndarray, G: np.ndarray, k: int, rtol: float) -> np.ndarray:
    """top_directions from the uncentred X [t, n] and its Gram matrix G = X Xᵀ [t, t] (centred
    here)."""
    t = len(X)
    C = np.eye(t) - 1.0 / t  # centring: (CX)ᵀ(CX) has the centred spectrum
    lam, U = (t.numpy() for t in torch.linalg.eigh(torch.from_numpy(C @ G @ C)))  # ascending σ²
    lam, U = lam[::-1][:k], U[:, ::-1][:, :k]
    keep = lam > rtol**2 * lam[0] if len(lam) and lam[0] > 0 else np.zeros(len(lam), bool)
    V = X.T @ (C @ U[:, keep])  # [n, k'] = (CX)ᵀ u = σ v
    return (V / np.linalg.norm(V, axis=0)).T


def embed(vectors: dict[str, np.ndarray], cfg: RunConfig, group: str = "attn") -> np.ndarray:
    """Place per-matrix row vectors {name: [k, n_matrix]} at their matrices' offsets in the group's
    flat coordinates and orthonormalise the stack with QR. -> [n_group, K], K = total number of
    rows."""
    slices = group_slices(cfg, group)
    n = sum(math.prod(s) for _, s in slices.values())
    cols = []
    for name, rows in vectors.items():
        off, shape = slices[name]
        for v in np.atleast_2d(rows):
            c = np.zeros(n)
            c[off : off + math.prod(shape)] = v
            cols.append(c)
    if not cols:
        return np.zeros((n, 0))
    return _qr(np.stack(cols, 1))


def execution_basis(snapshots: np.ndarray, cfg: RunConfig, k: int = 2) -> np.ndarray:
    """Execution basis B (Methods: execution subspace): the top-k directions of every attention
    matrix's centred trajectory, embedded and QR-orthonormalised. snapshots [S, n_attn] (the window
    to use: whole run, to R98, or causal) -> [n_attn, K] with K = k · 4 · n_layers (fewer if a
    trajectory has lower rank). Ref: Xu 2026a, Methods: trajectory PCA.
    """
    return embed(
        {name: top_directions(t, k) for name, t in matrix_trajectories(snapshots, cfg).items()}, cfg
    )


def causal_execution_bases(
    snapshots: np.ndarray, cfg: RunConfig, ends: Sequence[int], k: int = 2, rtol: float = 1e-6
) -> list[np.ndarray]:
    """Execution bases from the first t snapshots only, for every t in `ends` (causal variant),
    sharing one Gram matrix per attention matrix so long runs stay cheap. snapshots [S, n_attn] ->
    [[n_attn, K_t]].
    """
    trajs = matrix_trajectories(snapshots, cfg)
    grams = {name: X @ X.T for name, X in trajs.items()}
    return [
        embed(
            {
                name: _gram_directions(X[:t], grams[name][:t, :t], k, rtol)
                for name, X in trajs.items()
            },
            cfg,
        )
        for t in ends
    ]


def weight_svd_terms(attn: np.ndarray, cfg: RunConfig, k: int) -> dict[str, np.ndarray]:
    """Top-k rank-one terms u_i v_iᵀ (flattened row-major, unit Frobenius norm: S_i dropped) of
    every attention matrix of one θ. attn [n_attn] -> {name: [k, n_matrix]}. Ref:
    curv.exec-vs-random, step 2.
    """
    out = {}
    for name, (off, shape) in group_slices(cfg, "attn").items():
        U, Vt = _svd(np.asarray(attn[off : off + math.prod(shape)]).reshape(shape))
        out[name] = np.stack([np.outer(U[:, i], Vt[i]).ravel() for i in range(k)])
    return out


def weight_svd_basis(attn: np.ndarray, cfg: RunConfig, k: int) -> np.ndarray:
    """The instantaneous weight-SVD basis of the paper's code: weight_svd_terms embedded and QR'd.
    attn [n_attn] -> [n_attn, K], K = k · 4 · n_layers (24 for k = 3 and 2 layers)."""
    return embed(weight_svd_terms(attn, cfg, k), cfg)


def weight_svd_energy(
    attn: np.ndarray, delta_attn: np.ndarray, cfg: RunConfig, k: int
) -> np.ndarray:
    """‖BBᵀδ‖² of the weight-SVD basis for every k' = 1..k at once, without forming B: the rank-one
    terms of one matrix are Frobenius-orthonormal and blocks are disjoint, so ‖Bᵀδ‖² = Σ_blocks Σ_i
    (u_iᵀ Δ v_i)². attn, delta_attn [n_attn] -> [k] (entry j is the energy for k' = j + 1)."""
    total = np.zeros(k)
    for name, (off, shape) in group_slices(cfg, "attn").items():
        sl = slice(off, off + math.prod(shape))
        U, Vt = _svd(np.asarray(attn[sl]).reshape(shape))
        D = np.asarray(delta_attn[sl], np.float64).reshape(shape)
        total += np.cumsum(np.einsum("ai,ab,bi->i", U[:, :k], D, Vt[:k].T) ** 2)
    return total


def random_basis(n: int, K: int, rng: np.random.Generator) -> np.ndarray:
    """Uniformly random K-dim subspace of R^n: QR of a Gaussian n x K matrix. -> [n, K]."""
    return _qr(rng.standard_normal((n, K)))


def random_block_basis(
    cfg: RunConfig, k: int, rng: np.random.Generator, rank_one: bool = True
) -> np.ndarray:
    """Random basis confined to the attention blocks, k directions per matrix, embedded like B:
    random rank-one matrices u vᵀ (u, v Gaussian) per block (structured null), or Gaussian
    directions per block. -> [n_attn, k · 4 · n_layers]."""
    slices = group_slices(cfg, "attn")
    B = np.zeros((sum(r * c for _, (r, c) in slices.values()), k * len(slices)))
    for j, (off, (r, c)) in enumerate(
        slices.values()
    ):  # blocks are disjoint: QR each one on its own
        V = (
            np.einsum(
                "ki,kj->kij", rng.standard_normal((k, r)), rng.standard_normal((k, c))
            ).reshape(k, -1)
            if rank_one
            else rng.standard_normal((k, r * c))
        )
        B[off : off + r * c, j * k : (j + 1) * k] = _qr(V.T)
    return B


# ── projections and the exact random null ─────────────────────────────────────────────────────────


def projected_fraction(basis: np.ndarray, delta_attn: np.ndarray, delta_norm) -> np.ndarray:
    """‖BBᵀδ‖/‖δ‖ for an orthonormal basis B [n_attn, K] in attention coordinates. delta_attn [...,
    n_attn], delta_norm [...] (‖δ‖ over all P) -> [...]. NaN where ‖δ‖ is 0 or missing."""
    proj = np.linalg.norm(np.asarray(delta_attn, np.float64) @ basis, axis=-1)
    dn = np.asarray(delta_norm, np.float64)
    return np.where(dn > 0, proj / np.where(dn > 0, dn, 1.0), np.nan)


def rho_from_fraction(frac) -> np.ndarray:
    """ρ = ‖δ − BBᵀδ‖/‖δ‖ = √(1 − f²) from the projected fraction f."""
    f = np.asarray(frac, np.float64)
    return np.sqrt(np.clip(1.0 - f**2, 0.0, 1.0))


def random_fraction_mean(K: int, n: int) -> float:
    """E‖QQᵀx‖/‖x‖ for a uniformly random K-dim subspace of R^n, any x: E√Beta(K/2, (n−K)/2)
    = Γ((K+1)/2) Γ(n/2) / (Γ(K/2) Γ((n+1)/2)) (≈ √(K/n) for K ≪ n). Ref: Xu 2026a, Methods:
    execution subspace, exec-vs-random.
    """
    if not 0 < K <= n:
        raise ValueError(f"random_fraction_mean: need 0 < K={K} <= n={n}")
    if K == n:
        return 1.0
    return float(
        np.exp(
            special.gammaln((K + 1) / 2)
            + special.gammaln(n / 2)
            - special.gammaln(K / 2)
            - special.gammaln((n + 1) / 2)
        )
    )


def random_fraction_quantile(q, K: int, n: int) -> np.ndarray:
    """Quantiles of ‖QQᵀx‖/‖x‖ = √Beta(K/2, (n−K)/2) for a random K-dim subspace of R^n."""
    return np.sqrt(stats.beta.ppf(q, K / 2, (n - K) / 2))


def chance_rho(K: int, P: int) -> float:
    """Dimensional null of ρ: √(1 − K/P) (E of the squared projected fraction is exactly K/P)."""
    return math.sqrt(1 - K / P)


# ── phases ────────────────────────────────────────────────────────────────────────────────────────


def accuracy_at(run, steps, task: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Train and test accuracy of the latest evaluation at or before each step. steps [Q] -> ([Q],
    [Q])."""
    i = np.clip(np.searchsorted(run.eval_steps, steps, side="right") - 1, 0, None)
    return run.train_acc[i, task], run.test_acc[i, task]


# ── per-run tables for the notebooks ──────────────────────────────────────────────────────────────


def _fields(r, task: int) -> dict:
    c = r.config
    return {
        "op": c.ops[task],
        "seed": c.seed,
        "weight_decay": c.weight_decay,
        "grokked": r.grok_step(task) is not None,
    }


def basis_window(run, task: int = 0, last_step: Optional[int] = None) -> np.ndarray:
    """Attention snapshots up to last_step, by default up to the run's R98 stop (the whole run if it
    never grokked). -> [S', n_attn]."""
    stop = run.grok_step(task) if last_step is None else last_step
    return snapshot_window(run.snapshot_steps, run.snapshots["attn"], stop)


def other_seed_partners(runs, task: int = 0) -> list[Optional[int]]:
    """For each run, the index of the run with the same operation and λ and the next seed
    (cyclically), or None if it has no such sibling. Used for the transfer check of the execution
    basis."""
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(runs):
        groups.setdefault((r.config.ops[task], r.config.weight_decay), []).append(i)
    out: list[Optional[int]] = [None] * len(runs)
    for idx in groups.values():
        idx = sorted(idx, key=lambda i: runs[i].config.seed)
        for j, i in enumerate(idx):
            out[i] = idx[(j + 1) % len(idx)] if len(idx) > 1 else None
    return out


def _probe_arrays(r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probe steps [Q], first-sample δ_attn [Q, n_attn] and ‖δ‖ [Q]; probes with ‖δ‖ = 0 or NaN are
    dropped."""
    pr = r.probes
    dn = pr["delta_norm"][:, 0].astype(np.float64)
    ok = np.isfinite(dn) & (dn > 0)
    return pr["steps"][ok], pr["delta_attn"][ok], dn[ok]


def rho_rows(runs, k: int = 2, causal_points: int = 30, task: int = 0) -> list[dict]:
    """ρ of the first commutator sample at every probe of every run, for three execution bases:
    "own" (the run's snapshots up to its R98 stop), "causal" (snapshots up to the probe's step; at
    most `causal_points` evenly spaced probes with >= 3 snapshots) and "other seed" (the basis of
    the same operation and λ at the next seed). One row per (run, probe, basis) with K, P, the
    projected fraction, ρ, the chance ρ √(1 − K/P), the energy excess (1 − ρ²)/(K/P) and
    ‖δ_attn‖/‖δ‖. Probes with ‖δ‖ = 0 are dropped (missing). Ref: Xu 2026a, Methods: execution
    subspace, curv.invariance-rho."""
    own = [execution_basis(basis_window(r, task), r.config, k) for r in runs]
    partners = other_seed_partners(runs, task)
    rows = []
    for r, B, partner in zip(runs, own, partners):
        steps, d_attn, dn = _probe_arrays(r)
        P = n_params(r.config)
        attn_frac = np.linalg.norm(d_attn.astype(np.float64), axis=1) / dn
        tr, te = accuracy_at(r, steps, task)
        bases = {"own": (B, np.arange(len(steps)))}
        if partner is not None:
            bases["other seed"] = (own[partner], np.arange(len(steps)))
        valid = np.flatnonzero([(r.snapshot_steps <= s).sum() >= 3 for s in steps])
        pick = (
            valid[
                np.unique(
                    np.linspace(0, len(valid) - 1, min(causal_points, len(valid)))
                    .round()
                    .astype(int)
                )
            ]
            if len(valid)
            else valid
        )
        for name, (basis, idx) in bases.items():
            f = projected_fraction(basis, d_attn[idx], dn[idx])
            for i, fi in zip(idx, f):
                rows.append(
                    _row(r, task, name, basis.shape[1], P, steps[i], fi, attn_frac[i], tr[i], te[i])
                )
        ends = [int((r.snapshot_steps <= steps[i]).sum()) for i in pick]
        for i, Bc in zip(pick, causal_execution_bases(r.snapshots["attn"], r.config, ends, k)):
            fi = float(projected_fraction(Bc, d_attn[i], dn[i]))
            rows.append(
                _row(r, task, "causal", Bc.shape[1], P, steps[i], fi, attn_frac[i], tr[i], te[i])
            )
    return rows


def _row(r, task, basis, K, P, step, f, attn_frac, train, test) -> dict:
    return _fields(r, task) | {
        "basis": basis,
        "K": int(K),
        "P": P,
        "step": int(step),
        "proj": float(f),
        "rho": float(rho_from_fraction(f)),
        "chance_rho": chance_rho(K, P),
        "excess": float(f**2 / (K / P)),
        "attn_frac": float(attn_frac),
        "train_acc": float(train),
        "test_acc": float(test),
    }


def exec_random_rows(
    runs,
    svd_ks: Sequence[int] = (1, 2, 3, 4, 8),
    pca_k: int = 2,
    struct_ks: Sequence[int] = (),
    struct_bases: int = 3,
    seed: int = 0,
    fit: float = 0.95,
    chance: float = 0.3,
    grok: float = 0.95,
    task: int = 0,
) -> list[dict]:
    """Exec-vs-random projected fractions at every probe (first commutator sample) of every run, one
    row per (run, probe, basis family, k). Families: "weight-SVD" (the code's instantaneous basis of
    the attention matrices at the probe's step, k per matrix) and "trajectory PCA" (the execution
    basis with k = pca_k per matrix, from the run's snapshots up to its R98 stop). Columns: K,
    pf_exec = ‖BBᵀδ‖/‖δ‖; the nulls pf_all (random K-dim subspace of all P coordinates, exact mean),
    pf_attn (random K-dim subspace of the attention coordinates, exact mean ‖δ_attn‖/‖δ‖ · E√Beta)
    and, for k in struct_ks, pf_struct (mean over `struct_bases` random rank-one-per-block bases);
    the ratios exec/null; the phase. Needs probe steps that are also snapshot steps. Ref:
    curv.exec-vs-random, steps 2–6 and Nulls."""
    rows = []
    for r in runs:
        c, P = r.config, n_params(r.config)
        steps, d_attn, dn = _probe_arrays(r)
        n_attn = d_attn.shape[1]
        snap_of = {int(s): i for i, s in enumerate(r.snapshot_steps)}
        missing = [int(s) for s in steps if int(s) not in snap_of]
        if missing:
            raise ValueError(
                f"exec_random_rows: probes at steps {missing[:5]} have no attention snapshot "
                "(probe_every must be a multiple of snapshot_every)"
            )
        tr, te = accuracy_at(r, steps, task)
        phase = training_phase(tr, te, fit, chance, grok)
        B_pca = execution_basis(basis_window(r, task), c, pca_k)
        rng = np.random.default_rng([seed, c.seed])
        for i, s in enumerate(steps):
            d = d_attn[i].astype(np.float64)
            attn_frac = np.linalg.norm(d) / dn[i]
            energy = weight_svd_energy(r.snapshots["attn"][snap_of[int(s)]], d, c, max(svd_ks))
            fams = [
                (
                    "weight-SVD",
                    k,
                    len(group_slices(c, "attn")) * k,
                    math.sqrt(energy[k - 1]) / dn[i],
                )
                for k in svd_ks
            ]
            fams.append(
                (
                    "trajectory PCA",
                    pca_k,
                    B_pca.shape[1],
                    float(projected_fraction(B_pca, d, dn[i])),
                )
            )
            base = _fields(r, task) | {
                "step": int(s),
                "phase": str(phase[i]),
                "train_acc": float(tr[i]),
                "test_acc": float(te[i]),
                "P": P,
                "attn_frac": float(attn_frac),
            }
            for fam, k, K, pf in fams:
                pf_all, pf_attn = random_fraction_mean(K, P), attn_frac * random_fraction_mean(
                    K, n_attn
                )
                row = base | {
                    "basis": fam,
                    "k": k,
                    "K": K,
                    "pf_exec": pf,
                    "pf_all": pf_all,
                    "pf_attn": pf_attn,
                    "ratio_all": pf / pf_all,
                    "ratio_attn": pf / pf_attn,
                }
                if k in struct_ks:
                    pf_s = np.mean(
                        [
                            float(
                                projected_fraction(
                                    random_block_basis(c, K // len(group_slices(c, "attn")), rng),
                                    d,
                                    dn[i],
                                )
                            )
                            for _ in range(struct_bases)
                        ]
                    )
                    row |= {"pf_struct": pf_s, "ratio_struct": pf / pf_s}
                rows.append(row)
    return rows
