"""Verdict rules of the multitask compression, deletion and weight-decay claims (Xu 2026b), one per
claim.

Each rule takes measured numbers (small per-run or per-grid-point tables, never runs) and the
thresholds (notebook parameters) and returns a `Verdict` whose `rule` text carries the threshold
values.
"""
from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence

import numpy as np

from grokbook.papers.verdict import Evidence, Verdict, tiered


def _num(x) -> float:
    """x as a float, NaN for None."""
    return math.nan if x is None else float(x)


def _share(flags: Sequence[bool]) -> float:
    """Share of True in flags (0 for none)."""
    return float(np.mean([bool(f) for f in flags])) if len(flags) else 0.0


def _pct(x: float) -> str:
    return f"{x:.0%}"


def seed_labels(seeds: Sequence[int]) -> list[str]:
    return [f"s{s}" for s in seeds]


def run_label(task_set: str, weight_decay: float, seed: int) -> str:
    """The label of one grid run in an Evidence list, e.g. "dual λ=1.0 s42"."""
    return f"{task_set} λ={weight_decay:g} s{seed}"


# ── deletion of the off-trajectory gradient ───────────────────────────────────────────────────────

def grok_share(summary: Sequence[Mapping], task_set: str, f: float, arm: str = "delete") -> float:
    """Share of seeds in which every task grokked by the cap at (task set, f, arm), from
    deletion.summary_rows; NaN if that grid point was not run."""
    hit = [r for r in summary if r["task_set"] == task_set and r["f"] == f and r["arm"] == arm]
    return hit[0]["n_grokked"] / hit[0]["n"] if hit else math.nan


def dual_partial_recovery(summary: Sequence[Mapping], baseline_grok: Sequence[Optional[int]], *,
                          seeds: Sequence[int], recover_fraction: float,
                          fail_fractions: Sequence[float], min_share: float,
                          min_seeds: int) -> Verdict:
    """multi.dual-partial-recovery. summary: deletion.summary_rows of the paper rule (arm "delete")
    per (task set, f) with n and n_grokked; baseline_grok: all-tasks grok step of every f = 0 run
    (None = never). (a) dual at recover_fraction groks in >= min_share of seeds; (b) dual fails in
    >= min_share at every f in fail_fractions; (c) tri at recover_fraction fails in >= min_share.
    Ref: Xu 2026b, deletion scans."""
    rf, fails = recover_fraction, list(fail_fractions)
    main = [r for r in summary if r["arm"] == "delete"]
    share = lambda ts, f: grok_share(main, ts, f)                                  # noqa: E731
    a = bool(share("dual", rf) >= min_share)
    b = bool(fails) and all(1 - share("dual", f) >= min_share for f in fails)
    c = bool(1 - share("tri", rf) >= min_share)
    points = [("dual", rf), ("tri", rf), *(("dual", f) for f in fails)]
    missing = [k for k in points if math.isnan(share(*k))]
    inputs = len(seeds) >= min_seeds and not missing and all(g is not None for g in baseline_grok)
    rule = (f"inconclusive with fewer than {min_seeds} seeds, a grid point not run or a baseline "
            f"that never grokked; reproduced: (a) dual at f = {rf} groks (every task) in ≥ "
            f"{min_share} of seeds, (b) dual fails at every f in {fails} in ≥ {min_share} of seeds "
            f"and (c) tri at f = {rf} fails in ≥ {min_share} of seeds; partial: (a) with (b) or "
            "(c); otherwise not reproduced")
    checks = {f"(a) dual groks at f = {rf}": a, f"(b) dual fails at f = {fails}": b,
              f"(c) tri fails at f = {rf}": c,
              "inputs complete (seeds, grid points, grokked baselines)": inputs}
    ev = Evidence.of(seed_labels(seeds), "seeds")
    if not inputs:
        return Verdict("inconclusive", rule, ev, checks)
    verdict = "reproduced" if a and b and c else "partial" if a and (b or c) else "not reproduced"
    return Verdict(verdict, rule, ev, checks)


