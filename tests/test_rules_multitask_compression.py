"""Verdict rules of the multitask compression, deletion and weight-decay claims, on synthetic
inputs."""
import math

import pandas as pd
import pytest

from grokbook.papers.multitask import compression_pages as pages
from grokbook.papers.multitask import rules_compression as rules

SEEDS = [42, 137, 2024]


# ── multi.dual-partial-recovery ───────────────────────────────────────────────────────────────────

def _point(ts, f, n_grokked, n=3, arm="delete"):
    return {"task_set": ts, "f": f, "arm": arm, "n": n, "n_grokked": n_grokked}


def _points(grokked, n=3):
    """dual f = 0.5, dual 0.1, dual 0.25 and tri 0.5 with these numbers of grokked seeds."""
    where = (("dual", 0.5), ("dual", 0.1), ("dual", 0.25), ("tri", 0.5))
    return [_point(ts, f, g, n) for (ts, f), g in zip(where, grokked)]


def _recovery(points, seeds=SEEDS, base=(1000, 1100, 1200), fails=(0.1, 0.25)):
    return rules.dual_partial_recovery(points, list(base), seeds=seeds, recover_fraction=0.5,
                                       fail_fractions=list(fails), min_share=0.66, min_seeds=3)


def test_dual_partial_recovery_tiers():
    full = _points((3, 0, 0, 0))
    r = _recovery(full)
    assert r.verdict == "reproduced" and r.evidence.n == 3 and r.evidence.unit == "seeds"
    assert "0.66" in r.rule and "0.5" in r.rule and "[0.1, 0.25]" in r.rule and "3 seeds" in r.rule
    no_b = _points((3, 3, 0, 0))
    assert _recovery(no_b).verdict == "partial"
    no_a = _points((1, 0, 0, 0))
    assert _recovery(no_a).verdict == "not reproduced"
    only_a = _points((3, 3, 3, 3))
    assert _recovery(only_a).verdict == "not reproduced"


def test_dual_partial_recovery_inconclusive_inputs():
    full = [_point("dual", 0.5, 1, 1), _point("dual", 0.1, 0, 1), _point("dual", 0.25, 0, 1),
            _point("tri", 0.5, 0, 1)]
    one = _recovery(full, seeds=[42], base=[1000])
    assert one.verdict == "inconclusive" and one.evidence.n == 1
    missing = [_point("dual", 0.5, 3), _point("tri", 0.5, 0)]
    assert _recovery(missing).verdict == "inconclusive"
    full3 = _points((3, 0, 0, 0))
    assert _recovery(full3, base=(1000, None, 1200)).verdict == "inconclusive"
    assert _recovery([], seeds=[]).verdict == "inconclusive"
    # the matched-norm control does not count as the paper rule
    matched = [_point(ts, f, 3, arm="matched") for ts, f in (("dual", 0.5), ("tri", 0.5))]
    assert _recovery(matched).verdict == "inconclusive"


def test_grok_share_is_nan_for_a_point_not_run():
    assert math.isnan(rules.grok_share([_point("dual", 0.5, 3)], "tri", 0.5))
    assert rules.grok_share([_point("dual", 0.5, 2)], "dual", 0.5) == pytest.approx(2 / 3)


# ── multi.ortho-deletion-cliff ────────────────────────────────────────────────────────────────────

def _dose(ts, grok_at, fail_at_check=3, n=3):
    """Rows for f = 0..0.07 with seed-mean grok steps grok_at, and f = 0.1 with fail_at_check
    failures."""
    fs = [0.0, 0.01, 0.03, 0.07]
    rows = [{"task_set": ts, "f": f, "n": n, "n_grokked": n, "n_none": 0, "mean_grok_capped": g}
            for f, g in zip(fs, grok_at)]
    return rows + [{"task_set": ts, "f": 0.1, "n": n, "n_grokked": n - fail_at_check,
                    "n_none": fail_at_check, "mean_grok_capped": 9e9}]


