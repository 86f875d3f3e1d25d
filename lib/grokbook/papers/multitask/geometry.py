"""Geometry of the multitask runs: per-task gradients and cross-task commutators, ρ against the
execution basis with its three random-basis nulls, the matched random walk of the full-parameter
trajectory PCA, the envelope onset detector and the lead tables of both code detectors, and the
curvature-depth table.

Built on grokbook.commutator (the commutator of two gradient fields), grokbook.subspaces (execution
basis, projected fractions, random bases), grokbook.defect (median defect, M4 onset, sign test),
grokbook.compression (trajectory basis, k_τ) and grokbook.hessian (λ_min). Pure functions:
runs/arrays in, rows or numbers out.

Ref: Xu 2026b, multi.execution-manifold, multi.integrability, multi.defect-lead,
multi.curvature-depth.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from grokbook.training.commutator import Commutator, GradFn, batch_gradient, commutator
from grokbook.measures.compression import (
    k_tau,
    run_trajectory,
    select_checkpoints,
    trajectory_basis,
)
from grokbook.training.config import RunConfig
from grokbook.measures.defect import lead_time, median_defect, onset_index
from grokbook.measures.hessian import checkpoint_indices, curvature_trace, hessian_batch
from grokbook.measures.trajectory import random_walk_energy, step_norms
from grokbook.training.model import forward, gather_group, n_params, task_losses
from grokbook.measures.subspaces import (
    causal_execution_bases,
    execution_basis,
    projected_fraction,
    random_block_basis,
    random_fraction_mean,
    rho_from_fraction,
)

# ── per-task gradients and cross-task commutators
# ─────────────────────────────────────────────────────────


def task_gradient(cfg: RunConfig, x: Tensor, y: Tensor, task: int) -> GradFn:
    """θ -> gradient of ONE task's mean cross-entropy on a fixed batch per run (the cross-task mode
    of the code's commutator_analysis.py). x [R, B, 2], y [R, B, T] -> GradFn on θ [R, P]."""

    def grad(theta: Tensor) -> Tensor:
        with torch.enable_grad():
            th = theta.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(task_losses(forward(th, cfg, x), y)[:, task].sum(), th)
        return g

    return grad


def cross_pairs(cfg: RunConfig) -> list[tuple[int, int]]:
    """The task pairs of the cross-task mode: (add, mul) for dual; (add, mul), (add, sq), (mul, sq)
    for tri."""
    return list(combinations(range(cfg.n_tasks), 2))


def mode_name(cfg: RunConfig, mode: Optional[tuple[int, int]]) -> str:
    """ "total" for the total-loss mode, "add×mul" for a cross-task pair."""
    return "total" if mode is None else f"{cfg.ops[mode[0]]}×{cfg.ops[mode[1]]}"


def train_batches(cfg: RunConfig, n: int, seed: int) -> tuple[Tensor, Tensor]:
    """n independent training mini-batches of cfg.batch_size pairs, drawn with replacement from the
    run's own train split by a generator seeded with `seed`. -> x [n, B, 2], y [n, B, T]."""
    from grokbook.training.train import run_split

    s = run_split(cfg)
    i = torch.randint(
        len(s.train_x), (n, cfg.batch_size), generator=torch.Generator().manual_seed(seed)
    )
    return s.train_x[i], s.train_y[i]


def commutator_samples(
    cfg: RunConfig,
    theta,
    K: int,
    mode: Optional[tuple[int, int]] = None,
    eta: float = 1e-3,
    seed: int = 0,
) -> Commutator:
    """K independent commutator samples at one θ [P], computed as K stacked rows: batches A and B of
    each row are fresh train mini-batches. mode None = total loss on both batches; (i, j) = task i's
    loss on A and task j's loss on B (cross-task). -> Commutator with [K, ...] fields. Ref: Xu
    2026b, multi.integrability, Definitions."""
    th = torch.as_tensor(np.asarray(theta, np.float32)).to(cfg.device).expand(K, -1).contiguous()
    x, y = train_batches(cfg, 2 * K, seed)
    xa, ya, xb, yb = (t.to(cfg.device) for t in (x[:K], y[:K], x[K:], y[K:]))
    if mode is None:
        ga, gb = batch_gradient(cfg, xa, ya), batch_gradient(cfg, xb, yb)
    else:
        ga, gb = task_gradient(cfg, xa, ya, mode[0]), task_gradient(cfg, xb, yb, mode[1])
    return commutator(ga, gb, th, eta)


