"""Verdict rules of the Xu 2026a learning-rate, slow-regime and intervention claims
(papers/curvature/dynamics.py): every tier on synthetic inputs, degenerate inputs, the evidence
count and the rule text."""
import math

import pytest

from grokbook.papers.curvature import dynamics as dyn
from grokbook.papers.grid import grid_of

NAN = math.nan


# ── grids ───────────────────────────────────────────────────────────────────────────────────────

def test_lr_grid_builds_every_lr_op_seed_and_lists_its_claims():
    cfgs = dyn.LR.build(**{**dyn.LR.values("smoke"), "seeds": [1, 2]})
    assert [(c.lr, c.ops, c.seed) for c in cfgs] == [
        (lr, ("add",), s) for lr in (0.003, 0.006, 0.012) for s in (1, 2)]
    assert grid_of("curv.lead-time-power-law") is dyn.LR
    assert grid_of("curv.kick-no-effect") is dyn.INTERVENTIONS


def test_interventions_grid_phase1_configs_take_the_notebooks_ops():
    vals = dyn.INTERVENTIONS.values("smoke")
    cfgs = dyn.phase1_configs(**vals, ops=("add", "mul"))
    assert [(c.ops, c.seed, c.p, c.steps) for c in cfgs] == [(("add",), 42, 47, 3000),
                                                             (("mul",), 42, 47, 3000)]
    assert len(dyn.INTERVENTIONS.build(**vals)) == len(dyn.INTERVENED_OPS)


# ── curv.lr-phase-diagram ──────────────────────────────────────────────────────────────────────

def _pd_runs(fail=(), seeds=(1, 2, 3)):
    rows = []
    for lr in (1e-3, 1e-2):
        for op in ("add", "x3_xy"):
            for s in seeds:
                grok = 1000 if op == "add" and (op, lr, s) not in fail else None
                rows.append({"op": op, "lr": lr, "seed": s, "grok": grok})
    return rows


PD = dict(grok_ops=["add"], no_grok_ops=["x3_xy"], n_seeds=3, timing_factor=2.0)


@pytest.mark.parametrize("fail, ratios, expected", [
    ((), {("add", 1e-3): 1.5}, "reproduced"),
    ((), {("add", 1e-3): 2.5}, "partial"),
    ((), {}, "inconclusive"),
    ((("add", 1e-3, 1),), {("add", 1e-3): 1.0}, "partial"),
    ((("add", 1e-3, 1), ("add", 1e-2, 2)), {("add", 1e-3): 1.0}, "not reproduced"),
    ((), {("add", 1e-3): NAN}, "partial"),
])
def test_lr_phase_diagram_tiers(fail, ratios, expected):
    v = dyn.lr_phase_diagram(_pd_runs(fail), ratios, **PD)
    assert v.verdict == expected
    assert v.evidence.n == 12 and "×2" in v.rule and "3/3" in v.rule and "fewer than 3" in v.rule


def test_lr_phase_diagram_needs_min_evidence_seeds():
    """Old rule: one seed per cell with a matching matrix and timing was "reproduced"."""
    v = dyn.lr_phase_diagram(_pd_runs(seeds=(1,)), {("add", 1e-3): 1.5},
                             **{**PD, "n_seeds": 1})
    assert v.verdict == "inconclusive" and v.evidence.n == 4


def test_lr_phase_diagram_empty_table():
    v = dyn.lr_phase_diagram([], {}, **PD)
    assert v.verdict == "inconclusive" and v.evidence.n == 0


# ── curv.lead-time-power-law ───────────────────────────────────────────────────────────────────

def _fit_runs(n=4, lrs=(1e-4, 1e-3)):
    return [{"op": "add", "lr": lrs[i % len(lrs)], "seed": i} for i in range(n)]


LT = dict(alpha_band=[1.1, 1.6], min_lead_fraction=0.8)
POWER = dict(ci=(1.2, 1.4), implied=1.9, aic_advantage=5.0)    # the power law beats a fixed onset


@pytest.mark.parametrize("runs, alpha, frac, expected", [
    (_fit_runs(), 1.3, 0.9, "reproduced"),
    (_fit_runs(), 1.3, 0.7, "partial"),
    (_fit_runs(), 2.5, 0.9, "partial"),
    (_fit_runs(), 1.3, NAN, "partial"),
    (_fit_runs(), 0.9, 0.9, "not reproduced"),
    (_fit_runs(2), 1.3, 0.9, "inconclusive"),
    (_fit_runs(4, lrs=(1e-3,)), 1.3, 0.9, "inconclusive"),
    (_fit_runs(), None, 0.9, "inconclusive"),
])
def test_lead_time_power_law_tiers(runs, alpha, frac, expected):
    v = dyn.lead_time_power_law(runs, alpha, frac, **POWER, **LT)
    assert v.verdict == expected
    assert v.evidence.n == len(runs) and "[1.1, 1.6]" in v.rule and "0.8" in v.rule
    assert "more than 2" in v.rule


