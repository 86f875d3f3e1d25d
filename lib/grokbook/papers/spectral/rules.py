"""Verdict rules of the spectral-edge claims (Xu 2026d), one function per claim.

Each takes measured numbers (summary rows, per-run tables) and the thresholds the notebook declares
as parameters, and returns a `Verdict` whose `rule` text carries the threshold values. The per-seed
level helpers of the Fourier claims (`add_mode_level`, `mul_dlog_level`, `sub_multimode_level`,
`single_basis_collapse`), the seed quorum (`overall_level`) and the paired regime comparison
(`separation_level`) are the building blocks.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from grokbook.measures.spectral import Separation, auroc, separation
from grokbook.papers.verdict import Evidence, Verdict

LEVELS = ("not reproduced", "partial", "reproduced")


# ── per-seed levels of the Fourier claims ────────────────────────────────────────────────────────


def add_mode_level(row: Mapping, top: int = 3) -> str:
    """spec.add-single-mode on one summary row: (i) v1..v_top share one peak, (ii) every F above the
    random-direction and the white-noise 99th percentiles, (iii) mean F(top) > mean F(bulk)."""
    F = [row[f"F_v{i + 1}"] for i in range(top)]
    passed = [f > row["null_q99"] and f > row["wn_q99"] for f in F]
    if row["shared_peak"] and all(passed) and row["top_mean"] > row["bulk_mean"]:
        return LEVELS[2]
    return LEVELS[1] if (row["shared_peak"] and any(passed)) or all(passed) else LEVELS[0]


def mul_dlog_level(
    dlog: Mapping, raw: Mapping, ratio: float, ratio_null_q95: float, top: int = 3
) -> str:
    """spec.mul-dlog-mode: shared dlog peak with every F_dlog above the dlog null's 99th pct, every
    F_raw at or below the raw null's 95th pct, and the imputed top-3 dlog/raw ratio above the
    random-triple 95th pct -> reproduced; any edge direction with F_dlog above the null's 95th
    pct -> partial."""
    Fd = [dlog[f"F_v{i + 1}"] for i in range(top)]
    Fr = [raw[f"F_v{i + 1}"] for i in range(top)]
    if (
        dlog["shared_peak"]
        and all(f > dlog["null_q99"] for f in Fd)
        and all(f <= raw["null_q95"] for f in Fr)
        and ratio > ratio_null_q95
    ):
        return LEVELS[2]
    return LEVELS[1] if any(f > dlog["null_q95"] for f in Fd) else LEVELS[0]


def sub_multimode_level(
    row: Mapping,
    top3_lists: Sequence[Sequence[int]],
    max_union: int = 6,
    max_top_bulk: float = 1.5,
    top: int = 3,
) -> str:
    """spec.sub-multimode: ≥ 2 distinct peaks among v1..v_top, every F above the null's 95th pct, at
    most `max_union` distinct frequencies in their top-3 lists and mean F(top)/mean F(bulk) <
    max_top_bulk -> reproduced; the multi-mode shape with at least one F above the null's 95th pct
    -> partial (the shape alone is met by random-direction triples too)."""
    peaks = {row[f"peak_v{i + 1}"] for i in range(top)}
    union = {w for t in top3_lists[:top] for w in t}
    shape = len(peaks) >= 2 and len(union) <= max_union
    strong = all(row[f"F_v{i + 1}"] > row["null_q95"] for i in range(top))
    some = any(row[f"F_v{i + 1}"] > row["null_q95"] for i in range(top))
    flat = row["top_mean"] / row["bulk_mean"] < max_top_bulk
    return LEVELS[2] if shape and strong and flat else LEVELS[1] if shape and some else LEVELS[0]


def single_basis_collapse(row: Mapping, top: int = 3) -> bool:
    """True if v1..v_top share a peak in this basis with every F above the random-direction 99th pct
    (spec.x2y2-no-single-basis counts such a basis against the claim)."""
    strong = all(row[f"F_v{i + 1}"] > row["null_q99"] for i in range(top))
    return bool(row["shared_peak"] and strong)


def overall_level(levels: Sequence[str], quorum: int) -> str:
    """The highest level reached by at least `quorum` seeds. The quorum never shrinks to the number
    of seeds present: fewer seeds than the quorum is an error (the rules call it inconclusive)."""
    if quorum < 1 or len(levels) < quorum:
        raise ValueError(f"overall_level: {len(levels)} per-seed level(s) for a quorum of {quorum}")
    ranks = sorted((LEVELS.index(level) for level in levels), reverse=True)
    return LEVELS[ranks[quorum - 1]]


def separation_level(
    s: Separation,
    win_share: float = 11 / 12,
    partial_share: float = 0.75,
    partial_auroc: float = 0.8,
) -> str:
    """spec.edge-separates-regimes: wins in >= win_share of the pairs and perfect separation ->
    reproduced; wins in >= partial_share or AUROC >= partial_auroc -> partial."""
    if s.wins >= win_share * s.n - 1e-9 and s.separated:
        return LEVELS[2]
    partial = s.wins >= partial_share * s.n - 1e-9 or s.auroc >= partial_auroc
    return LEVELS[1] if partial else LEVELS[0]


def _quorum_verdict(
    rule: str, levels: Mapping[int, str], quorum: int, min_evidence: int, checks: dict
) -> Verdict:
    """The quorum shape of the Fourier claims: inconclusive with fewer seeds than the quorum, and
    a "reproduced" resting on fewer than min_evidence seeds is inconclusive too; else
    overall_level."""
    evidence = Evidence.of([f"seed {s}" for s in levels], "seeds")
    checks = {**checks, f"at least {quorum} seed(s) measured": len(levels) >= max(quorum, 1)}
    if len(levels) < max(quorum, 1):
        return Verdict("inconclusive", rule, evidence, checks)
    level = overall_level(list(levels.values()), max(quorum, 1))
    if level == LEVELS[2] and len(levels) < min_evidence:
        return Verdict("inconclusive", rule, evidence, checks)
    return Verdict(level, rule, evidence, checks)


def _eta2_ok(row: Mapping) -> bool:
    """The η² gate: F is scale-free, so a field whose class means carry no more of its variance than
    white noise would (η² of v1–v3 at or below the white-noise 99th percentile `eta2_wn99`) has no
    mode to find. Rows without `eta2_wn99` pass."""
    return "eta2_wn99" not in row or bool(row["eta2_top"] > row["eta2_wn99"])


def _quorum_text(quorum: int, min_evidence: int) -> str:
    return (
        f"the claim's level is the highest one reached by at least {quorum} seed(s) (test "
        f"pairs); fewer than {quorum} seed(s), or reproduced from fewer than {min_evidence} "
        "seeds → "
        "inconclusive; a seed whose η² of v1–v3 is not above the white-noise 99th percentile "
        "does not enter"
    )


# ── one rule per claim ──────────────────────────────────────────────────────────────────────────


def add_single_mode(
    rows: Sequence[Mapping], *, seed_quorum: int, min_evidence: int = 3, top: int = 3
) -> Verdict:
    """spec.add-single-mode. rows: one `summary_rows` row per seed (test pairs, additive
    grouping)."""
    rule = (
        f"per seed: v1–v{top} share one peak frequency, every F(v1–v{top}) exceeds the "
        f"random-direction and the white-noise 99th percentiles, and mean F(v1–v{top}) > mean "
        f"F(v4–v8) → reproduced; "
        "a shared peak with some directions passing, or every direction passing → partial; "
        f"else not reproduced; {_quorum_text(seed_quorum, min_evidence)}"
    )
    checks, levels = {}, {}
    for r in rows:
        s = int(r["seed"])
        F = [r[f"F_v{i + 1}"] for i in range(top)]
        passed = [f > r["null_q99"] and f > r["wn_q99"] for f in F]
        checks[f"seed {s}: v1–v{top} share one peak"] = bool(r["shared_peak"])
        checks[f"seed {s}: every F above both 99th percentiles"] = all(passed)
        checks[f"seed {s}: edge mean F > bulk mean F"] = bool(r["top_mean"] > r["bulk_mean"])
        checks[f"seed {s}: η² above white noise"] = _eta2_ok(r)
        if _eta2_ok(r):
            levels[s] = add_mode_level(r, top)
    return _quorum_verdict(rule, levels, seed_quorum, min_evidence, checks)


def mul_dlog_mode(
    seeds: Sequence[Mapping], *, seed_quorum: int, min_evidence: int = 3, top: int = 3
) -> Verdict:
    """spec.mul-dlog-mode. seeds: per seed {"seed", "dlog": summary row (dlog grouping), "raw":
    summary row (raw product, empty class 0), "ratio": imputed dlog/raw ratio,
    "ratio_null_q95"}, all on the test pairs."""
    rule = (
        f"per seed: v1–v{top} share one dlog peak, every F_dlog > random-direction 99th "
        "percentile, every F_raw ≤ random-direction 95th percentile and the imputed dlog/raw "
        "ratio > the 95th percentile of random triples → reproduced; some F_dlog(v1–v3) > "
        "random-direction 95th "
        f"percentile → partial; else not reproduced; {_quorum_text(seed_quorum, min_evidence)}"
    )
    checks, levels = {}, {}
    for d in seeds:
        s, dl, raw = int(d["seed"]), d["dlog"], d["raw"]
        checks[f"seed {s}: shared dlog peak"] = bool(dl["shared_peak"])
        checks[f"seed {s}: every F_dlog above its 99th percentile"] = all(
            dl[f"F_v{i + 1}"] > dl["null_q99"] for i in range(top)
        )
        checks[f"seed {s}: every F_raw at or below its 95th percentile"] = all(
            raw[f"F_v{i + 1}"] <= raw["null_q95"] for i in range(top)
        )
        checks[f"seed {s}: imputed ratio above the random-triple 95th percentile"] = bool(
            d["ratio"] > d["ratio_null_q95"]
        )
        checks[f"seed {s}: η² (dlog) above white noise"] = _eta2_ok(dl)
        if _eta2_ok(dl):
            levels[s] = mul_dlog_level(dl, raw, d["ratio"], d["ratio_null_q95"], top)
    return _quorum_verdict(rule, levels, seed_quorum, min_evidence, checks)


def sub_multimode(
    rows: Sequence[Mapping],
    top3: Mapping[int, Sequence[Sequence[int]]],
    *,
    max_union: int,
    max_top_bulk: float,
    seed_quorum: int,
    min_evidence: int = 3,
    top: int = 3,
) -> Verdict:
    """spec.sub-multimode. rows: one summary row per seed (test pairs, (a−b) grouping); top3:
    seed -> the top-3 frequency lists of v1, v2, v3."""
    rule = (
        f"per seed: at least 2 distinct peaks among v1–v{top}, every F > random-direction 95th "
        f"percentile, at most {max_union} frequencies in their top-3 lists and mean "
        f"F(v1–v{top}) / mean F(v4–v8) < {max_top_bulk} → reproduced; the multi-mode shape "
        "(peaks and union) with at least one F > random-direction 95th percentile → partial; "
        f"else not reproduced; {_quorum_text(seed_quorum, min_evidence)}"
    )
    checks, levels = {}, {}
    for r in rows:
        s = int(r["seed"])
        union = {w for t in top3[s][:top] for w in t}
        peaks = {r[f"peak_v{i + 1}"] for i in range(top)}
        checks[f"seed {s}: ≥ 2 distinct peaks"] = len(peaks) >= 2
        checks[f"seed {s}: ≤ {max_union} frequencies in the top-3 lists"] = len(union) <= max_union
        above = [r[f"F_v{i + 1}"] > r["null_q95"] for i in range(top)]
        checks[f"seed {s}: every F above the 95th percentile"] = all(above)
        checks[f"seed {s}: some F above the 95th percentile"] = any(above)
        flat = r["top_mean"] / r["bulk_mean"] < max_top_bulk
        checks[f"seed {s}: top/bulk < {max_top_bulk}"] = bool(flat)
        checks[f"seed {s}: η² above white noise"] = _eta2_ok(r)
        if _eta2_ok(r):
            levels[s] = sub_multimode_level(r, top3[s], max_union, max_top_bulk, top)
    return _quorum_verdict(rule, levels, seed_quorum, min_evidence, checks)


def x2y2_no_single_basis(
    rows: Sequence[Mapping],
    *,
    seed_quorum: int,
    min_evidence: int = 3,
    control_rows: Sequence[Mapping] | None = None,
    top: int = 3,
) -> Verdict:
    """spec.x2y2-no-single-basis. rows: test-pair summary rows, one per (seed, basis, variant);
    control_rows: the add model's test-pair rows in its own (a+b) grouping — the positive control:
    an absence of collapse only counts if the same pipeline finds the add model's collapse."""
    rule = (
        f"per seed: no grouping in which v1–v{top} share a peak with every F > "
        f"random-direction 99th percentile → reproduced; some grouping collapses them → "
        f"not reproduced; {_quorum_text(seed_quorum, min_evidence)}; inconclusive unless the "
        "same pipeline finds the collapse of the add model in its (a+b) grouping in some seed "
        "(a reproduced absence needs the positive control)"
    )
    hits: dict[int, list[str]] = {}
    signal: dict[int, bool] = {}
    for r in rows:
        s = int(r["seed"])
        hits.setdefault(s, [])
        signal[s] = signal.get(s, False) or _eta2_ok(r)
        if single_basis_collapse(r, top):
            hits[s].append(f"{r['basis']} ({r['variant']})")
    checks = {f"seed {s}: no grouping collapses v1–v{top}": not h for s, h in hits.items()}
    checks |= {f"seed {s}: η² above white noise in some grouping": v for s, v in signal.items()}
    hits = {s: h for s, h in hits.items() if signal[s]}
    found = (
        None if control_rows is None else any(single_basis_collapse(r, top) for r in control_rows)
    )
    checks["the pipeline finds the add model's collapse (positive control)"] = found
    levels = {s: LEVELS[0] if h else LEVELS[2] for s, h in hits.items()}
    result = _quorum_verdict(rule, levels, seed_quorum, min_evidence, checks)
    if found is False and result.verdict == LEVELS[2]:  # an absence the pipeline could miss
        return Verdict("inconclusive", rule, result.evidence, result.checks)
    return result


