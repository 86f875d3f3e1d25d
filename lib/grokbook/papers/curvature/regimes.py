"""Tables of the learning-rate sweep (Xu 2026a §5, Fig. 9–12; figPC1_lr_lead_scaling) and of the
slow regime (Table 2): grok steps, defect onsets, leads and their power-law fit, per-run summaries.

The onset detectors live in grokbook.measures.defect; this module decides which probes they see.
In the slow regime the committed detector sees every probe from step 0 (its baseline is then
inflated by the first probes, which is why the paper's committed data and its figures disagree), and
the smoothed one sees the probes from the memorisation step on, so its baseline is the
post-memorisation level.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from grokbook.measures.defect import lead_time, median_defect, onset_step
from grokbook.measures.fits import (OffsetFit, PowerLawFit, bootstrap_exponent, offset_fit,
                                    offset_log_slope, power_law_fit)


def centred_median(series: np.ndarray, width: int = 5) -> np.ndarray:
    """Centred rolling lower median over `width` probes (i − width//2 .. i + width//2), NaN unless
    more than half of the probes in the window are present: an isolated probe among missing ones
    (D = 0 or NaN) gives NaN, so it cannot fire a detector, and the lower median of an even count
    never lets a later jump pull the value up early. series [Q] -> [Q]."""
    s, h = np.asarray(series, dtype=np.float64), width // 2
    out = np.full(len(s), np.nan)
    for i in range(len(s)):
        w = s[max(0, i - h):i + h + 1]
        ok = np.isfinite(w)
        if 2 * ok.sum() > len(w):
            out[i] = float(np.sort(w[ok])[(ok.sum() - 1) // 2])
    return out


def sustained_onset_step(steps: np.ndarray, series: np.ndarray, *, width: int = 5,
                         sustain: int = 3, n_baseline: int = 5, factor: float = 10.0,
                         floor: float = 5.0, min_baseline: float = 0.1) -> Optional[int]:
    """First probe i >= n_baseline from which the centred median (centred_median) stays above
    factor · b and above floor for `sustain` consecutive probes, b = max(min_baseline, median of
    the first n_baseline raw probes); None if it never does. steps, series [Q].
    Ref: Xu 2026a Table 2 (the slow regime's smoothed onset)."""
    from grokbook.measures.defect import early_baseline
    s, steps = np.asarray(series, dtype=np.float64), np.asarray(steps)
    base = early_baseline(s, n_baseline)
    b = max(min_baseline, base) if np.isfinite(base) else min_baseline
    sm = centred_median(s, width)
    with np.errstate(invalid="ignore"):
        above = (sm > factor * b) & (sm > floor)
    above[:n_baseline] = False
    for i in range(len(s) - sustain + 1):
        if above[i:i + sustain].all():
            return int(steps[i])
    return None


def post_memorisation_onset(steps: np.ndarray, series: np.ndarray, memorised: Optional[int],
                            width: int = 5, n_baseline: int = 5, factor: float = 10.0,
                            floor: float = 5.0, sustain: int = 3) -> Optional[int]:
    """Smoothed onset (sustained_onset_step: centred rolling median of `width` probes above the
    onset thresholds for `sustain` consecutive probes, baseline = median of the first n_baseline
    probes, firing only after them) applied to the probes at steps >= memorised (all probes if
    memorised is None). steps, series [Q] (per-probe median D, NaN = missing) -> step or None.
    Ref: Xu 2026a Table 2 (the onset of the slow regime)."""
    steps, series = np.asarray(steps), np.asarray(series, dtype=np.float64)
    keep = steps >= (memorised or 0)
    return sustained_onset_step(steps[keep], series[keep], width=width, sustain=sustain,
                                n_baseline=n_baseline, factor=factor, floor=floor)


def onset_rows(runs, factor: float = 10.0, floor: float = 5.0, width: int = 5,
               smooth_baseline: int = 5, sustain: int = 3, task: int = 0) -> list[dict]:
    """One row per run: op, seed, λ, lr, memorisation step (train >= 0.99), R50 / R90 (first test
    >= 0.5 / 0.9), R98 (the run's stop rule), the committed onset (defect.onset_step on every probe,
    baseline = first 3 probes), the sustained smoothed onset (post_memorisation_onset), the lead
    R90 − onset
    and the normalised lead lead / R98 for each, the share of probes whose D is missing (every
    sample 0 or NaN), the max median D.
    Needs Run.probes. Ref: Xu 2026a Table 2, Fig. 8 (figY, figZ)."""
    rows = []
    for r in runs:
        c, steps = r.config, np.asarray(r.probes["steps"])
        d = median_defect(r.probes["defect"])
        mem, r98 = r.memorised_step(task), r.grok_step(task)
        r50, r90 = (r.grok_step(task, threshold=t, patience=1) for t in (0.5, 0.9))
        onsets = {"committed": onset_step(steps, d, factor=factor, floor=floor),
                  "smoothed": post_memorisation_onset(steps, d, mem, width, smooth_baseline, factor,
                                                      floor, sustain)}
        row = {"op": c.ops[task], "seed": c.seed, "weight_decay": c.weight_decay, "lr": c.lr,
               "memorised": mem,
               "R50": r50, "R90": r90, "R98": r98, "final_step": r.final_step}
        for name, onset in onsets.items():
            lead = lead_time(r90, onset)
            row |= {f"onset_{name}": onset, f"lead_{name}": lead,
                    f"norm_lead_{name}": lead / r98 if lead is not None and r98 else math.nan}
        rows.append(row | {"missing_D": float(np.isnan(d).mean()) if len(d) else math.nan,
                           "max_D": float(np.nanmax(d)) if np.isfinite(d).any() else math.nan})
    return rows


# ── the learning-rate sweep: grok matrix and grok time (curv.lr-phase-diagram) ──────────────────

def sweep_rows(runs, task: int = 0) -> list[dict]:
    """measures.trajectory.grok_summary of every run plus max_D (largest per-probe median D over the
    whole run, tail included, as in the paper's sweep) and plateau = R90 − memorised (NaN if either
    never happened). Ref: Xu 2026a §5, Fig. 9–10 (figPD, figPD2)."""
    from grokbook.measures.trajectory import grok_summary
    rows = grok_summary(runs, task)
    for row, r in zip(rows, runs):
        row["max_D"] = float(np.nanmax(median_defect(r.probes["defect"])))
        both = row["R90"] is not None and row["memorised"] is not None
        row["plateau"] = row["R90"] - row["memorised"] if both else math.nan
    return rows


def grok_matrix(table, ops):
    """Seeds that reached R98 per (operation, η): DataFrame [op × η] of counts."""
    return table.assign(grokked=table.grok.notna()).pivot_table(
        index="op", columns="lr", values="grokked", aggfunc="sum").reindex(ops)


def timing_rows(table, paper_r98: dict, paper_lrs):
    """Mean R98 over the seeds that grokked and their count per (op, η), beside the paper's mean R98
    where it ran that η; ratio = ours / paper."""
    out = table.groupby(["op", "lr"]).grok.agg(["mean", "count"]).reset_index()
    paper_at = {(op, eta): v for op, vals in paper_r98.items() for eta, v in zip(paper_lrs, vals)}
    out["paper R98"] = [paper_at.get((o, e)) for o, e in zip(out.op, out.lr)]
    out["ratio"] = out["mean"] / out["paper R98"].astype(float)
    return out


def timing_ratios(timing, grok_ops) -> dict:
    """(op, η) -> ours / paper mean R98 for the grokking operations at the η the paper ran."""
    timed = timing[timing.op.isin(grok_ops) & timing["paper R98"].notna()]
    return {(r.op, r.lr): float(r.ratio) for r in timed.itertuples()}


def local_exponents(etas, times) -> list[float]:
    """Two-point log–log slopes between neighbouring η."""
    return [round(float(np.log(times[i + 1] / times[i]) / np.log(etas[i + 1] / etas[i])), 2)
            for i in range(len(etas) - 1)]


def scaling_rows(table, grok_ops, paper_r98: dict, paper_lrs) -> list[dict]:
    """Per grokking operation: the fit R98 = c·η^β over its grokked runs (95 % t-interval; two η
    and three runs), whether β = −1 lies in it, the R98·η spread (max/min), and the local exponents
    of our seed means and of the paper's figure."""
    from grokbook.measures.fits import scaling_check
    out = []
    for op in grok_ops:
        g = table[(table.op == op) & table.grok.notna()]
        m = g.groupby("lr").grok.mean()
        chk = (scaling_check(g.lr, g.grok, expected=-1.0) if g.lr.nunique() >= 2 and len(g) >= 3
               else None)
        out.append({"op": op, "β": chk.fit.fmt(symbol="β") if chk else "–",
                    "β = −1 in CI": chk.consistent if chk else None,
                    "R98·η spread": round(chk.spread, 2) if chk else None,
                    "local β (ours)": (local_exponents(m.index.values, m.values)
                                       if len(m) > 1 else []),
                    "local β (paper)": (local_exponents(paper_lrs, paper_r98[op])
                                        if op in paper_r98 else [])})
    return out


def max_defect_table(table, ops, paper_max_defect: dict, paper_lrs):
    """Mean over seeds of every run's max_D per (op, η), beside the paper's figPD values."""
    import pandas as pd
    ours = table.groupby(["op", "lr"]).max_D.mean().unstack("lr").reindex(ops)
    paper = pd.DataFrame({eta: [paper_max_defect.get(op, [None] * len(paper_lrs))[i] for op in ops]
                          for i, eta in enumerate(paper_lrs)}, index=ops)
    return pd.concat({"ours": ours.round(1), "paper": paper}, axis=1)


def max_defect_reversed(table, grok_ops, no_grok_ops) -> Optional[bool]:
    """At the lowest η: is the largest mean max_D of a non-grokking operation above every grokking
    one's? None when either group is missing."""
    at_low = table[table.lr == table.lr.min()].groupby("op").max_D.mean()
    g, n = at_low.reindex(grok_ops).dropna(), at_low.reindex(no_grok_ops).dropna()
    return bool(n.max() > g.max()) if len(g) and len(n) else None


def phase_diagram_value(timing, grok_ops, lrs, flips: int) -> str:
    """The ledger's our_value: differing cells and the mean R98 of every grokking op per η."""
    per_lr = [f"η={eta:g}: " + (", ".join(f"{o} {v:.0f}"
                                          for o, v in g.set_index("op")["mean"].dropna().items())
                                or "none grokked")
              for eta, g in timing[timing.op.isin(grok_ops)].groupby("lr")]
    return (f"{flips} grok-fraction cell(s) differ from the paper over η ∈ {lrs}; mean R98 "
            + "; ".join(per_lr))


# ── the learning-rate sweep: lead time against grok time (curv.lead-time-power-law) ─────────────

def _nan(x) -> float:
    return math.nan if x is None else float(x)


def lead_rows(runs, *, factor: float, floor: float, task: int = 0) -> list[dict]:
    """grok_summary of every run plus the defect onset (measures.defect.onset_step on the per-probe
    median D), lead = R90 − onset, fraction = lead / R90 and fraction_R98 = lead / R98 (NaN where an
    event never happened). Ref: Xu 2026a abstract; figPC1_lr_lead_scaling."""
    from grokbook.measures.trajectory import grok_summary
    rows = grok_summary(runs, task)
    for row, r in zip(rows, runs):
        onset = onset_step(r.probes["steps"], median_defect(r.probes["defect"]), factor=factor,
                           floor=floor)
        lead = _nan(row["R90"]) - _nan(onset)
        row |= {"onset": _nan(onset), "lead": lead, "fraction": lead / _nan(row["R90"]),
                "fraction_R98": lead / _nan(row["grok"])}
    return rows


def _range(s) -> str:
    s = s.dropna()
    return f"{s.min():.0f}–{s.max():.0f}" if len(s) else "–"


def lead_per_lr(table, paper_r90: dict, paper_lead: dict, paper_fraction: dict):
    """Per η: runs, onset range, mean R90, mean lead and its range, positive leads, the range of
    lead/R90, beside the paper's means."""
    out = table.groupby("lr").agg(
        runs=("seed", "size"), onset=("onset", _range), mean_R90=("R90", "mean"),
        mean_lead=("lead", "mean"), lead_range=("lead", _range),
        positive_leads=("lead", lambda s: int((s > 0).sum())),
        fraction=("fraction", lambda s: f"{s.min():.2f}–{s.max():.2f}" if s.notna().any() else "–"))
    out["paper mean R90"] = [paper_r90.get(e) for e in out.index]
    out["paper mean lead"] = [paper_lead.get(e) for e in out.index]
    out["paper fraction"] = [paper_fraction.get(e) for e in out.index]
    return out.round(0)


@dataclass(frozen=True)
class LeadFit:
    """The power-law fit of lead on R90 and its constant-onset alternative, over the runs with a
    positive lead at the fitted η."""
    runs: object                     # DataFrame: the fitted runs (rows of lead_rows)
    enough: bool                     # ≥ 3 runs from ≥ 2 η: the fits below exist
    ols: Optional[PowerLawFit]       # log lead on log R90, t-interval
    boot: Optional[PowerLawFit]      # the same with a bootstrap interval (runs resampled within η)
    two_point: Optional[float]       # slope between the mean (R90, lead) of the extreme η
    offset: Optional[OffsetFit]      # lead = R90 − c
    implied: Optional[PowerLawFit]   # slope a pure constant onset ĉ gives at our R90 values
    local: dict                      # T/(T − ĉ) at the mean R90 of each η
    fraction_low: float              # mean lead/R90 at the smallest fitted η (all runs there)
    n_dropped: int = 0               # runs at the fitted η left out: lead ≤ 0 or no lead at all

    @property
    def aic_advantage(self) -> float:
        """AIC(lead = T − c) − AIC(power law): positive when the power law fits better."""
        return self.offset.aic - self.ols.aic if self.enough else math.nan

    @property
    def explained(self) -> bool:
        """A constant onset alone gives a slope inside the fitted slope's interval."""
        return bool(self.enough and self.implied and self.ols.covers(self.implied.exponent))


def lead_fit(table, fit_lrs, *, n_boot: int, boot_seed: int) -> LeadFit:
    """LeadFit over the runs of `table` (lead_rows) at η in fit_lrs with lead > 0."""
    fit = table[table.lr.isin(fit_lrs) & (table.lead > 0)]
    dropped = int(table.lr.isin(fit_lrs).sum()) - len(fit)
    enough = len(fit) >= 3 and fit.lr.nunique() >= 2
    means = fit.groupby("lr")[["R90", "lead"]].mean()
    two_point = (float(np.log(means.lead.iloc[0] / means.lead.iloc[-1])
                       / np.log(means.R90.iloc[0] / means.R90.iloc[-1]))
                 if len(means) >= 2 else None)
    low = table[table.lr == min(fit_lrs)].fraction.mean() if enough else math.nan
    if not enough:
        return LeadFit(fit, False, None, None, two_point, None, None, {}, float(low), dropped)
    ols = power_law_fit(fit.R90, fit.lead)
    boot = bootstrap_exponent(fit.R90, fit.lead, n_boot=n_boot, seed=boot_seed, strata=fit.lr)
    off = offset_fit(fit.R90, fit.lead)
    implied = power_law_fit(fit.R90, fit.R90 - off.offset) if (fit.R90 > off.offset).all() else None
    local = {f"η={e:g}": round(float(offset_log_slope([m], off.offset)[0]), 2)
             for e, m in means.R90.items() if m > off.offset}
    return LeadFit(fit, True, ols, boot, two_point, off, implied, local, float(low), dropped)


def model_comparison(f: LeadFit):
    """The two models side by side (parameters, estimate, AIC)."""
    import pandas as pd
    if not f.enough:
        return None
    c = f.offset
    return pd.DataFrame([
        {"model": "lead = a·T^α", "parameters": 2, "estimate": f.ols.fmt(), "AIC": f.ols.aic},
        {"model": "lead = T − c", "parameters": 1, "AIC": c.aic,
         "estimate": f"c = {c.offset:.0f} (95 % CI {c.ci[0]:.0f}–{c.ci[1]:.0f})"}])


def aic_words(delta: float) -> str:
    """Reading of ΔAIC = AIC(power law) − AIC(offset)."""
    return ("fits better than" if delta > 2 else "fits worse than" if delta < -2
            else "fits about as well as (|ΔAIC| ≤ 2)")


def fit_text(f: LeadFit, fit_lrs, paper_alpha: float, paper_two_point: float) -> str:
    """The fit in one paragraph: runs, OLS, bootstrap, two-point slope, against the paper's."""
    head = (f"Runs in the fit: **{len(f.runs)}** (η ∈ {sorted(f.runs.lr.unique().tolist())}); "
            f"left out: {f.n_dropped} run(s) at these η with a lead ≤ 0 or no onset. ")
    if not f.enough:
        return head + f"Too few positive leads at two or more of η ∈ {fit_lrs} for a fit."
    side = ("inside" if f.ols.covers(paper_alpha) else "below" if f.ols.ci[1] < paper_alpha
            else "above")
    return (head + f"OLS: **{f.ols.fmt()}**; bootstrap interval "
            f"{f.boot.ci[0]:.2f}–{f.boot.ci[1]:.2f}; "
            f"two-point slope **{f.two_point:.2f}**. Paper: OLS {paper_alpha}, two-point "
            f"{paper_two_point}; the paper's OLS slope lies {side} our 95 % interval.")


def offset_text(f: LeadFit) -> str:
    """The constant-onset alternative in one paragraph."""
    if not f.enough:
        return "No fit (see above)."
    from grokbook.measures.trajectory import Spread
    d = f.ols.aic - f.offset.aic
    slope = (f"would give a log–log slope of **{f.implied.exponent:.2f}** over these runs"
             if f.implied else "gives no slope here")
    return (f"The constant-onset model {aic_words(d)} the power law (ΔAIC = AIC(power law) − "
            f"AIC(offset) = {d:+.1f}). Its fitted c = {f.offset.offset:.0f} compares with measured "
            f"onsets of {Spread.of(f.runs.onset).fmt(digits=0)} steps. A constant onset alone "
            f"{slope} "
            f"(local slopes T/(T − c) at the mean T of each η: {f.local}), against the fitted "
            f"{f.ols.exponent:.2f}, {'inside' if f.explained else 'outside'} its 95 % interval. A "
            "slope above 1 is what a fixed onset step produces by arithmetic, so it does not by "
            "itself show a power law.")


def paper_offset_text(paper_r90: dict, paper_lead: dict, fit_lrs_paper, two_point: float,
                      tol: float = 0.015) -> str:
    """The same arithmetic on the paper's means at its two fitted η: the two-point slope a constant
    onset anywhere between its two mean onsets would give. tol: the paper gives 2 decimals."""
    lo, hi = sorted(fit_lrs_paper)
    onset = {e: paper_r90[e] - paper_lead[e] for e in (lo, hi)}
    implied = [float(np.log((paper_r90[lo] - c) / (paper_r90[hi] - c))
                     / np.log(paper_r90[lo] / paper_r90[hi])) for c in onset.values()]
    inside = min(implied) - tol <= two_point <= max(implied) + tol
    return (f"Paper: mean onset {onset[lo]:.0f} steps at η = {lo:g} and {onset[hi]:.0f} at η = "
            f"{hi:g}. A constant onset anywhere between these two gives a two-point slope between "
            f"**{min(implied):.2f}** and **{max(implied):.2f}**; the paper's reported {two_point} "
            + ("lies inside (to rounding) that range, so a fixed onset step with no power law "
               "behind it is enough to produce the paper's exponent." if inside else
               "lies outside that range, so a fixed onset step does not reproduce the paper's "
               "exponent."))


def memorisation_rows(table):
    """Per η: onset − memorised and R90 − memorised (mean ± s.d.), and how many onsets come before
    memorisation."""
    from grokbook.measures.trajectory import Spread
    mem = table.assign(onset_after=table.onset - table.memorised,
                       r90_after=table.R90 - table.memorised)
    fmt = lambda s: Spread.of(s.dropna()).fmt(digits=0) if s.notna().any() else "–"   # noqa: E731
    return mem.groupby("lr").agg(
        onset_minus_memorised=("onset_after", fmt), R90_minus_memorised=("r90_after", fmt),
        onset_before_memorised=("onset_after",
                                lambda s: f"{int((s < 0).sum())}/{int(s.notna().sum())}"))


def lead_values(f: LeadFit, fit_lrs) -> tuple[str, str]:
    """(our_value, null_value) of the ledger."""
    if not f.enough:
        return "too few positive leads for a fit", "–"
    ours = (f"{f.ols.fmt()} (bootstrap {f.boot.ci[0]:.2f}–{f.boot.ci[1]:.2f}), two-point "
            f"{f.two_point:.2f}; lead fraction at η={min(fit_lrs):g}: {f.fraction_low:.2f}; "
            f"{f.n_dropped} run(s) with lead ≤ 0 left out")
    null = (f"constant onset lead = T − c: c = {f.offset.offset:.0f}, ΔAIC(power − offset) = "
            f"{f.ols.aic - f.offset.aic:+.1f}, implied slope {f.implied.exponent:.2f}"
            if f.implied else "–")
    return ours, null


# ── the learning-rate sweep: trajectory–curvature alignment (curv.lr-alignment-damping) ─────────

def probe_phases(run, task: int = 0) -> np.ndarray:
    """Training phase (measures.curves.training_phase) at every probe of a run."""
    from grokbook.measures.curves import training_phase
    from grokbook.measures.defect import at_steps
    return at_steps(run.probes["steps"], run.eval_steps,
                    training_phase(run.train_acc[:, task], run.test_acc[:, task]))


def alignment_probes(runs, P: int):
    """One row per probe of every run: op, lr, seed, step, phase, ratio c̄ / √(2/(πP)), median D.
    Ref: Xu 2026a §5, Fig. 11–12."""
    import pandas as pd
    from grokbook.measures.defect import alignment_ratio
    return pd.concat([pd.DataFrame({
        "op": r.config.ops[0], "lr": r.config.lr, "seed": r.config.seed, "step": r.probes["steps"],
        "phase": probe_phases(r), "ratio": alignment_ratio(r.probes["align"], P),
        "D": median_defect(r.probes["defect"])}) for r in runs])


def phase_means(probes):
    """Mean ratio and probe count per (op, η, seed, phase)."""
    return probes.dropna(subset=["ratio"]).groupby(["op", "lr", "seed", "phase"]).ratio.agg(
        ["mean", "size"])


def phase_table(per_run, phases):
    """Per (op, η, phase): the seed spread of the run means and the probes behind each cell."""
    import pandas as pd
    from grokbook.measures.trajectory import Spread
    cells = per_run.groupby(["op", "lr", "phase"])["mean"].apply(
        lambda s: Spread.of(s).fmt(digits=2)).unstack("phase")
    counts = per_run.groupby(["op", "lr", "phase"])["size"].sum().unstack("phase")
    cols = lambda t: [c for c in ["early"] + list(phases) if c in t.columns]   # noqa: E731
    return pd.concat({"ratio": cells.reindex(columns=cols(cells)),
                      "probes": counts.reindex(columns=cols(counts))}, axis=1)


def alignment_summary(per_run, phases, null_sd: float, paper_ratio: dict, paper_lrs):
    """Per (op, η): the seed mean of the run values (each the mean of its phase averages over
    `phases`), their spread, the probes behind them, z = (value − 1) / (null_sd / √probes) and the
    paper's value (mean of its checkpoint ratios)."""
    import pandas as pd
    from grokbook.measures.trajectory import Spread
    run_mean = per_run["mean"].unstack("phase").reindex(columns=phases).mean(axis=1)
    n_probe = per_run["size"].unstack("phase").reindex(columns=phases).sum(axis=1)
    by = run_mean.groupby(["op", "lr"])
    out = pd.DataFrame({"value": by.mean(), "probes": n_probe.groupby(["op", "lr"]).sum(),
                        "spread": by.apply(lambda s: Spread.of(s.dropna()).fmt(digits=2)
                                           if s.notna().any() else "–")})
    out["z vs null"] = (out.value - 1) / (null_sd / np.sqrt(out.probes))
    paper = {(op, eta): float(np.mean(v)) for op, vals in paper_ratio.items()
             for eta, v in zip(paper_lrs, vals)}
    out["paper"] = [paper.get(i) for i in out.index]
    return out


def span_table(runs, spans, phases, cfg):
    """The ratio on the attention weights alone, from the stored snapshots and the first commutator
    sample's attention part, for displacements over every span; mean over the probes in `phases`,
    then over seeds. -> DataFrame [(op, η) × span]."""
    import pandas as pd
    from grokbook.measures.defect import displacement_alignment, random_alignment
    from grokbook.training.model import group_slices
    n_attn = sum(int(np.prod(shape)) for _, shape in group_slices(cfg, "attn").values())
    rows = []
    for r in runs:
        keep = np.isin(probe_phases(r), phases)
        for span in spans:
            a = displacement_alignment(r.snapshot_steps, r.snapshots["attn"], r.probes["steps"],
                                       r.probes["delta_attn"], span)
            rows.append({"op": r.config.ops[0], "lr": r.config.lr, "seed": r.config.seed,
                         "span": span,
                         "ratio": float(np.nanmean(a[keep])) / random_alignment(n_attn)})
    return pd.DataFrame(rows).groupby(["op", "lr", "span"]).ratio.mean().unstack("span")


def alignment_value(by_op, lrs) -> str:
    """The ledger's our_value: the seed-mean ratio of every operation at every η."""
    return (f"mean alignment/baseline over phases per η {sorted(lrs)}: "
            + "; ".join(f"{op} " + " / ".join(f"{v:.2f}" for v in by_op.loc[op])
                        for op in by_op.index))


# ── the slow regime (curv.slow-regime) ──────────────────────────────────────────────────────────

DETECTORS = ("committed", "smoothed")
PAPER_KEY = {"committed": "committed", "smoothed": "figure"}   # the paper's number to compare with


def profile_text(profile: str, *, lr, weight_decay, beta2, n_layers, d_model, p, steps) -> str:
    """What the page can show under this profile (a smoke schedule cannot reach the slow regime)."""
    head = (f"Profile **{profile}**: lr {lr:g}, λ {weight_decay:g}, β₂ {beta2:g}, {n_layers} "
            f"layers, d_model {d_model}, p {p}, budget {steps:,} steps. ")
    if not profile.startswith("smoke"):
        return head + ("These are the paper's slow-regime settings (or a custom variant of them): "
                       "the numbers below are measurements of the claim.")
    return head + ("This is a **smoke profile**: a short schedule on a small model that runs the "
                   "same code path (the same β₂, several layers, probes, snapshots, both "
                   "detectors, ρ and PCA) in about a minute. It cannot reach the slow regime, "
                   "which needs ≈570k steps of the paper's model, so **none of the numbers on "
                   "this page is evidence for or against the claim**; the verdict is recorded as "
                   "*inconclusive*.")


def lead_summary(head, paper_lead: dict, paper_norm_lead: dict):
    """Per detector over the main runs (onset_rows): runs with a lead, onsets before R90, the lead
    and the normalised lead (mean ± s.d.), beside the paper's."""
    import pandas as pd
    from grokbook.measures.trajectory import Spread
    out = {}
    for name in DETECTORS:
        lead = head[f"lead_{name}"].dropna().astype(float)
        norm = head[f"norm_lead_{name}"].dropna().astype(float)
        out[name] = {"runs with a lead": f"{len(lead)}/{len(head)}",
                     "onset precedes R90": f"{int((lead > 0).sum())}/{len(head)}",
                     "lead (steps)": Spread.of(lead).fmt(digits=0) if len(lead) else "–",
                     "normalised lead": Spread.of(norm).fmt(digits=2) if len(norm) else "–",
                     "paper lead": f"{paper_lead[PAPER_KEY[name]]:,}",
                     "paper normalised lead": paper_norm_lead[PAPER_KEY[name]]}
    return pd.DataFrame(out).rename(columns={"smoothed": "smoothed (paper: figures)"})


def rho_table(rho):
    """Per (seed, basis) of measures.subspaces.rho_rows: K, P, probes, min / final ρ, chance ρ,
    median and max energy excess."""
    return rho.groupby(["seed", "basis"]).agg(
        K=("K", "first"), P=("P", "first"), probes=("rho", "size"), min_rho=("rho", "min"),
        final_rho=("rho", "last"), chance_rho=("chance_rho", "first"),
        median_excess=("excess", "median"), max_excess=("excess", "max"))


def alignment_rows(runs):
    """One row per probe with a finite alignment ratio c̄ / √(2/(πP)): seed, step, ratio."""
    import pandas as pd
    from grokbook.measures.defect import alignment_ratio
    from grokbook.training.model import n_params
    return pd.DataFrame([{"seed": r.config.seed, "step": s, "ratio": v} for r in runs
                         for s, v in zip(r.probes["steps"],
                                         alignment_ratio(r.probes["align"], n_params(r.config)))
                         if np.isfinite(v)])


def alignment_table(align):
    """Per seed: probes, mean, median and max ratio, share of probes at or below 1."""
    t = align.groupby("seed").ratio.agg(["size", "mean", "median", "max",
                                         lambda s: (s <= 1).mean()])
    t.columns = ["probes", "mean ratio", "median ratio", "max ratio", "share ≤ 1"]
    return t


def pc1_both(runs, density_snapshots: int):
    """measures.trajectory.pc1_rows of every run cut at its R98 stop, in full and thinned."""
    import pandas as pd
    from grokbook.measures.trajectory import cut_at_stop, pc1_rows
    cut = [cut_at_stop(r) for r in runs]
    return pd.concat([pd.DataFrame(pc1_rows(cut)).assign(snapshots="full"),
                      pd.DataFrame(pc1_rows(cut, n_snapshots=density_snapshots)).assign(
                          snapshots=f"{density_snapshots}")])


def pc1_table(both, paper_full: dict, paper_thin: dict, paper_fast: dict):
    """PC1 share (%) per (snapshots, layer) and matrix kind, mean over seeds, with the paper's figH
    rows for the last layer."""
    import pandas as pd
    t = 100 * both.pivot_table(index=["snapshots", "layer"], columns="kind", values="pc1",
                               sort=False)
    paper = pd.DataFrame([paper_full, paper_thin, paper_fast], index=pd.MultiIndex.from_tuples(
        [("paper slow, full", "last"), ("paper slow, 30", "last"), ("paper fast", "last")]))
    return pd.concat([t[["W_Q", "W_K", "W_V", "W_O"]], paper])


def slow_values(head, rho_own, align, control, *, smoke: bool, null_sd: float,
                control_weight_decay: float) -> tuple[str, str]:
    """(our_value, null_value) of the ledger."""
    from grokbook.measures.trajectory import Spread
    r98 = head.R98.dropna().astype(float)
    lead = {n: head[f"lead_{n}"].dropna().astype(float) for n in DETECTORS}
    norm = {n: head[f"norm_lead_{n}"].dropna().astype(float) for n in DETECTORS}
    fmt = lambda s, d: Spread.of(s).fmt(digits=d) if len(s) else "–"   # noqa: E731
    min_rho = float(rho_own.rho.min()) if len(rho_own) else math.nan
    chance = float(rho_own.chance_rho.iloc[0]) if len(rho_own) else math.nan
    ours = (f"R98 {fmt(r98, 0) if len(r98) else 'none'} ({int(head.R98.notna().sum())}/{len(head)} "
            f"grok); min ρ {min_rho:.6f}; onset precedes R90: committed "
            f"{int((lead['committed'] > 0).sum())}/{len(head)}, smoothed "
            f"{int((lead['smoothed'] > 0).sum())}/{len(head)}; normalised lead committed "
            f"{fmt(norm['committed'], 2)}, smoothed {fmt(norm['smoothed'], 2)}"
            + (" [smoke profile: not evidence]" if smoke else ""))
    best = max(r.test_acc[:, 0].max() for r in control)
    null = (f"chance ρ {chance:.6f}; alignment null ratio 1 ± {null_sd:.2f}; "
            f"λ={control_weight_decay:g} control best test acc {best:.3f}")
    return ours, null


def alignment_runs(per_run, runs, phases) -> list[dict]:
    """One row per run for the alignment rule: op, lr, seed, value (mean of its phase averages over
    `phases`, NaN without a probe there), probes (how many entered) and phases_ok (a probe in every
    phase of `phases`, so every run averages the same phases)."""
    means = per_run["mean"].unstack("phase").reindex(columns=phases)
    sizes = per_run["size"].unstack("phase").reindex(columns=phases)
    out = []
    for r in runs:
        key = (r.config.ops[0], r.config.lr, r.config.seed)
        have = key in means.index
        out.append({"op": key[0], "lr": key[1], "seed": key[2],
                    "value": float(means.loc[key].mean()) if have else math.nan,
                    "probes": int(sizes.loc[key].sum()) if have else 0,
                    "phases_ok": bool(have and sizes.loc[key].notna().all())})
    return out
