"""Xu 2026a beyond the baseline grid: the learning-rate sweep (§5, Fig. 9–12), the slow regime
(Table 2) and the gradient interventions (§6, Fig. 13–15). Their shared run grids and one verdict
rule per claim.

The rules take measured numbers (small row dicts, as the notebooks' tables hold them) and the
thresholds (notebook parameters), and return a `Verdict` whose rule text carries the threshold
values.
"""
from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence

import numpy as np

from grokbook.papers.curvature.interventions import (  # noqa: F401 (re-exported for the pages)
    ATTN_RANDOM_ARM, PCA_ARM, RANDOM_ARM, arm_delays, delay_rows, kick_cells)
from grokbook.papers.grid import Grid
from grokbook.papers.verdict import Evidence, Verdict
from grokbook.training.config import RunConfig, sweep

# ── shared grids ───────────────────────────────────────────────────────────────────────────────


def lr_configs(*, lrs, weight_decay, ops, seeds, **shared) -> list[RunConfig]:
    """The learning-rate sweep: the curvature model at every η in `lrs` (order: η, op, seed)."""
    return sweep(RunConfig(**shared), lr=list(lrs), weight_decay=[weight_decay],
                 ops=[(o,) for o in ops], seed=list(seeds))


LR = Grid(
    name="curvature.lr",
    paper=dict(p=97, ops=["add", "sub", "mul", "x2_y2", "x2_xy_y2", "x3_xy"], seeds=[42, 137, 2024],
               train_frac=0.5, d_model=128, n_layers=2, lr=1e-3,
               lrs=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2],   # the paper's three and two between them
               weight_decay=1.0, batch_size=512, steps=50_000, eval_every=100, snapshot_every=100,
               tail_steps=1_000, probe_every=100, probe_samples=5, device="cpu"),
    # the curvature grid's smoke model (its lr 3e-3 add runs come from the run cache) plus add at
    # 6e-3 and 1.2e-2 (measured: 1.5e-3 misses R98 within 3,000 steps in 1 of 3 seeds; the two
    # higher η grok at 600–1,200 steps)
    smoke=dict(p=47, d_model=64, n_layers=1, lr=0.003, lrs=[0.003, 0.006, 0.012], steps=3000,
               ops=["add"], tail_steps=300, probe_samples=3),
    build=lr_configs,
    claims=("curv.lr-phase-diagram", "curv.lead-time-power-law", "curv.lr-alignment-damping"))

INTERVENED_OPS = ("add", "sub", "mul", "x2_y2")   # the paper's intervened operations (Fig. 13)


def phase1_configs(*, seeds, weight_decay, start, budget, ops=INTERVENED_OPS,
                   **shared) -> list[RunConfig]:
    """Phase 1 of the interventions: the curvature model at λ = `weight_decay` for every (op, seed).
    `start` and `budget` decide the Phase-2 retraining only (they are grid parameters so that the
    claims share their Phase-2 runs)."""
    return sweep(RunConfig(**shared), weight_decay=[weight_decay], ops=[(o,) for o in ops],
                 seed=list(seeds))


INTERVENTIONS = Grid(
    name="curvature.interventions",
    paper=dict(seeds=[42, 137, 2024], p=97, train_frac=0.5, d_model=128, n_layers=2, lr=1e-3,
               weight_decay=1.0, batch_size=512, steps=50_000, eval_every=100, snapshot_every=100,
               tail_steps=1_000, probe_every=100, probe_samples=5, device="cpu", start=500,
               budget=200_000),
    # the curvature grid's smoke runs are Phase 1 (run cache); one seed, interventions from step 200
    # (memorisation ends at ~200 here) within the grid's 3,000-step budget
    smoke=dict(p=47, d_model=64, n_layers=1, lr=0.003, steps=3000, tail_steps=300, probe_samples=3,
               seeds=[42], start=200, budget=3000),
    build=phase1_configs,
    claims=("curv.suppression-dose-response", "curv.suppression-pca-vs-random",
            "curv.kick-no-effect"))