def spearman_by_task_set(main: Sequence[Mapping], max_f: float) -> dict[str, float]:
    """Spearman ρ of f with the seed-mean grok step (a failed run counted at its cap,
    `mean_grok_capped`) over the grid points f <= max_f, per task set; NaN with fewer than 3 f."""
    from scipy.stats import spearmanr
    low = [r for r in main if r["f"] <= max_f]
    out = {}
    for ts in dict.fromkeys(r["task_set"] for r in low):
        fs = [r["f"] for r in low if r["task_set"] == ts]
        t = [r["mean_grok_capped"] for r in low if r["task_set"] == ts]
        out[ts] = float(spearmanr(fs, t)[0]) if len(set(fs)) > 2 else math.nan
    return out


def ortho_deletion_cliff(main: Sequence[Mapping], matched: Sequence[Mapping],
                         baseline_grok: Sequence[Optional[int]], *, seeds: Sequence[int],
                         check_fraction: float, monotone_max_f: float, min_spearman: float,
                         min_fail_share: float, min_seeds: int) -> Verdict:
    """multi.ortho-deletion-cliff. main: deletion.summary_rows of the paper rule with the run's own
    basis at the deletion λ (task_set, f, n, n_grokked, mean_grok_capped) plus n_none, the seeds in
    which no task grokked by the cap; matched: the matched-norm rows at check_fraction;
    baseline_grok: all-tasks grok step of every f = 0 run. (i) cliff: no task groks, as the paper
    states it, (ii) dose-response, (iii) not a norm effect. Ref: Xu 2026b, orthogonal-deletion fine
    scan."""
    cf = check_fraction
    fail = lambda r: 1 - r["n_grokked"] / r["n"]                                    # noqa: E731
    none = lambda r: r["n_none"] / r["n"]                                           # noqa: E731
    task_sets = list(dict.fromkeys(r["task_set"] for r in main))
    at = {ts: [r for r in main if r["task_set"] == ts and r["f"] == cf] for ts in task_sets}
    i = {ts: bool(at[ts]) and all(none(r) >= min_fail_share for r in at[ts]) for ts in task_sets}
    rho = spearman_by_task_set(main, monotone_max_f)
    ii = bool(rho) and all(v >= min_spearman for v in rho.values())
    mt = [r for r in matched if r["f"] == cf]
    iii = bool(mt) and all(fail(r) < min_fail_share for r in mt)
    inputs = len(seeds) >= min_seeds and all(g is not None for g in baseline_grok)
    rule = (f"inconclusive with fewer than {min_seeds} seeds or a baseline that never grokked; "
            f"reproduced: (i) at f = {cf} no task groks by the cap in ≥ {min_fail_share} of seeds "
            f"in every task set, (ii) Spearman(f, seed-mean grok step) ≥ {min_spearman} over f ≤ "
            f"{monotone_max_f} in every task set and (iii) the matched-norm control at f = {cf} "
            f"fails in fewer than {min_fail_share} of seeds; partial: (i) only; otherwise not "
            "reproduced")
    checks = {**{f"(i) {ts}: no task groks at f = {cf}": v for ts, v in i.items()},
              **{f"(ii) {ts} Spearman {v:.2f} ≥ {min_spearman}" if v == v else
                 f"(ii) {ts} Spearman (fewer than 3 f)": bool(v >= min_spearman)
                 for ts, v in rho.items()},
              f"(iii) matched-norm control groks at f = {cf}": iii if mt else None,
              "inputs complete (seeds, grokked baselines)": inputs}
    ev = Evidence.of(seed_labels(seeds), "seeds")
    if not inputs:
        return Verdict("inconclusive", rule, ev, checks)
    verdict = "reproduced" if all(i.values()) and ii and iii else "partial" if all(i.values()) \
        else "not reproduced"
    return Verdict(verdict, rule, ev, checks)


# ── compressing the update of a grokked model ─────────────────────────────────────────────────────

def _gate(runs: Sequence[Mapping], min_full_R: float) -> bool:
    """The positive control of a failure claim: the same code at its full budget (all entries, full
    rank, s = 1) rebuilds every run, R >= min_full_R."""
    return bool(runs) and all(_num(r["full_R"]) >= min_full_R for r in runs)


def _gated(result: Verdict, gate: bool) -> Verdict:
    """`result`, or inconclusive when the positive control failed."""
    return result if gate else Verdict("inconclusive", result.rule, result.evidence, result.checks)