def edge_separates_regimes(
    pairs: Sequence[str],
    grok: Sequence[float],
    control: Sequence[float],
    *,
    win_share: float,
    partial_share: float,
    partial_auroc: float,
    min_evidence: int = 3,
    stat: str = "R",
    nongrok_runs: Sequence[str] = (),
    nongrok: Sequence[float] = (),
) -> Verdict:
    """spec.edge-separates-regimes on one statistic: paired values of the grokking runs and their
    matched λ = 0 controls at the same step (pairs labels them, "add s42"), then the second null:
    the non-grokking operations at the grokking runs' λ (nongrok_runs, nongrok) at the same training
    time. The λ = 0 comparison alone cannot tell an edge of grokking from an edge of weight decay;
    if the grokking runs do not stand out from the non-grokking runs at the same λ (AUROC below
    partial_auroc), a separation from the λ = 0 runs is "not supported"."""
    rule = (
        f"{stat} of the centred window ending at the grok step: the grokking run exceeds its "
        f"matched λ = 0 control in ≥ {win_share:.1%} of the pairs and the pooled values separate "
        f"perfectly → reproduced; ≥ {partial_share:.0%} of the pairs or AUROC "
        f"≥ {partial_auroc} → partial; else not reproduced. Reproduced also needs the grokking "
        f"runs to separate perfectly from ≥ {min_evidence} runs of the non-grokking operations "
        "at the same λ and step (else partial); if those runs reach the grokking runs' values "
        f"(AUROC < {partial_auroc}), a λ = 0 separation is not supported; reproduced from fewer "
        f"than {min_evidence} matched pairs → inconclusive"
    )
    evidence = Evidence.of(
        [f"{p} vs λ = 0" for p in pairs] + [f"{r} (non-grokking)" for r in nongrok_runs],
        "comparisons" if len(nongrok_runs) else "pairs",
    )
    if not len(pairs):
        return Verdict("inconclusive", rule, evidence, {})
    s = separation(grok, control)
    checks = {
        f"grokking > control in ≥ {win_share:.1%} of pairs ({s.wins}/{s.n})": s.wins
        >= win_share * s.n - 1e-9,
        "perfect separation": s.separated,
        f"≥ {partial_share:.0%} of pairs": s.wins >= partial_share * s.n - 1e-9,
        f"AUROC ≥ {partial_auroc} ({s.auroc:.2f})": s.auroc >= partial_auroc,
        f"at least {min_evidence} matched pairs": s.n >= min_evidence,
    }
    level = separation_level(s, win_share, partial_share, partial_auroc)
    if len(nongrok):
        area = auroc(grok, nongrok)
        apart = bool(min(grok) > max(nongrok))
        checks |= {
            f"grokking > non-grokking at the same λ, AUROC ≥ {partial_auroc} ({area:.2f})":
                area >= partial_auroc,
            f"perfect separation from the non-grokking runs ({len(nongrok)})": apart,
        }
        if level != LEVELS[0] and area < partial_auroc:
            return Verdict("not supported", rule, evidence, checks)
    else:
        apart = False
    checks[f"at least {min_evidence} non-grokking runs at the same λ"] = (
        len(nongrok) >= min_evidence
    )
    if level == LEVELS[2] and s.n < min_evidence:
        level = "inconclusive"
    elif level == LEVELS[2] and not (apart and len(nongrok) >= min_evidence):
        level = LEVELS[1]
    return Verdict(level, rule, evidence, checks)