GRIDS = (LR, INTERVENTIONS)


def phase1_runs(namespace: Mapping, ops: Sequence[str], lr: Optional[float] = None):
    """The Phase-1 runs of `ops` for the interventions grid's parameters in a notebook's globals()
    (loaded from the run cache or trained in one stacked job); with `lr`, the same runs at another
    learning rate (a positive control: a larger η groks earlier, Xu 2026a Fig. 9)."""
    from grokbook.training.cache import load_or_train
    params = INTERVENTIONS.pick(namespace) | ({} if lr is None else {"lr": lr})
    return load_or_train(phase1_configs(**params, ops=tuple(ops)))


# ── helpers ────────────────────────────────────────────────────────────────────────────────────

def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _f(x) -> float:
    return math.nan if _missing(x) else float(x)


def _label(row: Mapping) -> str:
    parts = [str(row["op"])] + ([f"η={row['lr']:g}"] if "lr" in row else []) + [f"s{row['seed']}"]
    return " ".join(parts)


# ── curv.lr-phase-diagram ──────────────────────────────────────────────────────────────────────

def grok_flips(runs: Sequence[Mapping], grok_ops: Sequence[str], no_grok_ops: Sequence[str],
               n_seeds: int) -> int:
    """(operation, η) cells whose count of grokked seeds differs from the paper's diagram (all seeds
    for `grok_ops`, none for `no_grok_ops`; other operations are not counted)."""
    grokked: dict = {}
    for r in runs:
        grokked[(r["op"], r["lr"])] = grokked.get((r["op"], r["lr"]), 0) + (not _missing(r["grok"]))
    known = set(grok_ops) | set(no_grok_ops)
    return sum(n != (n_seeds if op in grok_ops else 0)
               for (op, _), n in grokked.items() if op in known)


def lr_phase_diagram(runs: Sequence[Mapping], ratios: Mapping, *, grok_ops: Sequence[str],
                     no_grok_ops: Sequence[str], n_seeds: int, timing_factor: float,
                     min_evidence: int = 3) -> Verdict:
    """Grok matrix and grok time over η. runs: one row per run (op, lr, seed, grok = R98 step or
    None); ratios: (op, η) -> our mean R98 / the paper's, for the grokking operations at the η the
    paper ran (NaN when no seed grokked). Ref: Xu 2026a §5, Fig. 9 (figPD)."""
    flips = grok_flips(runs, grok_ops, no_grok_ops, n_seeds)
    timing_ok = (all(1 / timing_factor <= _f(v) <= timing_factor for v in ratios.values())
                 if ratios else None)
    rule = (f"reproduced: the grok matrix is the paper's ({list(grok_ops)} grok in "
            f"{n_seeds}/{n_seeds} seeds, {list(no_grok_ops)} in 0/{n_seeds}, at every η) and "
            f"every mean R98 lies within ×{timing_factor:g} of the paper's figure at the η it "
            f"also ran; partial: one (operation, η) cell differs, or the timings miss; not "
            f"reproduced: two or more cells differ; inconclusive: fewer than {min_evidence} seeds "
            f"per cell, or the matrix matches but no η is shared with the paper")
    checks = {f"at least {min_evidence} seeds per (operation, η)": n_seeds >= min_evidence,
              "no (operation, η) cell differs from the paper": flips == 0,
              "at most one cell differs": flips <= 1,
              f"mean R98 within ×{timing_factor:g} of the paper at every shared η": timing_ok}
    evidence = Evidence.of([_label(r) for r in runs], "runs")
    if n_seeds < min_evidence:
        verdict = "inconclusive"
    elif flips == 0 and timing_ok:
        verdict = "reproduced"
    elif flips == 0 and timing_ok is None:
        verdict = "inconclusive"
    elif flips <= 1:
        verdict = "partial"
    else:
        verdict = "not reproduced"
    return Verdict(verdict, rule, evidence, checks)


# ── curv.lead-time-power-law ───────────────────────────────────────────────────────────────────

