"""Tables and sentences of the multitask compression, deletion and weight-decay pages (Xu 2026b).

The pages call these so that each code cell stays a few calls: which grid runs enter, the scans over
a compression budget (kept fraction q, rank r, directions k, scale s), their per-run summaries and
the sentences whose wording depends on the numbers.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from grokbook.measures import compression as cp
from grokbook.measures.subspaces import random_basis
from grokbook.measures.trajectory import Spread
from grokbook.papers.grid import GridRun, select
from grokbook.papers.multitask import grids as multitask
from grokbook.papers.multitask.rules_compression import run_label

Key = tuple[str, float, int]            # (task set, λ, seed)


def key(g) -> Key:
    return (g.task_set, g.weight_decay, g.seed)


@dataclasses.dataclass
class Analysed:
    """The grid runs of the analysed task sets (controls excluded), those in which every task
    grokked, and θ_0, θ_T and θ_T's per-task test accuracy of each grokked run."""
    runs: list
    grokked: list
    ends: dict

    def table(self) -> pd.DataFrame:
        """One row per analysed run: stop step, each task's grok step and θ_T's test accuracy."""
        return pd.DataFrame([{"task set": g.task_set, "λ": g.weight_decay, "seed": g.seed,
                              "stop step": g.run.final_step,
                              **{f"grok {op}": s for op, s in g.grok_steps().items()},
                              **{f"acc_T {op}": a
                                 for op, a in zip(g.ops, self.ends.get(key(g), [[]] * 3)[2])}}
                             for g in self.runs])

    def labels(self) -> list[str]:
        return [run_label(*key(g)) for g in self.grokked]

    def __add__(self, other: "Analysed") -> "Analysed":
        return Analysed(self.runs + other.runs, self.grokked + other.grokked,
                        self.ends | other.ends)


def analysed(grid, task_sets: Optional[Sequence[str]] = None) -> Analysed:
    """The grid runs of `task_sets` (None: all; no controls), the grokked ones and their end
    points."""
    runs = [g for g in select(grid, controls=False)
            if task_sets is None or g.task_set in task_sets]
    grokked = [g for g in runs if None not in g.grok_steps().values()]
    return Analysed(runs, grokked, {key(g): cp.end_point(g.run) for g in grokked})


def _panel(g) -> str:
    return f"{g.task_set} λ={g.weight_decay}"


def _fields(g, method: str) -> dict:
    return dict(method=method, task_set=g.task_set, weight_decay=g.weight_decay, seed=g.seed,
                panel=_panel(g))


def _rng(g) -> np.random.Generator:
    return np.random.default_rng([g.seed, int(g.weight_decay * 1000), len(g.ops)])


def fmt(values, digits: int = 3) -> str:
    """Spread of values (mean ± sd, range) or "–" for none."""
    return Spread.of(values).fmt(digits=digits) if len(values) else "–"


def share(flags) -> float:
    """Share of True among flags (0 for none)."""
    return float(np.mean([bool(f) for f in flags])) if len(flags) else 0.0


def R_of(scan: pd.DataFrame, method: str, budget) -> pd.Series:
    """R of one method at one budget over the runs of a scan (empty for an empty scan)."""
    if not len(scan):
        return pd.Series(dtype=float)
    return scan[(scan.method == method) & (scan.budget == budget)].R


def with_acc_extremes(scan: pd.DataFrame) -> pd.DataFrame:
    """The scan with max_acc and min_acc over its tasks' accuracy columns."""
    acc = [c for c in scan if c.startswith("acc_")]
    return scan.assign(max_acc=scan[acc].max(axis=1), min_acc=scan[acc].min(axis=1))


def profile_note(profile: str, what: str = "") -> str:
    """The sentence that says a non-paper profile only checks the machinery."""
    if profile.startswith("paper"):
        return ""
    return (f" This is the `{profile}` profile (one-layer quick-grok models{what}): it checks the "
            "machinery, the numbers need the paper-scale grid.")


# ── magnitude pruning (multi.magnitude-pruning-failure) ───────────────────────────────────────────

def pruning_scan(a: Analysed, fractions: Sequence[float], random_draws: int) -> pd.DataFrame:
    """Magnitude, to-zero and random pruning of every grokked run at every kept fraction q, random
    pruning averaged over its draws: one row per (run, mode, q) with per-task accuracy, R and the
    energy kept."""
    rows = []
    for g in a.grokked:
        t0, tT, acc_T = a.ends[key(g)]
        rng = _rng(g)
        for name, r in [("magnitude", None), ("to zero", None)] + [("random", rng)] * random_draws:
            th, e = cp.magnitude_prune(t0, tT, fractions, mode=name.replace(" ", "_"), rng=r)
            rows += cp.scan_rows(g.run.config, th, acc_T, fractions, e, **_fields(g, name))
    by = ["panel", "method", "task_set", "weight_decay", "seed", "budget"]
    scan = pd.DataFrame(rows)
    if not rows:
        return scan
    return with_acc_extremes(scan.groupby(by, as_index=False).mean(numeric_only=True))


def pruning_runs(scan: pd.DataFrame, q_low: float, q_high: float) -> list[dict]:
    """Per grokked run, the inputs of the pruning rule: the best task's accuracy after magnitude
    pruning at q_low and the worst task's at q_high."""
    if not len(scan):
        return []
    mag = scan[scan.method == "magnitude"].set_index(["task_set", "weight_decay", "seed", "budget"])
    low, high = mag.xs(q_low, level="budget"), mag.xs(q_high, level="budget")
    full = mag.R.xs(1.0, level="budget") if 1.0 in mag.index.get_level_values("budget") else {}
    return [{"run": run_label(*k), "max_acc_low": float(low.max_acc[k]),
             "min_acc_high": float(high.min_acc[k]), "full_R": float(full.get(k, math.nan))}
            for k in low.index]


