"""Measurements on recorded runs. Pure functions: arrays in, numbers or small results out, float64 inside.

Ref: curvature.md M2 (trajectory PCA, centred), holographic.md "Trajectory PCA (uncentered)",
curvature.md curv.pc1-vs-random-walk (matched random-walk null).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .config import RunConfig
from .model import group_slices


def first_sustained(steps: np.ndarray, values: np.ndarray, threshold: float, patience: int) -> Optional[int]:
    """Step of the `patience`-th consecutive entry with value >= threshold (the papers' stop rule reports
    the step of the last of the consecutive evals); None if it never happens. steps/values [E]."""
    run = 0
    for s, v in zip(steps, values):
        run = run + 1 if v >= threshold else 0
        if run >= patience:
            return int(s)
    return None


def explained_variance(X: np.ndarray, centered: bool = True) -> np.ndarray:
    """Share of the total variance carried by each principal component of the rows of X.
    X [T, n] (one snapshot per row) -> [min(T, n)] ratios in decreasing order, summing to 1.
    Uses the T x T Gram matrix, so n may be large."""
    X = np.asarray(X, dtype=np.float64)
    if centered:
        X = X - X.mean(0, keepdims=True)
    eig = np.clip(np.linalg.eigvalsh(X @ X.T)[::-1], 0, None)   # σ_i², decreasing
    total = eig.sum()
    if total == 0:
        raise ValueError("explained_variance: the trajectory does not move (all snapshots equal)")
    return eig / total


def pc1_share(X: np.ndarray, centered: bool = True) -> float:
    """PC1 share of a trajectory X [T, n] (rows = snapshots)."""
    return float(explained_variance(X, centered)[0])


def matrix_trajectories(snapshots: np.ndarray, cfg: RunConfig, group: str = "attn",
                        relative_to_first: bool = True) -> dict[str, np.ndarray]:
    """Split group snapshots [S, n_group] into one flattened trajectory per matrix, name -> [S, n_matrix],
    optionally as M_t - M_0 (curvature.md M2 step 2)."""
    out = {}
    for name, (off, shape) in group_slices(cfg, group).items():
        traj = snapshots[:, off:off + math.prod(shape)].astype(np.float64)
        out[name] = traj - traj[:1] if relative_to_first else traj
    return out


def per_matrix_pc1(snapshots: np.ndarray, cfg: RunConfig, group: str = "attn") -> dict[str, float]:
    """Centred PC1 share (in [0, 1]) of every matrix's trajectory. Ref: curvature.md M2."""
    return {name: pc1_share(t) for name, t in matrix_trajectories(snapshots, cfg, group).items()}


def random_walk_pc1(step_norms: np.ndarray, dim: int, trials: int, seed: int) -> np.ndarray:
    """PC1 shares of `trials` synthetic walks in R^dim whose i-th step is an isotropic Gaussian direction
    scaled to step_norms[i], starting at 0, centred before PCA. Ref: curvature.md pc1-vs-random-walk.
    step_norms [T-1] -> [trials]."""
    rng = np.random.default_rng(seed)
    out = np.empty(trials)
    for k in range(trials):
        steps = rng.standard_normal((len(step_norms), dim))
        steps *= (np.asarray(step_norms, dtype=np.float64) / np.linalg.norm(steps, axis=1))[:, None]
        walk = np.vstack([np.zeros((1, dim)), np.cumsum(steps, axis=0)])
        out[k] = pc1_share(walk)
    return out


def step_norms(traj: np.ndarray) -> np.ndarray:
    """Norms of consecutive differences of a trajectory. [T, n] -> [T-1]."""
    return np.linalg.norm(np.diff(np.asarray(traj, dtype=np.float64), axis=0), axis=1)


def expanding_pc1(traj: np.ndarray, n_points: int = 15, min_len: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """PC1 share of the first t snapshots for evenly spaced t (curvature.md figF).
    traj [T, n] -> (t values [k], shares [k])."""
    T = len(traj)
    ts = np.unique(np.linspace(max(min_len, T // n_points), T, n_points).astype(int))
    return ts, np.array([pc1_share(traj[:t]) for t in ts])


@dataclass(frozen=True)
class Spread:
    """Mean, std and range of a quantity over seeds (or other repeats)."""
    mean: float
    std: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values) -> "Spread":
        v = np.asarray(list(values), dtype=np.float64)
        if v.size == 0:
            raise ValueError("Spread.of: no values")
        return cls(float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, float(v.min()), float(v.max()),
                   int(v.size))

    def fmt(self, scale: float = 1.0, digits: int = 1) -> str:
        return (f"{self.mean * scale:.{digits}f} ± {self.std * scale:.{digits}f} "
                f"(range {self.min * scale:.{digits}f}–{self.max * scale:.{digits}f}, n={self.n})")


def grok_summary(runs, task: int = 0) -> list[dict]:
    """Per run: its op/seed/λ/lr, memorisation step (train >= 0.99), R90 (first test >= 0.90), the run's
    grok rule step (test >= threshold at `patience` consecutive evals; R98 by default), best test acc."""
    rows = []
    for r in runs:
        c = r.config
        rows.append({"op": c.ops[task], "seed": c.seed, "weight_decay": c.weight_decay, "lr": c.lr,
                     "train_frac": c.train_frac, "memorised": r.memorised_step(task),
                     "R90": r.grok_step(task, threshold=0.90, patience=1), "grok": r.grok_step(task),
                     "best_test_acc": float(r.test_acc[:, task].max()), "final_step": r.final_step})
    return rows
