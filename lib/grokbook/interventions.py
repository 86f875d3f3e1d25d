"""Training interventions, applied through the trainer's hook (train.StackView): no second training loop.

Ref: curvature.md curv.suppression-dose-response (g ← B Bᵀ g + (1 − s)(g − B Bᵀ g) from step 500 on).
"""
from __future__ import annotations

import hashlib

import torch
from torch import Tensor

from .train import StackView


class SubspaceSuppression:
    """Scale the gradient component outside (or inside) a per-run orthonormal basis by (1 − s).

    bases [N, P, K] (orthonormal columns), strengths [N]: row i of the caller's config list uses bases[i] and
    strengths[i]. part="orthogonal" damps g − BBᵀg (the paper's rule); part="parallel" damps BBᵀg (the
    complement control). Acts at steps >= start, after clipping and before AdamW."""

    def __init__(self, bases: Tensor, strengths, *, start: int = 500, part: str = "orthogonal", label: str = ""):
        if part not in ("orthogonal", "parallel"):
            raise ValueError(f"part={part!r}; must be 'orthogonal' or 'parallel'")
        self.bases = bases.float()
        self.strengths = torch.as_tensor(strengths, dtype=torch.float32)
        if self.strengths.shape != (len(bases),) or not ((0 <= self.strengths) & (self.strengths <= 1)).all():
            raise ValueError("strengths: one value in [0, 1] per basis")
        self.start, self.part = start, part
        digest = hashlib.sha256(self.bases.numpy().tobytes() + self.strengths.numpy().tobytes()).hexdigest()[:16]
        self.key = f"suppress:{part}:start={start}:{label}:{digest}"

    def __call__(self, step: int, grad: Tensor, view: StackView) -> None:
        if step < self.start:
            return
        B = self.bases.to(grad.device)[view.rows]                                      # [R, P, K]
        s = self.strengths.to(grad.device)[view.rows].unsqueeze(1)                      # [R, 1]
        inside = torch.einsum("rpk,rk->rp", B, torch.einsum("rpk,rp->rk", B, grad))     # B Bᵀ g
        grad.sub_(s * (grad - inside if self.part == "orthogonal" else inside))