@pytest.mark.parametrize("null", [dict(ci=(1.2, 1.4), implied=1.32, aic_advantage=5.0),
                                  dict(ci=(1.2, 1.4), implied=1.9, aic_advantage=1.5),
                                  dict(ci=(1.2, 1.4), implied=None, aic_advantage=NAN)])
def test_lead_time_power_law_explained_by_a_constant_onset_is_not_supported(null):
    """Old rule: slope 1.3 in the band with lead fraction 0.9 was "reproduced", whatever the
    constant-onset model said."""
    v = dyn.lead_time_power_law(_fit_runs(), 1.3, 0.9, **null, **LT)
    assert v.verdict == "not supported" and v.evidence.n == 4


# ── curv.lr-alignment-damping ──────────────────────────────────────────────────────────────────

LRS = [1e-4, 1e-3, 1e-2]


def _align(values, seeds=(1, 2, 3), probes=100, phases_ok=True):
    """values: op -> the value of every seed at each η (same for every seed)."""
    return [{"op": op, "lr": lr, "seed": s, "value": v, "probes": probes, "phases_ok": phases_ok}
            for op, vs in values.items() for lr, v in zip(LRS, vs) for s in seeds]


AL = dict(ops=["add", "mul"], lrs=LRS, null_sd=0.5)


@pytest.mark.parametrize("runs, expected", [
    (_align({"add": [0.5, 0.9, 1.5], "mul": [0.4, 1.0, 1.2]}), "reproduced"),
    (_align({"add": [0.5, 0.9, 1.5], "mul": [0.4, 1.3, 1.2]}), "partial"),
    (_align({"add": [1.1, 1.2, 1.5], "mul": [0.4, 0.6, 0.9]}), "not reproduced"),
    (_align({"add": [0.5, NAN, 1.5], "mul": [0.4, 1.0, 1.2]}), "inconclusive"),
    ([], "inconclusive"),
])
def test_lr_alignment_damping_tiers(runs, expected):
    v = dyn.lr_alignment_damping(runs, **AL)
    assert v.verdict == expected
    assert v.evidence.n == sum(not math.isnan(r["value"]) for r in runs)
    assert "0.0001" in v.rule and "0.01" in v.rule and "|z| > 2" in v.rule


def test_lr_alignment_damping_needs_z_beyond_the_null():
    """Old rule: 0.99 / 1.00 / 1.01 is ordered and was "reproduced"; z ≈ ∓0.4 at the ends."""
    runs = _align({"add": [0.99, 1.0, 1.01], "mul": [0.99, 1.0, 1.01]})
    v = dyn.lr_alignment_damping(runs, **AL)
    assert v.verdict == "inconclusive"
    assert v.checks["add: increasing, < 1 at the smallest η, > 1 at the largest"] is True
    assert v.checks["add: |z| > 2 at both ends"] is False


def test_lr_alignment_damping_needs_the_same_phase_mix_and_three_seeds():
    ok = {"add": [0.5, 0.9, 1.5], "mul": [0.4, 1.0, 1.2]}
    assert dyn.lr_alignment_damping(_align(ok, phases_ok=False), **AL).verdict == "inconclusive"
    assert dyn.lr_alignment_damping(_align(ok, seeds=(1,)), **AL).verdict == "inconclusive"


# ── curv.slow-regime ───────────────────────────────────────────────────────────────────────────

def _slow(r98=(500, 600, 700), leads=(100, 200, 300), smoothed=(50, 60, 70)):
    return [{"op": "add", "seed": s, "R98": g, "lead_committed": lc, "lead_smoothed": ls}
            for s, g, lc, ls in zip((42, 137, 2024), r98, leads, smoothed)]


SR = dict(max_grok_step=800, rho_min=0.999, excess=[0.6, 0.7, 0.8])


