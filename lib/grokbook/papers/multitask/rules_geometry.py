"""Verdict rules of the multitask geometry and timing claims (Xu 2026b): one function per claim.

Each rule takes the measured numbers of its notebook (small mappings keyed by a run or condition
label) and the thresholds (notebook parameters) and returns a `Verdict` whose `rule` text carries
those thresholds. Missing values (None or NaN) count as a failed condition, as in the notebooks'
tables.
"""

from __future__ import annotations

import math
import re
from typing import Mapping, Optional, Sequence

import numpy as np
from scipy import stats

from grokbook.papers.verdict import Evidence, Verdict


def _num(x) -> float:
    """x as a float; None -> NaN."""
    return math.nan if x is None else float(x)


def _mean(values) -> float:
    """Mean ignoring NaN (pandas' default); NaN when nothing is left."""
    v = np.array([_num(x) for x in values], dtype=np.float64)
    return float(np.nanmean(v)) if np.isfinite(v).any() else math.nan


def _share(flags) -> float:
    """Share of True among the flags; NaN for no flags."""
    flags = list(flags)
    return sum(bool(f) for f in flags) / len(flags) if flags else math.nan


def _verdict(
    rule: str, evidence: Evidence, checks: dict, verdict: str, min_evidence: int = 1
) -> Verdict:
    """The Verdict, "inconclusive" when fewer than min_evidence distinct seeds entered (the labels
    carry " s<seed>"); the minimum is added to the rule text and the checks."""
    n_seeds = len(seeds_of(evidence.items))
    if min_evidence > 1:
        rule += f"; fewer than {min_evidence} seeds entered: inconclusive"
        checks = {**checks, f"at least {min_evidence} seeds entered": n_seeds >= min_evidence}
        if n_seeds < min_evidence:
            verdict = "inconclusive"
    return Verdict(
        verdict, rule, evidence, {k: (None if v is None else bool(v)) for k, v in checks.items()}
    )


def seeds_of(labels) -> set[int]:
    """The distinct seeds named in evidence labels such as "tri λ=1 s42 add"."""
    return {int(m.group(1)) for x in labels for m in [re.search(r"(?:^|\s)s(\d+)\b", str(x))] if m}


# ── multi.curvature-depth ──


