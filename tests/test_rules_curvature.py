"""Verdict rules of the curvature baseline-grid claims: every tier on synthetic inputs, degenerate
inputs (one seed, empty tables, NaN), the evidence count, the minimum evidence and the thresholds in
the rule text; the grid's configs; the page texts."""
import math

import numpy as np
import pytest

from grokbook.errors import ConfigError
from grokbook.papers.curvature import grids, report, rules

NAN = float("nan")
SEEDS = (1, 2, 3)

# ── baseline-grokking ───────────────────────────────────────────────────────────────────────────

BG = dict(grok_ops=["add", "sub", "mul"], no_grok_ops=["hard"],
          paper_r90={"add": 1000, "sub": 1000, "mul": 1000}, max_grok_step=3000,
          timing_tolerance=0.35, no_grok_acc=0.5)


def bg_rows(r90=1000, grok=2000, ops=("add", "sub", "mul"), seeds=SEEDS, hard_acc=0.1):
    rows = [{"op": op, "seed": s, "R90": r90, "grok": grok, "best_test_acc": 1.0}
            for op in ops for s in seeds]
    hard = [{"op": "hard", "seed": s, "R90": None, "grok": None, "best_test_acc": hard_acc}
            for s in seeds]
    return rows + hard


def test_baseline_grokking_tiers():
    ctrl = [{"best_test_acc": 0.02}]
    assert rules.baseline_grokking(bg_rows(), ctrl, **BG).verdict == "reproduced"
    assert rules.baseline_grokking(bg_rows(r90=1500), ctrl, **BG).verdict == "partial"   # 50 % off
    assert rules.baseline_grokking(bg_rows(hard_acc=0.9), ctrl, **BG).verdict == "not reproduced"
    late = bg_rows()
    late[0]["grok"] = 3100                                       # one seed past max_grok_step
    assert rules.baseline_grokking(late, ctrl, **BG).verdict == "not reproduced"   # 2 of 3 grok
    v = rules.baseline_grokking(bg_rows(), [{"best_test_acc": 0.7}], **BG)
    assert v.verdict == "not reproduced" and v.evidence.n == 9 and v.evidence.unit == "runs"
    assert "3000" in v.rule and "±35%" in v.rule and "0.5" in v.rule and "at least 3" in v.rule
    assert "±100%" in v.rule and "fewer than 3 seeds" in v.rule


def test_baseline_grokking_partial_tier_bounds_the_timing_mismatch():
    """Before: partial whenever enough operations grok, however far off the timing (here 3×)."""
    ctrl = [{"best_test_acc": 0.02}]
    assert rules.baseline_grokking(bg_rows(r90=3000), ctrl, **BG).verdict == "not reproduced"
    assert rules.baseline_grokking(bg_rows(r90=1900), ctrl, **BG).verdict == "partial"
    loose = rules.baseline_grokking(bg_rows(r90=3000), ctrl, **BG, partial_timing_tolerance=2.5)
    assert loose.verdict == "partial" and "±250%" in loose.rule


def test_baseline_grokking_degenerate():
    one_seed = rules.baseline_grokking(bg_rows(seeds=(42,)), [], **BG)
    assert one_seed.verdict == "inconclusive" and one_seed.evidence.n == 3   # was "reproduced"
    assert rules.baseline_grokking(bg_rows(seeds=(42,)), [], **BG, min_evidence=1).verdict == \
        "reproduced"
    nan_r90 = bg_rows()
    nan_r90[1]["R90"] = NAN                            # a seed without R90: no mean R90 for add
    assert rules.baseline_grokking(nan_r90, [], **BG).verdict == "not reproduced"   # timing unknown
    assert rules.mean_r90([{"R90": 1}, {"R90": None}]) is None and rules.mean_r90([]) is None
    v = rules.baseline_grokking([], [], **BG)
    assert v.verdict == "inconclusive" and v.evidence.n == 0
    nan_ctrl = rules.baseline_grokking(bg_rows(), [{"best_test_acc": NAN}], **BG)
    assert nan_ctrl.verdict == "not reproduced"


# ── converse-alignment ──────────────────────────────────────────────────────────────────────────

CA = dict(mean_range=[0.5, 2.0], probe_range=[0.3, 3.0], partial_max=5.0)


def ca_runs(mean=1.1, lo=0.5, hi=2.5, n=3):
    return [{"run": f"add s{i}", "mean": mean, "min": lo, "max": hi} for i in range(n)]


