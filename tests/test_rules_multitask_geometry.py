"""The verdict rules of the multitask geometry and timing claims: every tier on synthetic inputs,
the minimum evidence (fewer than 3 seeds: inconclusive), degenerate inputs (one seed, nothing, NaN),
and for every tightened rule an input that the earlier rule passed and the current one does not."""

import math

import pytest

from grokbook.papers.multitask import rules_geometry as rg
from grokbook.papers.multitask.timing import order_status

NAN = math.nan
SEEDS = (42, 137, 2024)


def test_seeds_of_reads_the_seed_token_of_labels():
    assert rg.seeds_of(["tri λ=1 s42 add", "dual s137", "tri λ=0.1 s42 mul"]) == {42, 137}
    assert rg.seeds_of(["no seed here", "x2_y2"]) == set()


# ── curvature-depth ──


def cd(runs, **kw):
    return rg.curvature_depth(runs, no_grok_share=0.83, depth_threshold=-10.0, **kw)


def run(ts, lam, seed, depth, grokked=None, final=50_000, slowest=20_000, drift=0.01):
    grokked = lam > 0 if grokked is None else grokked
    return {
        f"{ts} λ={lam:g} s{seed}": {
            "task_set": ts,
            "weight_decay": lam,
            "grokked": grokked,
            "depth_matched": depth,
            "final_step": final,
            "slowest_grok": slowest if grokked else None,
            "drift": drift,
        }
    }


def grid(ctrl_depth=-50.0, top_depth=-60.0, **ctrl):
    out = {}
    for ts in ("dual", "tri"):
        for s in SEEDS:
            out |= run(ts, 1.0, s, top_depth) | run(ts, 0.0, s, ctrl_depth, **ctrl)
    return out


def test_curvature_depth_tiers():
    assert cd(grid()).verdict == "reproduced" and cd(grid()).evidence.n == 6
    assert cd(grid(ctrl_depth=-2.0, top_depth=-3.0)).verdict == "partial"
    assert cd(grid(grokked=True, slowest=20_000)).verdict == "not reproduced"
    r = cd(grid())
    assert "83%" in r.rule and "-10" in r.rule and "3 seeds" in r.rule and "×2" not in r.rule
    assert "factor 2" in r.rule and "20%" in r.rule


def test_curvature_depth_tightened():
    # the earlier rule (pooled, unmatched, no budget or convergence gate) said reproduced for each
    # of these
    shallow_top = grid(ctrl_depth=-18.0, top_depth=-0.7)  # λ = 0 far deeper than λ = 1
    assert cd(shallow_top).verdict == "partial"
    short_budget = grid(final=1_500, slowest=2_150)  # controls stop before tri groks
    assert cd(short_budget).verdict == "inconclusive"
    unconverged = grid(drift=0.5)
    assert cd(unconverged).verdict == "inconclusive"
    pooled = grid()
    for s in SEEDS:  # tri controls above the threshold
        pooled[f"tri λ=0 s{s}"]["depth_matched"] = -9.97
    assert cd(pooled).verdict == "partial"


def test_curvature_depth_degenerate():
    assert cd({}).verdict == "inconclusive" and cd({}).evidence.n == 0
    one_seed = {k: v for k, v in grid().items() if k.endswith("s42")}
    assert (
        cd(one_seed).verdict == "inconclusive"
        and cd(one_seed, min_evidence=1).verdict == "reproduced"
    )
    nan_depth = grid(ctrl_depth=math.nan)
    assert cd(nan_depth).verdict == "partial"  # depth not measurable


# ── defect-lead ──


def dl(leads, fired, code=None, **kw):
    code = leads if code is None else code
    return rg.defect_lead(leads, code, fired, positive_share=0.9, false_alarm_max=0.5, **kw)


LEADS = {f"dual s{s} {op}": 300 for s in SEEDS for op in ("add", "mul")}