def curvature_depth(
    runs: Mapping[str, dict],
    *,
    no_grok_share: float,
    depth_threshold: float,
    comparable_factor: float = 2.0,
    max_drift: float = 0.2,
    control_weight_decay: float = 0.0,
    comparable_from: float = 0.5,
    min_evidence: int = 3,
) -> Verdict:
    """runs: run label -> {"task_set", "weight_decay", "grokked", "depth_matched", "final_step",
    "slowest_grok" (step at which its last task grokked, None if not), "drift" (relative change of
    the deepest Ritz value with more Lanczos steps)}. Judged per task set, on the matched depth:
    (i) the no-decay runs never grok in >= no_grok_share of them, (ii) their mean depth is below
    depth_threshold and (iii) comparable to the runs at λ >= comparable_from (ratio of the means
    within a factor comparable_factor). Reproduced: (i)-(iii) in every task set; partial: (i) in
    every task set; else not reproduced. Inconclusive when a no-decay run stopped before the slowest
    grokking run of its task set grokked (its budget, not the missing decay, may explain "never
    groks"), when the Lanczos estimate moved by more than max_drift, or with fewer than min_evidence
    no-decay seeds. Ref: Xu 2026b, Hessian curvature depth (figure H18, H7)."""
    rule = (
        f"in every task set, on depths over matched steps: the no-decay runs never grok in ≥ "
        f"{no_grok_share:.0%} of them, their mean depth is below {depth_threshold:g} and within a "
        f"factor {comparable_factor:g} of the mean depth at λ ≥ {comparable_from:g}: reproduced; "
        "only the first: partial; otherwise not reproduced; a no-decay budget shorter than the "
        f"slowest grok, or a Lanczos drift above {max_drift:.0%}: inconclusive (covariation with λ "
        "is reported as Spearman ρ and does not enter)"
    )
    ctrl = {k: r for k, r in runs.items() if r["weight_decay"] == control_weight_decay}
    sets = sorted({r["task_set"] for r in ctrl.values()})
    checks, ok_i, ok_all, budget = {}, [], [], []
    for ts in sets:
        c = [r for r in ctrl.values() if r["task_set"] == ts]
        ref = [
            r
            for r in runs.values()
            if r["task_set"] == ts
            and r["weight_decay"] >= comparable_from
            and r["weight_decay"] != control_weight_decay
        ]
        groks = [
            _num(r["slowest_grok"])
            for r in runs.values()
            if r["task_set"] == ts and r["weight_decay"] != control_weight_decay
        ]
        slowest = max((x for x in groks if not math.isnan(x)), default=math.nan)
        b_ok = (
            bool(c) and not math.isnan(slowest) and min(_num(r["final_step"]) for r in c) > slowest
        )
        i = _share(not r["grokked"] for r in c) >= no_grok_share
        d_c, d_r = _mean(r["depth_matched"] for r in c), _mean(r["depth_matched"] for r in ref)
        ii = d_c < depth_threshold
        ratio = d_c / d_r if d_r < 0 and d_c < 0 else math.nan
        iii = 1 / comparable_factor <= ratio <= comparable_factor
        checks |= {
            f"{ts}: no-decay budget beyond the slowest grok": b_ok,
            f"{ts}: no-decay runs that never grok ≥ {no_grok_share:.0%}": i,
            f"{ts}: mean no-decay depth < {depth_threshold:g}": ii,
            f"{ts}: no-decay depth within ×{comparable_factor:g} of λ ≥ {comparable_from:g}": iii,
        }
        ok_i.append(i), ok_all.append(i and ii and iii), budget.append(b_ok)
    drift = max((_num(r.get("drift")) for r in runs.values()), default=math.nan)
    converged = not drift > max_drift
    checks[f"Lanczos drift ≤ {max_drift:.0%}"] = None if math.isnan(drift) else converged
    if not sets or not all(budget) or not converged:
        verdict = "inconclusive"
    else:
        verdict = "reproduced" if all(ok_all) else "partial" if all(ok_i) else "not reproduced"
    return _verdict(rule, Evidence.of(ctrl, "runs"), checks, verdict, min_evidence)


# ── multi.defect-lead ──


def defect_lead(
    leads: Mapping[str, Optional[float]],
    code_leads: Mapping[str, Optional[float]],
    control_fired: Mapping[str, bool],
    *,
    positive_share: float,
    false_alarm_max: float,
    min_evidence: int = 3,
) -> Verdict:
    """leads: grokked (run, task) condition -> unified-rule lead (grok − onset; None if the detector
    never fired); code_leads: the conditions the paper's code counts -> its code-rule lead;
    control_fired: no-decay run -> whether the detector fired (on the control truncated to its
    matched runs' length). The weaker of the two rules decides: its share of positive leads >=
    positive_share and the false-alarm rate strictly below false_alarm_max: reproduced; leads
    positive but the controls fire as often: partial; otherwise not reproduced. No grokked condition
    under either rule, no control, or fewer than min_evidence seeds: inconclusive. Ref: Xu 2026b,
    defect onset before grokking."""
    rule = (
        f"lead > 0 in ≥ {positive_share:.0%} of the grokked (run, task) conditions under the "
        "weaker of the unified rule and the paper's code rules, and the detector fires on fewer "
        f"than {false_alarm_max:.0%} of the no-decay controls (truncated to their matched runs' "
        "length): reproduced; leads positive but the controls fire as often: partial; otherwise "
        "not reproduced; no grokked condition or no control: inconclusive"
    )
    share = lambda d: _share(_num(v) > 0 for v in d.values()) if d else math.nan  # noqa: E731
    weaker = min(share(leads), share(code_leads))
    alarm = _share(control_fired.values())
    ok_lead, ok_alarm = weaker >= positive_share, alarm < false_alarm_max
    checks = {
        f"positive leads ≥ {positive_share:.0%} (unified rule)": share(leads) >= positive_share,
        f"positive leads ≥ {positive_share:.0%} (code rules)": share(code_leads) >= positive_share,
        f"false alarms < {false_alarm_max:.0%}": None if math.isnan(alarm) else ok_alarm,
    }
    if not leads or not code_leads or math.isnan(alarm):
        verdict = "inconclusive"
    else:
        verdict = (
            "reproduced" if ok_lead and ok_alarm else "partial" if ok_lead else "not reproduced"
        )
    return _verdict(rule, Evidence.of(leads, "conditions"), checks, verdict, min_evidence)