def _cliff(main, matched, seeds=SEEDS, base=(1000, 1100, 1200)):
    return rules.ortho_deletion_cliff(main, matched, list(base), seeds=seeds, check_fraction=0.1,
                                      monotone_max_f=0.07, min_spearman=0.8, min_fail_share=0.66,
                                      min_seeds=3)


def test_ortho_deletion_cliff_tiers():
    rising = _dose("dual", [1, 2, 3, 4]) + _dose("tri", [2, 3, 4, 5])
    groks = [{"task_set": "dual", "f": 0.1, "n": 3, "n_grokked": 3}]
    fails = [{"task_set": "dual", "f": 0.1, "n": 3, "n_grokked": 0}]
    r = _cliff(rising, groks)
    assert r.verdict == "reproduced" and r.evidence.n == 3
    assert "0.1" in r.rule and "0.8" in r.rule and "0.07" in r.rule and "0.66" in r.rule
    assert _cliff(rising, fails).verdict == "partial"            # a norm effect: (iii) fails
    assert _cliff(rising, []).verdict == "partial"               # no control run: (iii) not shown
    flat = _dose("dual", [4, 1, 3, 2])
    assert _cliff(flat, groks).verdict == "partial"              # no dose-response: (ii) fails
    no_cliff = _dose("dual", [1, 2, 3, 4], fail_at_check=1)
    assert _cliff(no_cliff, groks).verdict == "not reproduced"


def test_ortho_deletion_cliff_degenerate_inputs():
    rising = _dose("dual", [1, 2, 3, 4])
    groks = [{"task_set": "dual", "f": 0.1, "n": 1, "n_grokked": 1}]
    one = _cliff(_dose("dual", [1, 2, 3, 4], 1, n=1), groks, seeds=[42], base=[1000])
    assert one.verdict == "inconclusive" and one.evidence.n == 1
    assert _cliff(rising, groks, base=(1000, None, 1200)).verdict == "inconclusive"
    # too few f below the cliff for a Spearman correlation: (ii) cannot hold
    short = [r for r in rising if r["f"] in (0.0, 0.07, 0.1)]
    assert math.isnan(rules.spearman_by_task_set(short, 0.07)["dual"])
    assert _cliff(short, groks).verdict == "partial"


# ── multi.magnitude-pruning-failure ───────────────────────────────────────────────────────────────

def _prune(runs):
    return rules.magnitude_pruning_failure(runs, q_low=0.5, q_high=0.8, fail_acc=0.1, keep_acc=0.9,
                                           run_share=0.8)


def _pr(i, low, high, full=1.0):
    return {"run": f"r{i}", "max_acc_low": low, "min_acc_high": high, "full_R": full}


def test_magnitude_pruning_failure_tiers():
    r = _prune([_pr(i, 0.02, 0.5) for i in range(3)])
    assert r.verdict == "reproduced" and r.evidence.n == 3
    assert all(s in r.rule for s in ("0.5", "0.8", "0.1", "0.9", "80%"))
    assert _prune([_pr(i, 0.5, 0.5) for i in range(3)]).verdict == "partial"
    assert _prune([_pr(i, 0.02, 0.99) for i in range(3)]).verdict == "partial"
    assert _prune([_pr(i, 0.5, 0.99) for i in range(3)]).verdict == "not reproduced"
    # 2 of 3 runs (67 %) is below the 80 % share
    two_of_three = [_pr(0, 0.02, 0.5), _pr(1, 0.02, 0.5), _pr(2, 0.5, 0.99)]
    assert _prune(two_of_three).verdict == "not reproduced"


def test_magnitude_pruning_failure_degenerate_inputs():
    assert _prune([]).verdict == "inconclusive" and _prune([]).evidence.n == 0
    assert _prune([_pr(i, math.nan, math.nan) for i in range(3)]).verdict == "not reproduced"
    assert _prune([_pr(0, 0.02, 0.5)]).verdict == "inconclusive"    # one run is too little


# ── multi.svd-truncation-failure ──────────────────────────────────────────────────────────────────

def _svd(runs):
    return rules.svd_truncation_failure(runs, d_model=128, fail_acc=0.1, pca_acc=0.9, pca_k_max=10,
                                        rel_level=0.95, run_share=0.8)