def test_defect_lead_tiers():
    assert dl(LEADS, {"dual s1": False, "tri s1": False, "tri s2": True}).verdict == "reproduced"
    assert dl(LEADS, {"dual s1": True, "tri s1": True}).verdict == "partial"
    assert dl({**LEADS, "tri s1 add": -5}, {"dual s1": False}).verdict == "not reproduced"  # 6/7
    r = dl(LEADS, {"dual s1": False})
    assert r.evidence.n == 6 and r.evidence.unit == "conditions"
    assert "90%" in r.rule and "50%" in r.rule


def test_defect_lead_tightened():
    # each of these the earlier rule (unified rule only, NaN alarm passes, ≤ limit) called
    # reproduced
    assert dl(LEADS, {}).verdict == "inconclusive"  # no controls
    assert dl(LEADS, {"dual s1": False, "tri s1": True}).verdict == "partial"  # half fire
    code = {f"dual s{s} add": v for s, v in zip(SEEDS, [300, -100, 200])}  # code rules 2/3
    assert dl(LEADS, {"dual s1": False}, code).verdict == "not reproduced"
    one_run = {f"tri λ=1 s42 {op}": 500 for op in ("add", "mul", "x2_y2")}
    assert dl(one_run, {"tri s42": False}).verdict == "inconclusive"  # one seed


def test_causal_envelope_does_not_fire_before_the_jump():
    import numpy as np
    from grokbook.papers.multitask.geometry import envelope_onset_index

    D = np.array([1.0] * 20 + [100.0] * 20)  # the defect jumps at index 20
    assert envelope_onset_index(D, causal=False) == 18  # the centred window reads two probes ahead
    assert envelope_onset_index(D, causal=True) == 20


def test_defect_lead_degenerate():
    assert dl({}, {"dual s1": False}).verdict == "inconclusive"
    assert dl(LEADS, {"dual s1": False}, {}).verdict == "inconclusive"  # no code condition
    assert dl({"dual s42 add": NAN}, {"d": False}, min_evidence=1).verdict == "not reproduced"


# ── execution-manifold ──


def em(a_real, a_null, b, **kw):
    return rg.execution_manifold(
        a_real, a_null, b, pc1_threshold=0.6, most_share=0.5, k99_max=6, **kw
    )


B_OK = {f"tri λ=1 s{s}": 5 for s in SEEDS}
B_BAD = {**B_OK, "tri λ=1 s42": 9}


def test_execution_manifold_tiers():
    nulls = [0.50, 0.52, 0.48]
    assert em([0.8, 0.7, 0.9], nulls, B_OK).verdict == "reproduced"
    assert em([0.8, 0.7, 0.9], nulls, B_BAD).verdict == "partial"
    assert em([0.8, 0.7, 0.9], [0.95, 0.93, 0.97], B_OK).verdict == "partial"  # below the walk
    assert (
        em([0.8, 0.5, 0.4], [0.1, 0.12, 0.08], B_BAD).verdict == "not reproduced"
    )  # 1/3 concentrated
    r = em([0.8, 0.9], [0.1, 0.12], B_OK)
    assert r.evidence.n == 3 and "0.6" in r.rule and "50%" in r.rule and "≤ 6" in r.rule
    assert "2 sd" in r.rule


def test_execution_manifold_needs_a_margin_beyond_the_walk_spread():
    # mean 0.61 vs walk 0.59 ± 0.02: the earlier rule (any positive margin) passed (a)
    real, null = [0.62, 0.60, 0.61, 0.61], [0.57, 0.61, 0.59, 0.59]
    assert em(real, null, B_BAD, margin_sd=0.0).verdict == "partial"
    assert em(real, null, B_BAD).verdict == "not reproduced"


def test_execution_manifold_degenerate():
    assert em([], [], {}).verdict == "inconclusive"
    assert em([], [], {}, min_evidence=1).verdict == "partial"  # (b) holds vacuously, (a) cannot
    assert em([NAN, NAN], [0.1, 0.1], B_BAD).verdict == "not reproduced"
    assert em([0.9], [0.1], {"dual s42": 2}).verdict == "inconclusive"  # one seed


# ── integrability ──


