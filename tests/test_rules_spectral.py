"""Verdict rules of the spectral-edge claims (papers/spectral/rules.py): every tier, degenerate
inputs, the evidence count and the thresholds in the rule text."""

import math

import numpy as np

import pytest

from grokbook.measures.spectral import separation
from grokbook.papers.spectral import rules

NAN = float("nan")


def frow(
    seed=42,
    F=(0.6, 0.6, 0.6),
    peaks=(5, 5, 5),
    null_q95=0.2,
    null_q99=0.3,
    wn_q99=0.25,
    top_mean=None,
    bulk_mean=0.2,
    basis="add",
    variant="zero",
):
    """A summary row of the Fourier pipeline."""
    return {
        "seed": seed,
        "basis": basis,
        "variant": variant,
        **{f"F_v{i + 1}": f for i, f in enumerate(F)},
        **{f"peak_v{i + 1}": w for i, w in enumerate(peaks)},
        "shared_peak": len(set(peaks)) == 1,
        "null_q95": null_q95,
        "null_q99": null_q99,
        "wn_q99": wn_q99,
        "top_mean": sum(F) / 3 if top_mean is None else top_mean,
        "bulk_mean": bulk_mean,
    }


# ── building blocks ───────────────────────────────────────────────────────────────────────────────


def test_overall_level_quorum():
    assert rules.overall_level(["reproduced", "partial", "not reproduced"], 2) == "partial"
    assert rules.overall_level(["reproduced", "reproduced", "not reproduced"], 2) == "reproduced"
    with pytest.raises(ValueError):  # the quorum no longer shrinks to the seeds present
        rules.overall_level(["reproduced"], 2)
    with pytest.raises(ValueError):
        rules.overall_level([], 2)


def test_quorum_rules_need_the_quorum_and_min_evidence():
    # the old rule gave "reproduced" from one seed under a quorum of 2 (quorum shrunk to 1)
    one = rules.add_single_mode([frow(42)], seed_quorum=2)
    assert one.verdict == "inconclusive" and one.evidence.n == 1
    assert one.checks["at least 2 seed(s) measured"] is False
    # two reproducing seeds meet the quorum but not min_evidence = 3
    two = rules.add_single_mode([frow(42), frow(137)], seed_quorum=2)
    assert two.verdict == "inconclusive" and "fewer than 3 seeds" in two.rule
    assert (
        rules.add_single_mode([frow(42), frow(137)], seed_quorum=2, min_evidence=2).verdict
        == "reproduced"
    )
    # a lower level from the quorum is kept (min_evidence guards "reproduced" only)
    part = rules.add_single_mode(
        [frow(42, F=(0.6, 0.6, 0.28)), frow(137, F=(0.6, 0.6, 0.28))], seed_quorum=2
    )
    assert part.verdict == "partial"


def test_separation_level_tiers():
    assert rules.separation_level(separation([2.0, 3.0], [1.0, 1.5])) == "reproduced"
    assert rules.separation_level(separation([1.5, 1.4, 1.3], [1.0, 1.35, 1.1])) == "partial"
    assert rules.separation_level(separation([1.0, 1.0], [2.0, 3.0])) == "not reproduced"


# ── spec.add-single-mode ──────────────────────────────────────────────────────────────────────────


def test_add_single_mode_tiers():
    rep = rules.add_single_mode([frow(42), frow(137), frow(2024)], seed_quorum=2)
    assert rep.verdict == "reproduced" and rep.evidence.n == 3 and rep.evidence.unit == "seeds"
    assert "at least 2 seed" in rep.rule and "99th percentiles" in rep.rule
    # shared peak but one direction below the random 99th pct -> partial
    weak3 = dict(F=(0.6, 0.6, 0.28))
    part = rules.add_single_mode([frow(42, **weak3), frow(137, **weak3)], seed_quorum=2)
    assert part.verdict == "partial"
    assert part.checks["seed 42: every F above both 99th percentiles"] is False
    # different peaks and nothing above the nulls -> not reproduced
    nope = rules.add_single_mode([frow(42, F=(0.1, 0.1, 0.1), peaks=(1, 2, 3))], seed_quorum=1)
    assert nope.verdict == "not reproduced"
    # edge no more concentrated than the bulk keeps it at partial
    flat = rules.add_single_mode([frow(42, bulk_mean=0.9)], seed_quorum=1, min_evidence=1)
    assert flat.verdict == "partial"