def _seed_gate(verdict: str, labels: Sequence[str], min_evidence: int) -> str:
    """A "reproduced" from fewer than min_evidence distinct seeds ("<op> s<seed>" labels) is
    inconclusive."""
    seeds = {lab.split(" s")[-1].split(" ")[0] for lab in labels}
    return "inconclusive" if verdict == "reproduced" and len(seeds) < min_evidence else verdict


def edge_activation_diffuse(
    runs: Sequence[str],
    r_eff: Sequence[float],
    top1: Sequence[float],
    *,
    rank_low: float,
    rank_high: float,
    max_top1: float,
    min_evidence: int = 3,
) -> Verdict:
    """spec.edge-activation-diffuse. runs, r_eff, top1: one entry per post-grok edge direction v1–v3
    of every (op, seed) ("add s42 v1")."""
    rule = (
        f"effective rank of Δh for v1–v3 in [{rank_low}, {rank_high}] in the post-grok window "
        f"of every operation and seed, and top-1 energy share < {max_top1} → reproduced; one "
        "of the two → partial; neither → not reproduced; a reproduced from fewer than "
        f"{min_evidence} seeds → inconclusive"
    )
    r, t = np.asarray(r_eff, dtype=float), np.asarray(top1, dtype=float)
    evidence = Evidence.of(sorted({lab.rsplit(" ", 1)[0] for lab in runs}), "runs")
    in_band = bool(len(r) and ((r >= rank_low) & (r <= rank_high)).all())
    top1_ok = bool(len(t) and (t < max_top1).all())
    checks = {
        f"every r_eff in [{rank_low}, {rank_high}]": in_band,
        f"every top-1 share < {max_top1}": top1_ok,
    }
    if not len(r):
        return Verdict("inconclusive", rule, evidence, checks)
    verdict = (
        "reproduced"
        if in_band and top1_ok
        else "partial" if in_band or top1_ok else "not reproduced"
    )
    return Verdict(_seed_gate(verdict, evidence.items, min_evidence), rule, evidence, checks)


