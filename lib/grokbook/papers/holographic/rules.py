"""The verdict rules of Xu 2026c (holographic encoding), one function per claim.

Each rule takes measured numbers (rows of small tables: one per run, per reconstruction point or
per matrix) and the thresholds (notebook parameters) and returns a `Verdict` whose `rule` text
carries the thresholds. Rows name their run by `scale`, `weight_decay` and `seed`; a condition is
one (scale, λ). Ref: Xu 2026c, abstract; the Methods chapter (methods-verdicts,
methods-reconstruction)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from grokbook.papers.holographic.scales import scale_components
from grokbook.papers.verdict import Evidence, Verdict, tiered

COMPONENTS = ("dimension", "recovery", "full rank", "SVD failure")


def run_label(row: Mapping) -> str:
    """ "S λ=1.0 s42": the run a row belongs to."""
    return f"{row['scale']} λ={row['weight_decay']} s{row['seed']}"


def runs_of(rows: Sequence[Mapping]) -> Evidence:
    """The distinct runs among `rows`, in first-seen order."""
    return Evidence.of(list(dict.fromkeys(run_label(r) for r in rows)), "runs")


def _groups(rows: Sequence[Mapping], keys: Sequence[str]) -> dict[tuple, list[Mapping]]:
    """Rows grouped by `keys`, groups in sorted key order (as pandas' groupby)."""
    out: dict[tuple, list[Mapping]] = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return dict(sorted(out.items()))


def seed_check(rows: Sequence[Mapping], min_evidence: int) -> tuple[str, bool]:
    """The minimum-evidence check: at least `min_evidence` distinct seeds among the rows that
    entered."""
    n = len({r["seed"] for r in rows})
    return f"≥ {min_evidence} seeds entered ({n})", n >= min_evidence


def _gate(
    verdict: str, rule: str, evidence: Evidence, checks: dict, gates: Sequence[str]
) -> Verdict:
    """`verdict`, or "inconclusive" when any of the `gates` checks failed."""
    return Verdict(
        "inconclusive" if not all(checks[g] for g in gates) else verdict, rule, evidence, checks
    )


def _share(flags) -> float:
    flags = list(flags)
    return float(np.mean(flags)) if flags else 0.0


# ── holo.global-subspace-dim ──────────────────────────────────────────────────────────────────────


def in_range_shares(
    runs: Sequence[Mapping], taus: Sequence[float], dim_low: int, dim_high: int
) -> dict[float, dict[str, float]]:
    """Share of runs per scale with dim_low <= k_τ <= dim_high, for every τ: {τ: {scale: share}}
    (scales sorted). `runs`: rows with `scale` and `k_<τ>`."""
    by_scale = _groups(runs, ["scale"])
    return {
        t: {
            s: _share(dim_low <= r[f"k_{t}"] <= dim_high for r in rows)
            for (s,), rows in by_scale.items()
        }
        for t in taus
    }


def best_tau(shares: Mapping[float, Mapping[str, float]]):
    """The τ whose k_τ falls in the range most often (mean over scales; the first on ties)."""
    if not any(shares.values()):
        return None
    return max(shares, key=lambda t: np.mean(list(shares[t].values())))


def global_subspace_dim(
    runs: Sequence[Mapping],
    *,
    scales: Sequence[str],
    taus: Sequence[float],
    primary_tau: float,
    dim_low: int,
    dim_high: int,
    pass_share: float,
    min_evidence: int = 3,
) -> Verdict:
    """Reproduced: at every scale ≥ pass_share of the grokked runs have dim_low <= k_τ <=
    dim_high at τ = primary_tau (uncentred trajectory PCA); partial: at some scale, or at every
    scale for the τ that fits best; inconclusive with fewer than min_evidence seeds. `runs`: one
    row per grokked run (scale, weight_decay, seed, k_<τ>). Ref: Xu 2026c, abstract ("2–6
    dimensions")."""
    shares = in_range_shares(runs, sorted(set(taus) | {primary_tau}), dim_low, dim_high)
    tau = best_tau({t: shares[t] for t in taus})
    ok = {
        s: shares[primary_tau][s] >= pass_share if s in shares[primary_tau] else None
        for s in scales
    }
    best_ok = tau is not None and min(shares[tau].values(), default=0.0) >= pass_share
    checks = {
        f"{s}: {dim_low} ≤ k(τ={primary_tau}) ≤ {dim_high} in ≥ {pass_share:.0%} of runs": v
        for s, v in ok.items()
    }
    checks[f"best-fitting τ = {tau}: in range in ≥ {pass_share:.0%} of runs at every scale"] = (
        best_ok
    )
    rule = (
        f"{dim_low} ≤ k(τ={primary_tau}, uncentred) ≤ {dim_high} in ≥ {pass_share:.0%} of "
        f"grokked runs "
        f"at every scale; partial if at some scales or at another τ; inconclusive below "
        f"{min_evidence} "
        f"seeds"
    )
    evidence = runs_of(runs)
    name, enough = seed_check(runs, min_evidence)
    checks[name] = enough
    if not runs:
        verdict = "inconclusive"
    elif all(ok.values()):
        verdict = "reproduced"
    elif any(ok.values()) or best_ok:
        verdict = "partial"
    else:
        verdict = "not reproduced"
    return _gate(verdict, rule, evidence, checks, [name])


# ── holo.trajectory-pca-recovery ──────────────────────────────────────────────────────────────────


def condition_medians(curves: Sequence[Mapping], k_never: int) -> dict[tuple, float]:
    """Seed-median stable k_95 per (scale, λ); a run that never recovers within the scan counts as
    k_never. `curves`: rows with scale, weight_decay, seed, stable (None or NaN = never)."""
    never = lambda k: k is None or (isinstance(k, float) and np.isnan(k))
    return {
        key: float(np.median([k_never if never(r["stable"]) else r["stable"] for r in rows]))
        for key, rows in _groups(curves, ["scale", "weight_decay"]).items()
    }


def trajectory_pca_recovery(
    curves: Sequence[Mapping],
    *,
    k_good: int,
    k_all: int,
    cond_share: float,
    k_max: int,
    min_evidence: int = 3,
) -> Verdict:
    """Reproduced: the seed-median stable k_95 is <= k_good in ≥ cond_share of the (scale, λ)
    conditions and <= k_all in all; partial: every condition recovers within the scan (k <=
    k_max); inconclusive with fewer than min_evidence seeds. `curves`: the uncentred
    trajectory-PCA curve summary of every grokked run. Ref: Xu 2026c, abstract ("top 3–5 PCs ...
    >95 % of final accuracy")."""
    med = condition_medians(curves, k_max + 1)
    good = _share(m <= k_good for m in med.values())
    rule = (
        f"seed-median stable k_95 ≤ {k_good} in ≥ {cond_share:.0%} of (scale, λ) and ≤ {k_all} "
        f"everywhere; partial if every condition recovers within k ≤ {k_max}; inconclusive below "
        f"{min_evidence} seeds"
    )
    tiers = [
        (
            "reproduced",
            {
                f"median stable k_95 ≤ {k_good} in ≥ {cond_share:.0%} of conditions": good
                >= cond_share,
                f"median stable k_95 ≤ {k_all} in every condition": all(
                    m <= k_all for m in med.values()
                ),
            },
        ),
        (
            "partial",
            {
                f"every condition recovers within k ≤ {k_max}": all(
                    m < k_max + 1 for m in med.values()
                )
            },
        ),
    ]
    v = tiered(rule, runs_of(curves), tiers)
    name, enough = seed_check(curves, min_evidence)
    return _gate(v.verdict, rule, v.evidence, v.checks | {name: enough}, [name])


# ── holo.local-full-rank ──────────────────────────────────────────────────────────────────────────

OBJECTS = {"delta": "Δ_W", "final": "W_T", "learned": "learned part"}


def min_side(shape: str) -> int:
    """The shorter side of a matrix shape written "rowsxcols"."""
    return min(int(x) for x in shape.split("x"))


def pass_shares(
    matrices: Sequence[Mapping],
    entropy_min: float,
    r99_min: float,
    obj: str = "delta",
    min_side_len: int = 1,
) -> dict[tuple, float]:
    """Share of the matrices of object `obj` ("delta" Δ_W, "final" W_T, "learned") with entropy
    rank/n >= entropy_min and r_99/n >= r99_min, per (scale, λ), pooled over seeds; matrices with
    a side shorter than min_side_len are left out."""
    rows = [m for m in matrices if m["object"] == obj and min_side(m["shape"]) >= min_side_len]
    return {
        key: _share(m["entropy_n"] >= entropy_min and m["r99_n"] >= r99_min for m in g)
        for key, g in _groups(rows, ["scale", "weight_decay"]).items()
    }


def local_full_rank(
    matrices: Sequence[Mapping],
    *,
    entropy_min: float,
    r99_min: float,
    matrix_share: float,
    judged: str = "final",
    min_side_len: int = 3,
    controls: Sequence[Mapping] = (),
    min_evidence: int = 3,
) -> Verdict:
    """Reproduced: in every (scale, λ) condition ≥ matrix_share of the `judged` matrices (W_T by
    default: Δ_W of a decayed run is mostly the removed random init) with both sides >=
    min_side_len have entropy rank/n >= entropy_min and r_99/n >= r99_min; partial: in some. Not
    supported: it holds, but the no-decay control runs (`controls`, rank rows of the λ = 0 runs)
    pass the same rule, so full rank does not tell the grokked model from one that did not grok.
    Inconclusive with fewer than min_evidence seeds. `matrices`: rank rows (scales.rank_rows) of
    the grokked runs. Ref: Xu 2026c, abstract ("each weight matrix ... effectively full-rank")."""
    name_of = OBJECTS[judged]
    shares = pass_shares(matrices, entropy_min, r99_min, judged, min_side_len)
    control = pass_shares(controls, entropy_min, r99_min, judged, min_side_len)
    ok = {
        f"{s} λ={w}: ≥ {matrix_share:.0%} of {name_of} matrices pass": v >= matrix_share
        for (s, w), v in shares.items()
    }
    rows = [m for m in matrices if m["object"] == judged and min_side(m["shape"]) >= min_side_len]
    name, enough = seed_check(rows, min_evidence)
    same = f"the λ = 0 control passes the same rule (grokked model not distinguished)"
    checks = ok | {
        same: bool(control) and all(v >= matrix_share for v in control.values()),
        name: enough,
    }
    rule = (
        f"in every (scale, λ): ≥ {matrix_share:.0%} of {name_of} matrices (sides ≥ "
        f"{min_side_len}) with "
        f"entropy/n ≥ {entropy_min} and r_99/n ≥ {r99_min}; partial if in some; not supported "
        f"if the "
        f"λ = 0 control passes too; inconclusive below {min_evidence} seeds"
    )
    verdict = (
        "inconclusive"
        if not ok
        else (
            "reproduced"
            if all(ok.values())
            else "partial" if any(ok.values()) else "not reproduced"
        )
    )
    if verdict in ("reproduced", "partial") and checks[same]:
        verdict = "not supported"
    return _gate(verdict, rule, runs_of(rows), checks, [name])


# ── holo.per-matrix-svd-failure and holo.joint-svd-failure ────────────────────────────────────────


def failing_shares(failure: Sequence[Mapping]) -> tuple[float, float]:
    """(share of (scale, λ) conditions in which every seed fails up to half rank, share in which
    every seed fails at every sub-full rank). `failure`: scales.sub_full_failure rows of one
    variant."""
    cond = _groups(failure, ["scale", "weight_decay"]).values()
    return (
        _share(all(r["fails_half"] for r in g) for g in cond),
        _share(all(r["fails_below_full"] for r in g) for g in cond),
    )


def per_matrix_svd_failure(
    failure: Sequence[Mapping],
    *,
    half_fraction: float,
    half_R: float,
    full_R: float,
    cond_share: float,
    full_rank_R: Sequence[float],
    wt_failure: Sequence[Mapping] = (),
    control_R: float = 0.999,
    min_evidence: int = 3,
) -> Verdict:
    """Reproduced: in ≥ cond_share of the (scale, λ) conditions every seed has R < half_R for
    every rank fraction <= half_fraction and R < full_R below full rank; partial: only the first
    part. Not supported: the failure holds, but truncating W_T instead of Δ_W (`wt_failure`,
    sub_full_failure rows of the W_T variant) recovers R ≥ full_R below full rank in ≥ cond_share
    of the conditions, so the failure is the random init left inside Δ_W, not full-rank learned
    structure. Inconclusive: the same truncation at full rank does not rebuild θ_T (some R in
    `full_rank_R` below control_R, the positive control), or fewer than min_evidence seeds.
    `failure`: sub_full_failure rows of the primary variant (split, all matrices). Ref: Xu 2026c,
    abstract (per-matrix SVD fails at every sub-full rank)."""
    half, sub = failing_shares(failure)
    explained = _share(
        all(r["first_full"] is not None and r["first_full"] < 1 for r in g)
        for g in _groups(wt_failure, ["scale", "weight_decay"]).values()
    )
    rule = (
        f"≥ {cond_share:.0%} of (scale, λ): every seed R < {half_R} for ρ ≤ {half_fraction} and "
        f"R < {full_R} for every ρ < 1 (split, all matrices); partial if only the first part; not "
        f"supported if truncating W_T recovers R ≥ {full_R} below full rank in ≥ "
        f"{cond_share:.0%} of "
        f"(scale, λ); inconclusive unless full rank rebuilds θ_T (R ≥ {control_R}) in every "
        f"run, or "
        f"below {min_evidence} seeds"
    )
    first = f"R < {half_R} for ρ ≤ {half_fraction} in ≥ {cond_share:.0%} of conditions"
    tiers = [
        (
            "reproduced",
            {
                first: half >= cond_share,
                f"R < {full_R} for every ρ < 1 in ≥ {cond_share:.0%} of conditions": sub
                >= cond_share,
            },
        ),
        ("partial", {first: half >= cond_share}),
    ]
    v = tiered(rule, runs_of(failure), tiers)
    control = f"positive control: full rank rebuilds θ_T (R ≥ {control_R}) in every run"
    init = (
        f"W_T truncation recovers (R ≥ {full_R}) below full rank in ≥ {cond_share:.0%} of "
        f"conditions"
    )
    name, enough = seed_check(failure, min_evidence)
    checks = v.checks | {
        init: explained >= cond_share,
        control: bool(len(full_rank_R)) and min(full_rank_R) >= control_R,
        name: enough,
    }
    verdict = (
        "not supported" if v.verdict in ("reproduced", "partial") and checks[init] else v.verdict
    )
    return _gate(verdict, rule, v.evidence, checks, [control, name])


def variant_shares(failure: Sequence[Mapping]) -> dict[str, float]:
    """Per variant (sorted): share of (scale, λ) conditions in which every seed fails both ways
    (R below half_R up to half rank and below full_R at every sub-full rank)."""
    out = {}
    for (v,), rows in _groups(failure, ["variant"]).items():
        cond = _groups(rows, ["scale", "weight_decay"]).values()
        out[v] = _share(all(r["fails_half"] and r["fails_below_full"] for r in g) for g in cond)
    return out


def joint_svd_failure(
    failure: Sequence[Mapping],
    *,
    half_R: float,
    full_R: float,
    cond_share: float,
    full_rank_R: Sequence[float],
    gap: float,
    agree_tol: float,
    control_R: float = 0.999,
    min_evidence: int = 3,
) -> Verdict:
    """Reproduced: under J1 and J3, in ≥ cond_share of the (scale, λ) conditions every seed has R
    < full_R for every r < d and R < half_R for r <= d/2; partial: under one of them.
    Inconclusive unless the constructions pass their positive controls (every R at r = d in
    `full_rank_R` ≥ control_R, and the largest J1–J4 difference `gap` ≤ agree_tol), and with
    fewer than min_evidence seeds. `failure`: sub_full_failure rows (half fraction 0.5) of every
    joint-SVD variant. Ref: Xu 2026c, abstract (joint SVD also fails)."""
    share = variant_shares(failure)
    ok = {v: share.get(v, 0.0) >= cond_share for v in ("J1", "J3")}
    checks = {f"{v}: fails in ≥ {cond_share:.0%} of conditions": x for v, x in ok.items()}
    control = f"positive control: r = d rebuilds θ_T (R ≥ {control_R}) in every run and variant"
    agree = f"J1 and J4 agree (largest gap ≤ {agree_tol:g})"
    name, enough = seed_check(failure, min_evidence)
    checks |= {
        control: bool(len(full_rank_R)) and min(full_rank_R) >= control_R,
        agree: bool(gap <= agree_tol),
        name: enough,
    }
    rule = (
        f"under J1 and J3, ≥ {cond_share:.0%} of (scale, λ): every seed R < {full_R} for r < d and "
        f"R < {half_R} for r ≤ d/2; partial if under one of them; inconclusive unless r = d "
        f"rebuilds "
        f"θ_T (R ≥ {control_R}) and J1, J4 agree to {agree_tol:g}, or below {min_evidence} seeds"
    )
    verdict = (
        "inconclusive"
        if not failure
        else (
            "reproduced"
            if all(ok.values())
            else "partial" if any(ok.values()) else "not reproduced"
        )
    )
    return _gate(verdict, rule, runs_of(failure), checks, [control, agree, name])


# ── holo.energy-accuracy-dissociation ─────────────────────────────────────────────────────────────


def dissociation_shares(
    points: Sequence[Mapping], energy_min: float, half_R: float
) -> dict[str, float]:
    """Per method label (sorted): share of (scale, λ) conditions in which every seed has a point
    with E >= energy_min and R <= half_R. `points`: reconstruction points with scale,
    weight_decay, seed, label, energy, R."""
    per_run = {
        key: any(p["energy"] >= energy_min and p["R"] <= half_R for p in g)
        for key, g in _groups(points, ["label", "scale", "weight_decay", "seed"]).items()
    }
    cond: dict[tuple, list[bool]] = {}
    for (lab, s, w, _), v in per_run.items():
        cond.setdefault((lab, s, w), []).append(v)
    out: dict[str, list[bool]] = {}
    for (lab, *_), v in sorted(cond.items()):
        out.setdefault(lab, []).append(all(v))
    return {lab: _share(v) for lab, v in out.items()}


def energy_accuracy_dissociation(
    points: Sequence[Mapping],
    *,
    energy_min: float,
    half_R: float,
    cond_share: float,
    min_evidence: int = 3,
) -> Verdict:
    """Reproduced: per-matrix SVD (split) and joint SVD (J1) each have, in ≥ cond_share of the
    (scale, λ) conditions and for every seed, a point with E >= energy_min and R <= half_R;
    partial: one of them; inconclusive with fewer than min_evidence seeds. Ref: Xu 2026c,
    abstract (energy kept, tasks lost)."""
    share = dissociation_shares(points, energy_min, half_R)
    ok = {
        lab: share.get(lab, 0.0) >= cond_share
        for lab in ("per-matrix SVD (split)", "joint SVD (J1)")
    }
    checks = {
        f"{lab}: E ≥ {energy_min} with R ≤ {half_R} in ≥ {cond_share:.0%} of conditions": v
        for lab, v in ok.items()
    }
    rule = (
        f"per-matrix and joint SVD both have E ≥ {energy_min} with R ≤ {half_R} in ≥ "
        f"{cond_share:.0%} "
        f"of (scale, λ) conditions; partial if one of them; inconclusive below {min_evidence} seeds"
    )
    name, enough = seed_check(points, min_evidence)
    checks[name] = enough
    verdict = (
        "inconclusive"
        if not points
        else (
            "reproduced"
            if all(ok.values())
            else "partial" if any(ok.values()) else "not reproduced"
        )
    )
    return _gate(verdict, rule, runs_of(points), checks, [name])


# ── holo.cross-scale-consistency ──────────────────────────────────────────────────────────────────


def cross_scale_consistency(
    overview: Sequence[Mapping],
    *,
    status: Sequence[Mapping],
    scales: Sequence[str],
    tau: float,
    dim_low: int,
    dim_high: int,
    pass_share: float,
    k_good: int,
    k_all: int,
    cond_share: float,
    matrix_share: float,
    full_R: float,
    k_never: int,
    grokked_share: float = 0.5,
    min_evidence: int = 3,
) -> Verdict:
    """The four components of scales.scale_components (dimension, recovery, full rank, SVD
    failure) at every judged scale, from the grokked runs' overview rows. A scale is judged when
    more than grokked_share of its runs (`status`: scale and grokked of every run) grokked.
    Reproduced: all four hold at every scale in `scales`, each judged; partial: all four at some
    judged scale; inconclusive: no scale judged, or fewer than min_evidence seeds among the
    judged runs. Ref: Xu 2026c, abstract (the picture holds at 315K, 1.15M and 2.2M parameters)."""
    grokked = [o for o in overview if o["grokked"]]
    comps = {
        c["scale"]: {k: bool(c[k]) for k in COMPONENTS}
        for c in scale_components(
            grokked,
            tau,
            (dim_low, dim_high),
            pass_share,
            k_good,
            k_all,
            cond_share,
            matrix_share,
            k_never,
            rank_key="final_pass_share",
        )
    }
    share = {
        s: _share(r["grokked"] for r in rows) for (s,), rows in _groups(status, ["scale"]).items()
    }
    judged = {s: comps[s] for s in scales if s in comps and share.get(s, 0.0) > grokked_share}
    checks = {f"{s}: {c}": v for s, row in judged.items() for c, v in row.items()}
    checks[f"every scale judged (> {grokked_share:.0%} of its runs grokked)"] = len(judged) == len(
        scales
    )
    entered = [o for o in grokked if o["scale"] in judged]
    name, enough = seed_check(entered, min_evidence)
    checks[name] = enough
    rule = (
        f"dimension ({dim_low}–{dim_high} in ≥ {pass_share:.0%}), recovery (median stable k_95 ≤ "
        f"{k_good} in ≥ {cond_share:.0%} of λ, ≤ {k_all} all), full rank (≥ {matrix_share:.0%} "
        f"of W_T "
        f"matrices), SVD failure (no sub-full-rank R ≥ {full_R} in ≥ {cond_share:.0%}) at every "
        f"scale, "
        f"each with > {grokked_share:.0%} of its runs grokked; partial if all four at some such "
        f"scale; "
        f"inconclusive below {min_evidence} seeds"
    )
    rows = list(judged.values())
    if not rows:
        verdict = "inconclusive"
    elif all(all(r.values()) for r in rows) and len(judged) == len(scales):
        verdict = "reproduced"
    elif any(all(r.values()) for r in rows):
        verdict = "partial"
    else:
        verdict = "not reproduced"
    return _gate(verdict, rule, runs_of(entered), checks, [name])