# ── ρ against the execution basis, with its random nulls (multi.integrability)
# ────────────────────────────


def integrability_rows(
    run,
    n_c: int,
    n_checkpoints: int,
    K: int,
    modes: Sequence[Optional[tuple[int, int]]],
    n_random: int = 5,
    causal: bool = True,
    eta: float = 1e-3,
    seed: int = 0,
) -> list[dict]:
    """ρ = ‖δ − BBᵀδ‖/‖δ‖ of K commutator samples at ≤ n_checkpoints full-θ snapshots of one run
    (linspace), for every mode. B: top-n_c centred PCA directions of every attention matrix from the
    WHOLE run's attention snapshots, embedded and QR'd (subspaces.execution_basis; 8 · n_c columns
    for 2 layers); "causal" B from the snapshots up to the checkpoint. Nulls of the projected
    fraction f = ‖BBᵀδ‖/‖δ‖ (same K columns): (i) random subspace of all P coordinates (exact mean),
    (ii) random subspace of the attention coordinates (exact mean times ‖δ_attn‖/‖δ‖), (iii) n_c
    random Gaussian directions per attention block, embedded like B (mean over n_random bases). One
    row per (checkpoint, mode, sample). Ref: Xu 2026b, multi.integrability."""
    c = run.config
    P, steps, snaps = n_params(c), np.asarray(run.snapshot_steps), run.snapshots["all"]
    idx = checkpoint_indices(len(steps), n_checkpoints)
    B = execution_basis(run.snapshots["attn"], c, n_c)
    K_cols = B.shape[1]
    rng = np.random.default_rng([seed, c.seed])
    blocks = [random_block_basis(c, n_c, rng, rank_one=False) for _ in range(n_random)]
    causal_B = (
        dict(
            zip(
                idx,
                causal_execution_bases(
                    run.snapshots["attn"], c, [max(3, int(i) + 1) for i in idx], n_c
                ),
            )
        )
        if causal
        else {}
    )
    rows = []
    for ci in idx:
        for m in modes:
            cm = commutator_samples(
                c, snaps[ci], K, m, eta, seed=int(seed * 1_000_003 + c.seed * 1009 + ci)
            )
            d_attn = gather_group(cm.delta, c, "attn").double().cpu().numpy()  # [K, n_attn]
            dn = cm.delta_norm.double().cpu().numpy()
            f = projected_fraction(B, d_attn, dn)
            attn_frac = np.linalg.norm(d_attn, axis=1) / np.where(dn > 0, dn, np.nan)
            f_block = np.mean([projected_fraction(Bb, d_attn, dn) for Bb in blocks], axis=0)
            f_causal = (
                projected_fraction(causal_B[ci], d_attn, dn) if causal else np.full(K, np.nan)
            )
            for k in range(K):
                rows.append(
                    {
                        "task_set": "dual" if c.n_tasks == 2 else "tri",
                        "weight_decay": c.weight_decay,
                        "seed": c.seed,
                        "step": int(steps[ci]),
                        "mode": mode_name(c, m),
                        "sample": k,
                        "K": K_cols,
                        "P": P,
                        "defect": float(cm.defect[k]),
                        "cos_ab": float(cm.cos_ab[k]),
                        "rho": float(rho_from_fraction(f[k])),
                        "proj_exec": float(f[k]),
                        "proj_all": random_fraction_mean(K_cols, P),
                        "proj_attn": float(
                            attn_frac[k] * random_fraction_mean(K_cols, d_attn.shape[1])
                        ),
                        "proj_block": float(f_block[k]),
                        "attn_frac": float(attn_frac[k]),
                        "proj_causal": float(f_causal[k]),
                    }
                )
    return rows