def lead_time_power_law(fit_runs: Sequence[Mapping], exponent: Optional[float],
                        lead_fraction: float, *, ci: Sequence[float] = (math.nan, math.nan),
                        implied: Optional[float] = None, aic_advantage: float = math.nan,
                        alpha_band: Sequence[float], min_lead_fraction: float,
                        min_aic_gap: float = 2.0, min_evidence: int = 3,
                        min_lrs: int = 2) -> Verdict:
    """Power law lead ∝ T^α against a constant onset. fit_runs: the runs in the fit (op, lr, seed;
    lead > 0 at the fitted η); exponent, ci: the pooled OLS slope of log lead on log R90 and its
    interval (None without a fit); lead_fraction: mean lead / R90 at the smallest fitted η;
    implied: the slope a constant onset alone gives over the same runs (None if it gives none);
    aic_advantage: AIC(lead = T − c) − AIC(power law), positive when the power law fits better.
    Ref: Xu 2026a abstract; figPC1_lr_lead_scaling."""
    lo, hi = alpha_band
    n_lrs = len({r["lr"] for r in fit_runs})
    enough = len(fit_runs) >= min_evidence and n_lrs >= min_lrs and not _missing(exponent)
    rule = (f"reproduced: the pooled OLS slope of log lead on log R90 lies in [{lo:g}, {hi:g}], "
            f"the mean lead/R90 at the smallest fitted η is ≥ {min_lead_fraction:g}, and the "
            f"constant-onset model lead = T − c does not explain the slope (its implied slope lies "
            f"outside the slope's 95 % interval and the power law's AIC is lower by more than "
            f"{min_aic_gap:g}); "
            f"not supported: slope > 1 but the constant onset explains it; partial: slope > 1 "
            f"otherwise; not reproduced: slope ≤ 1; inconclusive: fewer than {min_evidence} runs "
            f"with a positive lead, or fewer than {min_lrs} learning rates among them")
    a = _f(exponent)
    inside = not _missing(implied) and ci[0] <= implied <= ci[1]
    explained = bool(inside or not _f(aic_advantage) > min_aic_gap)
    checks = {f"at least {min_evidence} positive leads from ≥ {min_lrs} η": enough,
              "slope > 1": a > 1 if enough else None,
              f"slope in [{lo:g}, {hi:g}]": lo <= a <= hi if enough else None,
              f"lead fraction at the smallest η ≥ {min_lead_fraction:g}":
                  lead_fraction >= min_lead_fraction if enough else None,
              "constant-onset slope outside the slope's interval": not inside if enough else None,
              f"power law better than a constant onset by ΔAIC > {min_aic_gap:g}":
                  _f(aic_advantage) > min_aic_gap if enough else None}
    evidence = Evidence.of([_label(r) for r in fit_runs], "runs")
    if not enough:
        return Verdict("inconclusive", rule, evidence, checks)
    if a <= 1:
        return Verdict("not reproduced", rule, evidence, checks)
    if explained:
        return Verdict("not supported", rule, evidence, checks)
    ok = lo <= a <= hi and lead_fraction >= min_lead_fraction
    return Verdict("reproduced" if ok else "partial", rule, evidence, checks)


# ── curv.lr-alignment-damping ──────────────────────────────────────────────────────────────────