@pytest.mark.parametrize("rows, rho, smoke, expected", [
    (_slow(), [0.9995, 0.9999], False, "reproduced"),
    (_slow(), [0.9985, 0.9999], False, "partial"),
    (_slow(smoothed=(50, None, 70)), [0.9995], False, "partial"),
    (_slow(r98=(500, None, 700)), [0.9995], False, "not reproduced"),
    (_slow(r98=(500, 900, 700)), [0.9995], False, "not reproduced"),
    (_slow(), [0.9995, 0.9999], True, "inconclusive"),
    (_slow(), [], False, "partial"),
])
def test_slow_regime_tiers(rows, rho, smoke, expected):
    v = dyn.slow_regime(rows, rho, smoke=smoke, **SR)
    assert v.verdict == expected
    assert v.evidence.n == 3 and "800" in v.rule and "0.999" in v.rule


def test_slow_regime_rho_at_chance_is_not_supported():
    """Old rule: ρ > 0.999 at every probe passed, though a random direction gives ρ ≈ 0.99995."""
    v = dyn.slow_regime(_slow(), [0.99995], smoke=False, **{**SR, "excess": [0.9, 1.1, 1.3]})
    assert v.verdict == "not supported" and "< 1" in v.rule
    assert dyn.slow_regime(_slow(), [0.99995], smoke=False, **{**SR, "excess": []}).verdict \
        == "not supported"


def test_slow_regime_needs_three_seeds():
    """Old rule: the paper's two runs were enough for "reproduced"."""
    two = _slow()[:2]
    assert dyn.slow_regime(two, [0.9995], smoke=False, **SR).verdict == "inconclusive"
    assert dyn.slow_regime_outcome(two, [0.9995], **SR) == "reproduced"   # shown beside it
    assert dyn.slow_regime([], [], smoke=False, **SR).verdict == "inconclusive"


# ── interventions ──────────────────────────────────────────────────────────────────────────────

SEEDS = (1, 2, 3)


def _base(ops=("add",), seeds=SEEDS, grok=1000):
    return [{"op": op, "seed": s, "grok": grok + 10 * s} for op in ops for s in seeds]


def _arm(arm, levels, grok_of, ops=("add",), seeds=SEEDS):
    """grok rows; grok_of(level, seed) -> grok step or None."""
    return [{"op": op, "seed": s, "arm": arm, "level": lv, "grok": grok_of(lv, s)}
            for op in ops for s in seeds for lv in levels]


def _dose(delay_75, full_grok=None, mono=True):
    def g(lv, s):
        if lv == 0:
            return 1000 + 10 * s
        if lv == 1.0:
            return full_grok
        return 1000 + 10 * s + (delay_75 if lv == 0.75 else (100 if mono else 900))
    return _arm("PCA", [0.0, 0.5, 0.75, 1.0], g)


RERUN = _arm("PCA", [0.0], lambda lv, s: 1000 + 10 * s + 50)      # within 100 steps of Phase 1
CONFINED = _arm("attention-confined", [0.0, 1.0], lambda lv, s: 1000 + 10 * s if lv == 0 else None)
SD = dict(check_strength=0.75, min_delay=300, monotone_ops=3, full_budget=2400)


@pytest.mark.parametrize("rows, base, expected", [
    (_dose(500), _base(), "reproduced"),
    (_dose(100), _base(), "partial"),
    (_dose(500, mono=False), _base(), "partial"),
    (_dose(500, full_grok=2000), _base(), "not reproduced"),
    ([r for r in _dose(500) if r["seed"] == 1], _base(seeds=(1,)), "inconclusive"),
    (_dose(500), [dict(b, grok=None) for b in _base()], "inconclusive"),
])
def test_suppression_dose_response_tiers(rows, base, expected):
    rerun = [r for r in RERUN if r["seed"] in {b["seed"] for b in base}]
    v = dyn.suppression_dose_response(rows, base, rerun=rerun, confined=CONFINED, **SD)
    assert v.verdict == expected
    assert v.evidence.n == sum(b["grok"] is not None for b in base)
    assert "300" in v.rule and "0.75" in v.rule and "2,400" in v.rule


def test_suppression_dose_response_gates_on_the_rerun_and_the_confined_control():
    """Old rule: (i)–(iii) alone gave "reproduced"."""
    grokking = _arm("attention-confined", [0.0, 1.0], lambda lv, s: 1000 + 10 * s + 900 * lv)
    off = _arm("PCA", [0.0], lambda lv, s: 1000 + 10 * s + 300)
    kw = dict(rows=_dose(500), baseline=_base(), **SD)
    assert dyn.suppression_dose_response(**kw, rerun=RERUN, confined=grokking).verdict \
        == "not supported"
    assert dyn.suppression_dose_response(**kw, rerun=off, confined=CONFINED).verdict \
        == "inconclusive"
    assert dyn.suppression_dose_response(**kw, confined=CONFINED).verdict == "inconclusive"