# ── multi.execution-manifold ──


def execution_manifold(
    a_real: Sequence[float],
    a_null: Sequence[float],
    b_k99: Mapping[str, int],
    *,
    pc1_threshold: float,
    most_share: float,
    k99_max: int,
    margin_sd: float = 2.0,
    min_evidence: int = 3,
) -> Verdict:
    """(a) a_real / a_null: centred PC1 share of every attention matrix of the runs at the largest λ
    and the mean PC1 of its matched random walks; holds if more than most_share of the matrices
    reach pc1_threshold and the mean real PC1 exceeds the mean null PC1 by more than margin_sd
    standard deviations of the null over the matrices. (b) b_k99: λ > 0 run -> k_0.99 of the CENTRED
    full-parameter trajectory PCA (the uncentered k_0.99 is small for any steady drift); holds if
    every run has k_0.99 <= k99_max. Both: reproduced; one: partial; neither: not reproduced; fewer
    than min_evidence seeds: inconclusive. Ref: Xu 2026b, execution manifold."""
    rule = (
        f"(a) more than {most_share:.0%} of the attention matrices at the largest λ have centred "
        f"PC1 ≥ {pc1_threshold:g} and their mean PC1 exceeds the matched random walk's by more "
        f"than {margin_sd:g} sd of the walk over the matrices; (b) centred k_0.99 ≤ {k99_max} in "
        "every λ > 0 run; both: reproduced; one: partial; neither: not reproduced"
    )
    real, null = [_num(v) for v in a_real], np.array([_num(v) for v in a_null], dtype=np.float64)
    conc = _share(v >= pc1_threshold for v in real) if real else math.nan
    spread = float(np.nanstd(null, ddof=1)) if np.isfinite(null).sum() > 1 else math.nan
    beats = _mean(real) - _mean(null) > margin_sd * spread
    a_ok = conc > most_share and beats
    b_ok = all(_num(k) <= k99_max for k in b_k99.values())
    checks = {
        f"(a) share of matrices with PC1 ≥ {pc1_threshold:g} above {most_share:.0%}": conc
        > most_share,
        f"(a) mean PC1 above the walk by > {margin_sd:g} sd": beats,
        f"(b) centred k_0.99 ≤ {k99_max} in every λ > 0 run": b_ok,
    }
    verdict = "reproduced" if a_ok and b_ok else "partial" if a_ok or b_ok else "not reproduced"
    return _verdict(rule, Evidence.of(b_k99, "runs"), checks, verdict, min_evidence)


# ── multi.integrability ──