# ── full-parameter trajectory PCA: the matched random walk (multi.execution-manifold (b))
# ─────────────────


def k_taus(energy, taus: Sequence[float]) -> dict[float, int]:
    """k_τ for every τ (compression.k_tau). energy [k] -> {τ: k_τ}."""
    return {float(t): k_tau(energy, t) for t in taus}


# ── defect onset detectors and lead tables (multi.defect-lead)
# ─────────────────────────────────────────────


def envelope_onset_index(
    series: np.ndarray,
    factor: float = 5.0,
    base_frac: float = 0.25,
    window: int = 5,
    min_base: int = 3,
    floor: float = 0.0,
    zero_value: float = 0.01,
    causal: bool = True,
) -> Optional[int]:
    """The dual code's "envelope" detector: L = log10(D) (0 and NaN replaced by zero_value), E =
    running max of L over the last `window` checkpoints (causal; causal=False: the code's centred
    window, which reads ahead), baseline = median of E over the first
    max(min_base, int(base_frac · n)) checkpoints, onset = first index >= n_base with E_i > baseline
    + log10(factor) (and, if floor > 0, E_i > log10(floor)); None if it never fires. series [n]
    per-checkpoint median D. Ref: Xu 2026b, multi.defect-lead, Dual protocol step 2."""
    D = np.asarray(series, np.float64)
    D = np.where(np.isfinite(D) & (D > 0), D, zero_value)
    L, n, h = np.log10(D), len(D), window // 2
    if causal:  # the running max of the last `window` checkpoints: reads no future probe
        E = np.array([L[max(0, i - window + 1) : i + 1].max() for i in range(n)])
    else:  # the paper's code: centred, so it reads h probes ahead and fires up to h early
        E = np.array([L[max(0, i - h) : i + h + 1].max() for i in range(n)])
    n_base = min(n, max(min_base, int(base_frac * n)))
    thr = np.median(E[:n_base]) + math.log10(factor)
    if floor > 0:
        thr = max(thr, math.log10(floor))
    hits = np.flatnonzero(E[n_base:] > thr)
    return int(hits[0]) + n_base if len(hits) else None