def ig(rho, ratios, **kw):
    return rg.integrability(rho, ratios, rho_threshold=0.99, ratio_threshold=1.0, **kw)


def runs(*centres):
    return {f"dual λ=1 s{s}": [c - 0.02, c, c + 0.02] for s, c in zip(SEEDS, centres)}


def test_integrability_tiers():
    assert ig([0.999, 0.9995], runs(0.5, 0.6, 0.55)).verdict == "reproduced"
    assert ig([0.999, 0.9995], runs(1.5, 1.6, 1.4)).verdict == "not reproduced"  # opposite reading
    assert ig([0.999, 0.9995], runs(0.8, 1.3, 1.0)).verdict == "not supported"  # chance
    assert ig([0.999, 0.95], runs(0.5, 0.6, 0.55)).verdict == "not reproduced"  # ρ fails
    r = ig([0.999], runs(0.5, 0.6, 0.55))
    assert r.evidence.n == 3 and "0.99" in r.rule and "95%" in r.rule


def test_integrability_ratio_above_chance_no_longer_reproduces():
    above = runs(1.5, 1.6, 1.4)  # every run-median ratio > 1: the earlier rule said reproduced
    assert ig([0.999], above).verdict == "not reproduced"


def test_integrability_interval_covers_runs_and_checkpoints():
    mean, lo, hi = rg.ratio_interval(runs(0.8, 1.3, 1.0))
    assert lo < 1.0 < hi and mean == pytest.approx(31 / 30)
    assert rg.ratio_interval({"a": [NAN]}) == pytest.approx((NAN, NAN, NAN), nan_ok=True)


def test_integrability_degenerate():
    assert ig([0.999], {"dual s42": [0.5, 0.5]}).verdict == "inconclusive"  # one seed
    assert ig([0.999], {f"s{s}": [NAN] for s in SEEDS}).verdict == "inconclusive"
    with_gap = ig([0.999, NAN], runs(0.5, 0.6, 0.55))  # δ = 0: no ρ, left out, counted
    assert (
        with_gap.verdict == "reproduced"
        and with_gap.checks["ρ > 0.99 at every sample with a ρ (1 of 2 without)"]
    )
    assert ig([0.95, NAN], runs(0.5, 0.6, 0.55)).verdict == "not reproduced"
    assert ig([NAN, NAN], runs(0.5, 0.6, 0.55)).verdict == "inconclusive"
    assert ig([], {}).evidence.n == 0


# ── per-head-cascade ──


def ph(spreads, **kw):
    return rg.per_head_cascade(spreads, min_spread=0.1, min_share=0.83, **kw)


def test_per_head_cascade_tiers():
    good = {f"tri s{s}": (0.3, 0.0) for s in SEEDS}
    assert ph(good).verdict == "reproduced"
    assert ph({**good, "tri s42": (0.05, 0.0)}).verdict == "partial"  # 2 of 3
    assert ph({k: (0.3, 0.4) for k in good}).verdict == "not reproduced"
    r = ph({**good, "tri s42": (NAN, NAN)})
    assert r.verdict == "inconclusive" and r.evidence.n == 2  # 2 seeds judged
    assert "0.1" in r.rule and "83%" in r.rule and "at least 2" in r.rule


def test_per_head_cascade_partial_needs_more_than_one_run():
    one = {"tri s42": (0.3, 0.0), "tri s137": (0.05, 0.0), "tri s2024": (0.0, 0.0)}
    assert ph(one, min_partial_runs=1).verdict == "partial"  # the earlier rule
    assert ph(one).verdict == "not reproduced"


def test_interior_peaks_drop_the_window_edges_and_the_shuffled_null_keeps_the_drift():
    import numpy as np
    from grokbook.papers.multitask.cycles import interior_peaks, peak_spread, shuffled_walk

    steps = np.arange(0, 2000, 100)
    peaks = interior_peaks(
        [1900, 1900, 1350, 1300], steps, skip=3
    )  # tri s42: two heads at the stop
    assert peaks == [None, None, 1350, 1300] and peak_spread(peaks, 1000) == pytest.approx(0.05)
    assert np.isnan(peak_spread(interior_peaks([1900, 300], steps, skip=3), 1000))
    traj = np.cumsum(np.ones((20, 4)), axis=0)  # a steady drift
    w = shuffled_walk(traj, seed=0)
    assert np.allclose(w[-1], traj[-1]) and np.allclose(
        np.linalg.norm(np.diff(w, axis=0), axis=1), 2.0
    )