def edge_not_head_localized(
    runs: Sequence[str],
    top: Sequence[float],
    bulk: Sequence[float],
    *,
    max_share: float,
    n_blocks: int,
    bulk_tolerance: float,
    min_evidence: int = 3,
) -> Verdict:
    """spec.edge-not-head-localized. top: purity of every v1–v3 (all ops, seeds, phases); bulk: of
    v4–v8; runs: the (op, seed) labels that entered."""
    cap = max_share / n_blocks
    rule = (
        f"purity of every v1–v3 ≤ {max_share} × 1/{n_blocks} = {cap:.3f} in every operation, "
        f"seed and phase, and |mean purity v1–v3 − mean purity v4–v8| ≤ {bulk_tolerance} → "
        "reproduced; one of the two → partial; neither → not reproduced; a reproduced from "
        f"fewer than {min_evidence} seeds → inconclusive"
    )
    t, b = np.asarray(top, dtype=float), np.asarray(bulk, dtype=float)
    evidence = Evidence.of(runs, "runs")
    gap = abs(float(t.mean()) - float(b.mean())) if len(b) and len(t) else math.nan
    cap_ok = bool(len(t) and t.max() <= cap)
    bulk_ok = bool(gap <= bulk_tolerance)
    checks = {
        f"largest edge purity ≤ {cap:.3f}": cap_ok,
        f"edge − bulk gap ≤ {bulk_tolerance}": bulk_ok,
    }
    if not len(t):
        return Verdict("inconclusive", rule, evidence, checks)
    verdict = (
        "reproduced" if cap_ok and bulk_ok else "partial" if cap_ok or bulk_ok else "not reproduced"
    )
    return Verdict(_seed_gate(verdict, evidence.items, min_evidence), rule, evidence, checks)