def _sv(i, half, below, ok, full=1.0, residue=0.05):
    return {"run": f"r{i}", "max_acc_half": half, "best_R_below": below, "pca_ok": ok,
            "full_R": full, "residue_R": residue}


def test_svd_truncation_failure_tiers():
    r = _svd([_sv(i, 0.05, 0.3, True) for i in range(3)])
    assert r.verdict == "reproduced" and r.evidence.n == 3
    assert all(s in r.rule for s in ("64", "128", "0.1", "0.9", "0.95", "k ≤ 10", "80%"))
    assert _svd([_sv(i, 0.05, 0.3, False) for i in range(3)]).verdict == "partial"   # PCA fails too
    assert _svd([_sv(i, 0.5, 0.6, True) for i in range(3)]).verdict == "partial"
    assert _svd([_sv(i, 0.5, 0.99, True) for i in range(3)]).verdict == "not reproduced"


def test_svd_truncation_failure_degenerate_inputs():
    assert _svd([]).verdict == "inconclusive"
    assert _svd([_sv(i, math.nan, math.nan, True) for i in range(3)]).verdict == "not reproduced"


# ── multi.reconstruction-threshold ────────────────────────────────────────────────────────────────

def _recon(kstar):
    return rules.reconstruction_threshold(kstar, kstar_low=3, kstar_high=10, band_low=4,
                                          band_high=8, band_share=0.8, k_max=20)


def test_reconstruction_threshold_tiers():
    r = _recon({"a": 5, "b": 6, "c": 7})
    assert r.verdict == "reproduced" and r.evidence.n == 3
    assert all(s in r.rule for s in ("3 ≤ k* ≤ 10", "[4, 8]", "80%", "k ≤ 20"))
    assert _recon({"a": 9, "b": 10, "c": 5}).verdict == "partial"          # band share 33 %
    assert _recon({"a": 15, "b": 6, "c": 7}).verdict == "partial"      # out of range, all reached
    assert _recon({"a": None, "b": 6, "c": 7}).verdict == "not reproduced"


def test_reconstruction_threshold_degenerate_inputs():
    assert _recon({}).verdict == "inconclusive" and _recon({}).evidence.n == 0
    assert _recon({"a": 6}).verdict == "inconclusive"
    assert _recon({"a": math.nan, "b": 5, "c": 6}).verdict == "not reproduced"


# ── multi.uniform-scaling-fragility ───────────────────────────────────────────────────────────────

def _scale(runs):
    return rules.uniform_scaling_fragility(runs, s_low=0.95, s_high=1.05, fail_acc=0.1,
                                           rel_level=0.95, seed_share=0.67)


def _sc(i, acc, R, full=1.0):
    return {"run": f"r{i}", "max_acc": acc, "R": R, "full_R": full}


def test_uniform_scaling_fragility_tiers():
    r = _scale([_sc(i, [0.02, 0.03], [0.02, 0.03]) for i in range(3)])
    assert r.verdict == "reproduced" and r.evidence.n == 3
    assert all(s in r.rule for s in ("0.95", "1.05", "0.1", "67%"))
    assert _scale([_sc(i, [0.5, 0.03], [0.5, 0.03]) for i in range(3)]).verdict == "partial"
    assert _scale([_sc(i, [0.99, 0.99], [1.0, 0.97]) for i in range(3)]).verdict == "not reproduced"


def test_uniform_scaling_fragility_degenerate_inputs():
    assert _scale([]).verdict == "inconclusive"
    assert _scale([_sc(i, [math.nan, 0.0], [math.nan, 0.0]) for i in range(3)]).verdict == \
        "not reproduced"


# ── multi.wd-groktime-powerlaw ────────────────────────────────────────────────────────────────────

def _power(exponent, ci, n_lambda=5, decreasing=True, runs=("a", "b", "c", "d", "e"),
           lambdas=None):
    lambdas = [0.1, 0.2, 0.3, 0.5, 1.0][:n_lambda] if lambdas is None else lambdas
    return rules.wd_groktime_powerlaw(list(runs), exponent=exponent, ci=ci, lambdas=lambdas,
                                      decreasing=decreasing, slope_range=[-1.2, -0.6], min_levels=3)


