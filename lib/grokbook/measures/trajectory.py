"""Measurements on recorded runs. Pure functions: arrays in, numbers or small results out, float64
inside.

Ref: Xu 2026a, Methods: trajectory PCA (trajectory PCA, centred), Xu 2026c "Trajectory PCA
(uncentered)", Xu 2026a curv.pc1-vs-random-walk (matched random-walk null).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from grokbook.training.config import RunConfig
from grokbook.training.model import group_slices


def explained_variance(X: np.ndarray, centered: bool = True) -> np.ndarray:
    """Share of the total variance carried by each principal component of the rows of X.
    X [T, n] (one snapshot per row) -> [min(T, n)] ratios in decreasing order, summing to 1.
    Uses the T x T Gram matrix, so n may be large."""
    X = np.asarray(X, dtype=np.float64)
    if centered:
        X = X - X.mean(0, keepdims=True)
    eig = np.clip(np.linalg.eigvalsh(X @ X.T)[::-1], 0, None)  # σ_i², decreasing
    total = eig.sum()
    if total == 0:
        raise ValueError("explained_variance: the trajectory does not move (all snapshots equal)")
    return eig / total


def pc1_share(X: np.ndarray, centered: bool = True) -> float:
    """PC1 share of a trajectory X [T, n] (rows = snapshots)."""
    return float(explained_variance(X, centered)[0])


def matrix_trajectories(
    snapshots: np.ndarray, cfg: RunConfig, group: str = "attn", relative_to_first: bool = True
) -> dict[str, np.ndarray]:
    """Split group snapshots [S, n_group] into one flattened trajectory per matrix, name -> [S,
    n_matrix], optionally as M_t - M_0 (Xu 2026a, Methods: trajectory PCA step 2)."""
    out = {}
    for name, (off, shape) in group_slices(cfg, group).items():
        traj = snapshots[:, off : off + math.prod(shape)].astype(np.float64)
        out[name] = traj - traj[:1] if relative_to_first else traj
    return out


def per_matrix_pc1(snapshots: np.ndarray, cfg: RunConfig, group: str = "attn") -> dict[str, float]:
    """Centred PC1 share (in [0, 1]) of every matrix's trajectory. Ref: Xu 2026a, Methods:
    trajectory PCA."""
    return {name: pc1_share(t) for name, t in matrix_trajectories(snapshots, cfg, group).items()}


def random_walk_pc1(step_norms: np.ndarray, dim: int, trials: int, seed: int) -> np.ndarray:
    """PC1 shares of `trials` synthetic walks in R^dim whose i-th step is an isotropic Gaussian
    direction scaled to step_norms[i], starting at 0, centred before PCA. Ref: Xu 2026a
    pc1-vs-random-walk. step_norms [T-1] -> [trials]."""
    rng = np.random.default_rng(seed)
    out = np.empty(trials)
    for k in range(trials):
        steps = rng.standard_normal((len(step_norms), dim))
        steps *= (np.asarray(step_norms, dtype=np.float64) / np.linalg.norm(steps, axis=1))[:, None]
        walk = np.vstack([np.zeros((1, dim)), np.cumsum(steps, axis=0)])
        out[k] = pc1_share(walk)
    return out


def random_walk_energy(
    norms: np.ndarray, dim: int, trials: int, seed: int, centred: bool = False
) -> np.ndarray:
    """PCA energy spectra of random walks in R^dim with the given step norms and isotropic
    directions, through their Gram matrix only: the Gram matrix ZZᵀ of n Gaussian vectors in
    R^dim is Wishart(dim, I_n), drawn exactly with Bartlett's decomposition (so dim may be
    millions). Rows as in compression.trajectory_basis: uncentred = the n positions after each
    step (the zero start dropped); centred = the start plus the n positions, centred. norms [n]
    -> [trials, n] (uncentred) or [trials, n + 1] (centred) energy fractions, decreasing. The null
    of the trajectory-dimension claims of Xu 2026b and 2026c; Methods: trajectory PCA."""
    rng, s = np.random.default_rng(seed), np.asarray(norms, np.float64)
    n = len(s)
    L = np.tril(np.ones((n, n)))  # positions = L @ steps
    out = []
    for _ in range(trials):
        if dim > n:
            A = np.tril(rng.standard_normal((n, n)), -1)
            A[np.diag_indices(n)] = np.sqrt(rng.chisquare(dim - np.arange(n)))
        else:  # few dimensions: draw the steps directly
            A = rng.standard_normal((n, dim))
        W = A @ A.T  # Gram of the raw Gaussian steps
        u = s / np.sqrt(np.diag(W))
        G = L @ (W * np.outer(u, u)) @ L.T  # Gram of the positions [n, n]
        if centred:
            G = np.pad(G, ((1, 0), (1, 0)))
            C = np.eye(n + 1) - 1.0 / (n + 1)
            G = C @ G @ C
        lam = np.clip(np.linalg.eigvalsh(G)[::-1], 0, None)
        out.append(lam / lam.sum())
    return np.array(out)


def step_norms(traj: np.ndarray) -> np.ndarray:
    """Norms of consecutive differences of a trajectory. [T, n] -> [T-1]."""
    return np.linalg.norm(np.diff(np.asarray(traj, dtype=np.float64), axis=0), axis=1)


def expanding_pc1(
    traj: np.ndarray, n_points: int = 15, min_len: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """PC1 share of the first t snapshots for evenly spaced t from min_len (or T, if shorter) to T
    (Xu 2026a figF). traj [T, n] -> (t values [k], shares [k]); empty for fewer than 2 snapshots."""
    T = len(traj)
    if T < 2:
        return np.array([], dtype=int), np.array([])
    ts = np.unique(np.linspace(min(max(min_len, T // n_points), T), T, n_points).astype(int))
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
        return cls(
            float(v.mean()),
            float(v.std(ddof=1)) if v.size > 1 else 0.0,
            float(v.min()),
            float(v.max()),
            int(v.size),
        )

    def fmt(self, scale: float = 1.0, digits: int = 1) -> str:
        """"mean ± s.d. (range min–max, n=…)"; one value has no spread: "value (n=1)"."""
        if self.n == 1:
            return f"{self.mean * scale:.{digits}f} (n=1)"
        return (
            f"{self.mean * scale:.{digits}f} ± {self.std * scale:.{digits}f} "
            f"(range {self.min * scale:.{digits}f}–{self.max * scale:.{digits}f}, n={self.n})"
        )


def grok_summary(runs, task: int = 0) -> list[dict]:
    """Per run: its op/seed/λ/lr, memorisation step (train >= 0.99), R90 (first test >= 0.90), the
    run's grok rule step (test >= threshold at `patience` consecutive evals; R98 by default), best
    test acc.
    """
    rows = []
    for r in runs:
        c = r.config
        rows.append(
            {
                "op": c.ops[task],
                "seed": c.seed,
                "weight_decay": c.weight_decay,
                "lr": c.lr,
                "train_frac": c.train_frac,
                "memorised": r.memorised_step(task),
                "R90": r.grok_step(task, threshold=0.90, patience=1),
                "grok": r.grok_step(task),
                "best_test_acc": float(r.test_acc[:, task].max()),
                "final_step": r.final_step,
            }
        )
    return rows


# ── PC1 concentration and its random-walk null (Xu 2026a curv.pc1-concentration,
# curv.pc1-vs-random-walk) ──

BROWNIAN_PC1 = (
    6 / math.pi**2
)  # PC1 share of a centred Brownian path in many dimensions: KL eigenvalues ∝ 1/(kπ)²


def snapshot_window(
    snapshot_steps: np.ndarray,
    snapshots: np.ndarray,
    last_step: Optional[int] = None,
    n: Optional[int] = None,
) -> np.ndarray:
    """The snapshots taken at steps <= last_step (length matching: every condition on the same
    window), then optionally thinned to n evenly spaced ones that keep the first and the last
    (snapshot-density check, the paper's pca_diagnostic.py). snapshot_steps [S], snapshots [S, m] ->
    [S', m]. Ref: Xu 2026a curv.pc1-concentration, Nulls."""
    keep = snapshots if last_step is None else snapshots[np.asarray(snapshot_steps) <= last_step]
    if n is not None and n < 2:
        raise ValueError(f"snapshot_window: n={n} must be >= 2")
    if n is not None and n < len(keep):
        keep = keep[
            np.round(np.linspace(0, len(keep) - 1, n)).astype(int)
        ]  # spacing >= 1: no repeats
    return keep


def layer_means(pc1: dict[str, float]) -> dict[str, float]:
    """Mean over the matrices of each layer: {"L0.W_Q": x, ..., "L1.W_O": y} -> {"L0": mean, "L1":
    mean}."""
    layers: dict[str, list[float]] = {}
    for name, v in pc1.items():
        layers.setdefault(name.split(".")[0], []).append(v)
    return {k: float(np.mean(v)) for k, v in layers.items()}


@dataclass(frozen=True)
class NullTest:
    """A real centred PC1 share against its matched random-walk null (shares in [0, 1])."""

    real: float
    null_mean: float
    null_std: float  # over trials, ddof 0 (the paper's np.std)
    z: float  # (real - null_mean) / null_std
    margin: float  # real - null_mean


def random_walk_test(traj: np.ndarray, trials: int, seed: int) -> NullTest:
    """Centred PC1 share of traj [T, n] against `trials` random walks with the same step norms and
    isotropic Gaussian directions (random_walk_pc1, seeded by `seed`). As in the paper's code, 1e-10
    (1e-8 on a percent scale) is added to the null std, so a null without spread gives a huge but
    finite z. Ref: Xu 2026a curv.pc1-vs-random-walk, Protocol."""
    real = pc1_share(traj)
    null = random_walk_pc1(step_norms(traj), traj.shape[1], trials, seed)
    mean, std = float(null.mean()), float(null.std())
    return NullTest(real, mean, std, (real - mean) / (std + 1e-10), real - mean)


def _run_fields(r, task: int) -> dict:
    c = r.config
    return {
        "op": c.ops[task],
        "seed": c.seed,
        "weight_decay": c.weight_decay,
        "grokked": r.grok_step(task) is not None,
        "final_step": r.final_step,
    }


def pc1_rows(
    runs, last_step: Optional[int] = None, n_snapshots: Optional[int] = None, task: int = 0
) -> list[dict]:
    """One row per (run, attention matrix): op, seed, λ, grokked, matrix ("L0.W_V"), layer ("L0"),
    kind ("W_V"), the centred shares pc1, pc2 and top3 of M_t - M_0, and the number of snapshots
    used (window and thinning as in snapshot_window). Ref: Xu 2026a, Methods: trajectory PCA,
    curv.pc1-concentration."""
    rows = []
    for r in runs:
        snaps = snapshot_window(r.snapshot_steps, r.snapshots["attn"], last_step, n_snapshots)
        for name, traj in matrix_trajectories(snaps, r.config).items():
            ev = explained_variance(traj)
            rows.append(
                _run_fields(r, task)
                | {
                    "matrix": name,
                    "layer": name.split(".")[0],
                    "kind": name.split(".")[1],
                    "pc1": float(ev[0]),
                    "pc2": float(ev[1]) if len(ev) > 1 else 0.0,
                    "top3": float(ev[:3].sum()),
                    "n_snapshots": len(snaps),
                }
            )
    return rows


def random_walk_rows(
    runs, trials: int, last_step: Optional[int] = None, task: int = 0
) -> list[dict]:
    """One row per (run, attention matrix): the NullTest of its trajectory (steps <= last_step), the
    null seeded by the run's seed as in the paper's code, plus the number of snapshots.
    Ref: Xu 2026a curv.pc1-vs-random-walk."""
    rows = []
    for r in runs:
        snaps = snapshot_window(r.snapshot_steps, r.snapshots["attn"], last_step)
        for name, traj in matrix_trajectories(snaps, r.config).items():
            t = random_walk_test(traj, trials, r.config.seed)
            rows.append(
                _run_fields(r, task)
                | {
                    "matrix": name,
                    "layer": name.split(".")[0],
                    "kind": name.split(".")[1],
                    "n_snapshots": len(snaps),
                    **{k: getattr(t, k) for k in ("real", "null_mean", "null_std", "z", "margin")},
                }
            )
    return rows


def expanding_rows(runs, matrix: str, n_points: int = 15, task: int = 0) -> list[dict]:
    """Expanding-window PC1 (expanding_pc1, min window max(5, T/n_points)) of one matrix ("L1.W_V")
    of every run: one row per (run, window) with the step of the window's last snapshot. Ref: Xu
    2026a figF."""
    rows = []
    for r in runs:
        ts, shares = expanding_pc1(
            matrix_trajectories(r.snapshots["attn"], r.config)[matrix], n_points
        )
        rows += [
            _run_fields(r, task)
            | {
                "matrix": matrix,
                "n_snapshots": int(t),
                "step": int(r.snapshot_steps[t - 1]),
                "pc1": float(s),
            }
            for t, s in zip(ts, shares)
        ]
    return rows


# ── The paper's stop rule as a window (Xu 2026a curv.pc1-concentration, curv.slow-regime) ──


def stop_step(run, task: int = 0) -> int:
    """The step at which the paper's run would have stopped: its R98 step (run.grok_step) or, for a
    run that never groks, its final step. Our runs train `tail_steps` more after R98; the paper's
    PCA stops here.
    """
    g = run.grok_step(task)
    return int(run.final_step if g is None else g)


def cut_at_stop(run, last_step: Optional[int] = None, task: int = 0):
    """The run as if it had stopped at `last_step` (default stop_step(run)): evaluations, snapshots
    and probes at steps <= last_step, final_step = last_step. θ_final stays the recorded end (θ at
    last_step is not stored unless the "all" snapshot group is). Run -> Run. Ref: Xu 2026a
    curv.pc1-concentration, Protocol ("step 0 to the R98 stop")."""
    last = stop_step(run, task) if last_step is None else int(last_step)
    ev, sn = np.asarray(run.eval_steps) <= last, np.asarray(run.snapshot_steps) <= last
    probes = run.probes
    if probes:
        pq = np.asarray(probes["steps"]) <= last
        probes = {k: np.asarray(v)[pq] for k, v in probes.items()}
    return dataclasses.replace(
        run,
        eval_steps=run.eval_steps[ev],
        train_acc=run.train_acc[ev],
        test_acc=run.test_acc[ev],
        train_loss=run.train_loss[ev],
        test_loss=run.test_loss[ev],
        snapshot_steps=run.snapshot_steps[sn],
        snapshots={g: s[sn] for g, s in run.snapshots.items()},
        probes=probes,
        final_step=min(last, run.final_step),
    )
