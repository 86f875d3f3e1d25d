"""Representation-level checks of spectral-edge directions: where a direction sits among the
attention heads, how many residual-stream dimensions its perturbation moves, and whether a sparse
autoencoder (SAE) singles it out. Pure functions: arrays in, numbers or small results out, float64
measures.

The attention vector θ_attn concatenates, per layer, W_Q, W_K, W_V, W_O (each d_model × d_model,
row-major; model.group_slices(cfg, "attn")). Head h of a layer owns rows h·d_head … (h+1)·d_head − 1
of W_Q, W_K, W_V and the same columns of W_O. Ref: Xu 2026d, §4 (representation analyses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from grokbook.training.config import RunConfig
from grokbook.training.model import group_slices
from grokbook.measures.ranks import entropy_rank
from grokbook.measures.subspaces import accuracy_at

# ── head attribution (Xu 2026d, §4 (representation analyses) "Head attribution") ──


def head_index(cfg: RunConfig) -> tuple[np.ndarray, np.ndarray]:
    """Owner of every θ_attn coordinate: (block [n_attn] in 0 … n_layers·n_heads − 1, block =
    layer·n_heads + head; part [n_attn] in 0 … 3 for Q, K, V, O). Ref: Xu 2026d, §4 (representation
    analyses)."""
    d, H, dh = cfg.d_model, cfg.n_heads, cfg.d_head
    rows = np.repeat(np.arange(d) // dh, d).reshape(d, d)  # [d, d] head of each row
    cols = rows.T  # [d, d] head of each column
    block, part = [], []
    for name, (_, shape) in group_slices(cfg, "attn").items():
        layer, kind = int(name.split(".")[0][1:]), "QKVO".index(name[-1])
        owner = cols if kind == 3 else rows
        block.append((layer * H + owner).reshape(-1))
        part.append(np.full(math.prod(shape), kind))
    return np.concatenate(block), np.concatenate(part)


def head_masses(v: np.ndarray, cfg: RunConfig) -> np.ndarray:
    """Share of ‖v_k‖² in every (layer, head) block. v [k, n_attn] -> [k, n_layers·n_heads], rows
    sum to 1."""
    block, _ = head_index(cfg)
    sq = np.asarray(v, dtype=np.float64) ** 2  # [k, n_attn]
    m = np.stack([np.bincount(block, weights=s, minlength=cfg.n_layers * cfg.n_heads) for s in sq])
    return m / m.sum(1, keepdims=True)


def purity(masses: np.ndarray) -> np.ndarray:
    """Largest block share per direction (uniform spread = 1/n_blocks). masses [k, n_blocks] ->
    [k]."""
    return np.asarray(masses).max(1)


def qk_vo_mass(v: np.ndarray, cfg: RunConfig) -> np.ndarray:
    """Share of ‖v_k‖² in W_Q + W_K versus W_V + W_O. v [k, n_attn] -> [k, 2] (columns QK, VO)."""
    _, part = head_index(cfg)
    sq = np.asarray(v, dtype=np.float64) ** 2
    qk = sq[:, part < 2].sum(1)
    return np.stack([qk, sq.sum(1) - qk], 1) / sq.sum(1, keepdims=True)


# ── activation rank (Xu 2026d, §4 (representation analyses) "Activation rank") ──


def energy_spectrum(dh: np.ndarray) -> np.ndarray:
    """Shares s_i²/Σ s_j² of the singular values of a field matrix. dh [N, d] -> [min(N, d)],
    decreasing."""
    s = np.linalg.svd(np.asarray(dh, dtype=np.float64), compute_uv=False)
    return s**2 / (s**2).sum()


def effective_rank(dh: np.ndarray) -> float:
    """exp of the entropy of the energy spectrum, r_eff = exp(−Σ q_i log q_i), q_i = s_i²/Σ s_j²
    (the entropy rank of ranks.entropy_rank applied to s², not to s). dh [N, d] -> float in [1,
    d]."""
    return entropy_rank(energy_spectrum(dh))


def top_energy(dh: np.ndarray, k: int) -> float:
    """Share of the energy in the top-k singular directions. dh [N, d] -> float."""
    return float(energy_spectrum(dh)[:k].sum())


# ── top-k sparse autoencoder (Xu 2026d, §4 (representation analyses) "Sparse autoencoder") ──


@dataclass
class SAE:
    """A trained top-k SAE: z = topk(relu-clipped) of W_enc (h − b_pre) + b_enc, ĥ = W_dec z +
    b_pre."""

    b_pre: torch.Tensor  # [d]
    W_enc: torch.Tensor  # [L, d]
    b_enc: torch.Tensor  # [L]
    W_dec: torch.Tensor  # [d, L], unit columns
    k: int
    losses: np.ndarray  # [epochs] mean training MSE per epoch


def sae_encode(sae: SAE, h) -> torch.Tensor:
    """Sparse codes: the k largest pre-activations kept (negatives clipped to 0), the rest 0. h [N,
    d] -> [N, L]."""
    pre = (torch.as_tensor(h, dtype=torch.float32) - sae.b_pre) @ sae.W_enc.T + sae.b_enc
    val, idx = pre.topk(sae.k, dim=1)
    return torch.zeros_like(pre).scatter_(1, idx, val.clamp(min=0))


def sae_decode(sae: SAE, z: torch.Tensor) -> torch.Tensor:
    """Reconstruction. z [N, L] -> [N, d]."""
    return z @ sae.W_dec.T + sae.b_pre


def train_sae(
    H,
    n_latents: int = 512,
    k: int = 32,
    epochs: int = 300,
    lr: float = 3e-4,
    batch: int = 256,
    seed: int = 0,
) -> SAE:
    """Top-k SAE trained as in the paper's code: learned pre-bias, encoder/decoder N(0, 0.02²),
    decoder columns renormalised to unit norm after every step, MSE, Adam, shuffled minibatches from
    a generator seeded with `seed` (the global RNG is untouched). H [N, d]. Ref: Xu 2026d, §4
    (representation analyses)."""
    H = torch.as_tensor(np.asarray(H), dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    N, d = H.shape
    p = {
        "b_pre": torch.zeros(d),
        "W_enc": torch.randn(n_latents, d, generator=g) * 0.02,
        "b_enc": torch.zeros(n_latents),
        "W_dec": torch.randn(d, n_latents, generator=g) * 0.02,
    }
    with torch.no_grad():
        p["W_dec"] /= p["W_dec"].norm(dim=0, keepdim=True)
    for t in p.values():
        t.requires_grad_(True)
    opt = torch.optim.Adam(p.values(), lr=lr)
    sae = SAE(**p, k=k, losses=np.zeros(epochs))
    for e in range(epochs):
        perm, total = torch.randperm(N, generator=g), 0.0
        for s in range(0, N, batch):
            x = H[perm[s : s + batch]]
            loss = ((sae_decode(sae, sae_encode(sae, x)) - x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                p["W_dec"] /= p["W_dec"].norm(dim=0, keepdim=True)
            total += float(loss.detach()) * len(x)
        sae.losses[e] = total / N
    for t in p.values():
        t.requires_grad_(False)
    return sae


@dataclass(frozen=True)
class SAEQuality:
    """How well an SAE fits its data: MSE, MSE relative to the data variance, mean number of active
    latents."""

    mse: float
    # MSE / mean squared deviation of H from its mean (0 = perfect, 1 = predicts the mean)
    relative_mse: float
    active: float  # mean number of latents > 0 per input


@torch.no_grad()
def sae_quality(sae: SAE, H) -> SAEQuality:
    """Reconstruction error and sparsity of an SAE on H [N, d]."""
    H = torch.as_tensor(np.asarray(H), dtype=torch.float32)
    z = sae_encode(sae, H)
    mse = float(((sae_decode(sae, z) - H) ** 2).mean())
    return SAEQuality(
        mse, mse / float(((H - H.mean(0)) ** 2).mean()), float((z > 0).sum(1).float().mean())
    )


@torch.no_grad()
def top_latents(sae: SAE, H, dH, n: int = 20) -> np.ndarray:
    """The n latents whose codes move most (mean |z(h + Δh) − z(h)| over inputs). H, dH [N, d] ->
    [n] indices."""
    H = torch.as_tensor(np.asarray(H), dtype=torch.float32)
    dz = (
        sae_encode(sae, H + torch.as_tensor(np.asarray(dH), dtype=torch.float32))
        - sae_encode(sae, H)
    ).abs()
    return dz.mean(0).topk(n).indices.numpy()


def jaccard(a, b) -> float:
    """|A ∩ B| / |A ∪ B| of two index sets."""
    a, b = set(np.asarray(a).tolist()), set(np.asarray(b).tolist())
    return len(a & b) / len(a | b)


def combinatorial_jaccard(k: int, D: int) -> float:
    """Expected-overlap Jaccard of two random k-subsets of D items, (k²/D)/(2k − k²/D). Ref: Xu
    2026d, §4 (representation analyses)."""
    inter = k * k / D
    return inter / (2 * k - inter)


def null_p_value(null: np.ndarray, observed) -> float:
    """Share of null values ≥ the smallest observed value (the paper's one-sided p). -> float in [0,
    1]."""
    return float((np.asarray(null) >= np.min(observed)).mean())


# ── angle-matched direction pairs (Xu 2026d §4, our angle matching) ──


def field_angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle (degrees, in [0, 90]) between two flattened fields Δh_a, Δh_b [N, d] (sign-free, as the
    SAE overlap is)."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    c = abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.degrees(np.arccos(min(c, 1.0))))


def pair_at_angle(u: np.ndarray, w: np.ndarray, degrees: float) -> np.ndarray:
    """Unit vector at `degrees` from the unit vector u, in the plane of u and w: cos φ·u + sin φ·w⊥.
    u, w [n] -> [n]."""
    u = u / np.linalg.norm(u)
    w = w - (w @ u) * u
    phi = np.radians(degrees)
    return np.cos(phi) * u + np.sin(phi) * w / np.linalg.norm(w)


def matched_theta_angle(
    field_u: np.ndarray, field_w: np.ndarray, target: float, grid: int = 9001
) -> float:
    """θ-space angle φ (degrees) of the pair (u, cos φ·u + sin φ·w) whose linearised field pair is
    `target` degrees apart: field(cos φ u + sin φ w) ≈ cos φ·field_u + sin φ·field_w. field_u,
    field_w [N, d] must be the fields of u and of w ⊥ u. Ref: Xu 2026d §4 (we match the measured Δh
    angle, not 45° in θ).
    """
    a, b = np.ravel(field_u).astype(np.float64), np.ravel(field_w).astype(np.float64)
    aa, ab, bb = a @ a, a @ b, b @ b
    phi = np.linspace(0, np.pi / 2, grid)
    c, s = np.cos(phi), np.sin(phi)
    cos_x = np.abs(c * aa + s * ab) / np.sqrt(aa * (c * c * aa + 2 * c * s * ab + s * s * bb))
    ang = np.degrees(np.arccos(np.clip(cos_x, 0, 1)))
    return float(np.degrees(phi[np.argmin(np.abs(ang - target))]))


# ── phase windows and checkpoints (Xu 2026d, §4 (representation analyses) "four phase windows") ──

PHASES = ("early", "memorisation", "transition", "post-grok")


def phase_ends(
    run, W: int = 20, task: int = 0, last_step: Optional[int] = None, min_rows: int = 3
) -> dict[str, Optional[int]]:
    """Window-end step of every phase of the representation analyses, on updates i = 1…n labelled
    with step s_i (accuracy of the latest evaluation at or before s_i), counting only updates with
    s_i <= last_step (default: all): early = update index max(W, n/10); memorisation = middle of the
    indices with train > 0.8 and test < 0.3; transition = index nearest the first test > 0.5;
    post-grok = t*, the last index with test > 0.95. None where a phase never happens or its window
    would hold fewer than `min_rows` updates (spectral.update_window's floor). Ref: Xu 2026d, §4
    (representation analyses); Methods: spectral edge."""
    steps = np.asarray(run.snapshot_steps)[1:]
    if last_step is not None:
        steps = steps[steps <= last_step]
    n = len(steps)
    train, test = accuracy_at(run, steps, task)
    mem = np.flatnonzero((train > 0.8) & (test < 0.3))
    trans, post = np.flatnonzero(test > 0.5), np.flatnonzero(test > 0.95)
    pick = lambda idx: (
        int(steps[idx]) if idx is not None and idx + 1 >= min_rows else None
    )  # noqa: E731
    return {
        "early": pick(min(max(W, n // 10), n) - 1 if n else None),
        "memorisation": pick(mem[len(mem) // 2] if len(mem) else None),
        "transition": pick(trans[0] if len(trans) else None),
        "post-grok": pick(post[-1] if len(post) else None),
    }


def checkpoint_at(run, step: int) -> np.ndarray:
    """Full θ stored at the snapshot nearest `step` (needs snapshot group "all"). -> [P] float32."""
    j = int(np.argmin(np.abs(np.asarray(run.snapshot_steps) - step)))
    return np.asarray(run.snapshots["all"][j])