def test_wd_groktime_powerlaw_tiers():
    r = _power(-0.9, (-1.0, -0.8))
    assert r.verdict == "reproduced" and r.evidence.n == 5
    assert all(s in r.rule for s in ("[-1.2, -0.6]", "3 λ", "[0.1, 1.0]"))
    assert _power(-0.9, (-1.0, -0.8), decreasing=False).verdict == "partial"
    assert _power(-2.0, (-2.5, -1.5)).verdict == "partial"
    assert _power(-0.9, (-1.5, 0.2)).verdict == "not reproduced"
    assert _power(0.5, (0.3, 0.7)).verdict == "not reproduced"


def test_wd_groktime_powerlaw_degenerate_inputs():
    assert _power(None, None, n_lambda=1, runs=()).verdict == "inconclusive"
    assert _power(-0.9, (-1.0, -0.8), n_lambda=2).verdict == "inconclusive"
    assert _power(math.nan, (math.nan, math.nan)).verdict == "not reproduced"


# ── multi.wd-phase-structure ──────────────────────────────────────────────────────────────────────

LAMS = (0.1, 0.2, 0.3, 0.5, 1.0)
TARGETS = {"k* minimum": [0.5], "lead-fraction minimum": [0.5], "shallowest curvature": [0.2, 0.3]}
AT_PAPER = {"k* minimum": 0.5, "lead-fraction minimum": 0.5, "shallowest curvature": 0.3}
HELD = {"multi.wd-groktime-powerlaw": "reproduced", "multi.curvature-depth": "reproduced"}


def _phase(found, rho=-0.9, lambdas=LAMS, individual=HELD, tol=0):
    return rules.wd_phase_structure(found, TARGETS, individual, lambdas=list(lambdas),
                                    spearman_grok=rho, spearman_threshold=0.8, min_lambdas=4,
                                    grid_tolerance=tol)


def test_wd_phase_structure_tiers():
    r = _phase(AT_PAPER)
    assert r.verdict == "reproduced" and r.evidence.n == 5 and r.evidence.unit == "λ values"
    assert all(s in r.rule for s in ("4 grokking", "0 grid point", "−0.8"))
    assert _phase(AT_PAPER, rho=-0.5).verdict == "partial"
    assert _phase({**AT_PAPER, "k* minimum": 1.0}).verdict == "partial"
    assert _phase(dict.fromkeys(AT_PAPER, 1.0)).verdict == "not reproduced"


def test_wd_phase_structure_degenerate_inputs():
    assert _phase(AT_PAPER, lambdas=(1.0,)).verdict == "inconclusive"
    assert _phase(AT_PAPER, lambdas=()).evidence.n == 0
    assert _phase(AT_PAPER, rho=math.nan).verdict == "partial"
    assert _phase(dict.fromkeys(AT_PAPER, None)).verdict == "not reproduced"


def test_wd_phase_structure_needs_exact_extrema_and_the_individual_claims():
    """One grid point off on every extremum passed the earlier ±1 rule; a composite whose parts
    are not reproduced passed it too."""
    off = {"k* minimum": 0.3, "lead-fraction minimum": 1.0, "shallowest curvature": 0.1}
    assert _phase(off, tol=1).verdict == "reproduced"
    assert _phase(off).verdict == "not reproduced"
    weak = {**HELD, "multi.reconstruction-threshold": "partial"}
    assert _phase(AT_PAPER, individual=weak).verdict == "partial"
    assert _phase(AT_PAPER, individual={}).verdict == "partial"


# ── the page helpers that turn scans into rule inputs ─────────────────────────────────────────────

def _scan_row(method, budget, seed, accs, R):
    return {"panel": "dual λ=1.0", "method": method, "task_set": "dual", "weight_decay": 1.0,
            "seed": seed, "budget": budget, "energy": 0.5, "R": R, "R_mean": R,
            "all_above": min(accs) >= 0.9,
            "acc_add": accs[0], "acc_mul": accs[1]}