def test_per_head_cascade_degenerate():
    assert ph({}).verdict == "inconclusive"
    assert ph({"dual s42": (NAN, 0.0)}).verdict == "inconclusive"
    assert ph({"dual s42": (0.5, 0.0)}).verdict == "inconclusive"  # one seed
    assert ph({"dual s42": (0.5, 0.0)}, min_evidence=1).verdict == "reproduced"


# ── phase-portrait-loop ──


def pp(areas, **kw):
    return rg.phase_portrait_loop(areas, spearman_threshold=0.5, **kw)


TIGHT = {f"s{s}": (lam, 0.5 - lam / 4, 0.05) for s, lam in zip(SEEDS, [0.1, 0.3, 1.0])}
WIDE = {k: (lam, 0.1 + lam, w) for k, (lam, _, w) in TIGHT.items()}


def test_phase_portrait_loop_tiers():
    assert pp(TIGHT).verdict == "reproduced"
    assert (
        pp({k: (lam, a, 1.0) for k, (lam, a, _) in TIGHT.items()}).verdict == "partial"
    )  # trend only
    assert pp({k: (lam, a, 2.0) for k, (lam, a, _) in WIDE.items()}).verdict == "not reproduced"
    r = pp(TIGHT)
    assert r.evidence.n == 3 and "−0.5" in r.rule


def test_phase_portrait_loop_area_above_the_walk_alone_is_not_partial():
    assert pp(WIDE).verdict == "not reproduced"  # the earlier rule: partial (area > walk only)


def test_phase_portrait_loop_degenerate():
    r = pp({"dual s42": (1.0, 0.3, 0.1), "tri s137": (1.0, 0.2, 0.1), "tri s2024": (1.0, 0.2, 0.1)})
    assert r.verdict == "inconclusive" and r.evidence.n == 3
    assert pp({}).verdict == "inconclusive"


# ── spectral-edge-cycle ──


def se(headline, controls, **kw):
    return rg.spectral_edge_cycle(
        headline, controls, event_tolerance=0.1, min_cycle_share=0.83, min_dip=0.2, **kw
    )


CYC = {"gap_min": 900, "comm_peak": 950, "dip": 0.5, "interior": True}  # a clean cycle at grok 2000
FLAT = {"gap_min": 900, "comm_peak": 1900, "dip": 0.05, "interior": True}
HEAD = {f"tri s{s}": {"grok": 2000, "real": CYC, "walk": FLAT} for s in SEEDS}
CTRL = {"tri s42": {"grok": 2000, "real": FLAT}}


def test_spectral_edge_cycle_tiers():
    assert se(HEAD, CTRL).verdict == "reproduced"
    assert se(HEAD, {"tri s42": {"grok": 2000, "real": CYC}}).verdict == "partial"  # control cycles
    assert se({k: {**d, "walk": CYC} for k, d in HEAD.items()}, {}).verdict == "partial"  # walk too
    assert (
        se({**HEAD, "tri s42": {"grok": 2000, "real": FLAT, "walk": FLAT}}, {}).verdict
        == "not reproduced"
    )  # 67 %
    r = se(HEAD, {})
    assert r.evidence.n == 3 and "83%" in r.rule and "0.2" in r.rule and "0.1" in r.rule


def test_spectral_edge_cycle_needs_a_dip_and_an_interior_minimum():
    no_dip = {**CYC, "dip": 0.0}  # events coincide, but g12 never dips
    edge = {**CYC, "interior": False}  # minimum at the first searchable snapshot
    for events in (no_dip, edge):
        head = {k: {**d, "real": events} for k, d in HEAD.items()}
        assert se(head, CTRL).verdict == "not reproduced"  # the earlier rule: reproduced