def test_add_single_mode_quorum_and_degenerate():
    weak = dict(F=(0.1, 0.1, 0.1), peaks=(1, 2, 3))
    mixed = [frow(42), frow(137, **weak), frow(2024, **weak)]
    assert rules.add_single_mode(mixed, seed_quorum=2).verdict == "not reproduced"
    assert rules.add_single_mode(mixed, seed_quorum=1, min_evidence=3).verdict == "reproduced"
    empty = rules.add_single_mode([], seed_quorum=2)
    assert empty.verdict == "inconclusive" and empty.evidence.n == 0
    # NaN F never passes
    nan = rules.add_single_mode([frow(42, F=(NAN, NAN, NAN))], seed_quorum=1)
    assert nan.verdict == "not reproduced" and nan.evidence.n == 1


# ── spec.mul-dlog-mode ────────────────────────────────────────────────────────────────────────────


def mseed(seed=42, dlog=None, raw=None, ratio=3.0, q95=2.0):
    raw = raw or frow(seed, F=(0.1, 0.1, 0.1), peaks=(1, 2, 3))
    return {
        "seed": seed,
        "dlog": dlog or frow(seed),
        "raw": raw,
        "ratio": ratio,
        "ratio_null_q95": q95,
    }


def test_mul_dlog_mode_tiers():
    r = rules.mul_dlog_mode([mseed(42), mseed(137), mseed(2024)], seed_quorum=2)
    assert r.verdict == "reproduced" and r.evidence.n == 3
    assert "95th" in r.rule and "at least 2 seed" in r.rule
    # ratio within its null
    weak_ratio = rules.mul_dlog_mode([mseed(42, ratio=1.5)], seed_quorum=1)
    assert weak_ratio.verdict == "partial"
    key = "seed 42: imputed ratio above the random-triple 95th percentile"
    assert weak_ratio.checks[key] is False
    # raw basis concentrated too
    raw_strong = rules.mul_dlog_mode([mseed(42, raw=frow(42))], seed_quorum=1)
    assert raw_strong.verdict == "partial"
    none = rules.mul_dlog_mode([mseed(42, dlog=frow(42, F=(0.1, 0.1, 0.1)))], seed_quorum=1)
    assert none.verdict == "not reproduced"


def test_mul_dlog_mode_degenerate():
    assert rules.mul_dlog_mode([], seed_quorum=2).verdict == "inconclusive"
    assert rules.mul_dlog_mode([mseed(42, ratio=NAN)], seed_quorum=1).verdict == "partial"


# ── spec.sub-multimode ────────────────────────────────────────────────────────────────────────────

SMALL = [[6, 7, 8], [16, 17, 6], [32, 6, 7]]  # 6 distinct frequencies


def test_sub_multimode_tiers():
    row = frow(42, F=(0.4, 0.4, 0.4), peaks=(6, 16, 32), bulk_mean=0.35)
    r = rules.sub_multimode(
        [row], {42: SMALL}, max_union=6, max_top_bulk=1.5, seed_quorum=1, min_evidence=1
    )
    assert r.verdict == "reproduced" and r.evidence.n == 1
    assert "at most 6" in r.rule and "1.5" in r.rule
    # v1 below the 95th pct
    weak = frow(42, F=(0.1, 0.4, 0.4), peaks=(6, 16, 32), bulk_mean=0.35)
    assert (
        rules.sub_multimode(
            [weak], {42: SMALL}, max_union=6, max_top_bulk=1.5, seed_quorum=1
        ).verdict
        == "partial"
    )
    wide = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert (
        rules.sub_multimode([row], {42: wide}, max_union=6, max_top_bulk=1.5, seed_quorum=1).verdict
        == "not reproduced"
    )
    one = frow(42, peaks=(6, 6, 6))
    assert (
        rules.sub_multimode(
            [one], {42: SMALL}, max_union=6, max_top_bulk=1.5, seed_quorum=1
        ).verdict
        == "not reproduced"
    )