def lr_alignment_damping(runs: Sequence[Mapping], *, ops: Sequence[str], lrs: Sequence[float],
                         null_sd: float, min_z: float = 2.0, min_evidence: int = 3) -> Verdict:
    """Alignment ratio against η. runs: one row per run (op, lr, seed; value = the run's mean over
    its phase averages of c̄ / √(2/(πP)), NaN without a probe in those phases; probes = how many
    probes entered; phases_ok = it has probes in every phase averaged). Per (op, η) the seed mean,
    z = (mean − 1) / (null_sd / √probes). Ref: Xu 2026a §5, Fig. 11–12."""
    lrs = sorted(lrs)
    cells: dict = {}
    for r in runs:
        cells.setdefault((r["op"], r["lr"]), []).append(r)
    def stat(op, lr):
        rr = cells.get((op, lr), [])
        v = np.asarray([_f(r["value"]) for r in rr], dtype=np.float64)
        n, probes = int(np.isfinite(v).sum()), sum(r["probes"] for r in rr)
        mean = float(np.nanmean(v)) if n else math.nan
        return mean, n, (mean - 1) / (null_sd / math.sqrt(probes)) if n and probes else math.nan
    vals = {op: [stat(op, lr) for lr in lrs] for op in ops}
    complete = bool(ops) and all(n > 0 for v in vals.values() for _, n, _ in v)
    enough = complete and all(n >= min_evidence for v in vals.values() for _, n, _ in v)
    mix = all(bool(r["phases_ok"]) for r in runs)
    ordered = {op: bool(complete and (np.diff([m for m, _, _ in v]) > 0).all()
                        and v[0][0] < 1 < v[-1][0]) for op, v in vals.items()}
    strong = {op: ordered[op] and v[0][2] < -min_z and v[-1][2] > min_z for op, v in vals.items()}
    rule = (f"reproduced: for every operation of {list(ops)} the seed-mean ratio increases with η "
            f"over {[float(x) for x in lrs]}, is below 1 at the smallest η and above 1 at the "
            f"largest, each end by more than {min_z:g} null standard errors (|z| > {min_z:g}), and "
            f"every run averages the same phases; partial: for some of them; not reproduced: the "
            f"ordering fails for every operation; inconclusive: a value missing, fewer than "
            f"{min_evidence} seeds at some (operation, η), or an ordering that the z-scores or the "
            f"phase mix do not support")
    checks = {"a value at every (operation, η)": complete,
              f"at least {min_evidence} seeds at every (operation, η)": enough,
              "every run has probes in every averaged phase": mix}
    for op in ops:
        checks[f"{op}: increasing, < 1 at the smallest η, > 1 at the largest"] = (
            ordered[op] if complete else None)
        checks[f"{op}: |z| > {min_z:g} at both ends"] = strong[op] if complete else None
    evidence = Evidence.of([_label(r) for r in runs if not _missing(r["value"])], "runs")
    if not enough:
        return Verdict("inconclusive", rule, evidence, checks)
    n_strong = sum(strong.values())
    if mix and n_strong == len(ops):
        return Verdict("reproduced", rule, evidence, checks)
    if mix and n_strong:
        return Verdict("partial", rule, evidence, checks)
    if not any(ordered.values()):
        return Verdict("not reproduced", rule, evidence, checks)
    return Verdict("inconclusive", rule, evidence, checks)


# ── curv.slow-regime ───────────────────────────────────────────────────────────────────────────