def ratio_interval(
    ratios: Mapping[str, Sequence[float]], level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """(mean, lower, upper) of the ratio over runs and checkpoints with a two-level percentile
    bootstrap: runs (seeds) are resampled, then checkpoints within each drawn run. ratios: run ->
    per-checkpoint ratios (NaN dropped). NaNs when no value is finite."""
    per = [np.array([_num(v) for v in r], dtype=np.float64) for r in ratios.values()]
    per = [r[np.isfinite(r)] for r in per]
    per = [r for r in per if r.size]
    if not per:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    sizes = np.array([r.size for r in per])
    M = np.full((len(per), sizes.max()), np.nan)  # [runs, checkpoints], NaN padded
    for i, r in enumerate(per):
        M[i, : r.size] = r
    runs = rng.integers(len(per), size=(n_boot, len(per)))  # [n_boot, runs drawn]
    n = sizes[runs][..., None]  # [n_boot, runs, 1]
    idx = np.floor(rng.random((n_boot, len(per), M.shape[1])) * n).astype(int)
    valid = np.arange(M.shape[1]) < n  # checkpoints drawn per run = its size
    vals = np.where(valid, M[runs[..., None], np.minimum(idx, M.shape[1] - 1)], 0.0)
    boot = vals.sum(axis=(1, 2)) / valid.sum(axis=(1, 2))
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(np.mean(np.concatenate(per))), float(lo), float(hi)


def integrability(
    rho: Sequence[float],
    ratios: Mapping[str, Sequence[float]],
    *,
    rho_threshold: float,
    ratio_threshold: float = 1.0,
    level: float = 0.95,
    min_evidence: int = 3,
) -> Verdict:
    """rho: ρ of every commutator sample (all runs, checkpoints, modes); ratios: run -> the
    per-checkpoint median ratio f / f_null(ii) of the total-loss mode (execution basis over the
    attention-confined random basis; ratio_threshold = 1 is chance). The paper reads ρ ≈ 1 as δ
    avoiding the execution subspace, which only means something if the basis holds LESS of δ than
    chance. ρ fails somewhere (samples whose δ is 0 or not finite have no ρ and are left out; none
    left: inconclusive): not reproduced; the `level` interval of the ratio (runs and
    checkpoints resampled) below ratio_threshold: reproduced; above it (δ more aligned with the
    subspace than chance, the opposite reading): not reproduced; containing it (ρ ≈ 1 is the chance
    value): not supported; fewer than min_evidence seeds: inconclusive. Ref: Xu 2026b, integrability
    of the commutator defect (figure K)."""
    mean, lo, hi = ratio_interval(ratios, level)
    rule = (
        f"ρ > {rho_threshold:g} at every commutator sample (a sample whose δ is 0 or not "
        f"finite has no ρ and is left out), and the {level:.0%} interval (runs and "
        "checkpoints resampled) of the ratio of execution basis to attention-confined random basis "
        f"lies below {ratio_threshold:g} (δ avoids the subspace more than chance): reproduced; ρ "
        f"fails or the interval lies above {ratio_threshold:g}: not reproduced; the interval "
        f"contains {ratio_threshold:g} (ρ ≈ 1 is the chance value): not supported"
    )
    values = [_num(r) for r in rho]
    finite = [r for r in values if not math.isnan(r)]
    rho_all = all(r > rho_threshold for r in finite)
    below, above = hi < ratio_threshold, lo > ratio_threshold
    checks = {
        f"ρ > {rho_threshold:g} at every sample with a ρ ({len(values) - len(finite)} of "
        f"{len(values)} without)": (rho_all if finite else None),
        f"ratio interval [{lo:.3g}, {hi:.3g}] below {ratio_threshold:g}": (
            None if math.isnan(hi) else below
        ),
        f"ratio interval above {ratio_threshold:g} (opposite reading)": (
            None if math.isnan(lo) else above
        ),
    }
    if not finite:
        verdict = "inconclusive"
    elif not rho_all or above:
        verdict = "not reproduced"
    else:
        verdict = "reproduced" if below else "inconclusive" if math.isnan(mean) else "not supported"
    return _verdict(rule, Evidence.of(ratios, "runs"), checks, verdict, min_evidence)


# ── multi.per-head-cascade ──


def per_head_cascade(
    spreads: Mapping[str, tuple[float, float]],
    *,
    min_spread: float,
    min_share: float,
    min_partial_runs: int = 2,
    min_evidence: int = 3,
) -> Verdict:
    """spreads: headline run -> (spread of the head commutator peaks inside the window as a share of
    the first grok step, the same for its drift-keeping null; NaN without a grok step or with fewer
    than two interior peaks). A run has a cascade if its spread is >= min_spread and above the
    null's. Share of runs with a cascade >= min_share: reproduced; at least min_partial_runs runs:
    partial; otherwise not reproduced; no run with a spread or fewer than min_evidence seeds:
    inconclusive. Ref: Xu 2026b code README (per-head cascade)."""
    rule = (
        f"interior head-peak spread ≥ {min_spread:g} of the first grok step and above the "
        f"drift-keeping null's in ≥ {min_share:.0%} of the headline runs: reproduced; in at least "
        f"{min_partial_runs} runs: partial; otherwise not reproduced; no headline run with a "
        "spread: inconclusive"
    )
    ok = [_num(s) >= min_spread and _num(s) > _num(w) for s, w in spreads.values()]
    share = _share(ok) if ok else 0.0
    judged = [k for k, (s, _) in spreads.items() if not math.isnan(_num(s))]
    checks = {
        f"cascade in ≥ {min_share:.0%} of the headline runs": share >= min_share,
        f"cascade in at least {min_partial_runs} headline runs": sum(ok) >= min_partial_runs,
    }
    verdict = (
        "inconclusive"
        if not judged
        else (
            "reproduced"
            if share >= min_share
            else "partial" if sum(ok) >= min_partial_runs else "not reproduced"
        )
    )
    return _verdict(rule, Evidence.of(judged, "runs"), checks, verdict, min_evidence)


# ── multi.phase-portrait-loop ──


def loop_trend(lams: Sequence[float], values: Sequence[float]) -> tuple[float, int]:
    """(Spearman ρ between λ and the values, number of distinct λ); ρ is NaN below 3 distinct λ."""
    lam = [float(v) for v in lams]
    n_lam = len(set(lam))
    return (float(stats.spearmanr(lam, list(values))[0]) if n_lam >= 3 else math.nan), n_lam


def phase_portrait_loop(
    areas: Mapping[str, tuple[float, float, float]],
    *,
    spearman_threshold: float,
    min_evidence: int = 3,
) -> Verdict:
    """areas: λ > 0 run -> (λ, loop area, matched random walk's loop area). Spearman ρ(λ, area) <=
    −spearman_threshold (needs >= 3 distinct λ) and the mean area above the walk's: reproduced; the
    trend only: partial (a larger area than the walk's alone says nothing about tightening);
    otherwise not reproduced; fewer than 3 distinct λ or min_evidence seeds: inconclusive.
    Ref: Xu 2026b code README (phase portrait)."""
    rule = (
        f"Spearman ρ(λ, loop area) ≤ −{spearman_threshold:g} over the λ > 0 runs and the mean loop "
        "area above the matched random walk's: reproduced; the trend only: partial; otherwise not "
        "reproduced; fewer than 3 distinct λ: inconclusive"
    )
    real, walk = [_num(v[1]) for v in areas.values()], [_num(v[2]) for v in areas.values()]
    rho, n_lam = loop_trend([v[0] for v in areas.values()], real)
    trend, beats = rho <= -spearman_threshold, _mean(real) - _mean(walk) > 0
    checks = {
        f"ρ(λ, area) ≤ −{spearman_threshold:g}": None if n_lam < 3 else trend,
        "mean area above the walk's": beats,
    }
    verdict = (
        "inconclusive"
        if n_lam < 3
        else "reproduced" if trend and beats else "partial" if trend else "not reproduced"
    )
    return _verdict(rule, Evidence.of(areas, "runs"), checks, verdict, min_evidence)


# ── multi.spectral-edge-cycle ──


def spectral_edge_cycle(
    headline: Mapping[str, dict],
    controls: Mapping[str, dict],
    *,
    event_tolerance: float,
    min_cycle_share: float,
    min_dip: float,
    min_evidence: int = 3,
) -> Verdict:
    """headline: run at the headline λ -> {"grok": first grok step or None, "real": events, "walk":
    events of its matched random walk}; controls: no-decay run -> {"grok": the grok step of its
    matched headline run (the time scale), "real": events}. events: {"gap_min", "comm_peak", "dip",
    "interior"} (cycle_rows). One rule for runs, walks and controls (cycles.full_cycle): gap minimum
    and commutator peak within event_tolerance · grok, the peak before grok, a relative g12 dip >=
    min_dip and an interior minimum. Cycle share >= min_cycle_share, no control with the cycle and
    the walks' share below the real one: reproduced; the share only: partial; otherwise not
    reproduced; no headline run grokked or fewer than min_evidence seeds: inconclusive. Ref: Xu
    2026b code README (spectral-edge cycle)."""
    from grokbook.papers.multitask.cycles import full_cycle

    rule = (
        f"a cycle (gap minimum and commutator peak within {event_tolerance:g} × the grok step, the "
        f"peak before grok, a relative g12 dip ≥ {min_dip:g} and the minimum inside the searched "
        f"window) in ≥ {min_cycle_share:.0%} of the headline runs, in no no-decay control (same "
        "rule, the matched run's grok step as the time scale) and less often in the matched random "
        "walks: reproduced; the first only: partial; otherwise not reproduced; no headline run "
        "grokked: inconclusive"
    )
    cyc = lambda d, tag: full_cycle(d[tag], d["grok"], event_tolerance, min_dip)  # noqa: E731
    real = _share(cyc(d, "real") for d in headline.values())
    walk = _share(cyc(d, "walk") for d in headline.values())
    ok_share = real >= min_cycle_share
    ctrl_flat = not any(cyc(d, "real") for d in controls.values())
    grokked = [k for k, d in headline.items() if not math.isnan(_num(d["grok"]))]
    checks = {
        f"cycle in ≥ {min_cycle_share:.0%} of the headline runs": ok_share,
        "no no-decay control has the cycle": ctrl_flat,
        "random walks have the cycle less often": walk < real,
    }
    verdict = (
        "inconclusive"
        if not grokked
        else (
            "reproduced"
            if ok_share and ctrl_flat and walk < real
            else "partial" if ok_share else "not reproduced"
        )
    )
    return _verdict(rule, Evidence.of(grokked, "runs"), checks, verdict, min_evidence)


# ── multi.staggered-order ──


def order_shares(statuses: Mapping[str, tuple[float, str]], order_weight_decay: float) -> dict:
    """Shares of the order statuses: support and contradict among the runs at order_weight_decay,
    support among all runs in which every task grokked (0 where there is no run), and both run
    counts."""
    share = lambda sts, s: _share(x == s for x in sts) if sts else 0.0  # noqa: E731
    head = [s for lam, s in statuses.values() if lam == order_weight_decay]
    grokking = [s for _, s in statuses.values() if s != "missing"]
    return {
        "headline support": share(head, "support"),
        "headline contradict": share(head, "contradict"),
        "headline tie": share(head, "tie"),
        "all support": share(grokking, "support"),
        "headline runs": len(head),
        "grokking runs": len(grokking),
    }


def staggered_order(
    statuses: Mapping[str, tuple[float, str]],
    *,
    order_weight_decay: float,
    headline_min_share: float,
    all_min_share: float,
    tie_within: float,
    paper_configuration: bool = True,
    min_evidence: int = 3,
) -> Verdict:
    """statuses: λ > 0 run -> (λ, order status under R98: "support", "tie", "contradict" or
    "missing"). Support in >= headline_min_share of the runs at order_weight_decay and in >=
    all_min_share of the runs in which every task grokked: reproduced; contradiction in more than 1
    − headline_min_share of the headline runs: not reproduced; support or tie (a weak order, no pair
    reversed) in >= headline_min_share of the headline runs: partial (the paper's own dual steps,
    one eval apart, land here); otherwise inconclusive. The order was observed at the paper's
    configuration only, so runs at any other configuration (`Grid.at_paper_configuration` false:
    the smoke model, another modulus or optimiser) record inconclusive; the notebook shows what
    the rule alone gives. Ref: Xu 2026b abstract, accuracy figures."""
    rule = (
        f"the order mul → x²+y² → add is supported (ties within {tie_within:g} steps do not count) "
        f"in ≥ {headline_min_share:.0%} of the λ = {order_weight_decay:g} runs and in ≥ "
        f"{all_min_share:.0%} of all runs in which every task grokked: reproduced; more than "
        f"{1 - headline_min_share:.0%} of the headline runs contradict it: not reproduced; support "
        f"or tie (no pair reversed) in ≥ {headline_min_share:.0%} of the headline runs: partial; "
        "otherwise inconclusive; runs outside the paper's configuration (model, modulus, "
        "optimiser, data fraction, evaluation cadence) record inconclusive"
    )
    sh = order_shares(statuses, order_weight_decay)
    ok_head = sh["headline support"] >= headline_min_share
    ok_all = sh["all support"] >= all_min_share
    contra = sh["headline contradict"] > 1 - headline_min_share
    weak = sh["headline support"] + sh["headline tie"] >= headline_min_share
    checks = {
        f"headline support ≥ {headline_min_share:.0%}": ok_head,
        f"support over all grokking runs ≥ {all_min_share:.0%}": ok_all,
        f"headline contradictions > {1 - headline_min_share:.0%}": contra,
        f"headline support or tie ≥ {headline_min_share:.0%}": weak,
        "the paper's configuration (fewer λ values or seeds allowed)": paper_configuration,
    }
    rule_verdict = (
        "reproduced"
        if ok_head and ok_all
        else "not reproduced" if contra else "partial" if weak else "inconclusive"
    )
    entered = [k for k, (_, s) in statuses.items() if s != "missing"]
    return _verdict(
        rule,
        Evidence.of(entered, "runs"),
        checks,
        rule_verdict if paper_configuration else "inconclusive",
        min_evidence,
    )