def test_sub_multimode_shape_alone_is_not_partial():
    # the old partial tier took the multi-mode shape alone; random-direction triples have it too
    shape_only = frow(42, F=(0.1, 0.1, 0.1), peaks=(6, 16, 32), bulk_mean=0.1)
    r = rules.sub_multimode([shape_only], {42: SMALL}, max_union=6, max_top_bulk=1.5, seed_quorum=1)
    assert r.verdict == "not reproduced"
    assert r.checks["seed 42: some F above the 95th percentile"] is False
    assert "at least one F > random-direction 95th percentile" in r.rule


def test_sub_multimode_degenerate():
    empty = rules.sub_multimode([], {}, max_union=6, max_top_bulk=1.5, seed_quorum=2)
    assert empty.verdict == "inconclusive"
    nan_bulk = frow(42, F=(0.4, 0.4, 0.4), peaks=(6, 16, 32), bulk_mean=NAN)  # no bulk: not "flat"
    assert (
        rules.sub_multimode(
            [nan_bulk], {42: SMALL}, max_union=6, max_top_bulk=1.5, seed_quorum=1
        ).verdict
        == "partial"
    )


# ── spec.x2y2-no-single-basis ─────────────────────────────────────────────────────────────────────


def test_x2y2_no_single_basis_tiers():
    diffuse = [
        frow(s, F=(0.2, 0.2, 0.2), peaks=(1, 2, 3), basis=b)
        for s in (42, 137, 2024)
        for b in ("x2_y2", "add")
    ]
    r = rules.x2y2_no_single_basis(diffuse, seed_quorum=2)
    assert r.verdict == "reproduced" and r.evidence.n == 3
    assert "99th" in r.rule and "at least 2 seed" in r.rule
    collapsed = diffuse + [frow(s, basis="dlog") for s in (42, 137, 2024)]
    c = rules.x2y2_no_single_basis(collapsed, seed_quorum=2)
    assert c.verdict == "not reproduced"
    assert c.checks["seed 42: no grouping collapses v1–v3"] is False
    two = diffuse + [frow(s, basis="dlog") for s in (42, 137)]  # two of three collapse
    assert rules.x2y2_no_single_basis(two, seed_quorum=2).verdict == "not reproduced"
    assert rules.x2y2_no_single_basis(two, seed_quorum=1).verdict == "reproduced"


def test_x2y2_no_single_basis_degenerate():
    assert rules.x2y2_no_single_basis([], seed_quorum=2).verdict == "inconclusive"
    nan = [frow(42, F=(NAN, NAN, NAN))]  # NaN F never counts as a collapse
    assert rules.x2y2_no_single_basis(nan, seed_quorum=1, min_evidence=1).verdict == "reproduced"
    assert rules.x2y2_no_single_basis(nan, seed_quorum=2).verdict == "inconclusive"  # one seed


# ── spec.edge-separates-regimes ───────────────────────────────────────────────────────────────────


def sep(pairs, g, c, nongrok_runs=(), nongrok=()):
    return rules.edge_separates_regimes(
        pairs, g, c, win_share=0.9167, partial_share=0.75, partial_auroc=0.8,
        nongrok_runs=nongrok_runs, nongrok=nongrok,
    )