def slow_regime(rows: Sequence[Mapping], rho: Sequence[float], *, max_grok_step: int,
                rho_min: float, smoke: bool, excess: Sequence[float] = (),
                max_excess: float = 1.0, min_evidence: int = 3) -> Verdict:
    """The slow regime. rows: one per main run (op, seed, R98, lead_committed, lead_smoothed; None =
    never); rho: ρ of the first commutator sample at every probe against the run's own basis;
    excess: the same probes' energy in B relative to a random direction, (1 − ρ²)/(K/P). With
    K/P ≈ 10⁻⁴ a random δ has ρ ≈ 0.99995, so ρ > rho_min alone says nothing: the commutator must
    also sit in B less than a random direction does (median excess below max_excess). A smoke
    profile cannot reach the slow regime: its verdict is inconclusive, the checks still show.
    Ref: Xu 2026a Table 2, Fig. 8."""
    all_grok = all(not _missing(r["R98"]) and r["R98"] <= max_grok_step for r in rows)
    rho = np.asarray([_f(x) for x in rho], dtype=np.float64)
    rho_ok = bool(len(rho) and (rho > rho_min).all())
    ex = np.asarray([_f(x) for x in excess], dtype=np.float64)
    below_chance = bool(np.isfinite(ex).any() and np.nanmedian(ex) < max_excess)
    precedes = {d: bool(len(rows) and all(_f(r[f"lead_{d}"]) > 0 for r in rows))
                for d in ("committed", "smoothed")}
    rule = (f"reproduced: every seed reaches R98 by step {max_grok_step:,}, ρ > {rho_min:g} at "
            f"every probe with the commutator's energy in B below chance (median (1 − ρ²)/(K/P) < "
            f"{max_excess:g}), and the onset precedes R90 in every seed under both the committed "
            f"and the smoothed detector; not supported: all of it, but ρ is only at its chance "
            f"level; partial: every seed groks; not reproduced: a seed does not grok; "
            f"inconclusive: fewer than {min_evidence} seeds, or a smoke profile")
    checks = {f"at least {min_evidence} seeds": len(rows) >= min_evidence,
              f"every seed reaches R98 by {max_grok_step:,}": all_grok,
              f"ρ > {rho_min:g} at every probe": rho_ok,
              f"energy in B below chance (median excess < {max_excess:g})": below_chance,
              "onset precedes R90 in every seed (committed detector)": precedes["committed"],
              "onset precedes R90 in every seed (smoothed detector)": precedes["smoothed"],
              "the profile can reach the slow regime": not smoke}
    evidence = Evidence.of([_label(r) for r in rows], "runs")
    if smoke or len(rows) < min_evidence:
        return Verdict("inconclusive", rule, evidence, checks)
    if all_grok and rho_ok and all(precedes.values()):
        return Verdict("reproduced" if below_chance else "not supported", rule, evidence, checks)
    return Verdict("partial" if all_grok else "not reproduced", rule, evidence, checks)


def slow_regime_outcome(rows, rho, **kw) -> str:
    """What the slow-regime rule says if the profile could reach the regime (smoke pages)."""
    return slow_regime(rows, rho, **{**kw, "smoke": False, "min_evidence": 0}).verdict


# ── interventions ──────────────────────────────────────────────────────────────────────────────

def _inputs_ok(baseline: Sequence[Mapping], min_seeds: int) -> bool:
    return (len({b["seed"] for b in baseline}) >= min_seeds
            and all(not _missing(b["grok"]) for b in baseline))


def _entered(baseline: Sequence[Mapping]) -> Evidence:
    """The Phase-1 runs that can enter a seed-paired comparison (they grokked)."""
    return Evidence.of([_label(b) for b in baseline if not _missing(b["grok"])], "Phase-1 runs")