def magnitude_pruning_failure(runs: Sequence[Mapping], *, q_low: float, q_high: float,
                              fail_acc: float, keep_acc: float, run_share: float,
                              min_full_R: float = 0.999, min_evidence: int = 3) -> Verdict:
    """multi.magnitude-pruning-failure. runs: one dict per grokked run with `run` (label),
    `max_acc_low` (the best task's test accuracy after magnitude pruning at q_low), `min_acc_high`
    (the worst task's at q_high) and `full_R` (R with every entry kept). Ref: Xu 2026b, snapshot
    decomposition."""
    a = _share([_num(r["max_acc_low"]) <= fail_acc for r in runs])
    b = _share([_num(r["min_acc_high"]) < keep_acc for r in runs])
    gate = _gate(runs, min_full_R)
    rule = (f"inconclusive with fewer than {min_evidence} grokked runs or when keeping every entry "
            f"does not rebuild every run (R ≥ {min_full_R}); reproduced: in ≥ {_pct(run_share)} of "
            f"the grokked runs magnitude pruning at q = {q_low} leaves every task ≤ {fail_acc} and "
            f"at q = {q_high} some task < {keep_acc}; partial: one of the two; otherwise not "
            "reproduced")
    low, high = (f"every task ≤ {fail_acc} at q = {q_low} ({_pct(a)} of runs)",
                 f"some task < {keep_acc} at q = {q_high} ({_pct(b)} of runs)")
    ok_a, ok_b = a >= run_share, b >= run_share
    kept = f"every entry kept rebuilds every run (R ≥ {min_full_R})"
    result = tiered(rule, Evidence.of([r["run"] for r in runs]),
                    [("reproduced", {low: ok_a, high: ok_b, kept: gate}),
                     ("partial", {"one of the two": ok_a or ok_b})], min_n=min_evidence)
    return _gated(result, gate)


def svd_truncation_failure(runs: Sequence[Mapping], *, d_model: int, fail_acc: float,
                           pca_acc: float, pca_k_max: int, rel_level: float,
                           run_share: float, min_full_R: float = 0.999,
                           residue_level: float = 0.5, min_evidence: int = 3) -> Verdict:
    """multi.svd-truncation-failure. runs: one dict per grokked run with `run`, `max_acc_half` (the
    best task's test accuracy over the code variant's ranks <= d_model/2), `best_R_below` (its best
    R over ranks < d_model), `pca_ok` (the trajectory PCA rebuilds every task within
    k <= pca_k_max), `full_R` (the code variant's R at full rank) and `residue_R` (the best R of the
    init-residue control, W_T truncated, over ranks <= d_model/2). When the control keeps R >=
    residue_level in the required share of runs, the init residue explains the failure: "not
    supported". Ref: Xu 2026b, snapshot decomposition."""
    half = d_model // 2
    full = _share([_num(r["max_acc_half"]) <= fail_acc and bool(r["pca_ok"]) for r in runs])
    fail = _share([_num(r["best_R_below"]) < rel_level for r in runs])
    residue = _share([_num(r["residue_R"]) >= residue_level for r in runs])
    gate = _gate(runs, min_full_R)
    rule = (f"inconclusive with fewer than {min_evidence} grokked runs or when the truncation at "
            f"full rank does not rebuild every run (R ≥ {min_full_R}); reproduced: in ≥ "
            f"{_pct(run_share)} of the grokked runs the per-matrix truncation of Δ (fused QKV, all "
            f"matrices) leaves every task ≤ {fail_acc} at every rank ≤ {half} while the trajectory "
            f"PCA reaches every task ≥ {pca_acc} at some k ≤ {pca_k_max}; partial: R < {rel_level} "
            f"at every rank < {d_model} in that share; not supported: either, while truncating W_T "
            f"itself keeps R ≥ {residue_level} at some rank ≤ {half} in that share (the init "
            "residue explains the failure); otherwise not reproduced")
    residue_check = f"W_T truncation keeps R ≥ {residue_level} ({_pct(residue)} of runs)"
    result = tiered(rule, Evidence.of([r["run"] for r in runs]), [
        ("reproduced", {f"chance up to rank {half} and PCA rebuilds ({_pct(full)} of runs)":
                        full >= run_share,
                        f"full rank rebuilds every run (R ≥ {min_full_R})": gate}),
        ("partial", {f"R < {rel_level} below full rank ({_pct(fail)} of runs)":
                     fail >= run_share})], min_n=min_evidence)
    result.checks[residue_check] = residue >= run_share
    if result.verdict in ("reproduced", "partial") and residue >= run_share:
        result = Verdict("not supported", result.rule, result.evidence, result.checks)
    return _gated(result, gate)