def test_edge_separates_regimes_needs_the_non_grokking_runs_at_the_same_weight_decay():
    pairs, g, c = ["add s42", "sub s42", "mul s42"], [2.0, 3.0, 2.5], [1.0, 1.5, 1.2]
    assert sep(pairs, g, c).verdict == "partial"  # the old rule: reproduced on λ = 0 alone
    assert sep(pairs, g, c).checks["at least 3 non-grokking runs at the same λ"] is False
    same = sep(pairs, g, c, ["x2_xy_y2 s42", "x2_xy_y2 s137", "x3_xy s42"], [2.2, 2.9, 2.4])
    assert same.verdict == "not supported"  # the edge marks weight decay, not grokking
    few = sep(pairs, g, c, ["x2_xy_y2 s42"], [1.0])
    assert few.verdict == "partial" and few.evidence.n == 4
    overlap = sep(pairs, g, c, ["x2_xy_y2 s42", "x2_xy_y2 s137", "x3_xy s42"], [1.0, 1.1, 2.1])
    assert overlap.verdict == "partial"  # AUROC 0.89 but not perfectly apart
    lost = sep(["a", "b", "c"], [1.0, 1.0, 1.0], [2.0, 3.0, 2.0], ["x s1"], [5.0])
    assert lost.verdict == "not reproduced"


def test_edge_separates_regimes_tiers():
    r = sep(["add s42", "sub s42", "mul s42"], [2.0, 3.0, 2.5], [1.0, 1.5, 1.2],
            ["x2_xy_y2 s42", "x2_xy_y2 s137", "x3_xy s42"], [1.1, 1.0, 1.3])
    assert r.verdict == "reproduced" and r.evidence.n == 6
    assert r.evidence.unit == "comparisons" and r.evidence.items[0] == "add s42 vs λ = 0"
    assert "91.7%" in r.rule and "75%" in r.rule and "0.8" in r.rule
    assert sep(["a", "b", "c"], [1.5, 1.4, 1.3], [1.0, 1.35, 1.1]).verdict == "partial"
    assert sep(["a", "b"], [1.0, 1.0], [2.0, 3.0]).verdict == "not reproduced"


def test_edge_separates_regimes_degenerate():
    assert sep([], [], []).verdict == "inconclusive"
    one = sep(["add s42"], [1.2], [1.1])  # the old rule: "reproduced" from one pair
    assert one.verdict == "inconclusive" and one.evidence.n == 1
    assert one.checks["at least 3 matched pairs"] is False and "fewer than 3" in one.rule
    assert sep(["add s42"], [NAN], [1.0]).verdict == "not reproduced"


# ── spec.edge-activation-diffuse ──────────────────────────────────────────────────────────────────


def act(r_eff, top1):
    labels = [f"add s42 v{k + 1}" for k in range(len(r_eff))]
    return rules.edge_activation_diffuse(
        labels, r_eff, top1, rank_low=20, rank_high=80, max_top1=0.5, min_evidence=1
    )


def test_edge_activation_diffuse_tiers():
    r = act([40, 35, 50], [0.1, 0.2, 0.1])
    assert r.verdict == "reproduced" and r.evidence.n == 1
    assert "[20, 80]" in r.rule and "0.5" in r.rule
    assert act([10, 35, 50], [0.1, 0.2, 0.1]).verdict == "partial"
    assert act([40, 35, 50], [0.6, 0.2, 0.1]).verdict == "partial"
    assert act([10, 35, 50], [0.6, 0.2, 0.1]).verdict == "not reproduced"


def test_edge_activation_diffuse_degenerate():
    assert act([], []).verdict == "inconclusive"
    # NaN rank is never in the band
    assert act([NAN, 40, 40], [0.1, 0.1, 0.1]).verdict == "partial"


# ── spec.edge-not-head-localized ──────────────────────────────────────────────────────────────────