def test_converse_alignment_tiers():
    assert rules.converse_alignment(ca_runs(), **CA).verdict == "reproduced"
    assert rules.converse_alignment(ca_runs(hi=3.7), **CA).verdict == "partial"
    assert rules.converse_alignment(ca_runs(lo=0.1), **CA).verdict == "partial"
    assert rules.converse_alignment(ca_runs(hi=6.0), **CA).verdict == "not reproduced"
    v = rules.converse_alignment(ca_runs(mean=2.5), **CA)
    assert v.verdict == "not reproduced" and v.evidence.n == 3
    assert "[0.5, 2.0]" in v.rule and "[0.3, 3.0]" in v.rule and "5.0" in v.rule


def test_converse_alignment_degenerate():
    v = rules.converse_alignment([], **CA)
    assert v.verdict == "inconclusive" and v.evidence.n == 0
    assert rules.converse_alignment(ca_runs(n=1), **CA).verdict == "inconclusive"
    runs = ca_runs()
    runs[0]["max"] = NAN                    # a run without a probe maximum does not hide the others
    assert rules.converse_alignment(runs, **CA).verdict == "reproduced"
    assert rules.converse_alignment(ca_runs(mean=NAN), **CA).verdict == "not reproduced"


# ── defect-explosion ────────────────────────────────────────────────────────────────────────────

DE = dict(separation=5.0, min_growth=300.0)
CTRL = {"hard s1": 20.0, "hard s2": 40.0}


def de(*growths):
    return {f"add s{i}": g for i, g in enumerate(growths)}


def test_defect_explosion_tiers():
    v = rules.defect_explosion(de(500.0, 900.0, 1000.0), CTRL, **DE)
    assert v.verdict == "reproduced" and v.evidence.n == 5
    assert "5×" in v.rule and "300×" in v.rule
    assert rules.defect_explosion(de(150.0, 250.0, 250.0), CTRL, **DE).verdict == "partial"
    assert rules.defect_explosion(de(30.0, 250.0, 400.0), CTRL, **DE).verdict == "partial"
    assert rules.defect_explosion(de(30.0, 40.0, 500.0), CTRL, **DE).verdict == "not reproduced"


def test_defect_explosion_degenerate():
    v = rules.defect_explosion(de(500.0), {}, **DE)
    assert v.verdict == "inconclusive" and v.evidence.n == 1
    v = rules.defect_explosion(de(NAN), {"hard s1": NAN}, **DE)
    assert v.verdict == "inconclusive" and v.evidence.n == 0
    v = rules.defect_explosion(de(500.0, NAN, 600.0, 700.0), {"hard s1": 10.0}, **DE)
    assert v.verdict == "reproduced" and v.evidence.n == 4
    one_seed = rules.defect_explosion({"add s42": 900.0, "sub s42": 800.0}, {"hard s42": 10.0},
                                      **DE)
    assert one_seed.verdict == "inconclusive"                             # was "reproduced"


# ── exec-vs-random ──────────────────────────────────────────────────────────────────────────────

EV = dict(grok_ops=["add", "sub", "mul", "x2_y2"], ratio_range=[1.5, 3.5], min_share_in_range=0.75,
          ratio_floor=1.3, partial_floor=1.2, partial_ops=2)


def ev_rows(values, seeds=SEEDS):
    return [(op, s, v) for op, v in zip(EV["grok_ops"], values) for s in seeds]


def test_exec_vs_random_tiers():
    v = rules.exec_vs_random(ev_rows([2.0, 2.1, 1.9, 1.4]), **EV)
    assert v.verdict == "reproduced" and v.evidence.n == 12
    assert "[1.5, 3.5]" in v.rule and "75%" in v.rule and "1.3" in v.rule and "1.2" in v.rule
    assert rules.exec_vs_random(ev_rows([1.25] * 4), **EV).verdict == "partial"
    assert rules.exec_vs_random(ev_rows([2.0, 2.0, 1.0, 1.0]), **EV).verdict == "partial"
    assert rules.exec_vs_random(ev_rows([1.08, 1.04, 1.14, 1.1]), **EV).verdict == "not reproduced"