def pruning_text(scan: pd.DataFrame, q_high: float, tie_within: float = 0.01) -> str:
    """R at q_high of the three pruning modes, and whether magnitude pruning beats random pruning
    run by run (a difference within tie_within, e.g. both at chance, is a tie, not information)."""
    at = lambda m: R_of(scan, m, q_high)                                          # noqa: E731
    diff = np.asarray(at("magnitude")) - np.asarray(at("random"))               # [runs]
    n = max(len(diff), 1)
    better, worse = int((diff > tie_within).sum()), int((diff < -tie_within).sum())
    ties = len(diff) - better - worse
    reading = (" (so magnitude does carry information)." if better > n / 2 else
               " (so magnitude carries no information beyond the kept fraction)." if worse > n / 2
               else " (no consistent difference: magnitude carries no information the page can "
               "show).")
    return (f"R at q = {q_high}: magnitude {fmt(at('magnitude'))}, random {fmt(at('random'))}, "
            f"to zero {fmt(at('to zero'))}; magnitude beats random by more than {tie_within} in "
            f"{better} of {len(diff)} runs, loses in {worse}, ties in {ties}" + reading)


# ── per-matrix truncation (multi.svd-truncation-failure) ──────────────────────────────────────────

TRUNCATIONS = {"Δ fused (code)": dict(qkv="fused"), "Δ split": dict(qkv="split"),
               "Δ fused, attention only": dict(qkv="fused", only="attention"),
               "W_T split": dict(target="final")}


def truncation_scan(a: Analysed, ranks: Sequence[int]) -> pd.DataFrame:
    """Every truncation variant of every grokked run at every rank: per-task accuracy, R, energy
    kept."""
    rows = []
    for g in a.grokked:
        t0, tT, acc_T = a.ends[key(g)]
        for name, kw in TRUNCATIONS.items():
            th, e = cp.truncate_matrices(g.run.config, t0, tT, ranks=ranks, **kw)
            rows += cp.scan_rows(g.run.config, th, acc_T, ranks, e, **_fields(g, name))
    return with_acc_extremes(pd.DataFrame(rows)) if rows else pd.DataFrame(rows)


def pca_scan(a: Analysed, k_max: int, n_max: int,
             centred: Sequence[bool] = (False,)) -> pd.DataFrame:
    """Trajectory-PCA reconstruction θ_k = θ_0 + B_kB_kᵀΔ of every grokked run for k = 1..k_max (as
    many directions as the basis has), uncentered basis (and the centred one when asked)."""
    rows = []
    for g in a.grokked:
        t0, tT, acc_T = a.ends[key(g)]
        for c in centred:
            V = cp.trajectory_basis(*cp.run_trajectory(g.run), t0, n_max=n_max, centred=c).V
            ks = list(range(1, min(k_max, V.shape[1]) + 1))
            rows += cp.scan_rows(g.run.config, cp.reconstruct(t0, tT, V, ks), acc_T, ks,
                                 cp.captured_energy(t0, tT, V, ks),
                                 **_fields(g, "centred" if c else "trajectory PCA"))
    return with_acc_extremes(pd.DataFrame(rows)) if rows else pd.DataFrame(rows)