def heads(top, bulk):
    return rules.edge_not_head_localized(
        ["add s42", "mul s42"],
        top,
        bulk,
        max_share=1.6,
        n_blocks=8,
        bulk_tolerance=0.03,
        min_evidence=1,
    )


def test_edge_not_head_localized_tiers():
    r = heads([0.14, 0.15, 0.13], [0.14, 0.14])
    assert r.verdict == "reproduced" and r.evidence.n == 2
    assert "0.200" in r.rule and "0.03" in r.rule
    assert heads([0.3, 0.15, 0.13], [0.16, 0.17]).verdict == "partial"  # cap broken, gap small
    assert heads([0.19, 0.19, 0.19], [0.13, 0.13]).verdict == "partial"  # gap broken, cap kept
    assert heads([0.5, 0.4, 0.4], [0.13, 0.13]).verdict == "not reproduced"


def test_edge_not_head_localized_degenerate():
    assert heads([], []).verdict == "inconclusive"
    # no bulk: the gap cannot hold
    assert heads([0.14, 0.14, 0.14], []).verdict == "partial"


# ── spec.edge-sae-null ────────────────────────────────────────────────────────────────────────────


def sae_row(op="add", seed=42, mse=0.1, p=0.5):
    return {
        "op": op,
        "seed": seed,
        "relative_mse": mse,
        "p_random": p,
        "p_45°": p,
        "p_angle-matched": p,
    }


def test_edge_sae_null_tiers():
    r = rules.edge_sae_null(
        [sae_row(), sae_row("mul")], alpha=0.05, max_relative_mse=0.5, min_evidence=1
    )
    assert r.verdict == "reproduced" and r.evidence.n == 2 and "0.05" in r.rule and "0.5" in r.rule
    sig = rules.edge_sae_null([sae_row(), sae_row("mul", p=0.01)], alpha=0.05, max_relative_mse=0.5)
    assert sig.verdict == "not reproduced"
    bad = rules.edge_sae_null([sae_row(mse=0.9, p=0.01)], alpha=0.05, max_relative_mse=0.5)
    assert bad.verdict == "inconclusive"


def test_edge_sae_null_degenerate():
    assert rules.edge_sae_null([], alpha=0.05, max_relative_mse=0.5).verdict == "inconclusive"
    nan = rules.edge_sae_null([sae_row(p=NAN)], alpha=0.05, max_relative_mse=0.5)
    assert nan.verdict == "not reproduced"


# ── spec.x2y2-cross-terms ─────────────────────────────────────────────────────────────────────────


def cross(x_ratio, other_ratio, beats):
    mr = {
        "x2_y2": {"cross/add": x_ratio, "full/max": 1.0},
        "add": {"cross/add": other_ratio, "full/max": 1.0},
        "mul": {"cross/add": other_ratio, "full/max": 1.0},
    }
    labels = [f"s42 v{k + 1}" for k in range(len(beats))]
    return rules.x2y2_cross_terms(
        mr, beats, labels, stated_ratio=3.0, support_share=0.5, comparable_fraction=0.75
    )


def test_x2y2_cross_terms_tiers():
    r = cross(4.0, 1.0, [True, True, False])
    assert r.verdict == "reproduced" and r.evidence.n == 3 and "3.0" in r.rule and "0.75" in r.rule
    # add/mul as large: as stated only
    assert cross(4.0, 3.5, [True, True]).verdict == "partial"
    assert cross(2.0, 1.0, [True, True]).verdict == "partial"  # supported only
    assert cross(2.0, 1.0, [False, False]).verdict == "not reproduced"