def test_exec_vs_random_median_over_seeds_and_degenerate():
    rows = [("add", 1, 1.0), ("add", 2, 2.0), ("add", 3, 2.2)] + ev_rows([2.0] * 4)[3:]
    assert rules.exec_vs_random(rows, **EV).verdict == "reproduced"      # add's median is 2.0
    missing = ev_rows([2.0, 2.0, 2.0, NAN])                  # x2_y2 has no memorisation probe
    v = rules.exec_vs_random(missing, **EV)
    assert v.verdict == "partial" and v.evidence.n == 9
    v = rules.exec_vs_random([("add", 1, NAN)], **EV)
    assert v.verdict == "inconclusive" and v.evidence.n == 0
    one_seed = rules.exec_vs_random(ev_rows([2.0] * 4, seeds=(42,)), **EV)
    assert one_seed.verdict == "inconclusive" and one_seed.evidence.n == 4   # was "reproduced"


# ── invariance-rho ──────────────────────────────────────────────────────────────────────────────

def test_invariance_rho_tiers_and_degenerate():
    kw = dict(rho_threshold=0.999)
    good = {f"add s{s}": [0.9999, 0.99995] for s in SEEDS}
    v = rules.invariance_rho(good, **kw)
    assert v.verdict == "reproduced" and v.evidence.n == 3 and "0.999" in v.rule
    assert rules.invariance_rho(good | {"sub s1": [0.9999, 0.99]}, **kw).verdict == "not reproduced"
    v = rules.invariance_rho({"add s1": [NAN, NAN]}, **kw)
    assert v.verdict == "inconclusive" and v.evidence.n == 0
    v = rules.invariance_rho(good | {"sub s1": [NAN]}, **kw)
    assert v.verdict == "reproduced" and v.evidence.n == 3
    one_seed = rules.invariance_rho({"add s42": [0.9999], "sub s42 λ=0": [0.9999]}, **kw)
    assert one_seed.verdict == "inconclusive" and one_seed.evidence.n == 2   # was "reproduced"
    assert rules.invariance_rho({}, **kw).verdict == "inconclusive"


# ── onset-precedes-grokking ─────────────────────────────────────────────────────────────────────

OP = dict(min_positive_share=0.9166, alpha=0.01, lead_range=[500, 2000], partial_share=0.75)


def leads(values):
    return {f"{op} s{s}": v for (op, s), v in
            zip([(op, s) for op in ("add", "sub", "mul", "x2_y2") for s in SEEDS], values)}


def test_onset_precedes_grokking_tiers():
    v = rules.onset_precedes_grokking(leads([1000] * 12), **OP)
    assert v.verdict == "reproduced" and v.evidence.n == 12
    assert "92%" in v.rule and "0.01" in v.rule and "[500, 2000]" in v.rule and "75%" in v.rule
    assert rules.onset_precedes_grokking(leads([100] * 12), **OP).verdict == "partial"   # short
    assert rules.onset_precedes_grokking(leads([1000] * 6), **OP).verdict == "partial"   # p = 2^-6
    smoke_like = leads([1000] * 7 + [-200] * 2)
    assert rules.onset_precedes_grokking(smoke_like, **OP).verdict == "partial"
    assert rules.onset_precedes_grokking(leads([1000] * 6 + [-200] * 3), **OP).verdict == \
        "not reproduced"


def test_onset_precedes_grokking_missing_leads_count_as_failures():
    v = rules.onset_precedes_grokking(leads([1000] * 11 + [None]), **OP)
    assert v.verdict == "reproduced" and v.evidence.n == 12              # 11/12 = 0.9167 ≥ 0.9166
    assert rules.onset_precedes_grokking(leads([1000] * 10 + [None, NAN]), **OP).verdict == \
        "partial"                                                          # 10/12, not 10/10
    assert rules.onset_precedes_grokking(leads([NAN, None, None]), **OP).verdict == \
        "not reproduced"
    v = rules.onset_precedes_grokking({}, **OP)
    assert v.verdict == "inconclusive" and v.evidence.n == 0
    one_seed = {"add s42": 1000, "sub s42": 1000, "mul s42": 1000}
    assert rules.onset_precedes_grokking(one_seed, **OP).verdict == "inconclusive"