def purity_reading(top: Sequence[float], null_q99: float, alpha: float = 0.01) -> tuple[str, float]:
    """How the edge purities compare with random directions, in words, and the one-sided binomial
    p-value of the count above the random 99th percentile (1 % of random directions exceed it by
    chance). Purity near the uniform share can be statistically above random yet practically
    diffuse; the words say which of the two the numbers show. Xu 2026d §4."""
    from scipy.stats import binomtest

    t = np.asarray(top, dtype=float)
    k, n = int((t > null_q99).sum()), len(t)
    if not n:
        return "no edge purities were measured", math.nan
    pval = float(binomtest(k, n, 0.01, alternative="greater").pvalue)
    share = f"{k}/{n} edge purities exceed the random-direction 99th percentile ({null_q99:.4f})"
    if pval < alpha:
        return (
            f"{share}, where chance gives 1 % (binomial p = {pval:.2g}): statistically above "
            "random directions, practically diffuse",
            pval,
        )
    return f"{share} (binomial p = {pval:.2g} against 1 %): as diffuse as random directions", pval


def edge_sae_null(
    rows: Sequence[Mapping],
    *,
    alpha: float,
    max_relative_mse: float,
    p_columns: Sequence[str] = ("p_random", "p_45°", "p_angle-matched"),
    min_evidence: int = 3,
) -> Verdict:
    """spec.edge-sae-null. rows: one per (op, seed, SAE seed) with relative_mse and the p-values."""
    rule = (
        f"p ≥ {alpha} against the random, 45° and angle-matched nulls for every operation and "
        f"SAE → reproduced; some p < {alpha} → not reproduced; an SAE with relative "
        f"reconstruction error > {max_relative_mse}, or a reproduced from fewer than "
        f"{min_evidence} seeds → inconclusive"
    )
    evidence = Evidence.of(sorted({f"{r['op']} s{r['seed']}" for r in rows}), "runs")
    sae_ok = all(r["relative_mse"] <= max_relative_mse for r in rows)
    not_sig = all(r[c] >= alpha for r in rows for c in p_columns)
    checks = {f"every SAE relative MSE ≤ {max_relative_mse}": sae_ok, f"every p ≥ {alpha}": not_sig}
    if not rows or not sae_ok:
        return Verdict("inconclusive", rule, evidence, checks)
    verdict = "reproduced" if not_sig else "not reproduced"
    return Verdict(_seed_gate(verdict, evidence.items, min_evidence), rule, evidence, checks)