def test_x2y2_cross_terms_not_supported_when_noise_gives_the_ratio():
    mr = {"x2_y2": {"cross/mul": 8.0}, "add": {"cross/mul": 9.0}, "mul": {"cross/mul": 8.5}}
    nulls = {"noise": {"cross/mul": 8.7}, "random directions": {"cross/mul": 8.9}}
    args = dict(stated_ratio=3.0, support_share=0.5, comparable_fraction=0.75)
    assert rules.x2y2_cross_terms(mr, [False], ["s42 v1"], **args).verdict == "partial"  # old
    r = rules.x2y2_cross_terms(mr, [False], ["s42 v1"], null_ratio=nulls, **args)
    assert r.verdict == "not supported" and "not supported" in r.rule
    quiet = {"noise": {"cross/mul": 2.0}, "random directions": {"cross/mul": 1.0}}
    assert (
        rules.x2y2_cross_terms(mr, [False], ["s42 v1"], null_ratio=quiet, **args).verdict
        == "partial"
    )


def test_x2y2_cross_terms_degenerate():
    # no CV directions: as stated only
    assert cross(4.0, 1.0, []).verdict == "partial"
    # ratio missing: no best ratio
    assert cross(NAN, 1.0, [True]).verdict == "not reproduced"
    r = rules.x2y2_cross_terms(
        {}, [], [], stated_ratio=3.0, support_share=0.5, comparable_fraction=0.75
    )
    assert r.verdict == "not reproduced" and r.evidence.n == 0


# ── spec.multitask-inherits-add ───────────────────────────────────────────────────────────────────


def mt(ratio=2.5, peak=26, own=26, sq=None, n_null=200):
    sq = {42: (0.5, 0.3), 137: (0.5, 0.3)} if sq is None else sq
    return rules.multitask_inherits_add(
        ratio_v1=ratio,
        ratio_top3=ratio / 2,
        peak_v1=peak,
        own_freq=own,
        sq_grok=sq,
        stated_ratio=2.0,
        min_seeds=2,
        first_seed=42,
        n_null=n_null,
    )


def test_multitask_inherits_add_tiers():
    r = mt()
    assert r.verdict == "reproduced" and r.evidence.n == 2
    assert "2.0" in r.rule and "≥ 2 seeds" in r.rule
    assert mt(peak=25).verdict == "partial"  # supported, peak elsewhere
    # as stated, 1 seed beats the null
    assert mt(sq={42: (0.2, 0.3), 137: (0.5, 0.3)}).verdict == "partial"
    assert mt(ratio=1.0, sq={42: (0.2, 0.3)}).verdict == "not reproduced"


def test_multitask_inherits_add_degenerate():
    none = mt(ratio=NAN, sq={})
    assert none.verdict == "not reproduced" and none.evidence.n == 0
    # no single-task model: not as stated
    assert mt(ratio=NAN).verdict == "partial"
    assert math.isnan(NAN)


def test_x2y2_no_single_basis_needs_the_positive_control():
    diffuse = [frow(s, F=(0.2, 0.2, 0.2), peaks=(1, 2, 3), basis="x2_y2") for s in (42, 137, 2024)]
    assert rules.x2y2_no_single_basis(diffuse, seed_quorum=2).verdict == "reproduced"  # old
    # add: no collapse
    blind = [frow(s, F=(0.2, 0.2, 0.2), peaks=(1, 2, 3)) for s in (42, 137, 2024)]
    r = rules.x2y2_no_single_basis(diffuse, seed_quorum=2, control_rows=blind)
    assert r.verdict == "inconclusive" and r.evidence.n == 3 and "positive control" in r.rule
    assert r.checks["the pipeline finds the add model's collapse (positive control)"] is False
    seen = [frow(42)] + blind[1:]  # add collapses in one seed
    assert (
        rules.x2y2_no_single_basis(diffuse, seed_quorum=2, control_rows=seen).verdict
        == "reproduced"
    )
    collapsed = diffuse + [frow(s, basis="dlog") for s in (42, 137)]  # presence needs no control
    assert (
        rules.x2y2_no_single_basis(collapsed, seed_quorum=2, control_rows=blind).verdict
        == "not reproduced"
    )