def test_spectral_edge_cycle_degenerate():
    assert se({}, {}).verdict == "inconclusive"
    assert se({"dual s42": {"grok": None, "real": CYC, "walk": FLAT}}, {}).verdict == "inconclusive"
    assert se({"dual s42": {"grok": 1000, "real": CYC, "walk": FLAT}}, {}).verdict == "inconclusive"
    nan_dip = {k: {**d, "real": {**CYC, "dip": NAN}} for k, d in HEAD.items()}
    assert se(nan_dip, {}).verdict == "not reproduced"


# ── staggered-order ──


def so(statuses, paper=True, **kw):
    return rg.staggered_order(
        statuses,
        order_weight_decay=1.0,
        headline_min_share=0.83,
        all_min_share=0.8,
        tie_within=100,
        paper_configuration=paper,
        **kw,
    )


SUP = {f"tri s{s}": (1.0, "support") for s in SEEDS} | {
    f"dual s{s}": (1.0, "support") for s in SEEDS
}


def test_staggered_order_tiers():
    assert so(SUP).verdict == "reproduced" and so(SUP).evidence.n == 6
    assert so(SUP, paper=False).verdict == "inconclusive"
    contra = {**SUP, "tri s42": (1.0, "contradict"), "tri s137": (1.0, "contradict")}
    assert so(contra).verdict == "not reproduced"  # 2/6 > 17 %
    ties = {**SUP, "tri s42": (1.0, "tie"), "tri s137": (1.0, "tie")}
    assert so(ties).verdict == "partial"  # weak order
    mixed = {**ties, "dual s42": (1.0, "missing"), "dual s137": (1.0, "missing")}
    assert so(mixed).verdict == "inconclusive"
    r = so(SUP)
    assert "83%" in r.rule and "80%" in r.rule and "100 steps" in r.rule


def test_staggered_order_papers_own_grok_steps_are_not_rejected():
    paper = {
        "dual 42": {"mul": 16300, "add": 16400},
        "dual 137": {"mul": 9600, "add": 10000},
        "dual 2024": {"mul": 13500, "add": 13600},
        "tri 42": {"mul": 17900, "x2_y2": 24800, "add": 30500},
        "tri 137": {"mul": 15700, "x2_y2": 17500, "add": 19000},
        "tri 2024": {"mul": 12300, "x2_y2": 13000, "add": 13900},
    }
    statuses = {
        f"{k.split()[0]} s{k.split()[1]}": (1.0, order_status(v, tie_within=100))
        for k, v in paper.items()
    }
    r = so(statuses)
    assert r.verdict == "partial"  # the earlier rule: inconclusive (4/6 support, 2 ties)
    assert r.evidence.n == 6


def test_staggered_order_degenerate():
    assert so({}).verdict == "inconclusive" and so({}).evidence.n == 0
    r = so({"tri s42": (1.0, "missing")})
    assert r.verdict == "inconclusive" and r.evidence.n == 0
    assert so({"tri s42": (1.0, "support")}).verdict == "inconclusive"  # one seed
    assert so({"tri s42": (1.0, "support")}, min_evidence=1).verdict == "reproduced"


def test_order_shares_counts_the_headline_and_the_grokking_runs():
    sh = rg.order_shares(
        {"a": (1.0, "support"), "b": (1.0, "contradict"), "c": (0.5, "missing")}, 1.0
    )
    assert sh == {
        "headline support": 0.5,
        "headline contradict": 0.5,
        "headline tie": 0.0,
        "all support": 0.5,
        "headline runs": 2,
        "grokking runs": 2,
    }


@pytest.mark.parametrize(
    "fn",
    [
        rg.curvature_depth,
        rg.defect_lead,
        rg.execution_manifold,
        rg.integrability,
        rg.per_head_cascade,
        rg.phase_portrait_loop,
        rg.spectral_edge_cycle,
        rg.staggered_order,
    ],
)
def test_every_rule_has_a_docstring(fn):
    assert fn.__doc__ and "Ref:" in fn.__doc__