def test_onset_not_supported_when_a_simpler_precursor_leads_as_often_and_as_steadily():
    """Before: "reproduced" whatever else precedes R90. Memorisation leading every run by a steady
    1,200 steps explains the onset's lead; a noisier or less regular precursor does not."""
    onset = leads([700, 900, 1100, 1300] * 3)                        # all positive, s.d. ~ 240
    assert rules.onset_precedes_grokking(onset, **OP).verdict == "reproduced"
    steady = {"memorisation": leads([1200] * 12), "test-loss peak": leads([-50] * 12)}
    v = rules.onset_precedes_grokking(onset, **OP, precursors=steady)
    assert v.verdict == "not supported" and "memorisation" in v.rule
    assert v.checks["no simpler precursor leads as often and as steadily (memorisation)"] is False
    noisy = {"memorisation": leads([200, 2200] * 6)}
    assert rules.onset_precedes_grokking(onset, **OP, precursors=noisy).verdict == "reproduced"
    rarer = {"memorisation": leads([1200] * 11 + [None])}
    assert rules.onset_precedes_grokking(onset, **OP, precursors=rarer).verdict == "reproduced"
    partial = leads([1000] * 7 + [-200] * 2)                        # partial stays partial
    assert rules.onset_precedes_grokking(partial, **OP, precursors=steady).verdict == "partial"


def test_precursor_steps_of_a_run():
    from types import SimpleNamespace
    from grokbook.papers.curvature import precursors as pre
    assert pre.peak_step([0, 100, 200], [1.0, NAN, 3.0]) == 200
    assert pre.peak_step([0, 100], [NAN, NAN]) is None and pre.peak_step([], []) is None
    ones = lambda q, k, v=1.0: [[v] * k for _ in range(q)]   # noqa: E731
    run = SimpleNamespace(
        snapshots={"attn": [[1.0, 0.0], [3.0, 4.0], [1.0, 1.0]]}, snapshot_steps=[0, 100, 200],
        eval_steps=[0, 100, 200], test_loss=[[2.0], [5.0], [0.1]], memorised_step=lambda t: 100,
        config=SimpleNamespace(probe_eta=1e-3),
        probes={"steps": [0, 100, 200], "defect": ones(3, 2), "delta_norm": ones(3, 2),
                "grad_a_norm": [[1.0, 1.0], [1.0, 1.0], [9.0, 9.0]], "grad_b_norm": ones(3, 2)})
    run.test_loss = np.asarray(run.test_loss)
    assert pre.precursor_steps(run) == {"memorisation": 100, "test-loss peak": 100,
                                        "attention-norm peak": 100, "gradient-norm peak": 200}


# ── pc1-concentration ───────────────────────────────────────────────────────────────────────────

PC = dict(mean_range=[0.62, 0.82], median_range=[0.65, 0.80], top_kind="W_V", top_share=0.75,
          partial_range=[0.55, 0.90])


def pc_cells(means, tops=None):
    tops = tops or ["W_V"] * len(means)
    return [{"run": f"add s{i % 3}", "mean_pc1": m, "top": t}
            for i, (m, t) in enumerate(zip(means, tops))]


def test_pc1_concentration_tiers():
    v = rules.pc1_concentration(pc_cells([0.7, 0.72, 0.75]), [0.7, 0.72, 0.75, 0.8], **PC)
    assert v.verdict == "reproduced" and v.evidence.n == 3
    assert "[0.62, 0.82]" in v.rule and "[0.65, 0.8]" in v.rule and "W_V" in v.rule
    assert "75%" in v.rule and "[0.55, 0.9]" in v.rule
    wrong_top = rules.pc1_concentration(pc_cells([0.7] * 4, ["W_Q"] * 2 + ["W_V"] * 2), [0.7], **PC)
    assert wrong_top.verdict == "partial"
    assert rules.pc1_concentration(pc_cells([0.6, 0.72, 0.7]), [0.7], **PC).verdict == "partial"
    assert rules.pc1_concentration(pc_cells([0.5, 0.72, 0.7]), [0.7], **PC).verdict == \
        "not reproduced"


def test_pc1_vs_random_walk_is_not_supported_when_non_grokking_runs_clear_it_too():
    cells = [{"z": 40.0, "margin": 0.2}, {"z": 60.0, "margin": 0.15}]
    kw = dict(z_min=5.0, margin_min=0.05)
    runs = ["add s1", "add s2", "add s3"]
    assert rules.pc1_vs_random_walk(cells, runs, **kw).verdict == "reproduced"  # the old rule
    same = rules.pc1_vs_random_walk(cells, runs, control_cells=cells, **kw)
    assert same.verdict == "not supported"
    below = rules.pc1_vs_random_walk(cells, runs, control_cells=[{"z": -3.0, "margin": -0.1}],
                                     **kw)
    assert below.verdict == "reproduced"