def reconstruction_threshold(kstar: Mapping[str, Optional[int]], *, kstar_low: int,
                             kstar_high: int, band_low: int, band_high: int, band_share: float,
                             k_max: int, min_evidence: int = 3) -> Verdict:
    """multi.reconstruction-threshold. kstar: run label -> k* of the uncentered basis under the
    code's absolute rule (None = not reached within k <= k_max).
    Ref: Xu 2026b, code `pca_threshold_scan.py`."""
    ks = [_num(v) for v in kstar.values()]
    reached = bool(ks) and not any(math.isnan(k) for k in ks)
    in_range = reached and all(kstar_low <= k <= kstar_high for k in ks)
    band = _share([band_low <= k <= band_high for k in ks])
    rule = (f"inconclusive with fewer than {min_evidence} grokked runs; reproduced: every grokked "
            f"run has {kstar_low} ≤ k* ≤ {kstar_high} and ≥ {_pct(band_share)} of them have k* in "
            f"[{band_low}, {band_high}]; partial: every run reaches the rule within k ≤ {k_max}; "
            "otherwise not reproduced")
    return tiered(rule, Evidence.of(list(kstar)), [
        ("reproduced", {f"every k* in [{kstar_low}, {kstar_high}]": in_range,
                        f"{_pct(band)} of k* in [{band_low}, {band_high}]": band >= band_share}),
        ("partial", {f"every run rebuilt within k ≤ {k_max}": reached})], min_n=min_evidence)


def uniform_scaling_fragility(runs: Sequence[Mapping], *, s_low: float, s_high: float,
                              fail_acc: float, rel_level: float, seed_share: float,
                              min_full_R: float = 0.999, min_evidence: int = 3) -> Verdict:
    """multi.uniform-scaling-fragility. runs: one dict per grokked grid run with `run`, `max_acc`
    (the best task's test accuracy of θ_0 + sΔ at s_low and at s_high, two values), `R` (R at both)
    and `full_R` (R of θ_0 + 1·Δ). Ref: Xu 2026b, README (scaling test)."""
    chance = _share([all(_num(a) <= fail_acc for a in r["max_acc"]) for r in runs])
    broken = _share([all(_num(x) < rel_level for x in r["R"]) for r in runs])
    gate = _gate(runs, min_full_R)
    rule = (f"inconclusive with fewer than {min_evidence} grokked runs or when s = 1 does not "
            f"rebuild every run (R ≥ {min_full_R}); reproduced: in ≥ {_pct(seed_share)} of the "
            f"grokked runs every task ≤ {fail_acc} at both s = {s_low} and s = {s_high}; partial: "
            f"R < {rel_level} at both in that share; otherwise not reproduced")
    result = tiered(rule, Evidence.of([r["run"] for r in runs]), [
        ("reproduced", {f"chance at both scales ({_pct(chance)} of runs)": chance >= seed_share,
                        f"s = 1 rebuilds every run (R ≥ {min_full_R})": gate}),
        ("partial", {f"R < {rel_level} at both scales ({_pct(broken)} of runs)":
                     broken >= seed_share})], min_n=min_evidence)
    return _gated(result, gate)


# ── weight decay ──────────────────────────────────────────────────────────────────────────────────