def suppression_dose_response(rows: Sequence[Mapping], baseline: Sequence[Mapping], *,
                              check_strength: float, min_delay: float, monotone_ops: int,
                              full_budget: int, min_evidence: int = 3,
                              rerun: Optional[Sequence[Mapping]] = None,
                              confined: Optional[Sequence[Mapping]] = None,
                              rerun_tolerance: float = 100) -> Verdict:
    """Dose response of the paper's suppression rule. rows: grok rows of the PCA arm (op, seed,
    level, grok); baseline: the Phase-1 grok rows (op, seed, grok); rerun: grok rows of the s = 0
    reruns through the Phase-2 path (they must match the Phase-1 runs for a paired difference to
    hold the intervention only); confined: grok rows of the attention-confined control (its s = 1
    rows must not grok either, or the block comes from damping the coordinates outside the
    attention matrices). Ref: Xu 2026a §6, Fig. 13 (figI10)."""
    d = sorted(delay_rows(rows, baseline), key=lambda r: (r["op"], r["level"]))
    ops = sorted({r["op"] for r in d})
    late = [1e18 if _missing(r["mean_grok"]) else r["mean_grok"] for r in d]   # failed: latest
    mono = {op: bool((np.diff([x for x, r in zip(late, d) if r["op"] == op]) >= 0).all())
            for op in ops}
    at = [r for r in d if r["level"] == check_strength]
    ii = {r["op"]: bool(r["delay"] >= min_delay and r["delay"] > r["baseline_sd"]) for r in at}
    full = [r for r in d if r["level"] == 1.0]
    iii = bool(full) and all(r["n_grokked"] == 0 for r in full)
    base = {(b["op"], b["seed"]): _f(b["grok"]) for b in baseline}
    same = bool(rerun) and all(
        abs(_f(r["grok"]) - base.get((r["op"], r["seed"]), math.nan)) <= rerun_tolerance
        for r in rerun)
    conf_full = [r for r in (confined or []) if r["level"] == 1.0]
    conf_blocks = bool(conf_full) and all(_missing(r["grok"]) for r in conf_full)
    needed = min(monotone_ops, len({b["op"] for b in baseline}))
    rule = (f"reproduced: (i) the mean grok step does not decrease with s for ≥ {needed} "
            f"operations, (ii) at s = {check_strength:g} the seed-paired delay is ≥ {min_delay:g} "
            f"steps and larger than the baseline's seed-to-seed s.d. in every operation, (iii) no "
            f"s = 1 run groks within {full_budget:,} steps, and the attention-confined control "
            f"blocks grokking at s = 1 too; not supported: (i)–(iii) hold but the confined control "
            f"groks at s = 1; partial: (iii) only; not reproduced: an s = 1 run groks; "
            f"inconclusive: fewer than {min_evidence} seeds, a Phase-1 run that never grokked, or "
            f"an s = 0 rerun through the Phase-2 path that misses its Phase-1 grok step by more "
            f"than {rerun_tolerance:g} steps")
    gate = _inputs_ok(baseline, min_evidence)
    checks = {f"at least {min_evidence} seeds, every Phase-1 run grokked": gate,
              f"s = 0 reruns within {rerun_tolerance:g} steps of Phase 1": same,
              f"(i) non-decreasing in s for ≥ {needed} operations": sum(mono.values()) >= needed,
              f"(ii) delay at s = {check_strength:g} ≥ {min_delay:g} and > baseline s.d.":
                  bool(ii) and all(ii.values()),
              "(iii) no s = 1 run groks": iii,
              "the attention-confined control blocks grokking at s = 1": conf_blocks}
    evidence = _entered(baseline)
    if not gate or not same:
        return Verdict("inconclusive", rule, evidence, checks)
    if iii and sum(mono.values()) >= needed and ii and all(ii.values()):
        return Verdict("reproduced" if conf_blocks else "not supported", rule, evidence, checks)
    return Verdict("partial" if iii else "not reproduced", rule, evidence, checks)


def suppression_pca_vs_random(rows: Sequence[Mapping], baseline: Sequence[Mapping], *,
                              check_strength: float, random_tolerance: float, min_delay: float,
                              full_budget: int, min_evidence: int = 3) -> Verdict:
    """Learned against random bases. rows: grok rows of the three arms (arm = PCA_ARM, RANDOM_ARM,
    ATTN_RANDOM_ARM); baseline: the Phase-1 grok rows. The decision uses the attention-confined
    random basis, which damps the same coordinates as B; the all-coordinates one is a uniform
    rescaling that Adam undoes and is only shown. Ref: Xu 2026a §6, Fig. 14 (figI6)."""
    at = arm_delays(rows, baseline, check_strength)
    pca_d, rnd_d = at.get(PCA_ARM, math.nan), at.get(ATTN_RANDOM_ARM, math.nan)
    full = {arm: [r for r in delay_rows(rows, baseline) if r["level"] == 1.0 and r["arm"] == arm]
            for arm in (PCA_ARM, ATTN_RANDOM_ARM)}
    s1_fail = all(f and all(r["n_grokked"] == 0 for r in f) for f in full.values())
    rule = (f"reproduced: at s = {check_strength:g} the attention-confined random basis (same "
            f"coordinates and dimension as B) delays grokking by less than {random_tolerance:g} "
            f"steps (absolute) and the execution basis by more than {min_delay:g}, and both arms "
            f"have s = 1 runs and none of them groks within {full_budget:,} steps; partial: the "
            f"execution-basis delay exceeds the random one otherwise; not reproduced: it does not; "
            f"inconclusive: fewer than {min_evidence} seeds, a Phase-1 run that never grokked, or "
            f"a delay missing")
    gate = _inputs_ok(baseline, min_evidence)
    checks = {f"at least {min_evidence} seeds, every Phase-1 run grokked": gate,
              f"|attention-confined random delay| < {random_tolerance:g}":
                  abs(rnd_d) < random_tolerance,
              f"execution-basis delay > {min_delay:g}": pca_d > min_delay,
              "both arms have s = 1 runs and none groks": s1_fail,
              "execution-basis delay > random delay": pca_d > rnd_d}
    evidence = _entered(baseline)
    if not gate or math.isnan(pca_d) or math.isnan(rnd_d):
        return Verdict("inconclusive", rule, evidence, checks)
    if abs(rnd_d) < random_tolerance and pca_d > min_delay and s1_fail:
        return Verdict("reproduced", rule, evidence, checks)
    return Verdict("partial" if pca_d > rnd_d else "not reproduced", rule, evidence, checks)