def test_focused_frequencies_follow_p():
    # the old defaults (25, 26; dlog 29) were tied to p = 97 and stopped the probe at any p < 59
    from grokbook.errors import ConfigError
    from grokbook.measures.composition import feature_sets
    from grokbook.papers.spectral.inherit import focused_frequencies
    from grokbook.papers.spectral.probes import features

    pairs = np.array([[1, 2], [3, 4], [5, 6]])
    with pytest.raises(ConfigError):
        feature_sets(pairs, 53, n_low=5)
    for p in (47, 53, 97, 113):
        X = feature_sets(pairs, p, n_low=5, **focused_frequencies(p))
        assert X["focused"].shape[0] == 3
    assert focused_frequencies(97) == {"focused_add": [25, 26], "focused_mul": [29]}
    assert focused_frequencies(47) == {"focused_add": [12, 13], "focused_mul": [14]}
    assert features(53, 10, [7], None) == {"n_low": 10, "focused_add": [7], "focused_mul": [16]}


def test_fourier_rules_gate_on_eta2_above_white_noise():
    # F is scale-free: class means at rounding level can still give a large F; the old rules
    # scored them
    loud = [dict(frow(s), eta2_top=0.3, eta2_wn99=0.06) for s in (42, 137, 2024)]
    quiet = [dict(frow(s), eta2_top=0.05, eta2_wn99=0.06) for s in (42, 137, 2024)]
    assert rules.add_single_mode(loud, seed_quorum=2).verdict == "reproduced"
    q = rules.add_single_mode(quiet, seed_quorum=2)
    assert q.verdict == "inconclusive" and q.evidence.n == 0
    assert q.checks["seed 42: η² above white noise"] is False and "white-noise 99th" in q.rule
    mixed = loud[:2] + quiet[2:]  # one seed drops out: 2 seeds < min_evidence
    m = rules.add_single_mode(mixed, seed_quorum=2)
    assert m.verdict == "inconclusive" and m.evidence.items == ("seed 42", "seed 137")
    mq = [
        dict(mseed(s), dlog=dict(frow(s), eta2_top=0.01, eta2_wn99=0.06)) for s in (42, 137, 2024)
    ]
    assert rules.mul_dlog_mode(mq, seed_quorum=2).verdict == "inconclusive"
    row = dict(
        frow(42, F=(0.4, 0.4, 0.4), peaks=(6, 16, 32), bulk_mean=0.35), eta2_top=0.0, eta2_wn99=0.1
    )
    assert (
        rules.sub_multimode(
            [row], {42: SMALL}, max_union=6, max_top_bulk=1.5, seed_quorum=1, min_evidence=1
        ).verdict
        == "inconclusive"
    )
    flat = [
        dict(frow(s, F=(0.2, 0.2, 0.2), peaks=(1, 2, 3)), eta2_top=0.0, eta2_wn99=0.1)
        for s in (42, 137, 2024)
    ]
    assert rules.x2y2_no_single_basis(flat, seed_quorum=2).verdict == "inconclusive"


def test_purity_reading_uses_a_binomial_test():
    # 42 % above the random 99th percentile: the old words ("> half above" needed) said "as diffuse
    # as random"; against the 1 % chance rate that is far above random
    top = [0.2] * 42 + [0.1] * 58
    text, pval = rules.purity_reading(top, null_q99=0.15)
    assert pval < 1e-10 and "statistically above random directions, practically diffuse" in text
    assert "42/100" in text
    text, pval = rules.purity_reading([0.1] * 99 + [0.2], null_q99=0.15)
    assert pval > 0.05 and "as diffuse as random directions" in text
    assert math.isnan(rules.purity_reading([], null_q99=0.15)[1])