def wd_groktime_powerlaw(runs: Sequence[str], *, exponent: Optional[float],
                         ci: Optional[Sequence[float]], lambdas: Sequence[float], decreasing: bool,
                         slope_range: Sequence[float], min_levels: int,
                         fit_range: Sequence[float] = (0.1, 1.0), min_evidence: int = 3) -> Verdict:
    """multi.wd-groktime-powerlaw. runs: labels of the grokked dual runs in the fit; exponent: the
    log-log slope b (None = no fit); ci: its seed-bootstrap 95 % interval; lambdas: the λ of those
    runs, which must all lie in fit_range (the paper's exponent is for λ 0.1–1.0; other λ belong in
    the model comparison only); decreasing: the seed-mean grok time decreases strictly with λ over
    fit_range. Ref: Xu 2026b, code `fit_wd_groktime.py`."""
    lo, hi = slope_range
    b = _num(exponent)
    in_range = bool(lo <= b <= hi)
    excludes_0 = ci is not None and (ci[1] < 0 or ci[0] > 0)
    n_lambda = len(set(lambdas))
    inside = all(fit_range[0] <= w <= fit_range[1] for w in lambdas)
    rule = (f"inconclusive without a fit, with grokked runs at fewer than {min_levels} λ values, "
            f"fewer than {min_evidence} runs or a fitted λ outside [{fit_range[0]}, "
            f"{fit_range[1]}]; "
            f"reproduced: slope b in [{lo}, {hi}], its bootstrap 95 % interval excludes 0 and the "
            "seed-mean grok time decreases strictly with λ; partial: b < 0 with an interval that "
            "excludes 0; otherwise not reproduced")
    checks = {f"b = {b:.3f} in [{lo}, {hi}]": in_range, "interval excludes 0": bool(excludes_0),
              "seed means strictly decreasing": bool(decreasing), f"{n_lambda} λ ≥ {min_levels}":
              n_lambda >= min_levels, f"fitted λ within [{fit_range[0]}, {fit_range[1]}]": inside}
    ev = Evidence.of(runs)
    if exponent is None or n_lambda < min_levels or ev.n < min_evidence or not inside:
        return Verdict("inconclusive", rule, ev, checks)
    verdict = ("reproduced" if in_range and excludes_0 and decreasing else
               "partial" if b < 0 and excludes_0 else "not reproduced")
    return Verdict(verdict, rule, ev, checks)


def wd_phase_structure(found: Mapping[str, Optional[float]], targets: Mapping[str, Sequence[float]],
                       individual: Mapping[str, Optional[str]], *, lambdas: Sequence[float],
                       spearman_grok: float, spearman_threshold: float, min_lambdas: int,
                       grid_tolerance: int = 0) -> Verdict:
    """multi.wd-phase-structure. found: extremum name -> the λ where our dual seed means have it
    (None = undefined); targets: extremum name -> the paper's λ; individual: the verdicts of the
    claims behind the four observables (None = not run); lambdas: the dual grokking λ values;
    spearman_grok: Spearman ρ(λ, grok time), dual. An extremum agrees when it lies within
    grid_tolerance positions of a target on the sorted grid `lambdas` (0: the same grid point; one
    point either side on a 5-value grid would accept most random placements). Ref: Xu 2026b,
    abstract (weight-decay regimes)."""
    from grokbook.papers.multitask.timing import within_grid_points
    agree = {k: bool(lambdas) and within_grid_points(lambdas, v, targets[k], grid_tolerance)
             for k, v in found.items()}
    falls = bool(spearman_grok <= -spearman_threshold)
    held = bool(individual) and all(v == "reproduced" for v in individual.values())
    rule = (f"inconclusive with fewer than {min_lambdas} grokking dual λ values; reproduced: the "
            "claims behind the four observables are reproduced, the k* and lead-fraction minima "
            f"and the shallowest curvature each lie within {grid_tolerance} grid point(s) of the "
            f"paper's λ and Spearman(λ, grok time) ≤ −{spearman_threshold}; partial: at least one "
            "extremum agrees; otherwise not reproduced")
    checks = {**{f"{k} at λ = {found[k]} agrees": v for k, v in agree.items()},
              f"grok time falls (ρ = {spearman_grok:.2f})": falls,
              "individual claims reproduced ("
              + ", ".join(f"{c}: {v}" for c, v in individual.items()) + ")": held}
    ev = Evidence.of([f"λ={w:g}" for w in lambdas], "λ values")
    if len(lambdas) < min_lambdas:
        return Verdict("inconclusive", rule, ev, checks)
    verdict = ("reproduced" if all(agree.values()) and falls and held else
               "partial" if any(agree.values()) else "not reproduced")
    return Verdict(verdict, rule, ev, checks)