def probe_series(run, n_max: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """The run's inline probe steps and per-probe median total-loss defect (0/NaN missing),
    optionally thinned to ≤ n_max probes with linspace (the dual code subsamples to ≤ 120). ->
    (steps [Q], D [Q])."""
    steps, D = np.asarray(run.probes["steps"]), median_defect(run.probes["defect"])
    if n_max is not None:
        i = checkpoint_indices(len(steps), n_max)
        steps, D = steps[i], D[i]
    return steps, D


def _step(steps, i):
    return None if i is None else int(steps[i])


def lead_rows(
    grid, n_max: int = 120, envelope: Optional[dict] = None, spike: Optional[dict] = None
) -> list[dict]:
    """One row per (run, task) of the multitask grid: onsets of the dual code's envelope detector
    (kwargs `envelope`, default ×5) and of the tri code's spike detector (defect.onset_index, kwargs
    `spike`, default 10× and > 20) on the inline total-loss probes; grok steps under the dual code
    (first task to grok, 0.98 × 3), the tri code (per task, first test acc >= 0.90) and the unified
    rule (per task, 0.98 × 3); the memorisation step of the task (train acc >= 0.99); leads = grok −
    onset under the code's own pairing (code_lead: dual rows envelope vs first-task grok, tri rows
    spike vs R90) and the unified pairing (envelope vs per-task 0.98 × 3). `code_condition` marks
    the conditions the paper counts (one per dual run: the first task to grok; every tri task). Ref:
    Xu 2026b, multi.defect-lead."""
    envelope, spike = envelope or {}, spike or {}
    rows = []
    for g in grid:
        r = g.run
        s_env, D_env = probe_series(r, n_max)
        s_all, D_all = probe_series(r)
        env = _step(s_env, envelope_onset_index(D_env, **envelope))
        spk = _step(s_all, onset_index(D_all, **spike))
        groks = [r.grok_step(t) for t in range(r.config.n_tasks)]
        first = min((x for x in groks if x is not None), default=None)
        first_task = None if first is None else groks.index(first)
        for t, op in enumerate(r.config.ops):
            dual = g.task_set == "dual"
            code_grok = first if dual else r.grok_step(t, threshold=0.90, patience=1)
            rows.append(
                {
                    "task_set": g.task_set,
                    "weight_decay": g.weight_decay,
                    "seed": g.seed,
                    "op": op,
                    "control": g.is_control,
                    "code_condition": (t == first_task) if dual else True,
                    "envelope_onset": env,
                    "spike_onset": spk,
                    "code_onset": env if dual else spk,
                    "code_grok": code_grok,
                    "unified_grok": groks[t],
                    "memorised": r.memorised_step(t),
                    "code_lead": lead_time(code_grok, env if dual else spk),
                    "unified_lead": lead_time(groks[t], env),
                }
            )
    return rows


def sensitivity_rows(
    grid,
    factors: Sequence[float],
    floors: Sequence[float],
    base_fracs: Sequence[float],
    n_max: int = 120,
    causal: bool = True,
) -> list[dict]:
    """The unified rule (envelope onset vs per-task 0.98 × 3) over a grid of detector settings: for
    every (factor, floor, base_frac) the share of positive leads among the grokked (run, task)
    conditions of the λ > 0 runs and the false-alarm rate (share of λ = 0 controls in which the
    detector fires at all). Ref: Xu 2026b, multi.defect-lead, Nulls (threshold sensitivity)."""
    out = []
    for fac in factors:
        for fl in floors:
            for bf in base_fracs:
                rows = lead_rows(
                    grid, n_max, envelope=dict(factor=fac, floor=fl, base_frac=bf, causal=causal)
                )
                leads = [
                    x["unified_lead"]
                    for x in rows
                    if not x["control"] and x["unified_grok"] is not None
                ]
                ctrl = {
                    (x["task_set"], x["seed"]): x["envelope_onset"] for x in rows if x["control"]
                }
                out.append(
                    {
                        "factor": fac,
                        "floor": fl,
                        "base_frac": bf,
                        "n_conditions": len(leads),
                        "positive": sum(1 for v in leads if v is not None and v > 0),
                        "fired": sum(1 for v in leads if v is not None),
                        "false_alarm": (
                            (sum(v is not None for v in ctrl.values()) / len(ctrl))
                            if ctrl
                            else math.nan
                        ),
                    }
                )
    return out


# ── curvature depth (multi.curvature-depth)
# ─────────────────────────────────────────────────────────────


def curvature_rows(
    g,
    n_checkpoints: int,
    iters: int,
    n_samples: int,
    per_task: bool = True,
    k: int = 5,
    seed: int = 0,
) -> list[dict]:
    """λ_min of the total loss (and of every task's loss if per_task) at ≤ n_checkpoints full-θ
    snapshots (linspace) of one grid run, on n_samples distinct train pairs drawn once per run
    (hessian.hessian_batch). One row per (checkpoint, mode) with the grid coordinates, the step and
    the fraction of the run. Ref: Xu 2026b, multi.curvature-depth, Protocol."""
    r = g.run
    c = r.config
    steps = np.asarray(r.snapshot_steps)
    idx = checkpoint_indices(len(steps), n_checkpoints)
    x, y = hessian_batch(c, n_samples, seed=seed + c.seed)
    modes = [None] + (list(range(c.n_tasks)) if per_task else [])
    rows = curvature_trace(c, steps[idx], r.snapshots["all"][idx], x, y, modes, iters, k, seed)
    base = {
        "task_set": g.task_set,
        "weight_decay": g.weight_decay,
        "seed": g.seed,
        "control": g.is_control,
    }
    return [base | row | {"frac": row["step"] / max(1, r.final_step)} for row in rows]


def depth(rows: Sequence[dict], mode: str = "total") -> float:
    """Curvature depth: the minimum λ_min over the checkpoints of one run's rows of that mode."""
    v = [r["lam_min"] for r in rows if r["mode"] == mode]
    return float(min(v)) if v else math.nan


def negative_onset(
    rows: Sequence[dict], mode: str = "total", level: float = -0.01, run_len: int = 3
) -> Optional[int]:
    """The step of the first of `run_len` consecutive checkpoints with λ_min < level (None if
    never). Ref: Xu 2026b, multi.curvature-depth ("negative onset")."""
    pts = sorted((r["step"], r["lam_min"]) for r in rows if r["mode"] == mode)
    for i in range(len(pts) - run_len + 1):
        if all(v < level for _, v in pts[i : i + run_len]):
            return int(pts[i][0])
    return None


def trajectory_pca_row(
    run,
    n_max: int = 100,
    taus: Sequence[float] = (0.95, 0.99, 0.999),
    trials: int = 10,
    seed: int = 0,
) -> dict:
    """Variant (b) of multi.execution-manifold for one run: the full-parameter trajectory PCA of ≤
    n_max checkpoints (compression.trajectory_basis; θ_T = θ at the stop step appended), uncentered
    (the code's) and centred, against `trials` random walks with the same step norms between the
    selected checkpoints (random_walk_energy, same centring). -> dict: pc1, cum2, cum5 and k_τ of
    the uncentered PCA; pc1 and k_τ of the centred PCA; the null's mean pc1 and its k_τ (of the mean
    energy curve), uncentered and centred. Ref: Xu 2026b, multi.execution-manifold (b) and Nulls."""
    steps, thetas = run_trajectory(run)
    out = {"n_checkpoints": len(select_checkpoints(len(steps), n_max))}
    norms = step_norms(np.asarray(thetas[select_checkpoints(len(steps), n_max)], np.float64))
    P = thetas.shape[1]
    for centred, tag in ((False, "unc"), (True, "cen")):
        e = trajectory_basis(steps, thetas, run.theta_init, n_max, centred=centred).energy
        null = random_walk_energy(norms, P, trials, seed, centred=centred)
        out |= {
            f"{tag}_pc1": float(e[0]),
            f"{tag}_cum2": float(e[:2].sum()),
            f"{tag}_cum5": float(e[:5].sum()),
            f"{tag}_null_pc1": float(null[:, 0].mean()),
        }
        out |= {f"{tag}_k{t}": k for t, k in k_taus(e, taus).items()}
        out |= {f"{tag}_null_k{t}": k for t, k in k_taus(null.mean(0), taus).items()}
    return out


# ── tables of the notebooks
# ──────────────────────────────────────────────────────────────────────────────


def run_label(g) -> str:
    """A grid run's label on the claim pages and in the ledger's evidence: "tri λ=1 s42"."""
    return f"{g.task_set} λ={g.weight_decay:g} s{g.seed}"


def coords(g) -> dict:
    """The grid coordinates of a run as table columns (run label, task set, λ, seed)."""
    return {
        "run": run_label(g),
        "task_set": g.task_set,
        "weight_decay": g.weight_decay,
        "seed": g.seed,
    }


def depth_rows(grid, curv: Sequence[Sequence[dict]], per_task: bool) -> list[dict]:
    """One row per grid run from its curvature rows (curv[i] = curvature_rows(grid[i], ...)): depth
    of the total loss (and of every task's loss if per_task), the matched depth (minimum over the
    checkpoints up to the stop step of the shortest run of the same task set, so that runs of
    different lengths are compared over the same steps), negative onset, stop step, whether every
    task grokked (R98) and the step at which the slowest task grokked. Ref: Xu 2026b, curvature
    depth (figure H18)."""
    shortest: dict[str, int] = {}
    for g in grid:
        shortest[g.task_set] = min(shortest.get(g.task_set, g.run.final_step), g.run.final_step)
    out = []
    for g, rows in zip(grid, curv):
        groks = list(g.grok_steps().values())
        early = [r for r in rows if r["step"] <= shortest[g.task_set]]
        out.append(
            coords(g)
            | {"depth": depth(rows), "depth_matched": depth(early)}
            | ({f"depth_{op}": depth(rows, op) for op in g.ops} if per_task else {})
            | {
                "negative_onset": negative_onset(rows),
                "final_step": g.run.final_step,
                "grokked": all(v is not None for v in groks),
                "slowest_grok": max(groks) if None not in groks else None,
            }
        )
    return out


def convergence_rows(
    grid,
    curv: Sequence[Sequence[dict]],
    check_iters: Sequence[int],
    check_starts: int,
    iters: int,
    n_samples: int,
) -> list[dict]:
    """Lanczos convergence at every run's deepest total-loss checkpoint: the bottom Ritz value with
    `iters` steps (from curv), with each of `check_iters` steps, and the range over `check_starts`
    other random start vectors at `iters` steps. Ref: Xu 2026b, curvature depth."""
    from grokbook.measures.hessian import bottom_eigenvalues

    out = []
    for g, rows in zip(grid, curv):
        c = g.run.config
        r = min((x for x in rows if x["mode"] == "total"), key=lambda x: x["lam_min"])
        theta = g.run.snapshots["all"][list(g.run.snapshot_steps).index(r["step"])]
        x, y = hessian_batch(c, n_samples, seed=g.seed)
        more = {
            f"iters {n}": float(bottom_eigenvalues(c, theta, x, y, iters=n, k=1)[0])
            for n in check_iters
        }
        starts = [
            float(bottom_eigenvalues(c, theta, x, y, iters=iters, k=1, seed=s)[0])
            for s in range(1, check_starts + 1)
        ]
        out.append(
            {
                "run": run_label(g),
                "step": r["step"],
                f"iters {iters}": r["lam_min"],
                **more,
                "starts min": min(starts),
                "starts max": max(starts),
            }
        )
    return out


def depth_spearman(rows: Sequence[dict], weight_decays: Sequence[float]) -> dict[str, float]:
    """Spearman ρ between λ and depth per task set over the runs at `weight_decays` (NaN with fewer
    than 3 distinct λ). rows: depth_rows. Ref: Xu 2026b, curvature depth ("covaries with λ")."""
    from scipy import stats

    out = {}
    for ts in dict.fromkeys(r["task_set"] for r in rows if r["weight_decay"] in weight_decays):
        sub = [r for r in rows if r["task_set"] == ts and r["weight_decay"] in weight_decays]
        lam, d = [r["weight_decay"] for r in sub], [r["depth"] for r in sub]
        out[ts] = float(stats.spearmanr(lam, d)[0]) if len(set(lam)) >= 3 else math.nan
    return out


def trend_shape(rho: float, threshold: float) -> str:
    """ "monotone" if |ρ| >= threshold, "non-monotone" below, "not testable" for NaN (fewer than 3
    λ)."""
    if not np.isfinite(rho):
        return "not testable (fewer than 3 λ)"
    return "monotone" if abs(rho) >= threshold else "non-monotone"


def defect_traces(grid, rows: Sequence[dict]) -> tuple[dict, dict, dict]:
    """Panels of the defect page, one per (task set, λ), one entry per seed: (probe steps, median
    defect), (eval steps, test accuracy of the last task to grok) and marks {onset: unified onset,
    grok: first R98}. rows: lead_rows of the same grid."""
    panels, acc, marks = {}, {}, {}
    for g in grid:
        key, lab = f"{g.task_set} λ={g.weight_decay}", f"s{g.seed}"
        mine = [
            r
            for r in rows
            if (r["task_set"], r["weight_decay"], r["seed"]) == (g.task_set, g.weight_decay, g.seed)
        ]
        groks = [r["unified_grok"] for r in mine if r["unified_grok"] is not None]
        panels.setdefault(key, {})[lab] = (
            g.run.probes["steps"],
            median_defect(g.run.probes["defect"]),
        )
        acc.setdefault(key, {})[lab] = (g.run.eval_steps, g.run.test_acc.min(1))
        marks.setdefault(key, {})[lab] = {
            "onset": mine[0]["envelope_onset"] if mine else None,
            "grok": min(groks) if groks else None,
        }
    return panels, acc, marks


def lead_summary(rows: Sequence[dict]) -> list[dict]:
    """Positive leads under the code's rules (each to its own task set and pairing) and under the
    unified rule, over the grokked conditions of the λ > 0 runs, with the one-sided sign test of
    each. rows: lead_rows. Ref: Xu 2026b, defect onset before grokking."""
    from grokbook.measures.defect import sign_test

    grokking = [r for r in rows if not r["control"]]
    code = [r["code_lead"] for r in grokking if r["code_condition"] and r["code_grok"] is not None]
    uni = [r["unified_lead"] for r in grokking if r["unified_grok"] is not None]
    out = []
    for name, leads in (
        ("code (dual envelope / tri spike)", code),
        ("unified (envelope, 0.98 × 3 per task)", uni),
    ):
        known = [v for v in leads if v is not None]
        out.append(
            {
                "rule": name,
                "conditions": len(leads),
                "positive": sum(v > 0 for v in known),
                "sign test p": sign_test(known)[2],
            }
        )
    return out


def early_firing_text(onset_minus_memorised: Sequence[float], probe_every: int) -> str:
    """The early-firing null in words: where the onset falls relative to the memorisation step."""
    from grokbook.measures.trajectory import Spread

    d = [float(v) for v in onset_minus_memorised if v is not None and np.isfinite(v)]
    if not d:
        return "Onset − memorisation: n/a (no condition has both)."
    med = float(np.median(d))
    where = (
        "the onset typically comes before memorisation"
        if med < 0
        else (
            "the onset comes right after memorisation, so a positive lead is partly automatic "
            "whenever grokking is late"
            if med <= 2 * probe_every
            else "the onset comes well after memorisation"
        )
    )
    return f"Onset − memorisation: {Spread.of(d).fmt(digits=0)} steps — {where}."


def relative_drift(
    conv: Sequence[dict], iters: int, check_iters: Sequence[int]
) -> dict[str, float]:
    """Per run: the largest |λ(n) − λ(iters)| / |λ(n)| over the check iterations n
    (convergence_rows)."""
    out = {}
    for r in conv:
        base = r[f"iters {iters}"]
        out[r["run"]] = (
            max(
                (
                    abs(r[f"iters {n}"] - base) / abs(r[f"iters {n}"])
                    if r[f"iters {n}"]
                    else math.inf
                )
                for n in check_iters
            )
            if check_iters
            else 0.0
        )
    return out


def false_alarm_rows(
    grid, n_max: int = 120, envelope: Optional[dict] = None, spike: Optional[dict] = None
) -> list[dict]:
    """Both detectors on every no-decay control, truncated to the length of its matched grokking
    runs (the longest λ > 0 run of the same task set and seed; the control's own length if there is
    none), so that a long control is not judged over more training than the runs it stands beside.
    One row per control. Ref: Xu 2026b, defect onset before grokking (false-alarm control)."""
    envelope, spike = envelope or {}, spike or {}
    out = []
    for g in grid:
        if not g.is_control:
            continue
        matched = [
            h.run.final_step
            for h in grid
            if not h.is_control and h.task_set == g.task_set and h.seed == g.seed
        ]
        length = max(matched) if matched else g.run.final_step
        s_env, D_env = probe_series(g.run, n_max)
        s_all, D_all = probe_series(g.run)
        keep_e, keep_a = s_env <= length, s_all <= length
        out.append(
            {
                "run": run_label(g),
                "task_set": g.task_set,
                "seed": g.seed,
                "length": int(length),
                "envelope_fired": envelope_onset_index(D_env[keep_e], **envelope) is not None,
                "spike_fired": onset_index(D_all[keep_a], **spike) is not None,
            }
        )
    return out


def run_sign_test(rows: Sequence[dict], key: str = "unified_lead") -> tuple[int, int, float]:
    """The sign test with runs, not (run, task) conditions, as the units: a run counts by the median
    lead of its grokked conditions (lead_rows). -> (positive runs, runs with a non-zero median,
    p)."""
    from grokbook.measures.defect import sign_test

    per: dict[tuple, list] = {}
    for r in rows:
        if not r["control"] and r[key] is not None and np.isfinite(r[key]):
            per.setdefault((r["task_set"], r["weight_decay"], r["seed"]), []).append(r[key])
    return sign_test([float(np.median(v)) for v in per.values()])