def test_pc1_concentration_is_not_supported_when_non_grokking_runs_are_as_concentrated():
    cells, shares = pc_cells([0.7, 0.72, 0.75]), [0.7, 0.72, 0.75, 0.8]
    assert rules.pc1_concentration(cells, shares, **PC).verdict == "reproduced"  # the old rule
    same = rules.pc1_concentration(cells, shares, control_means=[0.71, 0.72], **PC)
    assert same.verdict == "not supported" and "not supported" in same.rule
    lower = rules.pc1_concentration(cells, shares, control_means=[0.45, 0.71], **PC)
    assert lower.verdict == "reproduced"
    assert lower.checks["non-grokking controls not all in [0.62, 0.82] (2 cells)"] is True


def test_pc1_concentration_degenerate():
    v = rules.pc1_concentration([], [], **PC)
    assert v.verdict == "inconclusive" and v.evidence.n == 0
    assert rules.pc1_concentration(pc_cells([0.7] * 3), [0.7, NAN], **PC).verdict == "reproduced"
    assert rules.pc1_concentration(pc_cells([NAN] * 3), [0.7], **PC).verdict == "not reproduced"
    two_layers = [{"run": "add s1", "mean_pc1": 0.7, "top": "W_V"}] * 2
    one_run = rules.pc1_concentration(two_layers, [0.7], **PC)
    assert one_run.evidence.n == 1 and one_run.verdict == "inconclusive"   # was "reproduced"


# ── pc1-vs-random-walk ──────────────────────────────────────────────────────────────────────────

def test_pc1_vs_random_walk_tiers_and_degenerate():
    kw = dict(z_min=5.0, margin_min=0.05)
    runs = ["add s1", "add s2", "add s3"]
    cells = [{"z": 20.0, "margin": 0.1}, {"z": 8.0, "margin": 0.06}]
    v = rules.pc1_vs_random_walk(cells, runs, **kw)
    assert v.verdict == "reproduced" and v.evidence.n == 3
    assert "z > 5" in v.rule and "5 percentage" in v.rule
    cells[1]["margin"] = 0.026
    assert rules.pc1_vs_random_walk(cells, runs, **kw).verdict == "partial"
    cells[1]["z"] = 4.0
    assert rules.pc1_vs_random_walk(cells, runs, **kw).verdict == "not reproduced"
    v = rules.pc1_vs_random_walk([], [], **kw)
    assert v.verdict == "inconclusive" and v.evidence.n == 0
    nan = rules.pc1_vs_random_walk([{"z": NAN, "margin": 0.1}], runs, **kw)
    assert nan.verdict == "not reproduced"
    one_seed = rules.pc1_vs_random_walk([{"z": 20.0, "margin": 0.1}], ["add s42", "sub s42"], **kw)
    assert one_seed.verdict == "inconclusive"                             # was "reproduced"


def test_seed_counting_reads_the_label_format():
    assert rules._seed_of("add s42") == "42" and rules._seed_of("add s42 λ=0") == "42"
    assert rules._seed_of("sub") is None and rules._seed_of("x2_xy_y2 s7") == "7"


# ── the grid ────────────────────────────────────────────────────────────────────────────────────

def test_baseline_grid_builds_main_then_controls_and_lists_its_claims():
    v = grids.BASELINE.values("smoke")
    cfgs = grids.BASELINE.build(**{**v, "steps": 20})
    main = [(o, s, 1.0) for o in ["add", "sub", "mul", "x2_xy_y2"] for s in [42, 137, 2024]]
    assert [(c.ops[0], c.seed, c.weight_decay) for c in cfgs] == main + [("add", 42, 0.0)]
    assert all(c.p == 47 and c.tail_steps == 300 and c.probe_samples == 3 for c in cfgs)
    assert len(grids.BASELINE.claims) == 8 and "curv.pc1-concentration" in grids.BASELINE.claims
    assert math.isclose(grids.BASELINE.paper["lr"], 1e-3)
    with pytest.raises(ConfigError, match="main grid"):
        grids.baseline_configs(**{**v, "seeds": []})


# ── page texts ──────────────────────────────────────────────────────────────────────────────────

def test_report_texts_read_a_dash_where_nothing_was_measured():
    assert report.spread([1.0, 3.0], digits=0) == "2 ± 1 (range 1–3, n=2)"
    assert report.spread([0.5, NAN], scale=100) == "50.0 (n=1)"
    assert report.spread([]) == "–" and report.spread([NAN], empty="none") == "none"
    assert report.per_key({"add": 1.084, "sub": NAN}, keys=["add", "sub", "mul"]) == \
        "add 1.08, sub –, mul –"
    assert report.per_key({"add": 1433.3}, "{:.0f}") == "add 1433"
    assert report.value_range([0.476, 0.734, None], "{:.1f}", 100) == "47.6–73.4"
    assert report.value_range([]) == "–"