def x2y2_cross_terms(
    mean_ratio: Mapping[str, Mapping[str, float]],
    beats: Sequence[bool],
    labels: Sequence[str],
    *,
    stated_ratio: float,
    support_share: float,
    comparable_fraction: float,
    null_ratio: Mapping[str, Mapping] | None = None,
    op: str = "x2_y2",
) -> Verdict:
    """spec.x2y2-cross-terms. mean_ratio: model -> {ratio name: mean in-sample ratio}; beats: per
    x²+y² direction, whether its CV R² (cross or full) is > 0 and above both nulls' 95th
    percentiles; labels: those directions ("s42 v1"); null_ratio: null (random-direction fields,
    noise targets of the x²+y² model) -> {ratio name: mean in-sample ratio}."""
    rule = (
        f"as stated: some mean in-sample ratio of the {op} model ≥ {stated_ratio}; supported: "
        f"≥ {support_share:.0%} of its directions have CV R² (cross or full) > 0 and above the "
        "95th percentile of the permuted and the feature-matched nulls, and the add and mul "
        f"models' ratio stays < {comparable_fraction} × the {op} ratio; both → reproduced, one "
        "→ partial, neither → not reproduced; the stated ratio counts only if every null's "
        f"ratio stays < {comparable_fraction} × the {op} ratio — a stated ratio that a null "
        "matches, without support → not supported"
    )
    x = {k: v for k, v in (mean_ratio.get(op) or {}).items() if not math.isnan(v)}
    best = max(x, key=x.get) if x else None
    as_stated = bool(best is not None and x[best] >= stated_ratio)
    others_low = best is not None and all(
        v[best] < comparable_fraction * x[best] for o, v in mean_ratio.items() if o != op
    )
    share = float(np.mean(beats)) if len(beats) else math.nan
    supported = bool(len(beats) and share >= support_share and others_low)
    enough = bool(len(beats) and share >= support_share)
    null_low = best is not None and all(
        v.get(best, math.nan) < comparable_fraction * x[best] for v in (null_ratio or {}).values()
    )
    checks = {
        f"best {op} ratio ({best}) ≥ {stated_ratio}": as_stated,
        f"≥ {support_share:.0%} of directions beat both nulls": enough,
        f"add and mul ratios < {comparable_fraction} × the {op} ratio": bool(others_low),
        f"noise and random-direction ratios < {comparable_fraction} × the {op} ratio": bool(
            null_low
        ),
    }
    stated = as_stated and null_low
    verdict = {(True, True): "reproduced", (True, False): "partial", (False, True): "partial"}.get(
        (stated, supported), "not reproduced"
    )
    if verdict == "not reproduced" and as_stated:
        verdict = "not supported"
    return Verdict(verdict, rule, Evidence.of(labels, "directions"), checks)