def _three_arms(pca=500, rnd=20, attn=20, attn_full=True, rnd_full=None):
    def shift(d):
        return lambda lv, s: (1000 + 10 * s if lv == 0 else None if lv == 1.0
                              else 1000 + 10 * s + d)
    rows = _arm(dyn.PCA_ARM, [0.0, 0.75, 1.0], shift(pca))
    rows += _arm(dyn.RANDOM_ARM, [0.0, 0.75, 1.0],
                 lambda lv, s: rnd_full if lv == 1.0 else shift(rnd)(lv, s))
    return rows + _arm(dyn.ATTN_RANDOM_ARM, [0.0, 0.75] + ([1.0] if attn_full else []),
                       shift(attn))


PR = dict(check_strength=0.75, random_tolerance=150, min_delay=300, full_budget=2400)


@pytest.mark.parametrize("rows, base, expected", [
    (_three_arms(), _base(), "reproduced"),
    (_three_arms(attn=200), _base(), "partial"),
    (_three_arms(pca=100, attn=120), _base(), "not reproduced"),
    ([r for r in _three_arms() if r["seed"] < 3], _base(seeds=(1, 2)), "inconclusive"),
    ([r for r in _three_arms() if r["arm"] != dyn.ATTN_RANDOM_ARM], _base(), "inconclusive"),
])
def test_suppression_pca_vs_random_tiers(rows, base, expected):
    v = dyn.suppression_pca_vs_random(rows, base, **PR)
    assert v.verdict == expected
    assert v.evidence.n == len(base) and "150" in v.rule and "300" in v.rule


def test_suppression_pca_vs_random_is_decided_by_the_attention_confined_arm():
    """Old rule: a small all-coordinates random delay passed while the attention-confined random
    basis delayed grokking as much as B, and an arm without s = 1 runs passed the s = 1 test."""
    assert dyn.suppression_pca_vs_random(_three_arms(attn=500), _base(), **PR).verdict \
        == "not reproduced"
    assert dyn.suppression_pca_vs_random(_three_arms(attn_full=False), _base(), **PR).verdict \
        == "partial"


def _kicks(shift=0, fail=False, spread=0):
    def g(lv, s):
        if lv == 0:
            return 1000 + 10 * s
        if fail and s == 1:
            return None
        return 1000 + 10 * s + shift + spread * (s - 2)
    return _arm("comm", [0, 50, 500], g)


POSITIVE = [{"op": "add", "seed": s, "grok": 500 + 10 * s} for s in SEEDS]   # 500 steps earlier
KN = dict(max_shift=300, se_mult=2, d_ratio=3.0, positive=POSITIVE)


@pytest.mark.parametrize("rows, base, expected", [
    (_kicks(shift=100), _base(), "reproduced"),
    (_kicks(shift=400, spread=10), _base(), "partial"),
    (_kicks(shift=-400), _base(), "not reproduced"),
    (_kicks(fail=True), _base(), "not reproduced"),
    ([r for r in _kicks() if r["seed"] == 1], _base(seeds=(1,)), "inconclusive"),
])
def test_kick_no_effect_tiers(rows, base, expected):
    v = dyn.kick_no_effect(rows, base, **KN)
    assert v.verdict == expected
    assert v.evidence.n == len(base) and "300" in v.rule and "2 s.e." in v.rule


def test_kick_shift_within_two_standard_errors_is_reproduced():
    rows = _kicks(shift=400, spread=600)        # a large but noisy shift: s.e. 346 -> tolerance 693
    assert dyn.kick_no_effect(rows, _base(), **KN).verdict == "reproduced"
    assert dyn.kick_cells(rows, _base())[0]["se"] == pytest.approx(600 / math.sqrt(3))


def test_kick_no_effect_needs_a_manipulation_check_and_a_positive_control():
    """Old rule: no shift was "reproduced" even when the kicks lowered the defect and nothing showed
    that the setup can detect an acceleration."""
    rows = _kicks(shift=100)
    slow = [dict(r, grok=r["grok"] + 600) for r in POSITIVE]          # only 100 steps earlier
    assert dyn.kick_no_effect(rows, _base(), **{**KN, "d_ratio": 0.47}).verdict == "inconclusive"
    assert dyn.kick_no_effect(rows, _base(), **{**KN, "positive": slow}).verdict == "inconclusive"
    assert dyn.kick_no_effect(rows, _base(), **{**KN, "positive": None}).verdict == "inconclusive"