def truncation_runs(scan: pd.DataFrame, pca: pd.DataFrame, d_model: int,
                    pca_acc: float) -> list[dict]:
    """Per grokked run, the inputs of the truncation rule (code variant: Δ, fused QKV, all
    matrices)."""
    if not len(scan):
        return []
    by = ["task_set", "weight_decay", "seed"]
    code = scan[scan.method == "Δ fused (code)"]
    half = code[code.budget <= d_model // 2].groupby(by).max_acc.max()
    below = code[code.budget < d_model].groupby(by).R.max()
    ok = (pca.min_acc >= pca_acc).groupby([pca[c] for c in by]).any()
    full = code[code.budget == d_model].groupby(by).R.max()
    residue = best_R(scan, "W_T split", d_model // 2)
    return [{"run": run_label(*k), "max_acc_half": float(half[k]), "best_R_below": float(below[k]),
             "pca_ok": bool(ok.get(k, False)), "full_R": float(full.get(k, math.nan)),
             "residue_R": float(residue.get(k, math.nan))} for k in half.index]


def norm_ratio_table(a: Analysed) -> pd.DataFrame:
    """‖W_T‖_F/‖W_0‖_F of every matrix (Q, K, V split) of every grokked run."""
    return pd.DataFrame([{"task set": g.task_set, "λ": g.weight_decay, "seed": g.seed,
                          **cp.norm_ratios(g.run.config, *a.ends[key(g)][:2])} for g in a.grokked])


def best_R(scan: pd.DataFrame, method: str, max_budget) -> pd.Series:
    """Per run, the best R of one method over the budgets <= max_budget."""
    if not len(scan):
        return pd.Series(dtype=float)
    d = scan[(scan.method == method) & (scan.budget <= max_budget)]
    return d.groupby(["task_set", "weight_decay", "seed"]).R.max()


def truncation_value(per_run: Sequence[Mapping], scan: pd.DataFrame, d_model: int, fail_acc: float,
                     pca_acc: float, pca_k_max: int) -> str:
    """The headline of the truncation page: chance share, mean R at d_model/2 and the PCA share."""
    low = share([r["max_acc_half"] <= fail_acc for r in per_run])
    ok = share([r["pca_ok"] for r in per_run])
    half = R_of(scan, "Δ fused (code)", d_model // 2).mean() if len(scan) else math.nan
    return (f"Δ fused, all matrices: max task acc at r ≤ {d_model // 2} ≤ {fail_acc} in {low:.0%} "
            f"of {len(per_run)} runs; mean R at r={d_model // 2}: {half:.3f}; trajectory PCA ≥ "
            f"{pca_acc} within k ≤ {pca_k_max} in {ok:.0%}")


def truncation_text(scan: pd.DataFrame, d_model: int) -> str:
    """Mean R at rank d_model/2 per variant, and what truncating W_T instead of Δ shows."""
    if not len(scan):
        return "No grokked run."
    half = scan[scan.budget == d_model // 2].groupby("method").R.mean()
    wt = scan[(scan.method == "W_T split") & (scan.budget <= d_model // 2)].groupby(
        ["task_set", "weight_decay", "seed"]).R.max()
    return (f"Mean R at r = {d_model // 2}: " + ", ".join(f"{m} {v:.3f}" for m, v in half.items())
            + f". Truncating W_T instead of Δ: best R at r ≤ {d_model // 2} = {fmt(wt)}"
            + (" — the final weights survive truncation much better than the update, so the "
               "failure is largely the full-rank init residue in Δ, not the learned part."
               if len(wt) and wt.mean() >= 0.5 else
               " — truncating the final weights fails as well." if len(wt) else "") + ".")


# ── trajectory-PCA reconstruction (multi.reconstruction-threshold) ────────────────────────────────

def trajectory_bases(a: Analysed, n_max: int, pregrok_fraction: float) -> dict:
    """(run key, kind) -> TrajectoryBasis for kind uncentered, centred and pre-grok (checkpoints up
    to pregrok_fraction of the run's first grok step)."""
    out = {}
    for g in a.grokked:
        steps, thetas = cp.run_trajectory(g.run)
        first = min(g.grok_steps().values())
        for kind in ("uncentered", "centred", "pre-grok"):
            out[(key(g), kind)] = cp.trajectory_basis(
                steps, thetas, a.ends[key(g)][0], n_max=n_max, centred=(kind == "centred"),
                upto_step=pregrok_fraction * first if kind == "pre-grok" else None)
    return out


def basis_table(bases: Mapping) -> pd.DataFrame:
    """Checkpoints, directions, PC1 energy and k_τ of every basis."""
    return pd.DataFrame([{"task set": k[0], "λ": k[1], "seed": k[2], "basis": kind,
                          "checkpoints": len(b.steps_used), "directions": b.k, "PC1": b.energy[0],
                          **{f"k_{t}": cp.k_tau(b.energy, t) for t in (0.95, 0.99, 0.999)}}
                         for (k, kind), b in bases.items()])


def reconstruction_scan(a: Analysed, bases: Mapping, k_max: int) -> pd.DataFrame:
    """θ_k for k = 1..k_max with the uncentered and the centred basis of every grokked run."""
    rows = []
    for g in a.grokked:
        t0, tT, acc_T = a.ends[key(g)]
        for kind in ("uncentered", "centred"):
            V = bases[(key(g), kind)].V
            ks = list(range(1, min(k_max, V.shape[1]) + 1))
            rows += cp.scan_rows(g.run.config, cp.reconstruct(t0, tT, V, ks), acc_T, ks,
                                 cp.captured_energy(t0, tT, V, ks), **_fields(g, kind))
    return pd.DataFrame(rows)


def _partner(a: Analysed, g):
    """The next seed's grokked run of the same task set and λ (the cross-seed null), cyclically."""
    same = [h for h in a.grokked if h.task_set == g.task_set and h.weight_decay == g.weight_decay
            and h.seed != g.seed]
    return next((h for h in same if h.seed > g.seed), None) or next(iter(same), None)


def null_scan(a: Analysed, bases: Mapping, null_ks: Sequence[int],
              random_draws: int) -> pd.DataFrame:
    """The nulls at the k values null_ks: random subspaces (mean over draws), a Δ-containing
    subspace, the pre-grok basis and the next seed's basis."""
    rows = []
    for g in a.grokked:
        t0, tT, acc_T = a.ends[key(g)]
        rng, partner = _rng(g), _partner(a, g)
        cands = {f"random {d}": random_basis(len(t0), max(null_ks), rng)
                 for d in range(random_draws)}
        cands["Δ-containing"] = cp.delta_containing_basis(tT - t0, max(null_ks), rng)
        cands["pre-grok"] = bases[(key(g), "pre-grok")].V
        if partner is not None:
            cands["cross-seed"] = bases[(key(partner), "uncentered")].V
        for name, V in cands.items():
            ks = [k for k in null_ks if k <= V.shape[1]]
            rows += cp.scan_rows(g.run.config, cp.reconstruct(t0, tT, V, ks), acc_T, ks,
                                 cp.captured_energy(t0, tT, V, ks),
                                 **_fields(g, name.split(" ")[0]))
    by = ["panel", "method", "task_set", "weight_decay", "seed", "budget"]
    return pd.DataFrame(rows).groupby(by, as_index=False).mean(numeric_only=True)


BY = ["method", "task_set", "weight_decay", "seed"]


def crossings(scan: pd.DataFrame, rel_level: float) -> pd.DataFrame:
    """Per (method, run): k* (first k with every task >= 0.90, the code's rule), k95 first and k95
    stable (R >= rel_level), and resid_E = 1 − E_k at k*. NaN = not reached within the scan."""
    def one(d):
        ks, R = d.budget.tolist(), d.R.to_numpy()
        return pd.Series({"k*": cp.first_k(ks, d.all_above >= 1),
                          "k95 first": cp.k95(ks, R, rel_level),
                          "k95 stable": cp.k95(ks, R, rel_level, stable=True)}, dtype=float)
    out = scan.sort_values("budget").groupby(BY).apply(one, include_groups=False).reset_index()
    if "energy" not in scan:
        return out
    resid = scan.merge(out, on=BY).query("budget == `k*`").assign(resid_E=lambda d: 1 - d.energy)
    return out.merge(resid[BY + ["resid_E"]], on=BY, how="left")


def paper_kstar_column(summary: pd.DataFrame, paper_kstar: Mapping, seeds: Sequence[int]) -> list:
    """The paper's k* of each row's (task set, λ, seed), None where the paper has none."""
    return [paper_kstar.get(t, {}).get(w, [None] * 3)[seeds.index(s)] if s in seeds[:3] else None
            for t, w, s in zip(summary.task_set, summary.weight_decay, summary.seed)]


def kstar_per_lambda(unc: pd.DataFrame, k_max: int, n_boot: int,
                     paper_kstar: Mapping) -> pd.DataFrame:
    """Seed-mean k* per (task set, λ) with a bootstrap interval; a run that never reached the rule
    counts at k_max + 1 (`censored`)."""
    unc = unc.assign(k=unc["k*"].fillna(k_max + 1).astype(float))
    return pd.DataFrame([{"task set": t, "λ": w, "censored": int(d["k*"].isna().sum()),
                          **dict(zip(["mean k*", "CI low", "CI high"],
                                     cp.bootstrap_mean_ci(d.k, n_boot))),
                          "paper mean k*": float(np.mean(paper_kstar[t][w]))
                          if w in paper_kstar.get(t, {}) else None}
                         for (t, w), d in unc.groupby(["task_set", "weight_decay"])])


def lambda_effect(per_lambda: pd.DataFrame, lambda_min_kstar: float) -> dict:
    """Per task set: whether the k* interval at the smallest λ lies above the one at
    lambda_min_kstar (None when that λ is missing or there is one λ)."""
    out = {}
    for t, d in per_lambda.groupby("task set"):
        d = d.set_index("λ")
        out[t] = (bool(d.loc[min(d.index), "CI low"] > d.loc[lambda_min_kstar, "CI high"])
                  if lambda_min_kstar in d.index and len(d) > 1 else None)
    return out


# ── rescaling the update (multi.uniform-scaling-fragility) ────────────────────────────────────────

def tail_runs(namespace: Mapping, task_set: str, weight_decay: float, seeds: Sequence[int],
              tail_steps: int) -> list:
    """The grid's runs of (task set, λ, seeds) trained `tail_steps` past the stop (no probes, which
    do not change the trajectory), as GridRuns labelled "<task set>+<tail_steps>"."""
    from grokbook.training.cache import load_or_train
    points = multitask.grid_configs(**multitask.SHARED.pick(namespace),
                                    snapshot_groups=("attn", "all"))
    cfgs = [dataclasses.replace(c, tail_steps=tail_steps, probe_every=0) for ts, wd, s, c in points
            if ts == task_set and wd == weight_decay and s in seeds]
    return [GridRun(f"{task_set}+{tail_steps}", weight_decay, r.config.seed, r)
            for r in load_or_train(cfgs)]


SCALINGS = ("θ_0 + sΔ", "s·θ_T", "random perturbation", "independent init")


def scaling_scan(a: Analysed, scales: Sequence[float], fine_offsets: Sequence[float],
                 control_scales: Sequence[float], init_seed_offset: int) -> pd.DataFrame:
    """θ_0 + sΔ on the coarse and fine grids, and the three controls at control_scales, for every
    grokked run: per-task accuracy and R."""
    from grokbook.training.model import init_theta
    fine = sorted({1 + o for o in fine_offsets} | {1 - o for o in fine_offsets})
    rows = []
    for g in a.grokked:
        t0, tT, acc_T = a.ends[key(g)]
        other = init_theta(g.run.config, g.seed + init_seed_offset).double().numpy()
        kinds = [(sorted(set(scales) | set(fine)), {}), (control_scales, {}),
                 (control_scales, dict(rng=np.random.default_rng(g.seed))),
                 (control_scales, dict(theta0_other=other))]
        for name, (ss, kw), kind in zip(SCALINGS, kinds, cp.SCALE_KINDS):
            rows += cp.scan_rows(g.run.config, cp.scale_variants(t0, tT, ss, kind, **kw), acc_T, ss,
                                 **_fields(g, name))
    return with_acc_extremes(pd.DataFrame(rows)) if rows else pd.DataFrame(rows)


def scaling_runs(scan: pd.DataFrame, s_low: float, s_high: float) -> list[dict]:
    """Per grokked grid run (runs trained past the stop excluded), the best task's accuracy and R of
    θ_0 + sΔ at s_low and s_high."""
    if not len(scan):
        return []
    main = scan[(scan.method == SCALINGS[0]) & ~scan.task_set.str.contains(r"\+")
                & scan.budget.isin([s_low, s_high])]
    full = scan[(scan.method == SCALINGS[0]) & (scan.budget == 1.0)].groupby(
        ["task_set", "weight_decay", "seed"]).R.max()
    return [{"run": run_label(*k), "max_acc": d.max_acc.tolist(), "R": d.R.tolist(),
             "full_R": float(full.get(k, math.nan))}
            for k, d in main.groupby(["task_set", "weight_decay", "seed"])]


def scaled_R(scan: pd.DataFrame, method: str, s: float, tail: bool = False) -> pd.Series:
    """R of one scaling kind at one s over the grid runs (tail=False) or the runs trained past the
    stop."""
    if not len(scan):
        return pd.Series(dtype=float)
    past = scan.task_set.str.contains(r"\+") == tail
    return scan[(scan.method == method) & (scan.budget == s) & past].R


def scaling_text(scan: pd.DataFrame, s_low: float, s_high: float, rel_level: float,
                 tail_steps: int) -> str:
    """R at s_low of θ_0 + sΔ and its controls, the past-grok runs, and how the controls read."""
    R = lambda m, s=s_low, t=False: scaled_R(scan, m, s, t)                       # noqa: E731
    residue = len(R(SCALINGS[1])) and R(SCALINGS[1]).mean() >= rel_level > R(SCALINGS[0]).mean()
    return (f"R at s = {s_low}: " + ", ".join(f"{m} {fmt(R(m))}" for m in SCALINGS)
            + f". Trained {tail_steps} steps past the stop: R(θ_0 + sΔ) at s = {s_low} "
              f"{fmt(R(SCALINGS[0], s_low, True))}, at s = {s_high} "
              f"{fmt(R(SCALINGS[0], s_high, True))}."
            + (" The trained weights tolerate the same rescaling (s·θ_T keeps the tasks): the "
               "fragility measures the size of the init residue θ_0 − θ_T, not a delicate encoding."
               if residue else
               " Rescaling θ_T itself is not tolerated either, so the init-residue reading does "
               "not explain it alone."))


# ── weight decay (multi.wd-groktime-powerlaw, multi.wd-phase-structure) ───────────────────────────

def extra_runs(namespace: Mapping, weight_decays: Sequence[float], seeds: Sequence[int]) -> list:
    """Dual runs at weight decays outside the grid: the grid's dual config of each seed (at the
    grid's last λ) with only λ changed, as GridRuns."""
    from grokbook.training.cache import load_or_train
    params = {**multitask.SHARED.pick(namespace), "task_sets": ["dual"],
              "weight_decays": namespace["weight_decays"][-1:], "seeds": list(seeds),
              "control_seeds": []}
    points = multitask.grid_configs(**params, snapshot_groups=("attn", "all"))
    dual = {s: c for _, _, s, c in points}
    cfgs = [dataclasses.replace(dual[s], weight_decay=float(wd)) for wd in weight_decays
            for s in seeds]
    return [GridRun("dual", c.weight_decay, c.seed, r)
            for c, r in zip(cfgs, load_or_train(cfgs))]


def groktime_table(grid, extra) -> pd.DataFrame:
    """One row per non-control run: each task's grok step, t = their mean (NaN unless all grokked),
    stop step and whether it is a grid or an extra run."""
    def mean(d):
        return np.nan if None in d.values() else float(np.mean(list(d.values())))
    return pd.DataFrame([{"task_set": g.task_set, "weight_decay": g.weight_decay, "seed": g.seed,
                          "source": src, **g.grok_steps(), "t": mean(g.grok_steps()),
                          "final_step": g.run.final_step}
                         for src, runs in (("grid", select(grid, controls=False)),
                                           ("extra", extra))
                         for g in runs])


def model_table(lam, t, n_lambda: int) -> pd.DataFrame:
    """In-sample and leave-one-λ-out RMS log error of every grok-time model
    (timing.GROKTIME_MODELS)."""
    from grokbook.papers.multitask.timing import GROKTIME_MODELS, loo_log_error
    return pd.DataFrame([{"model": name, "parameters": k,
                          "in-sample RMS log error":
                              float(np.sqrt(np.mean((np.log(f(lam, t)(lam)) - np.log(t)) ** 2)))
                              if n_lambda >= k else np.nan,
                          "leave-one-λ-out RMS log error": loo_log_error(lam, t, f, k)}
                         for name, (f, k) in GROKTIME_MODELS.items()])


def best_model(models: pd.DataFrame) -> str:
    """The model with the smallest leave-one-λ-out error, or "none (too few λ)"."""
    col = "leave-one-λ-out RMS log error"
    if not len(models) or not models[col].notna().any():
        return "none (too few λ)"
    return str(models.loc[models[col].idxmin(), "model"])


def fit_text(fit, boot, per_task: Mapping, paper_prefactor: float, paper_exponent: float) -> str:
    """The power-law fit of the dual grok time in one sentence."""
    if fit is None:
        return "No fit: fewer than 3 grokked dual runs at 2 or more λ."
    return (f"Dual, t = (t_add + t_mul)/2: t = {fit.prefactor:,.0f}·λ^b with {boot.fmt(3, 'b')} "
            f"(seed bootstrap); t-interval {fit.ci[0]:.3f}–{fit.ci[1]:.3f}. Per task: "
            + ", ".join(f"{op} b = {f.exponent:.3f}" for op, f in per_task.items())
            + f". Paper: t = {paper_prefactor:,}·λ^({paper_exponent}).")


def censored_text(table: pd.DataFrame) -> str:
    """The runs that never grokked (counted at their budget in the seed means), or ""."""
    c = table[table.t.isna()]
    if not len(c):
        return ""
    return ("Runs that never grokked, counted at their budget: " + ", ".join(
        f"{r.task_set} λ={r.weight_decay:g} s{r.seed}" for r in c.itertuples()) + ".")


EXTREMA = {"k* minimum": ("kstar", "min"), "lead-fraction minimum": ("lead_frac", "min"),
           "shallowest curvature": ("depth", "max")}


def dual_extrema(per: pd.DataFrame) -> tuple[list[float], dict]:
    """The dual grokking λ values (λ > 0 with a grok time) and the λ of each extremum of the seed
    means."""
    from grokbook.papers.multitask.timing import extremum_position
    dual = per.loc["dual"] if "dual" in per.index else per.iloc[:0]
    lams = [w for w in dual.index if w > 0 and dual.loc[w, ("grok_time", "count")] > 0]
    return lams, {name: extremum_position(lams, [dual.loc[w, (col, "mean")] for w in lams], kind)
                  for name, (col, kind) in EXTREMA.items()}


def phase_null_text(table: pd.DataFrame, shapes: pd.DataFrame, control_weight_decay: float) -> str:
    """No-decay controls that grokked and the quadratic-vs-linear p-values (dual)."""
    ctrl = table[table.weight_decay == control_weight_decay]
    return (f"no-decay controls grokked {int(ctrl.grokked.sum())}/{len(ctrl)}; quadratic-vs-linear "
            "LR p (dual): " + ", ".join(f"{r.observable} {r['LR p']:.3g}"
                                   for _, r in shapes[shapes.task_set == "dual"].iterrows()))


def grok_spearman(shapes: pd.DataFrame) -> float:
    """Spearman ρ(λ, grok time) of the dual runs (NaN if not computed)."""
    rho = shapes.set_index(["task_set", "observable"]).spearman
    return float(rho.get(("dual", "grok time"), math.nan))


# ── k* read-outs (multi.reconstruction-threshold) ─────────────────────────────────────────────────

def kstar_by_run(summary: pd.DataFrame, method: str = "uncentered") -> dict:
    """Run label -> k* of one basis (None = not reached within the scan)."""
    d = summary[summary.method == method]
    return {run_label(t, w, s): (None if k != k else int(k))
            for t, w, s, k in zip(d.task_set, d.weight_decay, d.seed, d["k*"])}


def _kfmt(values: pd.Series, k_max: int) -> str:
    """Spread of k values, a run that never reached the rule counted at k_max + 1."""
    return Spread.of(values.fillna(k_max + 1)).fmt() if len(values) else "–"


def _pregrok_hits(null_summary: pd.DataFrame) -> int:
    return int(null_summary[null_summary.method == "pre-grok"]["k*"].notna().sum())


def kstar_text(summary: pd.DataFrame, null_summary: pd.DataFrame, per_lambda: pd.DataFrame,
               lambda_min_kstar: float, k_max: int, max_null_k: int) -> str:
    """k* of both bases, stable k_95, the pre-grok null and the λ effect in two sentences."""
    kst = summary[summary.method == "uncentered"]
    cen = summary[summary.method == "centred"]["k*"]
    return (f"Uncentered basis, the code's rule: k\\* over {len(kst)} grokked runs = "
            f"{_kfmt(kst['k*'], k_max)} (paper: 3–10 per seed, 4–8 in its headline). Centred "
            f"basis: k\\* = {_kfmt(cen, k_max)}. Stable k_95 (uncentered): "
            f"{_kfmt(kst['k95 stable'], k_max)}; "
            f"pre-grok basis reaches the rule (≤ k = {max_null_k}) in "
            f"{_pregrok_hits(null_summary)}/{len(kst)} runs. "
            f"λ effect (smallest λ vs λ = {lambda_min_kstar}, non-overlapping CIs): "
            f"{lambda_effect(per_lambda, lambda_min_kstar)}.")


def kstar_value(summary: pd.DataFrame, abs_threshold: float, band_low: int, band_high: int,
                k_max: int) -> str:
    """The headline of the reconstruction page."""
    kst = summary[summary.method == "uncentered"]
    band = share(kst["k*"].between(band_low, band_high))
    return (f"k* (uncentered, acc ≥ {abs_threshold} all tasks) {_kfmt(kst['k*'], k_max)}; share in "
            f"[{band_low},{band_high}] {band:.0%}; stable k_95 {_kfmt(kst['k95 stable'], k_max)}; "
            f"centred k* {_kfmt(summary[summary.method == 'centred']['k*'], k_max)}")


def kstar_null_value(summary: pd.DataFrame, nulls: pd.DataFrame, null_summary: pd.DataFrame,
                     max_null_k: int) -> str:
    """The nulls of the reconstruction page in one line."""
    n = int((summary.method == "uncentered").sum())
    rand = R_of(nulls, "random", max_null_k)
    return (f"random {max_null_k}-dim subspace: mean R {rand.mean():.3f}; pre-grok basis reaches "
            f"the rule in {_pregrok_hits(null_summary)}/{n} runs")


def scaling_value(per_run: Sequence[Mapping], scan: pd.DataFrame, s_low: float, s_high: float,
                  fail_acc: float) -> str:
    """The headline of the scaling page: R of θ_0 + sΔ at both scales and the share at chance."""
    chance = share([all(a <= fail_acc for a in r["max_acc"]) for r in per_run])
    return (f"θ_0+sΔ at s={s_low}: R {fmt(scaled_R(scan, SCALINGS[0], s_low))}, at s={s_high}: R "
            f"{fmt(scaled_R(scan, SCALINGS[0], s_high))}; chance at both in {chance:.0%} of "
            f"{len(per_run)} runs")


def scaling_null_value(scan: pd.DataFrame, s_low: float) -> str:
    """The controls of the scaling page at s_low in one line."""
    R = lambda m, t=False: fmt(scaled_R(scan, m, s_low, t))                       # noqa: E731
    return (f"at s={s_low}: s·θ_T R {R(SCALINGS[1])}; random perturbation R {R(SCALINGS[2])}; "
            f"independent init R {R(SCALINGS[3])}; past-grok θ_0+sΔ R {R(SCALINGS[0], True)}")


# ── deleting the off-trajectory gradient (multi.ortho-deletion-cliff, multi.dual-partial-recovery) 

def deletion_baselines(grid, task_sets: Sequence[str], weight_decay: float, seeds: Sequence[int],
                       basis_k: int, basis_checkpoints: int) -> tuple[dict, dict]:
    """Per task set, the grid runs at λ = weight_decay of `seeds` (the f = 0 baselines) and their
    own top-basis_k trajectory bases [N, P, K]."""
    from grokbook.papers.multitask import deletion as dl
    base = {ts: [g.run for g in select(grid, ts, weight_decay, controls=False)
                 if g.seed in seeds] for ts in task_sets}
    return base, {ts: dl.trajectory_bases(base[ts], basis_k, basis_checkpoints) for ts in task_sets}


def baseline_text(base: Mapping, own: Mapping, caps: Mapping) -> str:
    """Baseline grok steps, basis size and cap of every task set in one sentence."""
    from grokbook.papers.multitask import deletion as dl
    return "; ".join(f"{ts}: baseline all-tasks grok steps {[r.all_grok_step() for r in base[ts]]} "
                     f"(seeds {[r.config.seed for r in base[ts]]}), B has {own[ts].shape[2]} "
                     f"columns in P = {own[ts].shape[1]:,}, cap {caps[ts]:,} steps"
                     for ts in base) + "."


def gradient_shares(base: Mapping, own: Mapping, fractions: Mapping, check_fraction: float,
                    grad_points: int) -> pd.DataFrame:
    """deletion.removed_along on every baseline: share of ‖g‖ in span(B) and removed at each
    f > 0."""
    from grokbook.papers.multitask import deletion as dl
    return pd.DataFrame([dict(task_set=ts, seed=r.config.seed, **x) for ts in base
                         for r, B in zip(base[ts], own[ts])
                         for x in dl.removed_along(
                             r, B, sorted({*fractions[ts], check_fraction} - {0.0}), grad_points)])


def span_text(grads: pd.DataFrame, basis_k: int, P: int) -> str:
    """The share of ‖g‖ inside span(B), against a random subspace of the same size."""
    return (f"Share of ‖g‖ inside span(B) over the checkpoints: mean "
            f"**{grads.in_span.mean():.3f}** (range {grads.in_span.min():.3f}–"
            f"{grads.in_span.max():.3f}); a random {basis_k}-dim subspace: "
            f"≈ {math.sqrt(basis_k / P):.4f}.")


def control_rows(base: Mapping, own: Mapping, caps: Mapping, *, basis_k: int,
                 basis_checkpoints: int, random_seed_offset: int, early_basis_step: int,
                 matched_fractions: Sequence[float],
                 random_fractions: Sequence[float], post_adam_fractions: Sequence[float],
                 leak_fractions: Sequence[float], start: int) -> list[dict]:
    """The controls of the deletion: matched-norm shrink, random basis, post-AdamW projection and
    the two leakage bases (the next seed's basis, an early-window basis), one stacked job per (task
    set, arm, f)."""
    from grokbook.papers.multitask import deletion as dl
    rand = {ts: dl.random_bases(base[ts], basis_k, random_seed_offset) for ts in base
            if random_fractions}
    other = {ts: own[ts][dl.next_seed([r.config.seed for r in base[ts]])] for ts in base}
    early = {ts: dl.trajectory_bases(base[ts], basis_k, basis_checkpoints,
                                     upto_step=early_basis_step) for ts in base if leak_fractions}
    arms = [("matched", "own", own, matched_fractions),
            ("delete", "random", rand, random_fractions),
            ("post_adam", "own", own, post_adam_fractions),
            ("delete", "other-seed", other, leak_fractions),
            ("delete", "early", early, leak_fractions)]
    return [x for ts in base for arm, name, bases, fs in arms for f in fs
            for x in dl.arm_rows(base[ts], bases[ts], f, task_set=ts, arm=arm, basis=name,
                                 cap=caps[ts], start=start)]


def second_lambda_rows(grid, task_sets: Sequence[str], weight_decays: Sequence[float],
                       seeds: Sequence[int], caps: Mapping, *, f: float, basis_k: int,
                       basis_checkpoints: int, cap_factor: float, start: int) -> list[dict]:
    """The paper rule at f = 0 and f on the grid runs of further λ values (their own bases)."""
    from grokbook.papers.multitask import deletion as dl
    rows = []
    for ts in task_sets:
        for wd in weight_decays:
            b = [g.run for g in select(grid, ts, wd, controls=False) if g.seed in seeds]
            B = dl.trajectory_bases(b, basis_k, basis_checkpoints)
            c = dl.cap_steps(b, caps[ts], cap_factor)
            rows += [x for ff in (0.0, f)
                     for x in dl.arm_rows(b, B, ff, task_set=ts, cap=c, start=start)]
    return rows


def paper_column(summary: pd.DataFrame, known: Mapping, paper_fail: Mapping,
                 weight_decay: float) -> list:
    """The paper's value of each summary row of the paper rule with the own basis at weight_decay:
    "fail", its grok step, or None."""
    return [("fail" if r.f in paper_fail[r.task_set] else known[r.task_set].get(r.f))
            if (r.arm, r.basis, r.weight_decay) == ("delete", "own", weight_decay) else None
            for r in summary.itertuples()]


def with_none_grokked(summary: Sequence[Mapping], rows: Sequence[Mapping]) -> list[dict]:
    """deletion.summary_rows with n_none: the seeds in which no task grokked by the cap (from the
    per-run rows' grok_<task> steps)."""
    def none(r):
        return all(r[k] is None for k in r if k.startswith("grok_"))
    def key_of(r):
        return (r["task_set"], r["weight_decay"], r["arm"], r["basis"], r["f"])
    counts: dict = {}
    for r in rows:
        counts[key_of(r)] = counts.get(key_of(r), 0) + none(r)
    return [{**s, "n_none": counts.get(key_of(s), 0)} for s in summary]


def rounded(summary: pd.DataFrame) -> pd.DataFrame:
    """The deletion summary rounded for display."""
    return summary.round({"mean_grok": 0, "mean_grok_capped": 0, "delay": 0, "delay_sd": 0,
                          "baseline_sd": 0, "disp_in_span": 3})


def failed_text(rows: Sequence[Mapping]) -> str:
    """"<task set> <failed>/<n>" for summary rows ("" for none)."""
    return ", ".join(f"{r['task_set']} {r['n'] - r['n_grokked']}/{r['n']}" for r in rows)


def grokked_text(rows: Sequence[Mapping]) -> str:
    """"<task set> f=<f>: <grokked>/<n>" for summary rows, or "not run"."""
    return ", ".join(f"{r['task_set']} f={r['f']}: {r['n_grokked']}/{r['n']}"
                     for r in rows) or "not run"


def cliff_text(main: Sequence[Mapping], matched: Sequence[Mapping], check_fraction: float) -> str:
    """The cliff and its matched-norm control in words."""
    at = [r for r in main if r["f"] == check_fraction]
    fails = [r for r in matched if r["n_grokked"] < r["n"]]
    return (f"Seeds with no grok by the cap at f = {check_fraction} (paper rule): "
            f"**{failed_text(at) or '–'}** (paper: every task fails at f = 0.10 in its single "
            "seed); "
            f"matched-norm control, seeds that failed: **{failed_text(matched) or 'not run'}**"
            + ("." if not matched else
               " — shortening the gradient alone also stops grokking in some seeds." if fails else
               " — shortening the gradient alone does not stop grokking."))


def cliff_value(main: Sequence[Mapping], rho: Mapping, check_fraction: float) -> str:
    """The headline of the cliff page."""
    return ("; ".join(f"{r['task_set']}: f={check_fraction} failed {r['n'] - r['n_grokked']}/"
                      f"{r['n']} seeds (cap {r['cap']})" for r in main if r["f"] == check_fraction)
            + "; Spearman " + ", ".join(f"{k} {v:.2f}" for k, v in rho.items()))


def recovery_value(summary: Sequence[Mapping], recover_fraction: float,
                   fail_fractions: Sequence[float]) -> str:
    """The headline of the recovery page: share of seeds that grokked at each grid point."""
    from grokbook.papers.multitask.rules_compression import grok_share

    def txt(ts, f):
        s = grok_share(summary, ts, f)
        return "not run" if s != s else f"{s:.0%}"
    rf = recover_fraction
    return (f"dual f={rf} grokked {txt('dual', rf)} of seeds; dual f={list(fail_fractions)} "
            f"grokked {[txt('dual', f) for f in fail_fractions]}; tri f={rf} grokked "
            f"{txt('tri', rf)}")


def no_test_note(profile: str, start: int, caps: Mapping, base: Mapping) -> str:
    """Why a non-paper profile cannot test a deletion claim."""
    from grokbook.papers.multitask import deletion as dl
    if profile == "paper":
        return ""
    groks = {ts: [r.all_grok_step() for r in base[ts]] for ts in base}
    return (f" Profile `{profile}`: the quick-grok setting, start {start}, caps {dict(caps)} "
            f"(baseline grok steps {groks}), while the paper's effects appear at 14k–60k steps; "
            "the run only checks that the machinery trains, caps and tabulates.")


# ── grok time against λ (multi.wd-groktime-powerlaw) ──────────────────────────────────────────────

def power_fit(dual: pd.DataFrame, n_boot: int):
    """The log-log fit of the dual grok time t against λ with its seed bootstrap and the per-task
    fits: (fit, boot, per_task), all None/{} with fewer than 3 grokked runs at 2 or more λ."""
    from grokbook.measures.fits import bootstrap_exponent, power_law_fit
    lam, t = dual.weight_decay.to_numpy(), dual.t.to_numpy()
    if len(np.unique(lam)) < 2 or len(lam) < 3:
        return None, None, {}
    fit = power_law_fit(lam, t)
    per_task = {op: power_law_fit(lam, dual[op].to_numpy(float)) for op in ("add", "mul")}
    return fit, bootstrap_exponent(lam, t, n_boot=n_boot, strata=lam), per_task


def seed_mean_trend(table: pd.DataFrame, task_sets: Sequence[str],
                    dual_fit) -> tuple[pd.DataFrame, dict]:
    """Seed-mean t per λ of every task set (a run that never grokked counts at its budget), whether
    it decreases strictly, and the exponent (tri: its own fit with >= 2 λ and >= 3 runs)."""
    from grokbook.measures.fits import power_law_fit
    from grokbook.papers.multitask.timing import group_means, is_decreasing
    t = table.t.fillna(table.final_step)
    means = {ts: group_means(table.weight_decay[table.task_set == ts], t[table.task_set == ts])
             for ts in task_sets}
    monotone = {ts: is_decreasing(m) if len(m) >= 2 else None for ts, (_, m) in means.items()}
    tri = table[(table.task_set == "tri") & table.t.notna()]
    enough = tri.weight_decay.nunique() >= 2 and len(tri) >= 3
    tri_fit = power_law_fit(tri.weight_decay, tri.t) if enough else None
    fits = {"dual": dual_fit, "tri": tri_fit}
    return pd.DataFrame([{"task_set": ts, "λ": list(x), "mean t": [round(v) for v in m],
                          "strictly decreasing": monotone[ts],
                          "exponent": fits[ts].exponent if fits.get(ts) is not None else None}
                         for ts, (x, m) in means.items()]), monotone


def powerlaw_value(fit, boot, lam) -> str:
    """The headline of the grok-time page."""
    if fit is None:
        return "no fit"
    return (f"b = {fit.exponent:.3f} (seed bootstrap 95 % CI {boot.ci[0]:.3f}–{boot.ci[1]:.3f}), "
            f"a = {fit.prefactor:,.0f}, n = {fit.n} dual runs at λ "
            f"{sorted(float(v) for v in set(lam))}")


def powerlaw_null_value(models: pd.DataFrame, decreasing: bool, table: pd.DataFrame) -> str:
    """The competing models and the monotonicity check in one line."""
    errors = zip(models.get("model", []), models.get("leave-one-λ-out RMS log error", []))
    return ("leave-one-λ-out RMS log error: " + ", ".join(f"{m} {e:.3f}" for m, e in errors)
        + f"; seed means decreasing: {decreasing} (never-grokked runs at their budget: "
          f"{int(table.t.isna().sum())})")
