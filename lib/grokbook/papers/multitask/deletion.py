"""Orthogonal-gradient deletion and its controls, applied through the trainer's hooks
(train.StackView).

The paper's rule (Xu 2026b, code `ortho_fine_scan.py`) is g ← g − f·(g − BBᵀg) after clipping and
before AdamW, with B the top-20 uncentered full-parameter trajectory PCA directions of the completed
baseline run of the same seed: `interventions.SubspaceSuppression` with part="orthogonal" and
strength f. This module adds the controls of multi.ortho-deletion-cliff:
- MatchedNormShrink: the whole AdamW step scaled by c = ‖g − f(g − BBᵀg)‖/‖g‖, the share of the
  gradient norm the deletion would leave (this step's learning rate times c), direction kept: the
  decisive effective-lr control. Scaling g itself would do nothing, since Adam divides each
  coordinate by its own running scale;
- PostAdamProjection: the update itself is projected, θ ← θ_prev + Δ − f·(Δ − BBᵀΔ) with Δ = θ −
  θ_prev the whole AdamW step (decoupled decay included), so f = 1 confines every update to span(B)
  (geometric check);
plus the bases (own run, another seed's run, an early window, random) and the tables the notebooks
show. One training job per (task set, arm, f, cap, basis): the rows are the seeds, so notebooks that
ask for the same job share its cache entries.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from grokbook.training.commutator import batch_gradient
from grokbook.papers.curvature.interventions import SubspaceSuppression, _digest, _on, paired_delay
from grokbook.training.model import n_params
from grokbook.training.cache import load_or_train
from grokbook.measures.subspaces import random_basis
from grokbook.training.train import Run, StackView, run_split

ARMS = ("delete", "matched", "post_adam")


def _project(B: Tensor, v: Tensor) -> Tensor:
    """BBᵀv for every row. B [R, P, K], v [R, P] -> [R, P]."""
    return torch.einsum("rpk,rk->rp", B, torch.einsum("rpk,rp->rk", B, v))


def deleted(grad: Tensor, bases: Tensor, f) -> Tensor:
    """The paper's deleted gradient g − f·(g − BBᵀg). grad [R, P], bases [R, P, K] orthonormal
    columns, f scalar or [R] -> [R, P]. Ref: Xu 2026b, code `ortho_fine_scan.py`."""
    f = torch.as_tensor(f, dtype=grad.dtype, device=grad.device).reshape(-1, 1)
    return grad - f * (grad - _project(bases.to(grad.dtype), grad))


def matched_factor(grad: Tensor, bases: Tensor, f) -> Tensor:
    """c = ‖g − f(g − BBᵀg)‖ / ‖g‖ per row (1 where g = 0): the factor by which the deletion shrinks
    the gradient norm; 1 − c is the fraction of ‖g‖ it removes. grad [R, P], bases [R, P, K], f
    scalar or [R] -> [R]. Ref: multi.ortho-deletion-cliff, matched-norm control."""
    norm = grad.norm(dim=1)
    c = deleted(grad, bases, f).norm(dim=1) / norm.clamp_min(torch.finfo(grad.dtype).tiny)
    return torch.where(norm > 0, c, torch.ones_like(c))


class _FractionHook:
    """A hook with per-run bases [N, P, K] (row i of the caller's configs), one fraction f in [0, 1]
    and a start step; `kind` names it in the run cache key."""

    kind = ""

    def __init__(self, bases: Tensor, f: float, *, start: int = 500, label: str = ""):
        if not 0 <= f <= 1:
            raise ValueError(f"f={f}: must lie in [0, 1]")
        self.bases, self.f, self.start = bases.float(), float(f), start
        self._row = f"{self.kind}:f={self.f}:start={start}:{label}"
        self.key = f"{self._row}:{_digest(self.bases.numpy())}"
        self._dev: dict = {}

    def row_key(self, i: int) -> str:
        """What the hook does to run i (its basis), for the run cache key."""
        return f"{self._row}:{_digest(self.bases[i].numpy())}"


class MatchedNormShrink(_FractionHook):
    """At steps >= start, θ ← θ_prev + c·Δ with c = matched_factor(g, B, f) of this step's clipped
    gradient and Δ = θ − θ_prev the whole AdamW step (decoupled decay included): the step keeps its
    direction and shrinks by the share of ‖g‖ the orthogonal deletion would remove, i.e. this step's
    learning rate times c. The gradient is left alone (Adam's per-coordinate normalisation would
    undo a rescaled g); f = 0 leaves training untouched."""

    kind = "matched-update"
    _c: Optional[Tensor] = None
    _prev: Optional[Tensor] = None

    def __call__(self, step: int, grad: Tensor, view: StackView) -> None:
        if step < self.start or self.f == 0:
            self._c = None
            return
        B = _on(self._dev, self.bases, grad.device)[view.rows]  # [R, P, K]
        self._c = matched_factor(grad, B, self.f).unsqueeze(1)  # [R, 1]
        self._prev = view.theta.clone()

    def after_step(self, step: int, view: StackView) -> None:
        if self._c is None:
            return
        view.theta.sub_((1 - self._c) * (view.theta - self._prev))
        self._c = self._prev = None


class PostAdamProjection(_FractionHook):
    """Project the whole AdamW update instead of the gradient: at steps >= start, θ ← θ_prev + Δ −
    f·(Δ − BBᵀΔ) with Δ = θ − θ_prev the step just taken (the gradient is left alone). bases [N, P,
    K], f in [0, 1]; at f = 1 every update from `start` on lies in span(B)."""

    kind = "post-adam"
    _prev: Optional[Tensor] = None

    def __call__(self, step: int, grad: Tensor, view: StackView) -> None:
        self._prev = view.theta.clone() if step >= self.start and self.f > 0 else None

    def after_step(self, step: int, view: StackView) -> None:
        if self._prev is None:
            return
        B = _on(self._dev, self.bases, view.theta.device)[view.rows]
        move = view.theta - self._prev  # [R, P]
        view.theta.sub_(self.f * (move - _project(B, move)))
        self._prev = None


# ── bases
# ──────────────────────────────────────────────────────────────────────────────────────────────────


def trajectory_bases(
    runs: Sequence[Run], k: int = 20, n_max: int = 100, upto_step: Optional[int] = None
) -> Tensor:
    """Top-k uncentered full-parameter trajectory PCA directions of every run
    (compression.trajectory_basis over ≤ n_max checkpoints of snapshots["all"] plus θ at the stop
    step, init included, zero row dropped), from the whole run or from its checkpoints up to
    `upto_step`. All runs must give the same number of columns (≤ k when the window holds fewer
    checkpoints). -> [N, P, K] float32. Ref: Xu 2026b, code `ortho_fine_scan.py`."""
    from grokbook.measures.compression import run_trajectory, trajectory_basis

    out = []
    for r in runs:
        steps, thetas = run_trajectory(r)
        tb = trajectory_basis(
            steps, thetas, r.theta_init, n_max=n_max, centred=False, upto_step=upto_step
        )
        out.append(torch.as_tensor(np.asarray(tb.V[:, :k]), dtype=torch.float32))
    if len({b.shape for b in out}) > 1:
        raise ValueError(
            "trajectory_bases: the runs give bases of different ranks; use a window with more "
            "checkpoints"
        )
    return torch.stack(out)


def random_bases(runs: Sequence[Run], k: int = 20, seed_offset: int = 99991) -> Tensor:
    """One uniformly random orthonormal P × k basis per run (generator seed + seed_offset).
    -> [N, P, k]."""
    return torch.stack(
        [
            torch.as_tensor(
                random_basis(
                    n_params(r.config), k, np.random.default_rng(r.config.seed + seed_offset)
                ),
                dtype=torch.float32,
            )
            for r in runs
        ]
    )


def next_seed(seeds: Sequence[int]) -> list[int]:
    """Index of the basis donor of every run for the cross-seed (leakage) variant: the next seed,
    cyclically. seeds [n] -> [n] indices into seeds (itself when there is one seed)."""
    order = sorted(range(len(seeds)), key=lambda i: seeds[i])
    nxt = {order[j]: order[(j + 1) % len(order)] for j in range(len(order))}
    return [nxt[i] for i in range(len(seeds))]


# ── training jobs
# ───────────────────────────────────────────────────────────────────────────────────────────────


def cap_steps(baselines: Sequence[Run], cap: int, cap_factor: float) -> int:
    """The step budget of a deletion job: `cap`, or, with cap_factor > 0, cap_factor × the slowest
    baseline's all-tasks grok step rounded up to the eval cadence (budget when a baseline never
    grokked)."""
    if cap_factor <= 0:
        return int(cap)
    c = baselines[0].config
    slowest = max(r.all_grok_step() or r.config.steps for r in baselines)
    return int(math.ceil(cap_factor * slowest / c.eval_every) * c.eval_every)


def deletion_runs(
    baselines: Sequence[Run],
    bases: Tensor,
    f: float,
    *,
    arm: str = "delete",
    start: int = 500,
    cap: int = 50_000,
    label: str = "",
) -> list[Run]:
    """Retrain every baseline run (same seed: same split, init and batches) with one arm at strength
    f, in one stacked job: no probes, attention snapshots only, `cap` steps, the grid's stop rule
    (every task grokked). arm: "delete" (the paper's rule, SubspaceSuppression), "matched"
    (MatchedNormShrink) or "post_adam" (PostAdamProjection). f = 0 of the paper's rule returns the
    baselines themselves (the hook is a no-op). bases [N, P, K] one per baseline. -> [N] runs."""
    if arm not in ARMS:
        raise ValueError(f"arm={arm!r}; must be one of {ARMS}")
    if f == 0 and arm == "delete":
        return list(baselines)
    cfgs = [
        dataclasses.replace(r.config, steps=int(cap), probe_every=0, snapshot_groups=("attn",))
        for r in baselines
    ]
    if arm == "delete":
        hook = SubspaceSuppression(bases, [f] * len(baselines), start=start, label=label)
    else:
        hook = (MatchedNormShrink if arm == "matched" else PostAdamProjection)(
            bases, f, start=start, label=label
        )
    return load_or_train(cfgs, grad_hook=hook)


# ── measurements
# ────────────────────────────────────────────────────────────────────────────────────────────────


def span_fraction(v: np.ndarray, basis: np.ndarray) -> float:
    """‖BBᵀv‖ / ‖v‖ for one vector v [P] and an orthonormal basis [P, K] (NaN for v = 0)."""
    v, B = np.asarray(v, np.float64), np.asarray(basis, np.float64)
    n = np.linalg.norm(v)
    return float(np.linalg.norm(B @ (B.T @ v)) / n) if n > 0 else math.nan


def removed_along(
    run: Run, basis: Tensor, fs: Sequence[float], n_points: int = 10, seed: int = 0
) -> list[dict]:
    """Fraction of ‖g‖ the deletion would remove (1 − matched_factor) and the share of ‖g‖ inside
    span(B), on the run's own full-θ snapshots (≤ n_points, linspace), g = the summed-CE gradient of
    one train batch of the run's batch size (clipping rescales g and leaves both ratios unchanged).
    basis [P, K]. -> one dict per (snapshot, f): step, f, removed, in_span."""
    c = run.config
    idx = np.unique(np.linspace(0, len(run.snapshot_steps) - 1, n_points).round().astype(int))
    theta = torch.as_tensor(run.snapshots["all"][idx], dtype=torch.float32)  # [n, P]
    split, rng = run_split(c), np.random.default_rng(seed)
    i = torch.as_tensor(rng.integers(0, len(split.train_x), c.batch_size))
    x, y = (t[i].expand(len(idx), -1, -1).to(c.device) for t in (split.train_x, split.train_y))
    g = batch_gradient(c, x, y)(theta.to(c.device)).double().cpu()  # [n, P]
    B = basis.double().expand(len(idx), -1, -1)
    in_span = _project(B, g).norm(dim=1) / g.norm(dim=1)
    return [
        {
            "step": int(run.snapshot_steps[j]),
            "f": float(f),
            "removed": float(1 - m),
            "in_span": float(s),
        }
        for f in fs
        for j, m, s in zip(idx, matched_factor(g, B, f).tolist(), in_span.tolist())
    ]


def deletion_rows(
    runs: Sequence[Run], bases: Tensor, *, task_set: str, arm: str, basis: str, f: float
) -> list[dict]:
    """One row per run: coordinates, per-task R98 grok steps (None = not by the cap), the all-tasks
    grok step, the cap, the best test accuracy per task and the share of the net displacement θ_T −
    θ_0 inside span(B).
    """
    rows = []
    for r, B in zip(runs, bases):
        c = r.config
        row = {
            "task_set": task_set,
            "weight_decay": c.weight_decay,
            "seed": c.seed,
            "arm": arm,
            "basis": basis,
            "f": float(f),
            "grok": r.all_grok_step(),
            "final_step": r.final_step,
            "cap": c.steps,
            "disp_in_span": span_fraction(r.theta_final - r.theta_init, B.numpy()),
        }
        for t, op in enumerate(c.ops):
            row[f"grok_{op}"] = r.grok_step(t)
            row[f"best_{op}"] = float(r.test_acc[:, t].max())
        rows.append(row)
    return rows


def arm_rows(
    baselines: Sequence[Run],
    bases: Tensor,
    f: float,
    *,
    task_set: str,
    arm: str = "delete",
    basis: str = "own",
    start: int = 500,
    cap: int = 50_000,
) -> list[dict]:
    """deletion_rows of deletion_runs: train (or read) one job and tabulate it; `basis` names the
    basis variant (it also labels the hook)."""
    runs = deletion_runs(baselines, bases, f, arm=arm, start=start, cap=cap, label=basis)
    return deletion_rows(runs, bases, task_set=task_set, arm=arm, basis=basis, f=f)


def task_rows(rows: Sequence[dict]) -> list[dict]:
    """deletion_rows exploded to one row per task, in the shape plotting.dose_response reads
    (op = "<task set> <task>", arm, level = f, grok, budget)."""
    return [
        {
            "op": f"{r['task_set']} {k[5:]}",
            "arm": f"{r['arm']} ({r['basis']})",
            "level": r["f"],
            "grok": r[k],
            "budget": r["cap"],
            "seed": r["seed"],
        }
        for r in rows
        for k in r
        if k.startswith("grok_")
    ]


def summary_rows(rows: Sequence[dict], baseline: Sequence[dict]) -> list[dict]:
    """Per (task set, λ, arm, basis, f): seeds, seeds where every task grokked by the cap, mean
    all-tasks grok step (NaN unless every seed grokked), the same mean with a run that never grokked
    counted at its cap, and the seed-paired delay against `baseline` (f = 0 rows, same task set and
    λ; interventions.paired_delay)."""
    base = {(b["task_set"], b["weight_decay"], b["seed"]): b["grok"] for b in baseline}
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(
            (r["task_set"], r["weight_decay"], r["arm"], r["basis"], r["f"]), []
        ).append(r)
    out = []
    for (ts, wd, arm, basis, f), g in groups.items():
        steps = [x["grok"] for x in g]
        d = paired_delay([base.get((ts, wd, x["seed"])) for x in g], steps)
        n_ok = sum(s is not None for s in steps)
        out.append(
            {
                "task_set": ts,
                "weight_decay": wd,
                "arm": arm,
                "basis": basis,
                "f": f,
                "n": len(g),
                "n_grokked": n_ok,
                "cap": max(x["cap"] for x in g),
                "mean_grok": float(np.mean(steps)) if n_ok == len(g) else math.nan,
                "mean_grok_capped": float(
                    np.mean([x["cap"] if x["grok"] is None else x["grok"] for x in g])
                ),
                "delay": d.mean,
                "delay_sd": d.std,
                "baseline_sd": d.baseline_std,
                "disp_in_span": float(np.mean([x["disp_in_span"] for x in g])),
            }
        )
    return out