def multitask_inherits_add(
    *,
    ratio_v1: float,
    ratio_top3: float,
    peak_v1: int,
    own_freq: int,
    sq_grok: Mapping[int, tuple[float, float]],
    stated_ratio: float,
    min_seeds: int,
    first_seed: int,
    n_null: int,
    min_null: int = 100,
    embedding_freq: int | None = None,
) -> Verdict:
    """spec.multitask-inherits-add. ratio_v1 / ratio_top3: as-coded additive-F ratio tri/single of
    the first seed (NaN if missing); peak_v1: v1's additive peak; own_freq: the tri model's
    addition frequency, fixed in advance as its add-head field's peak (embedding_freq, the
    embedding's dominant frequency, is the other reading: reported, never used); sq_grok: seed ->
    (additive F of v1's x²+y²-head field at the window ending at x²+y² grokking, the same for
    n_null random directions: 99th pct). Fewer than min_null random directions: the 99th
    percentile is about their maximum, so "supported" cannot be judged -> inconclusive."""
    rule = (
        f"as stated: on seed {first_seed} the as-coded additive-F ratio (v1 or top-3) ≥ "
        f"{stated_ratio} and v1's additive peak equals the tri model's own addition frequency "
        "(its add-head field's peak); supported: at the window ending at x²+y² grokking, the "
        "additive F of v1's x²+y²-head field > the random directions' 99th percentile in "
        f"≥ {min_seeds} seeds; both → reproduced, one → partial, neither → not reproduced; "
        f"fewer than {min_null} random directions → inconclusive"
    )
    ratio = max(ratio_v1, ratio_top3)
    ratio_ok = bool(ratio >= stated_ratio)  # NaN (no single-task model) fails
    as_stated = ratio_ok and peak_v1 == own_freq
    n_pass = sum(bool(f > q) for f, q in sq_grok.values())
    enough = n_null >= min_null
    supported = n_pass >= min_seeds
    checks = {
        f"ratio ≥ {stated_ratio}": ratio_ok,
        "v1 peak = own addition frequency": peak_v1 == own_freq,
        f"at least {min_null} random directions ({n_null})": enough,
        f"x²+y²-grok window beats the null in ≥ {min_seeds} seeds ({n_pass})": (
            supported if enough else None
        ),
    }
    evidence = Evidence.of([f"seed {s}" for s in sq_grok], "seeds")
    if not enough:
        return Verdict("inconclusive", rule, evidence, checks)
    verdict = {(True, True): "reproduced", (True, False): "partial", (False, True): "partial"}.get(
        (as_stated, supported), "not reproduced"
    )
    return Verdict(verdict, rule, evidence, checks)
