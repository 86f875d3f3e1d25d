"""Verdict rules of the baseline-grid claims of Xu 2026a, one function per claim.

Each takes the measured numbers (small tables as dicts or lists, never runs) and the thresholds
(notebook parameters) and returns a `Verdict` whose `rule` spells the thresholds out. Missing values
(None, NaN) are treated as the claim notebooks always did: a run with a missing quantity fails the
condition that needs it.

Minimum evidence: every rule takes `min_evidence` (default 3) and answers "inconclusive" when fewer
distinct seeds entered the decision, whatever its tiers say (a verdict from one seed is no verdict).
Run labels name the seed as "<op> s<seed>" ("add s42", "add s42 λ=0"); so seeds are counted.
"""
from __future__ import annotations

import math
import re
from typing import Mapping, Optional, Sequence

import numpy as np

from grokbook.measures.defect import sign_test
from grokbook.papers.verdict import Evidence, Verdict, tiered


def _finite(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _in(x, lo_hi) -> bool:
    return _finite(x) and lo_hi[0] <= x <= lo_hi[1]


def _seed_of(label: str) -> Optional[str]:
    m = re.search(r"(?:^|\s)s(\d+)(?:\s|$)", label)
    return m.group(1) if m else None


def gated(v: Verdict, min_evidence: int) -> Verdict:
    """`v`, or "inconclusive" if fewer than min_evidence distinct seeds are among its evidence
    labels; the rule text and the checks say so."""
    seeds = {s for s in map(_seed_of, v.evidence.items) if s is not None}
    enough = len(seeds) >= min_evidence
    checks = {**v.checks, f"≥ {min_evidence} seeds entered ({len(seeds)})": enough}
    rule = f"{v.rule}; inconclusive with fewer than {min_evidence} seeds"
    return Verdict(v.verdict if enough else "inconclusive", rule, v.evidence, checks)


def _nan_extreme(f, values) -> float:
    v = np.asarray([x if _finite(x) else np.nan for x in values], dtype=np.float64)
    return float(f(v)) if np.isfinite(v).any() else float("nan")


def mean_r90(rows: Sequence[Mapping]) -> Optional[float]:
    """Mean R90 over an operation's seeds; None if any seed never reached R90 (or there is none)."""
    vals = [r["R90"] for r in rows]
    return float(np.mean(vals)) if vals and all(_finite(v) for v in vals) else None


def baseline_grokking(runs: Sequence[Mapping], controls: Sequence[Mapping], *,
                      grok_ops: Sequence[str], no_grok_ops: Sequence[str],
                      paper_r90: Mapping[str, float], max_grok_step: int, timing_tolerance: float,
                      no_grok_acc: float, partial_min_ops: int = 3,
                      partial_timing_tolerance: float = 1.0, min_evidence: int = 3) -> Verdict:
    """Which operations grok (Xu 2026a Table 1). runs: one row per λ-grid run with `op`, `seed`,
    `grok` (R98 step or None), `R90` (step or None) and `best_test_acc`; controls: the λ = 0 rows.
    An operation groks if every seed reaches R98 by max_grok_step; its timing is right if the mean
    R90 over seeds (undefined if a seed never reached R90) lies within ±timing_tolerance of the
    paper's. The partial tier bounds the mismatch too: every operation that groks must have its mean
    R90 within ±partial_timing_tolerance of the paper's (100 % allows a factor of two)."""
    by_op = {op: [r for r in runs if r["op"] == op] for op in grok_ops}
    groks = {op: all(_finite(r["grok"]) and r["grok"] <= max_grok_step for r in rs)
             for op, rs in by_op.items()}
    r90 = {op: mean_r90(rs) for op, rs in by_op.items()}

    def near(op, tol):
        return _finite(r90[op]) and abs(r90[op] - paper_r90[op]) <= tol * paper_r90[op]

    timing = {op: near(op, timing_tolerance) for op in grok_ops}
    rough = all(near(op, partial_timing_tolerance) for op in grok_ops if groks[op])
    low = [r["best_test_acc"] for r in [*[r for r in runs if r["op"] in no_grok_ops], *controls]]
    controls_low = all(_finite(a) and a < no_grok_acc for a in low)
    rule = (f"reproduced: every seed of {list(grok_ops)} reaches R98 by step {max_grok_step}, each "
            f"mean R90 lies within ±{timing_tolerance:.0%} of Table 1, and every run of "
            f"{list(no_grok_ops)} and every λ = 0 run stays below {no_grok_acc} test accuracy; "
            f"partial: at least {partial_min_ops} of these operations grok in every seed, the mean "
            f"R90 of each that groks lies within ±{partial_timing_tolerance:.0%} of Table 1, and "
            f"the controls stay low")
    n_grok = sum(groks.values())
    low_text = f"controls below {no_grok_acc} test accuracy"
    tiers = [("reproduced", {
        f"all {len(grok_ops)} operations grok in every seed": n_grok == len(grok_ops),
        f"mean R90 within ±{timing_tolerance:.0%} ({sum(timing.values())}/{len(grok_ops)})":
            all(timing.values()),
        low_text: controls_low}),
        ("partial", {
            f"≥ {partial_min_ops} operations grok in every seed ({n_grok})":
                n_grok >= partial_min_ops,
            f"mean R90 of the grokking operations within ±{partial_timing_tolerance:.0%}": rough,
            low_text: controls_low})]
    entered = [f"{r['op']} s{r['seed']}" for rs in by_op.values() for r in rs]
    return gated(tiered(rule, Evidence.of(entered, "runs"), tiers), min_evidence)


def converse_alignment(runs: Sequence[Mapping], *, mean_range: Sequence[float],
                       probe_range: Sequence[float], partial_max: float,
                       min_evidence: int = 3) -> Verdict:
    """Training displacement no more aligned with the commutator vectors than chance (Xu 2026a
    App., fig. O). runs: one row per grokking-operation run with `run` (label), `mean`, `min` and
    `max` of its per-probe ratio c̄ / √(2/(πP))."""
    means = [r["mean"] for r in runs]
    lo = _nan_extreme(np.nanmin, [r["min"] for r in runs])
    hi = _nan_extreme(np.nanmax, [r["max"] for r in runs])
    means_ok = bool(runs) and all(_in(m, mean_range) for m in means)
    probes_ok = bool(runs) and lo >= probe_range[0] and hi <= probe_range[1]
    rule = (f"reproduced: every grokking run's mean ratio in {list(mean_range)} and every probe's "
            f"ratio in {list(probe_range)}; partial: run means in range, some probe outside but "
            f"all below {partial_max}")
    tiers = [("reproduced", {f"run means in {list(mean_range)}": means_ok,
                             f"probes in {list(probe_range)} (seen {lo:.2f}–{hi:.2f})": probes_ok}),
             ("partial", {f"run means in {list(mean_range)}": means_ok,
                          f"every probe below {partial_max}": bool(runs) and hi < partial_max})]
    evidence = Evidence.of([r["run"] for r in runs], "runs")
    return gated(tiered(rule, evidence, tiers), min_evidence)


def defect_explosion(grokking: Mapping[str, float], non_grokking: Mapping[str, float], *,
                     separation: float, min_growth: float, min_evidence: int = 3) -> Verdict:
    """Defect growth separates grokking from non-grokking operations (Xu 2026a Fig. 5). grokking /
    non_grokking: run label -> growth (max D / early median); NaN growths are left out."""
    g = {k: v for k, v in grokking.items() if _finite(v)}
    c = {k: v for k, v in non_grokking.items() if _finite(v)}
    rule = (f"reproduced: the smallest growth of the grokking-operation runs is ≥ {separation:g}× "
            f"the largest growth of the non-grokking-operation runs and every grokking run grows "
            f"≥ {min_growth:g}×; partial: at most one grokking run at or below the largest "
            f"non-grokking growth; not reproduced: more overlap")
    evidence = Evidence.of(list(g) + list(c), "runs")
    if not g or not c:
        both = Verdict("inconclusive", rule, evidence, {"both groups have a growth value": False})
        return gated(both, min_evidence)
    top = max(c.values())
    margin, overlap = min(g.values()) / top, sum(v <= top for v in g.values())
    tiers = [("reproduced", {
        f"margin {margin:.1f}× ≥ {separation:g}×": margin >= separation,
        f"every grokking run ≥ {min_growth:g}×": all(v >= min_growth for v in g.values())}),
        ("partial", {f"overlapping grokking runs ({overlap}) ≤ 1": overlap <= 1})]
    return gated(tiered(rule, evidence, tiers), min_evidence)


def exec_vs_random(rows: Sequence[tuple[str, int, float]], *, grok_ops: Sequence[str],
                   ratio_range: Sequence[float], min_share_in_range: float, ratio_floor: float,
                   partial_floor: float, partial_ops: int, min_evidence: int = 3) -> Verdict:
    """Execution basis holds more commutator energy than a random one in memorisation (Xu 2026a
    Fig. 4). rows: (op, seed, memorisation-phase median ratio of that run; NaN if it has no such
    probe). Per operation the median over its seeds enters; an operation without one is missing."""
    per_op: dict[str, list[float]] = {}
    for op, _, v in rows:
        if _finite(v):
            per_op.setdefault(op, []).append(v)
    mem = {op: float(np.median(v)) for op, v in per_op.items()}
    in_range = sum(_in(v, ratio_range) for v in mem.values())
    need = int(np.ceil(min_share_in_range * len(grok_ops)))
    every = len(mem) == len(grok_ops)
    rule = (f"reproduced: the memorisation-phase median ratio (weight-SVD basis, random subspace "
            f"of all P) lies in {list(ratio_range)} for ≥ {min_share_in_range:.0%} of "
            f"{list(grok_ops)} and exceeds {ratio_floor} for all; partial: it exceeds "
            f"{partial_floor} for all, or lies in range for ≥ {partial_ops} operations")
    evidence = Evidence.of([f"{op} s{s}" for op, s, v in rows if _finite(v)], "runs")
    above = every and all(v > partial_floor for v in mem.values())
    tiers = [("reproduced", {
        f"in range for ≥ {need} operations ({in_range})": in_range >= need,
        f"> {ratio_floor} for every operation":
            every and all(v > ratio_floor for v in mem.values())}),
        ("partial", {f"> {partial_floor} for every operation, or in range for ≥ {partial_ops}":
                     above or in_range >= partial_ops})]
    return gated(tiered(rule, evidence, tiers), min_evidence)


def invariance_rho(rho: Mapping[str, Sequence[float]], *, rho_threshold: float,
                   min_evidence: int = 3) -> Verdict:
    """ρ = ‖δ − BBᵀδ‖/‖δ‖ near 1 at every probe (Xu 2026a Fig. 3). rho: run label -> its probes'
    ρ (NaN = no usable δ, left out)."""
    vals = {k: [x for x in v if _finite(x)] for k, v in rho.items()}
    vals = {k: v for k, v in vals.items() if v}
    flat = [x for v in vals.values() for x in v]
    above = sum(x > rho_threshold for x in flat)
    rule = (f"reproduced (trivially: a random subspace of the same size gives the same ρ): "
            f"ρ > {rho_threshold} at every probe of every run; not reproduced otherwise")
    check = f"ρ > {rho_threshold} at every probe ({above}/{len(flat)})"
    tiers = [("reproduced", {check: above == len(flat)})]
    return gated(tiered(rule, Evidence.of(list(vals), "runs"), tiers), min_evidence)


def _lead_profile(leads: Mapping[str, Optional[float]]) -> tuple[float, float]:
    """(share of runs with a positive lead, a missing lead counting as a failure; s.d. of the
    finite leads, NaN below two)."""
    got = [x for x in leads.values() if _finite(x)]
    share = sum(x > 0 for x in got) / len(leads) if leads else 0.0
    return share, float(np.std(got, ddof=1)) if len(got) > 1 else float("nan")


def onset_precedes_grokking(leads: Mapping[str, Optional[float]], *, min_positive_share: float,
                            alpha: float, lead_range: Sequence[float], partial_share: float,
                            precursors: Optional[Mapping[str, Mapping]] = None,
                            min_evidence: int = 3) -> Verdict:
    """The defect onset precedes R90 (Xu 2026a Figs. 6–7). leads: grokking-operation run label ->
    R90 − onset in steps (None: no onset or no R90; such a run counts as a failure, not in the
    sign test). precursors: name -> {run label: R90 − step of a simpler event} for the same runs
    (papers.curvature.precursors); if one of them leads in at least as large a share of the runs
    with a lead no more variable (s.d. over runs), a "reproduced" becomes "not supported": the
    onset then carries no timing information of its own."""
    got = [x for x in leads.values() if _finite(x)]
    n_runs, n_pos = len(leads), sum(x > 0 for x in got)
    _, _, p = sign_test(got)
    share, spread = _lead_profile(leads)
    mean = float(np.mean(got)) if got else float("nan")
    rule = (f"reproduced: ≥ {min_positive_share:.0%} of the grokking runs have a positive lead "
            f"R90 − onset, the one-sided sign test gives p < {alpha} and the mean lead lies in "
            f"{list(lead_range)} steps; partial: ≥ {partial_share:.0%} positive")
    tiers = [("reproduced", {
        f"positive leads {n_pos}/{n_runs} ≥ {min_positive_share:.0%}": share >= min_positive_share,
        f"sign-test p = {p:.2g} < {alpha}": p < alpha,
        f"mean lead {mean:.0f} in {list(lead_range)}": _in(mean, lead_range)}),
        ("partial", {f"positive leads ≥ {partial_share:.0%}": share >= partial_share})]
    v = tiered(rule, Evidence.of(list(leads), "runs"), tiers)
    if precursors:
        profiles = {name: _lead_profile(pl) for name, pl in precursors.items()}
        rivals = [name for name, (s, sd) in profiles.items() if s >= share and sd <= spread]
        rule += ("; not supported instead of reproduced: a simpler precursor ("
                 + ", ".join(precursors) + ") leads R90 in as large a share of the runs with a "
                 "lead no more variable")
        check = (f"no simpler precursor leads as often and as steadily "
                 f"({', '.join(rivals) or 'none'})")
        verdict = "not supported" if v.verdict == "reproduced" and rivals else v.verdict
        v = Verdict(verdict, rule, v.evidence, {**v.checks, check: not rivals})
    return gated(v, min_evidence)


def pc1_concentration(cells: Sequence[Mapping], shares: Sequence[float], *,
                      mean_range: Sequence[float], median_range: Sequence[float], top_kind: str,
                      top_share: float, partial_range: Sequence[float],
                      control_means: Sequence[float] = (), min_evidence: int = 3) -> Verdict:
    """One direction carries most of each attention matrix's path (Xu 2026a abstract, Fig. 1).
    cells: one row per (headline run, layer) with `run` (label), `mean_pc1` (mean over its four
    matrices) and `top` (the matrix kind with the highest share); shares: the per-matrix PC1 shares
    of the headline runs; control_means: the per-(run, layer) means of the non-grokking operations
    at the same λ on the same window (steps 0 to the earliest stop). If those lie in mean_range
    too, the concentration is not a property of grokking runs and a "reproduced" or "partial" is
    "not supported"."""
    means = [c["mean_pc1"] for c in cells]
    v = np.asarray([x for x in shares if _finite(x)], dtype=np.float64)
    median = float(np.median(v)) if v.size else float("nan")
    top = sum(c["top"] == top_kind for c in cells) / len(cells) if cells else 0.0
    rule = (f"reproduced: every per-(run, layer) mean PC1 share of the grokking runs lies in "
            f"{list(mean_range)}, the median per-matrix share in {list(median_range)}, and "
            f"{top_kind} is the top matrix in ≥ {top_share:.0%} of the (run, layer) cells; "
            f"partial: every per-(run, layer) mean lies in {list(partial_range)}")
    tiers = [("reproduced", {
        f"means in {list(mean_range)}": all(_in(m, mean_range) for m in means),
        f"median {median:.3f} in {list(median_range)}": _in(median, median_range),
        f"{top_kind} on top in {top:.0%} ≥ {top_share:.0%}": top >= top_share}),
        ("partial", {f"means in {list(partial_range)}": all(_in(m, partial_range) for m in means)})]
    runs = list(dict.fromkeys(c["run"] for c in cells))
    rule += (f"; not supported: the non-grokking operations at the same λ, on the same window, "
             f"also have every per-(run, layer) mean in {list(mean_range)}")
    verdict = gated(tiered(rule, Evidence.of(runs, "runs"), tiers), min_evidence)
    if not len(control_means):
        return verdict
    same = all(_in(m, mean_range) for m in control_means)
    checks = verdict.checks | {
        f"non-grokking controls not all in {list(mean_range)} ({len(control_means)} cells)":
            not same}
    level = "not supported" if same and verdict.verdict in ("reproduced", "partial") else None
    return Verdict(level or verdict.verdict, verdict.rule, verdict.evidence, checks)


def pc1_vs_random_walk(cells: Sequence[Mapping], runs: Sequence[str], *, z_min: float,
                       margin_min: float, control_cells: Sequence[Mapping] = (),
                       min_evidence: int = 3) -> Verdict:
    """The PC1 share beats a step-matched random walk (Xu 2026a §3, Fig. 2a). cells: one row per
    grokking (operation, matrix) with the seed-mean `z` and `margin` (real − null share); runs:
    labels of the runs that entered those means (the grokking-operation runs that reached R98);
    control_cells: the same rows for the non-grokking operations at the same λ on the same window
    (steps 0 to the earliest stop). The paper shows them below the null (Fig. 2a); if they clear
    both thresholds everywhere too, a "reproduced" or "partial" is "not supported"."""
    z_ok = bool(cells) and all(_finite(c["z"]) and c["z"] > z_min for c in cells)
    m_ok = bool(cells) and all(_finite(c["margin"]) and c["margin"] >= margin_min for c in cells)
    rule = (f"reproduced: for every grokking (operation, matrix), seed means z > {z_min:g} and "
            f"margin ≥ {100 * margin_min:g} percentage points; partial: z > {z_min:g} everywhere "
            f"but some margin smaller; not reproduced: some z ≤ {z_min:g}")
    evidence = Evidence.of(runs, "runs")
    if not cells:
        none = Verdict("inconclusive", rule, evidence, {"a grokking run reached R98": False})
        return gated(none, min_evidence)
    tiers = [("reproduced", {f"z > {z_min:g} everywhere": z_ok,
                             f"margin ≥ {100 * margin_min:g} points everywhere": m_ok}),
             ("partial", {f"z > {z_min:g} everywhere": z_ok})]
    rule += ("; not supported: the non-grokking operations at the same λ, on the same window, "
             "clear both thresholds everywhere too")
    verdict = gated(tiered(rule, evidence, tiers), min_evidence)
    if not len(control_cells):
        return verdict
    same = all(_finite(c["z"]) and c["z"] > z_min and _finite(c["margin"])
               and c["margin"] >= margin_min for c in control_cells)
    checks = verdict.checks | {
        f"non-grokking (op, matrix) cells not all above both ({len(control_cells)})": not same}
    level = "not supported" if same and verdict.verdict in ("reproduced", "partial") else None
    return Verdict(level or verdict.verdict, verdict.rule, verdict.evidence, checks)
