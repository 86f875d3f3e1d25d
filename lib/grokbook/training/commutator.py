"""Commutator defect of two mini-batch SGD steps (Xu 2026a; book Methods,
methods-commutator-defect), batched over a stack of runs.

For batches A and B and a probe step η: θ_AB = θ − η g_A(θ) − η g_B(θ − η g_A(θ)), θ_BA likewise
with A and B swapped, δ = θ_AB − θ_BA and D = ‖δ‖ / (‖η g_A‖ ‖η g_B‖). To leading order δ ≈ η² (H_B
g_A − H_A g_B), so D measures curvature that does not commute, relative to the gradient scale. g is
the gradient of the plain mean cross-entropy (no weight decay, no clipping, no Adam). Runs whose
gradient vanishes get D = NaN (missing), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from grokbook.training.config import RunConfig
from grokbook.training.model import forward, task_losses

GradFn = Callable[[Tensor], Tensor]  # θ [R, P] -> gradient [R, P]


@dataclass(frozen=True)
class Commutator:
    delta: Tensor  # [R, P] θ_AB − θ_BA
    defect: Tensor  # [R] D (NaN where a gradient is exactly zero)
    delta_norm: Tensor  # [R] ‖δ‖
    grad_a_norm: Tensor  # [R] ‖g_A‖
    grad_b_norm: Tensor  # [R] ‖g_B‖
    cos_ab: Tensor  # [R] cos(g_A, g_B)


def commutator(grad_a: GradFn, grad_b: GradFn, theta: Tensor, eta: float) -> Commutator:
    """Commutator defect of two gradient fields at θ [R, P] (one row per run). Ref: Xu 2026a,
    commutator defect; Methods: methods-commutator-defect."""
    ga, gb = grad_a(theta), grad_b(theta)
    theta_ab = theta - eta * ga - eta * grad_b(theta - eta * ga)
    theta_ba = theta - eta * gb - eta * grad_a(theta - eta * gb)
    delta = theta_ab - theta_ba
    na, nb, nd = ga.norm(dim=1), gb.norm(dim=1), delta.norm(dim=1)
    scale = (eta * na) * (eta * nb)
    defect = torch.where(scale > 0, nd / scale.clamp_min(torch.finfo(scale.dtype).tiny), torch.nan)
    cos = (ga * gb).sum(1) / (na * nb).clamp_min(torch.finfo(na.dtype).tiny)
    return Commutator(delta, defect, nd, na, nb, cos)


def batch_gradient(cfg: RunConfig, x: Tensor, y: Tensor) -> GradFn:
    """θ -> gradient of the summed per-task mean cross-entropy on a fixed batch per run.
    x [R, B, 2], y [R, B, n_tasks] -> GradFn on θ [R, P]."""

    def grad(theta: Tensor) -> Tensor:
        with torch.enable_grad():
            th = theta.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(task_losses(forward(th, cfg, x), y).sum(), th)
        return g

    return grad
