"""Bottom of the loss Hessian by Lanczos on Hessian-vector products (Xu 2026b
multi.curvature-depth).

H v is formed by double backprop through grokbook.model.forward (never a dense Hessian): one
gradient with create_graph=True per checkpoint, then one extra backward pass of g·v per product.
Lanczos keeps every Krylov vector and re-orthogonalises against all of them (full
reorthogonalisation, as the paper's code does), so its Ritz values are those of an exact Krylov
projection even in float32 gradients. The Krylov vectors are kept in float64; the network is
evaluated in θ's dtype.

Ref: Xu 2026b multi.curvature-depth, Protocol (hessian_analysis.py: random unit start vector, 25
iterations, bottom 5 Ritz values; loss = sum of task CEs or one task; 512 distinct train pairs per
checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from grokbook.training.config import RunConfig
from grokbook.training.model import forward, task_losses

MatVec = Callable[[Tensor], Tensor]  # v [P] float64 -> H v [P] float64


def loss_fn(
    cfg: RunConfig, x: Tensor, y: Tensor, task: Optional[int] = None
) -> Callable[[Tensor], Tensor]:
    """θ [P] -> scalar loss on a fixed batch x [B, 2], y [B, T]: the sum of the per-task mean CEs
    (task=None, the paper's "total") or one task's mean CE."""

    def f(theta: Tensor) -> Tensor:
        losses = task_losses(forward(theta.unsqueeze(0), cfg, x.unsqueeze(0)), y.unsqueeze(0))[
            0
        ]  # [T]
        return losses.sum() if task is None else losses[task]

    return f


def hvp(f: Callable[[Tensor], Tensor], theta: Tensor) -> MatVec:
    """Hessian-vector products of a scalar function f at θ [P] by double backprop. The gradient
    graph is built once and reused for every product. -> v [P] -> H v [P] (float64)."""
    th = theta.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(f(th), th, create_graph=True)

    def matvec(v: Tensor) -> Tensor:
        with torch.enable_grad():
            (hv,) = torch.autograd.grad(g, th, grad_outputs=v.to(g.dtype), retain_graph=True)
        return hv.detach().double()

    return matvec


@dataclass(frozen=True)
class LanczosResult:
    ritz: np.ndarray  # [m] eigenvalues of the tridiagonal matrix, ascending
    alpha: np.ndarray  # [m] diagonal of T
    beta: np.ndarray  # [m-1] off-diagonal of T
    residual: (
        np.ndarray
    )  # [m] |β_m · last component of each Ritz vector| (a posteriori error bound)


def lanczos(
    matvec: MatVec,
    n: int,
    iters: int,
    seed: int = 0,
    start: Optional[Tensor] = None,
    device: str = "cpu",
    breakdown: float = 1e-10,
) -> LanczosResult:
    """Lanczos tridiagonalisation of a symmetric operator on R^n with full reorthogonalisation
    (every new vector is orthogonalised twice against all previous ones). Random unit start vector
    from a generator seeded with `seed` (or `start`). Stops early at an invariant subspace (β <
    breakdown · ‖T‖). -> Ritz values of the m ≤ min(iters, n) step tridiagonal matrix, ascending,
    with their residual bounds. Ref: Xu 2026b multi.curvature-depth (Lanczos with full
    reorthogonalisation)."""
    m = min(iters, n)
    if start is None:
        start = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    q = start.to(device=device, dtype=torch.float64)
    q = q / q.norm()
    Q = torch.zeros(m, n, dtype=torch.float64, device=device)
    alpha, beta = [], []
    for j in range(m):
        Q[j] = q
        w = matvec(q)
        alpha.append(float(w @ q))
        for _ in range(2):  # full reorthogonalisation, twice
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = float(w.norm())
        scale = max(abs(a) for a in alpha) + (max(beta) if beta else 0.0)
        if j == m - 1 or b <= breakdown * max(scale, 1e-300):
            break
        beta.append(b)
        q = w / b
    a, b = np.array(alpha), np.array(beta[: len(alpha) - 1])
    T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
    ritz, vecs = np.linalg.eigh(T)
    last_beta = float(w.norm())
    return LanczosResult(ritz, a, b, np.abs(last_beta * vecs[-1]))


def bottom_eigenvalues(
    cfg: RunConfig,
    theta,
    x: Tensor,
    y: Tensor,
    task: Optional[int] = None,
    iters: int = 25,
    k: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """The k smallest Ritz values of the Hessian of the total loss (task=None) or of one task's loss
    at θ [P], on the fixed batch x [B, 2], y [B, T]. -> [k] ascending (fewer if iters < k)."""
    th = torch.as_tensor(np.asarray(theta) if not torch.is_tensor(theta) else theta).to(cfg.device)
    res = lanczos(
        hvp(loss_fn(cfg, x.to(cfg.device), y.to(cfg.device), task), th),
        th.numel(),
        iters,
        seed,
        device=cfg.device,
    )
    return res.ritz[:k]


def hessian_batch(cfg: RunConfig, n: int, seed: int) -> tuple[Tensor, Tensor]:
    """n distinct training pairs of the run's own split, drawn without replacement (all of them if n
    exceeds the training set), from a generator seeded with `seed`. -> x [n, 2], y [n, T]."""
    from grokbook.training.train import run_split

    s = run_split(cfg)
    g = torch.Generator().manual_seed(seed)
    i = torch.randperm(len(s.train_x), generator=g)[:n]
    return s.train_x[i], s.train_y[i]


def checkpoint_indices(n_snapshots: int, n_max: int) -> np.ndarray:
    """At most n_max indices evenly spread over 0..n_snapshots-1 (np.linspace, first and last kept,
    no repeats). Ref: Xu 2026b multi.curvature-depth (checkpoints subsampled to ≤ 30 with
    linspace)."""
    return np.unique(np.linspace(0, n_snapshots - 1, min(n_max, n_snapshots)).round().astype(int))


def curvature_trace(
    cfg: RunConfig,
    steps: Sequence[int],
    thetas,
    x: Tensor,
    y: Tensor,
    modes: Sequence[Optional[int]] = (None,),
    iters: int = 25,
    k: int = 5,
    seed: int = 0,
) -> list[dict]:
    """λ_min (and the bottom k Ritz values) of every checkpoint and loss mode. thetas [C, P] at
    `steps` [C]; modes: None = total loss, t = task t alone. One row per (checkpoint, mode): step,
    mode ("total" or the op name), lam_min, ritz (list). The Lanczos start vector is seeded by
    (seed, checkpoint index).
    """
    rows = []
    for c, (step, theta) in enumerate(zip(steps, thetas)):
        for mode in modes:
            ev = bottom_eigenvalues(cfg, theta, x, y, mode, iters, k, seed=seed * 100_003 + c)
            rows.append(
                {
                    "step": int(step),
                    "mode": "total" if mode is None else cfg.ops[mode],
                    "lam_min": float(ev[0]),
                    "ritz": [float(e) for e in ev],
                }
            )
    return rows