def test_multitask_inherits_add_needs_enough_null_draws():
    # with 30 random directions (the old default) the 99th percentile is about their maximum; the
    # old rule judged "supported" from it
    few = mt(n_null=30)
    assert few.verdict == "inconclusive" and "fewer than 100 random directions" in few.rule
    assert few.checks["at least 100 random directions (30)"] is False
    assert mt(n_null=100).verdict == "reproduced"
    # the embedding's frequency is reported, never used: v1 matching it does not make "as stated"
    r = rules.multitask_inherits_add(
        ratio_v1=2.5,
        ratio_top3=1.0,
        peak_v1=21,
        own_freq=38,
        embedding_freq=21,
        sq_grok={42: (0.1, 0.3)},
        stated_ratio=2.0,
        min_seeds=2,
        first_seed=42,
        n_null=200,
    )
    assert r.verdict == "not reproduced" and "add-head field's peak" in r.rule


def test_second_generator_follows_p():
    # the old default alt_generator = 7 is a primitive root of 97 but not of 47 or 53
    from grokbook.errors import ConfigError
    from grokbook.papers.spectral.fourier import other_generator

    assert other_generator(97) == 7 and other_generator(47) == 10 and other_generator(53) == 3
    assert other_generator(47, 11) == 11
    with pytest.raises(ConfigError):
        other_generator(53, 7)


def test_edge_rules_need_three_seeds_for_reproduced():
    """Four operations of one seed are four runs but one seed: the old rules said reproduced."""
    runs = [f"{op} s42" for op in ("add", "sub", "mul", "x2_y2")]
    diffuse = dict(rank_low=10, rank_high=40, max_top1=0.5)
    v = rules.edge_activation_diffuse([f"{r} v1" for r in runs], [20.0] * 4, [0.1] * 4, **diffuse)
    assert v.verdict == "inconclusive"
    three = [f"add s{s} v1" for s in (1, 2, 3)]
    assert (
        rules.edge_activation_diffuse(three, [20.0] * 3, [0.1] * 3, **diffuse).verdict
        == "reproduced"
    )
    heads = dict(max_share=2.0, n_blocks=8, bulk_tolerance=0.05)
    assert (
        rules.edge_not_head_localized(runs, [0.2] * 4, [0.2] * 4, **heads).verdict == "inconclusive"
    )
    sae = [
        {
            "op": op,
            "seed": 42,
            "relative_mse": 0.01,
            "p_random": 0.5,
            "p_45°": 0.5,
            "p_angle-matched": 0.5,
        }
        for op in ("add", "mul")
    ]
    assert rules.edge_sae_null(sae, alpha=0.01, max_relative_mse=0.1).verdict == "inconclusive"
    sae3 = [dict(sae[0], seed=s) for s in (1, 2, 3)]
    assert rules.edge_sae_null(sae3, alpha=0.01, max_relative_mse=0.1).verdict == "reproduced"


def test_nongrok_rows_read_the_grokking_runs_time_and_drop_a_run_that_grokked():
    from types import SimpleNamespace

    from grokbook.papers.grid import GridRun
    from grokbook.papers.spectral import probes

    rng = np.random.default_rng(0)
    steps = np.arange(0, 3100, 100)

    def run(grok_at):
        acc = np.where(steps >= grok_at, 0.99, 0.1)[:, None] if grok_at else np.full((31, 1), 0.1)
        return SimpleNamespace(eval_steps=steps, test_acc=acc, snapshot_steps=steps,
                               snapshots={"attn": rng.normal(size=(31, 40))})

    main = [GridRun("add", 1.0, 1, run(1000)), GridRun("mul", 1.0, 1, run(2000))]
    regime = [GridRun("x3_xy", 1.0, 1, run(None)), GridRun("x2_xy_y2", 1.0, 1, run(2500))]
    rows = probes.nongrok_rows(main, regime, 0.9, 5, True)
    assert list(rows.end_step) == [1500, 1500] and list(rows.grokked) == [False, True]
    kw = probes.nongrok_entered(rows)
    assert kw["nongrok_runs"] == ["x3_xy s1"] and len(kw["nongrok"]) == 1