def test_pruning_runs_and_text_from_a_scan():
    rows = [_scan_row(m, q, s, a, R) for s in (42, 137) for m, q, a, R in (
        ("magnitude", 0.5, (0.01, 0.02), 0.02), ("magnitude", 0.8, (0.5, 0.9), 0.5),
        ("random", 0.8, (0.01, 0.01), 0.01), ("to zero", 0.8, (1.0, 1.0), 1.0))]
    scan = pages.with_acc_extremes(pd.DataFrame(rows))
    per_run = pages.pruning_runs(scan, 0.5, 0.8)
    assert sorted(r["run"] for r in per_run) == ["dual λ=1 s137", "dual λ=1 s42"]
    assert all(r["max_acc_low"] == 0.02 and r["min_acc_high"] == 0.5 for r in per_run)
    assert "does carry information" in pages.pruning_text(scan, 0.8)
    assert all(r["full_R"] != r["full_R"] for r in per_run)            # no q = 1 in this scan: NaN
    assert pages.pruning_runs(pd.DataFrame(), 0.5, 0.8) == []


def test_scaling_runs_leave_out_the_runs_trained_past_the_stop():
    rows = [_scan_row("θ_0 + sΔ", s, 42, (0.01, 0.02), 0.02) for s in (0.95, 1.05)]
    rows += [{**_scan_row("θ_0 + sΔ", s, 42, (1.0, 1.0), 1.0), "task_set": "dual+300"}
             for s in (0.95, 1.05)]
    per_run = pages.scaling_runs(pages.with_acc_extremes(pd.DataFrame(rows)), 0.95, 1.05)
    assert len(per_run) == 1 and per_run[0]["max_acc"] == [0.02, 0.02]


def test_kstar_by_run_keeps_runs_that_never_reached_the_rule():
    summary = pd.DataFrame({"method": ["uncentered", "uncentered", "centred"],
                            "task_set": ["dual"] * 3, "weight_decay": [1.0] * 3,
                            "seed": [42, 137, 42], "k*": [5.0, math.nan, 3.0]})
    assert pages.kstar_by_run(summary) == {"dual λ=1 s42": 5, "dual λ=1 s137": None}


def test_recovery_value_says_not_run():
    text = pages.recovery_value([_point("dual", 0.5, 2)], 0.5, [0.1])
    assert "dual f=0.5 grokked 67%" in text and "not run" in text


# ── verdict-trust fixes: inputs on which the earlier rules passed and the current ones do not ─────

def test_one_run_or_seed_is_never_reproduced():
    assert _prune([_pr(0, 0.02, 0.5)]).verdict == "inconclusive"
    assert _svd([_sv(0, 0.05, 0.3, True)]).verdict == "inconclusive"
    assert _recon({"a": 6, "b": 5}).verdict == "inconclusive"
    assert _scale([_sc(0, [0.02, 0.03], [0.02, 0.03])]).verdict == "inconclusive"
    assert _power(-0.9, (-1.0, -0.8), runs=("a", "b")).verdict == "inconclusive"
    assert "fewer than 3 grokked runs" in _prune([]).rule


def test_failure_claims_need_their_positive_control():
    """A broken reconstruction (the full budget does not rebuild the model) makes "fails to rebuild"
    meaningless: inconclusive, where the earlier rules said reproduced."""
    assert _prune([_pr(i, 0.02, 0.5, full=0.3) for i in range(3)]).verdict == "inconclusive"
    assert _svd([_sv(i, 0.05, 0.3, True, full=0.3) for i in range(3)]).verdict == "inconclusive"
    assert _scale([_sc(i, [0.02, 0.03], [0.02, 0.03], full=0.3) for i in range(3)]).verdict == \
        "inconclusive"
    assert _prune([_pr(i, 0.02, 0.5, full=math.nan) for i in range(3)]).verdict == "inconclusive"
    assert "R ≥ 0.999" in _svd([]).rule