def kick_no_effect(rows: Sequence[Mapping], baseline: Sequence[Mapping], *, max_shift: float,
                   se_mult: float, min_evidence: int = 3, d_ratio: float = math.nan,
                   positive: Optional[Sequence[Mapping]] = None) -> Verdict:
    """Kicks along curvature directions. rows: grok rows of the kicked runs (op, arm, level = α,
    seed, grok; α = 0 rows are ignored); baseline: the Phase-1 grok rows; d_ratio: median over the
    commutator-arm kicks of the defect right after a kick / the un-kicked run's (the manipulation
    check: a kick meant to raise curvature must raise it); positive: grok rows (op, seed, grok) of a
    positive control that should speed grokking up (the setup must detect it as an acceleration).
    Ref: Xu 2026a §6, Fig. 15 (figI8)."""
    base = {(b["op"], b["seed"]): _f(b["grok"]) for b in baseline}
    kicked = [r for r in rows if r["level"] > 0]
    all_grok = all(not _missing(r["grok"]) for r in kicked)
    diffs: dict = {}
    for r in kicked:
        shift = _f(r["grok"]) - base[(r["op"], r["seed"])]
        diffs.setdefault((r["op"], r["arm"], r["level"]), []).append(shift)
    accel = any(all(x < -max_shift for x in v) for v in diffs.values())
    cells = kick_cells(rows, baseline)
    within = all(abs(c["delay"]) <= max(max_shift, se_mult * c["se"]) for c in cells)
    raised = _f(d_ratio) > 1
    detects = bool(positive) and all(
        _f(r["grok"]) - base.get((r["op"], r["seed"]), math.nan) < -max_shift for r in positive)
    rule = (f"reproduced: every kicked run groks, no (arm, α) cell's seed-paired mean shift "
            f"exceeds max({max_shift:g} steps, {se_mult:g} s.e.), the commutator kicks raise the "
            f"defect (median post-kick D above the un-kicked run's), and a positive control is "
            f"earlier than the baseline by more than {max_shift:g} steps in every seed; not "
            f"reproduced: a kicked run never groks, or a cell is earlier by more than "
            f"{max_shift:g} steps in every seed; partial: otherwise; inconclusive: fewer than "
            f"{min_evidence} seeds, a Phase-1 run that never grokked, kicks that do not raise the "
            f"defect, or a positive control the setup does not detect")
    gate = _inputs_ok(baseline, min_evidence)
    checks = {f"at least {min_evidence} seeds, every Phase-1 run grokked": gate,
              "every kicked run groks": all_grok,
              f"no cell earlier by > {max_shift:g} steps in every seed": not accel,
              f"every cell's shift ≤ max({max_shift:g}, {se_mult:g} s.e.)": within,
              "the kicks raise the defect (median ratio > 1)": raised,
              f"the positive control is earlier by > {max_shift:g} in every seed": detects}
    evidence = _entered(baseline)
    if not gate:
        return Verdict("inconclusive", rule, evidence, checks)
    if not all_grok or accel:
        return Verdict("not reproduced", rule, evidence, checks)
    if not raised or not detects:
        return Verdict("inconclusive", rule, evidence, checks)
    return Verdict("reproduced" if within else "partial", rule, evidence, checks)