def test_lead_summary_counts_missing_leads_as_not_positive_and_alarms_in_controls():
    s = report.lead_summary([1000, 1000, None, None], [400, None, 300, NAN],
                            [True, True, False, False])
    assert s == {"positive": "1/2", "mean lead": 600, "controls fired": "1/2"}
    assert report.lead_summary([], [], [])["mean lead"] is None


def test_lead_rows_count_every_run():
    rows = report.lead_rows({"onset": {"add s1": 500, "add s2": None, "add s3": -100}})
    assert rows == [{"precursor": "onset", "positive leads": "1/3",
                     "lead R90 − event (steps)": "200 ± 424 (range -100–500, n=2)"}]


# ── row builders ────────────────────────────────────────────────────────────────────────────────

def fake_run(op="add", seed=1, wd=1.0):
    from types import SimpleNamespace
    steps = np.array([0, 100, 200, 300, 400])
    return SimpleNamespace(
        config=SimpleNamespace(ops=(op,), seed=seed, weight_decay=wd),
        eval_steps=steps, train_acc=np.array([[0.1], [1.0], [1.0], [1.0], [1.0]]),
        test_acc=np.array([[0.0], [0.0], [0.2], [0.95], [1.0]]),
        probes={"steps": steps, "align": np.array([np.nan, 1e-3, 2e-3, 1e-3, 1e-3])},
        memorised_step=lambda: 100, grok_step=lambda threshold=0.98, patience=3:
        300 if threshold == 0.9 else 400)


def test_condition_sorts_runs_into_the_three_groups():
    from grokbook.papers.curvature import tables
    assert tables.condition(1.0, "add", 1.0, ["add"]) == "grokking op"
    assert tables.condition(1.0, "x3_xy", 1.0, ["add"]) == "non-grokking op"
    assert tables.condition(0.0, "add", 1.0, ["add"]) == "λ=0"
    rows = tables.with_condition([{"op": "add", "weight_decay": 0.0, "pc1": 0.5}], 1.0, ["add"])
    assert rows == [{"op": "add", "weight_decay": 0.0, "pc1": 0.5, "condition": "λ=0"}]


def test_alignment_and_onset_rows_of_fake_runs():
    from grokbook.papers.curvature import tables
    rows = tables.alignment_rows([fake_run()], ["grokking op"], P=1000)
    assert [r["step"] for r in rows] == [100, 200, 300, 400]              # no Δθ at the first probe
    assert rows[1]["ratio"] == pytest.approx(2e-3 / math.sqrt(2 / (math.pi * 1000)))
    d = np.array([1.0, 1.0, 1.0, 50.0, 60.0])
    (row,) = tables.onset_rows([fake_run()], ["grokking op"], [d], factor=10.0, floor=20.0,
                               smooth_width=3)
    assert (row["onset"], row["R90"], row["lead"], row["onset − mem"]) == (300, 300, 0, 200)
    assert row["smoothed onset"] == 400               # the median of 3 probes is high one later


def test_decomposition_rows_take_the_probe_before_r90_or_the_maximum():
    from types import SimpleNamespace
    from grokbook.papers.curvature import tables
    steps = np.array([0, 100, 200, 300])
    parts = SimpleNamespace(steps=steps, defect=np.array([1.0, 1.0, 1.0, 8.0]),
                            raw=np.array([1.0, 1.0, 1.0, 2.0]),
                            grad_product=np.array([1.0, 1.0, 1.0, 0.25]))
    rows = [{"group": "grokking op", "op": "add", "seed": 1, "R90": 300, "max_step": 300},
            {"group": "λ=0", "op": "add", "seed": 1, "R90": NAN, "max_step": 300}]
    out = tables.decomposition_rows(rows, [parts, parts], probe_every=100, n_baseline=3)
    assert [(r["moment"], r["step"]) for r in out] == [("before R90", 200), ("max D", 300),
                                                      ("before R90", 300), ("max D", 300)]
    assert out[1]["D ×"] == pytest.approx(8.0)
    assert out[1]["denominator share"] == pytest.approx(2 / 3)   # log 4 of log 8: the gradients