def test_truncation_failure_explained_by_the_init_residue_is_not_supported():
    explained = [_sv(i, 0.05, 0.3, True, residue=0.9) for i in range(3)]
    r = _svd(explained)
    assert r.verdict == "not supported" and "0.5" in r.rule
    assert _svd([_sv(i, 0.5, 0.6, True, residue=0.9) for i in range(3)]).verdict == "not supported"
    unexplained = [_sv(i, 0.5, 0.99, True, residue=0.9) for i in range(3)]
    assert _svd(unexplained).verdict == "not reproduced"


def test_cliff_counts_seeds_in_which_no_task_groks():
    """Every seed loses one task at f = 0.1 but the others grok: the claim (no task groks) fails."""
    rising = _dose("dual", [1, 2, 3, 4])
    one_task = [{**r, "n_none": 0} if r["f"] == 0.1 else r for r in rising]
    groks = [{"task_set": "dual", "f": 0.1, "n": 3, "n_grokked": 3}]
    assert _cliff(rising, groks).verdict == "reproduced"
    assert _cliff(one_task, groks).verdict == "not reproduced"


def test_powerlaw_is_fitted_over_the_papers_range_only():
    lams = [0.05, 0.1, 0.2, 0.5, 2.0]
    assert _power(-0.9, (-1.0, -0.8), lambdas=lams).verdict == "inconclusive"
    assert _power(-0.9, (-1.0, -0.8), lambdas=[0.1, 0.2, 0.5, 1.0, 1.0]).verdict == "reproduced"


def test_with_none_grokked_counts_seeds_without_any_task():
    summary = [{"task_set": "dual", "weight_decay": 1.0, "arm": "delete", "basis": "own", "f": 0.1,
                "n": 3, "n_grokked": 0}]
    rows = [{"task_set": "dual", "weight_decay": 1.0, "arm": "delete", "basis": "own", "f": 0.1,
             "grok": None, "grok_add": a, "grok_mul": None} for a in (None, 900, None)]
    assert pages.with_none_grokked(summary, rows)[0]["n_none"] == 2


def test_pruning_text_does_not_read_a_tie_at_chance_as_information():
    rows = [_scan_row(m, 0.8, s, (0.01, 0.01), 0.01) for s in (42, 137)
            for m in ("magnitude", "random")]
    text = pages.pruning_text(pages.with_acc_extremes(pd.DataFrame(rows)), 0.8)
    assert "does carry information" not in text and "ties in 2" in text


def test_matched_norm_control_changes_the_trajectory(tmp_path, monkeypatch):
    """Rebuilt at the update level, the matched-norm control moves training measurably; the earlier
    gradient-level shrink (g ← c·g before AdamW) is undone by Adam's normalisation."""
    import numpy as np
    import torch
    from grokbook.papers.multitask.deletion import MatchedNormShrink, matched_factor, random_bases
    from grokbook.training.cache import load_or_train
    from grokbook.training.config import RunConfig
    monkeypatch.setenv("GROKBOOK_CACHE", str(tmp_path))
    cfg = RunConfig(p=7, ops=("add", "mul"), d_model=8, n_layers=1, n_heads=2, d_ff=16,
                    batch_size=16, steps=40, eval_every=10, snapshot_every=10, stop_on_grok=False,
                    lr=3e-3, snapshot_groups=("attn", "all"))
    B = random_bases([type("R", (), {"config": cfg})()], k=3)

    class GradShrink:                                    # the earlier control
        key = "test-grad-shrink"

        def __call__(self, step, grad, view):
            grad.mul_(matched_factor(grad, B[view.rows], 0.5).unsqueeze(1))

    free = load_or_train([cfg])[0]
    moved = np.linalg.norm(free.theta_final - free.theta_init)
    gap = lambda r: np.linalg.norm(r.theta_final - free.theta_final) / moved       # noqa: E731
    assert gap(load_or_train([cfg], grad_hook=GradShrink())[0]) < 1e-2
    assert gap(load_or_train([cfg], grad_hook=MatchedNormShrink(B, 0.5, start=0))[0]) > 0.1
    assert torch.isfinite(B).all()
