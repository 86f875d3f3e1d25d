"""Composition probe for x²+y² (Xu 2026d, §5 (composition regression)): how much of a perturbation
field is explained by additive Fourier features of s = (a+b) mod p, multiplicative (discrete-log)
features of t = (dlog a + dlog b) mod (p−1), and their products. Ridge regression with a fitted
intercept (scikit-learn `Ridge(alpha)` semantics) scored in-sample as in the paper's code, and the
corrected protocol: K-fold cross-validated R² on identical rows and folds for every feature set, a
permuted-target null and a feature-count-matched null (our protocol: the corrected null).

Pure functions: arrays in, arrays or small dicts out, float64 throughout.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from grokbook.training.config import RunConfig
from grokbook.training.model import forward
from grokbook.measures.representation import checkpoint_at
from grokbook.measures.spectral import (
    attn_of,
    attn_offsets,
    dlog_table,
    edge,
    field,
    perturbation_field,
    update_window,
)
from grokbook.errors import ConfigError

SETS = ("add", "mul", "combined", "cross", "full", "focused")


def _harmonics(x: np.ndarray, T: int, omegas: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of 2πωx/T for every ω. x [N] -> ([N, m], [N, m])."""
    ang = 2 * np.pi * np.outer(x, np.asarray(omegas, dtype=np.float64)) / T
    return np.cos(ang), np.sin(ang)


def _products(ca, sa, cm, sm, pairs) -> np.ndarray:
    """cos·cos, cos·sin, sin·cos, sin·sin of the additive (columns i) × multiplicative (columns j)
    pairs."""
    i, j = np.asarray(pairs, dtype=np.int64).T
    return np.concatenate(
        [ca[:, i] * cm[:, j], ca[:, i] * sm[:, j], sa[:, i] * cm[:, j], sa[:, i] * sm[:, j]], 1
    )


def feature_sets(
    pairs,
    p: int,
    n_low: int = 10,
    focused_add: Sequence[int] = (25, 26),
    focused_mul: Sequence[int] = (29,),
    cross_pairs: Optional[np.ndarray] = None,
) -> dict[str, np.ndarray]:
    """The six design matrices of Xu 2026d, §5 (composition regression) on pairs [N, 2] with a, b ≠
    0 (rows match the pairs): add = cos/sin(2πωs/p), ω = 1…⌊p/2⌋; mul = cos/sin(2πωt/(p−1)), ω =
    1…⌊(p−1)/2⌋ (the last sin is 0); combined = add ∪ mul; cross = the four products over (ω_a, ω_m)
    ∈ {1…n_low}² (the code's "top-10" are the lowest ten), or over `cross_pairs` [n, 2] of 1-based
    (ω_a, ω_m); full = combined ∪ cross; focused = the additive ω in focused_add, dlog ω in
    focused_mul and their four-way products. -> name -> [N, m].
    """
    ab = np.asarray(pairs, dtype=np.int64)
    if (ab % p == 0).any():
        raise ConfigError(
            "feature_sets: the multiplicative features need pairs with a, b ≠ 0 (drop zeros first)"
        )
    wa, wm = np.arange(1, p // 2 + 1), np.arange(1, (p - 1) // 2 + 1)
    bad = [w for w in focused_add if not 1 <= w <= p // 2] + [
        w for w in focused_mul if not 1 <= w <= (p - 1) // 2
    ]
    if bad or n_low > min(len(wa), len(wm)):
        raise ConfigError(f"feature_sets: frequencies {bad or [n_low]} are out of range for p={p}")
    L = dlog_table(p)
    s, t = (ab[:, 0] + ab[:, 1]) % p, (L[ab[:, 0]] + L[ab[:, 1]]) % (p - 1)
    ca, sa = _harmonics(s, p, wa)
    cm, sm = _harmonics(t, p - 1, wm)
    if cross_pairs is None:
        cross_pairs = np.array([(i, j) for i in range(1, n_low + 1) for j in range(1, n_low + 1)])
    X = {"add": np.concatenate([ca, sa], 1), "mul": np.concatenate([cm, sm], 1)}
    X["combined"] = np.concatenate([X["add"], X["mul"]], 1)
    X["cross"] = _products(ca, sa, cm, sm, np.asarray(cross_pairs) - 1)
    X["full"] = np.concatenate([X["combined"], X["cross"]], 1)
    fa, fm = np.asarray(focused_add) - 1, np.asarray(focused_mul) - 1
    X["focused"] = np.concatenate(
        [
            ca[:, fa],
            sa[:, fa],
            cm[:, fm],
            sm[:, fm],
            _products(ca, sa, cm, sm, [(i, j) for i in fa for j in fm]),
        ],
        1,
    )
    return X


def additive_features(pairs, p: int) -> np.ndarray:
    """The `add` design matrix alone (no discrete log needed, so pairs may contain zeros). [N, 2] ->
    [N, 2⌊p/2⌋]."""
    ab = np.asarray(pairs, dtype=np.int64)
    c, s = _harmonics((ab[:, 0] + ab[:, 1]) % p, p, np.arange(1, p // 2 + 1))
    return np.concatenate([c, s], 1)


def random_cross_pairs(p: int, n_low: int, seed: int) -> np.ndarray:
    """n_low² distinct (ω_a, ω_m) pairs drawn from ω ∈ n_low+1 … ⌊(p−1)/2⌋ (the
    feature-count-matched null's frequencies: as many cross columns as the real set, none of its
    frequencies). -> [n_low², 2] 1-based.
    """
    hi = np.arange(n_low + 1, (p - 1) // 2 + 1)
    if len(hi) ** 2 < n_low**2:
        raise ConfigError(f"random_cross_pairs: p={p} has too few frequencies above n_low={n_low}")
    flat = np.random.default_rng(seed).choice(len(hi) ** 2, n_low**2, replace=False)
    return np.stack([hi[flat // len(hi)], hi[flat % len(hi)]], 1)


# ── ridge regression (scikit-learn Ridge semantics) ──


def ridge_fit(X: np.ndarray, Y: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Ridge with a fitted, unpenalised intercept: centre X and Y, β = (XcᵀXc + αI)⁻¹ XcᵀYc, b = Ȳ −
    X̄β. X [N, m], Y [N] or [N, o] -> (β [m] or [m, o], intercept [] or [o])."""
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    xm, ym = X.mean(0), Y.mean(0)
    Xc = X - xm
    beta = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(X.shape[1]), Xc.T @ (Y - ym))
    return beta, ym - xm @ beta


def _r2(Y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """R² of every column of Y [N, o] against pred [N, o]. -> [o]."""
    return 1 - ((Y - pred) ** 2).sum(0) / ((Y - Y.mean(0)) ** 2).sum(0)


def r2_in_sample(
    X: np.ndarray, Y: np.ndarray, alpha: float = 1.0, pooled: bool = True
) -> float | np.ndarray:
    """In-sample R² of a ridge fit, clipped at 0 as in the paper's code. Y [N] -> float; Y [N, o] ->
    pooled float (1 − ΣSSE/ΣSST over the outputs) or, with pooled=False, one value per column [o].
    Ref: Xu 2026d, §5 (composition regression).
    """
    Y = np.asarray(Y, dtype=np.float64)
    beta, b = ridge_fit(X, Y, alpha)
    pred = np.asarray(X, dtype=np.float64) @ beta + b
    return _score(Y, pred, pooled, clip=True)


def _score(Y, pred, pooled: bool, clip: bool):
    if Y.ndim == 1 or pooled:
        r2 = 1 - ((Y - pred) ** 2).sum() / ((Y - Y.mean(0)) ** 2).sum()
        return float(max(r2, 0.0)) if clip else float(r2)
    r2 = _r2(Y, pred)
    return np.clip(r2, 0, None) if clip else r2


def kfold(n: int, K: int, seed: int) -> np.ndarray:
    """Fold label 0…K−1 of every row, from a seeded shuffle (balanced sizes). -> [n] int."""
    if not 2 <= K <= n:
        raise ConfigError(f"K={K} folds is out of range for {n} rows")
    labels = np.arange(n) % K
    return labels[np.random.default_rng(seed).permutation(n)]


def r2_cv(
    X: np.ndarray, Y: np.ndarray, folds: np.ndarray, alpha: float = 1.0, pooled: bool = True
) -> float | np.ndarray:
    """Cross-validated R² from out-of-fold ridge predictions: 1 − Σ(y − ŷ_oof)²/Σ(y − ȳ)² (not
    clipped; noise gives < 0). Y [N] or [N, o]: pooled over outputs, or per column with pooled=False
    (used to score many permuted targets with one solve per fold). Ref: Xu 2026d §5, with a
    corrected protocol (Methods: Fourier concentration).
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    pred = np.empty_like(Y)
    for k in np.unique(folds):
        tr = folds != k
        beta, b = ridge_fit(X[tr], Y[tr], alpha)
        pred[~tr] = X[~tr] @ beta + b
    return _score(Y, pred, pooled, clip=False)


def set_matrix(X: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One design matrix holding every set of feature_sets once (full = add | mul | cross, then
    focused) and the column indices of each set in it. -> (M [N, m_full + m_focused], set -> column
    indices)."""
    na, nm, nc = X["add"].shape[1], X["mul"].shape[1], X["cross"].shape[1]
    full = na + nm + nc
    idx = {
        "add": np.arange(na),
        "mul": np.arange(na, na + nm),
        "combined": np.arange(na + nm),
        "cross": np.arange(na + nm, full),
        "full": np.arange(full),
        "focused": np.arange(full, full + X["focused"].shape[1]),
    }
    return np.hstack([X["full"], X["focused"]]), idx


def subset_r2(
    M: np.ndarray,
    Y: np.ndarray,
    idx: dict[str, np.ndarray],
    alpha: float = 1.0,
    folds: Optional[np.ndarray] = None,
    pooled: bool = True,
) -> dict[str, float | np.ndarray]:
    """R² of a ridge fit (intercept, penalty α) on every column subset idx[name] of one design
    matrix M [N, m], all sharing one Gram matrix per fold: in-sample and clipped at 0 when folds is
    None (as r2_in_sample), else out-of-fold and unclipped (as r2_cv). Y [N] or [N, o]; pooled or
    per-column as in r2_cv. Same numbers as fitting every set separately, at the cost of one Gram
    matrix. -> set -> R²."""
    M, Y = np.asarray(M, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    Y2 = Y[:, None] if Y.ndim == 1 else Y
    labels = np.zeros(len(M), dtype=int) if folds is None else np.asarray(folds)
    tot = (len(M), M.sum(0), Y2.sum(0), M.T @ M, M.T @ Y2)
    pred = {k: np.empty_like(Y2) for k in idx}
    for f in np.unique(labels):
        te = labels == f
        tr = ~te if folds is not None else te
        if folds is None:
            n, sx, sy, xx, xy = tot
        else:
            Mh, Yh = M[te], Y2[te]
            n, sx, sy, xx, xy = (
                tot[0] - te.sum(),
                tot[1] - Mh.sum(0),
                tot[2] - Yh.sum(0),
                tot[3] - Mh.T @ Mh,
                tot[4] - Mh.T @ Yh,
            )
        xm, ym = sx / n, sy / n
        Gxx, Gxy = xx - n * np.outer(xm, xm), xy - n * np.outer(xm, ym)
        for k, c in idx.items():
            beta = np.linalg.solve(Gxx[np.ix_(c, c)] + alpha * np.eye(len(c)), Gxy[c])
            pred[k][te] = M[te][:, c] @ beta + (ym - xm[c] @ beta)
    out = {k: _score(Y2, v, pooled, clip=folds is None) for k, v in pred.items()}
    return {k: (v if Y.ndim > 1 or pooled else float(v[0])) for k, v in out.items()}


def ratios(r2: dict[str, float]) -> dict[str, float]:
    """Every ratio the code leaves open and the synergy: cross/add, cross/mul, full/combined,
    full/max(add, mul), combined/max(add, mul), synergy = combined − max(add, mul)."""
    mx = max(r2["add"], r2["mul"])
    div = lambda a, b: (
        a / b if b > 0 else np.inf
    )  # noqa: E731 - zero R² denominators give ∞, not an error
    if "cross" not in r2:  # only the synergy needs no cross terms
        return {"combined/max": div(r2["combined"], mx), "synergy": r2["combined"] - mx}
    return {
        "cross/add": div(r2["cross"], r2["add"]),
        "cross/mul": div(r2["cross"], r2["mul"]),
        "full/combined": div(r2["full"], r2["combined"]),
        "full/max": div(r2["full"], mx),
        "combined/max": div(r2["combined"], mx),
        "synergy": r2["combined"] - mx,
    }


def as_coded_r2(
    pairs, y: np.ndarray, p: int, alpha: float = 1.0, sets: Sequence[str] = SETS, **features
) -> dict[str, float]:
    """In-sample R² of the named sets exactly as the code does it: `add` on all rows, the other sets
    on the rows with a, b ≠ 0. pairs [N, 2], y [N] or [N, o] (pooled); `features` go to
    feature_sets. -> set -> R².
    """
    ab = np.asarray(pairs)
    nz = (ab % p != 0).all(1)
    M, idx = set_matrix(feature_sets(ab[nz], p, **features))
    out = subset_r2(M, y[nz], {k: idx[k] for k in sets if k != "add"}, alpha)
    if "add" in sets:
        out["add"] = r2_in_sample(additive_features(ab, p), y, alpha)
    return {k: out[k] for k in sets}


def permutation_null_cv(
    X: np.ndarray, y: np.ndarray, folds: np.ndarray, n_perm: int, seed: int, alpha: float = 1.0
) -> np.ndarray:
    """CV R² of `n_perm` random permutations over the inputs of every scalar target, all scored with
    one multi-output solve per fold. y [N] -> [n_perm]; y [N, k] (k targets, each permuted
    independently) -> [k, n_perm]. Ref: Xu 2026d spec.x2y2-cross-terms (permuted-target null)."""
    rng = np.random.default_rng(seed)
    Y = np.asarray(y, dtype=np.float64)
    cols = Y[:, None] if Y.ndim == 1 else Y
    P = np.stack([rng.permutation(c) for c in cols.T for _ in range(n_perm)], 1)  # [N, k·n_perm]
    r2 = subset_r2(X, P, {"X": np.arange(X.shape[1])}, alpha, folds, pooled=False)["X"].reshape(
        cols.shape[1], n_perm
    )
    return r2[0] if Y.ndim == 1 else r2


# ── multitask comparison (Xu 2026d, §6 (multitask comparison)) ──


def regenerated_test_pairs(p: int, seed: int, train_frac: float = 0.5) -> np.ndarray:
    """The inputs the paper's multitask script uses: all p² pairs in lexicographic order, shuffled
    with Python's random.Random(seed), the part after the first ⌊train_frac·p²⌋ (p = 97: 4705 pairs,
    zeros included; not the tritask model's own split). -> [N, 2] int64."""
    import random

    pairs = [(a, b) for a in range(p) for b in range(p)]
    random.Random(seed).shuffle(pairs)
    return np.array(pairs[int(train_frac * len(pairs)) :], dtype=np.int64)


@torch.no_grad()
def head_logit_field(
    cfg: RunConfig,
    theta: np.ndarray,
    direction_attn: np.ndarray,
    pairs,
    task: int,
    rel_eps: float = 0.005,
) -> np.ndarray:
    """Task-specific field: ‖Δ logits of head `task`‖² under θ + ε v̂ (ε = rel_eps·‖θ_attn‖, v̂
    placed in the attention coordinates as in spectral.perturbation_field). direction_attn [k,
    n_attn], pairs [N, 2] -> [k, N] float64. Ref: Xu 2026d spec.multitask-inherits-add, corrected
    protocol (iii)."""
    D = np.atleast_2d(np.asarray(direction_attn, dtype=np.float64))
    D = D / np.linalg.norm(D, axis=1, keepdims=True)
    th = np.asarray(theta, dtype=np.float64)
    T = np.repeat(th[None], len(D) + 1, 0)  # row 0 = unperturbed
    eps = rel_eps * float(np.linalg.norm(attn_of(th, cfg)))
    for o, g, n in attn_offsets(cfg):
        T[1:, o : o + n] += eps * D[:, g : g + n]
    x = torch.as_tensor(np.asarray(pairs), dtype=torch.int64)
    z = forward(torch.as_tensor(T, dtype=torch.float32), cfg, x.expand(len(T), -1, -1))[
        :, :, task
    ].double()
    return ((z[1:] - z[:1]) ** 2).sum(-1).numpy()


def edge_fields(
    run,
    step: int,
    pairs,
    W: int = 20,
    n_dirs: int = 5,
    rel_eps: float = 0.005,
    heads: Sequence[tuple[str, str]] = (),
) -> tuple[dict[str, np.ndarray], object, np.ndarray]:
    """Edge of the centred W-update window ending at `step` (spectral.update_window/edge), the
    checkpoint θ at that step, and the fields of v1…v_n_dirs on pairs [N, 2]: "resid" = ‖Δh‖² of the
    position-0 residual (the perturbation field) plus "<label> head" = ‖Δ logits‖² of the head of op
    `op` for every (label, op) in `heads`. -> ({kind: [k, N]}, Edge, θ [P]). Ref: Xu 2026d, §6
    (multitask comparison), spec.multitask-inherits-add (iii).
    """
    E = edge(update_window(run.snapshot_steps, run.snapshots["attn"], step, W)[0], n_dirs)
    th = checkpoint_at(run, step)
    f = {"resid": field(perturbation_field(run.config, th, E.V, pairs, rel_eps))}
    f |= {
        f"{lab} head": head_logit_field(
            run.config, th, E.V, pairs, run.config.ops.index(op), rel_eps
        )
        for lab, op in heads
    }
    return f, E, th
