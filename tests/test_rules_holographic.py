"""The verdict rules of the holographic claims (papers/holographic/rules.py) and the page sentences
(report.py) on synthetic inputs: every tier, and degenerate inputs (no rows, one seed, NaN)."""

import math

import pytest

from grokbook.papers.holographic import report, rules

SEEDS = (42, 137, 2024)


def runs(scale="S", wds=(1.0,), seeds=SEEDS, **cols):
    """One row per run; `cols` values are constants or {seed: value}."""
    return [
        {"scale": scale, "weight_decay": w, "seed": s}
        | {k: (v[s] if isinstance(v, dict) else v) for k, v in cols.items()}
        for w in wds
        for s in seeds
    ]


# ── global-subspace-dim ───────────────────────────────────────────────────────────────────────────

DIM = dict(taus=[0.95, 0.99], primary_tau=0.99, dim_low=2, dim_high=6, pass_share=0.9)


@pytest.mark.parametrize(
    "rows, scales, verdict",
    [
        (
            runs("S", **{"k_0.95": 2, "k_0.99": 4}) + runs("M", **{"k_0.95": 2, "k_0.99": 5}),
            ["S", "M"],
            "reproduced",
        ),
        (
            runs("S", **{"k_0.95": 9, "k_0.99": 4}) + runs("M", **{"k_0.95": 9, "k_0.99": 12}),
            ["S", "M"],
            "partial",
        ),
        # at τ = 0.99 no scale passes, but τ = 0.95 fits at every scale -> partial
        (
            runs("S", **{"k_0.95": 3, "k_0.99": 9}) + runs("M", **{"k_0.95": 3, "k_0.99": 9}),
            ["S", "M"],
            "partial",
        ),
        (runs("S", **{"k_0.95": 1, "k_0.99": 9}), ["S"], "not reproduced"),
        # a scale without a grokked run cannot be reproduced
        (runs("S", **{"k_0.95": 2, "k_0.99": 4}), ["S", "M"], "partial"),
        ([], ["S"], "inconclusive"),
    ],
)
def test_global_subspace_dim_tiers(rows, scales, verdict):
    v = rules.global_subspace_dim(rows, scales=scales, **DIM)
    assert v.verdict == verdict
    assert v.evidence.n == len(rows) and v.evidence.unit == "runs"
    assert "2 ≤ k(τ=0.99" in v.rule and "≤ 6" in v.rule and "90%" in v.rule and "3 seeds" in v.rule


def test_global_subspace_dim_nan_k_is_out_of_range():
    rows = runs("S", seeds=(42,), **{"k_0.95": float("nan"), "k_0.99": float("nan")})
    v = rules.global_subspace_dim(rows, scales=["S"], min_evidence=1, **DIM)
    assert v.verdict == "not reproduced" and v.evidence.items == ("S λ=1.0 s42",)


# ── trajectory-pca-recovery ───────────────────────────────────────────────────────────────────────

REC = dict(k_good=5, k_all=6, cond_share=0.8, k_max=20)


@pytest.mark.parametrize(
    "stable, verdict",
    [
        ({42: 3, 137: 5, 2024: 9}, "reproduced"),  # median 5
        ({42: 7, 137: 8, 2024: 9}, "partial"),  # median 8 > k_all, recovers within the scan
        ({42: None, 137: None, 2024: 4}, "not reproduced"),  # median counts "never" as k_max + 1
        ({42: float("nan"), 137: 21, 2024: float("nan")}, "not reproduced"),
    ],
)
def test_trajectory_pca_recovery_tiers(stable, verdict):
    v = rules.trajectory_pca_recovery(runs(stable=stable), **REC)
    assert v.verdict == verdict and v.evidence.n == 3
    assert "≤ 5" in v.rule and "≤ 6" in v.rule and "80%" in v.rule and "k ≤ 20" in v.rule


def test_trajectory_pca_recovery_share_of_conditions():
    rows = runs(wds=(0.1, 0.2, 0.3, 0.5, 1.0), stable=4)
    rows[0]["stable"] = rows[1]["stable"] = 6  # λ = 0.1 median 6: still ≤ k_all, 80 % ≤ k_good
    assert rules.trajectory_pca_recovery(rows, **REC).verdict == "reproduced"
    rows[3]["stable"] = rows[4]["stable"] = 6  # λ = 0.2 too: 60 % ≤ k_good
    assert rules.trajectory_pca_recovery(rows, **REC).verdict == "partial"


def test_trajectory_pca_recovery_empty_and_one_seed():
    assert rules.trajectory_pca_recovery([], **REC).verdict == "inconclusive"
    v = rules.trajectory_pca_recovery(runs(seeds=(42,), stable=3), **REC)
    assert v.verdict == "inconclusive" and v.evidence.n == 1


# ── local-full-rank ───────────────────────────────────────────────────────────────────────────────

FR = dict(entropy_min=0.5, r99_min=0.6, matrix_share=0.8)
FR1 = FR | dict(judged="delta", min_evidence=1)  # the tiers on Δ_W, one seed allowed


def matrices(wd, seed, n_pass, n_fail, obj="delta"):
    row = {"scale": "S", "weight_decay": wd, "seed": seed, "object": obj, "shape": "128x128"}
    return [row | {"entropy_n": 0.9, "r99_n": 0.9}] * n_pass + [
        row | {"entropy_n": 0.9, "r99_n": 0.1}
    ] * n_fail


def test_local_full_rank_tiers():
    good = matrices(1.0, 42, 9, 1) + matrices(0.5, 42, 8, 2)
    v = rules.local_full_rank(good, **FR1)
    assert v.verdict == "reproduced" and v.evidence.n == 2
    assert "80%" in v.rule and "0.5" in v.rule and "0.6" in v.rule and "Δ_W" in v.rule
    some = matrices(1.0, 42, 9, 1) + matrices(0.5, 42, 1, 9)
    assert rules.local_full_rank(some, **FR1).verdict == "partial"
    assert rules.local_full_rank(matrices(1.0, 42, 1, 9), **FR1).verdict == "not reproduced"
    assert rules.local_full_rank([], **FR1).verdict == "inconclusive"


def test_local_full_rank_pools_seeds_and_ignores_w_t():
    rows = matrices(1.0, 42, 10, 0) + matrices(1.0, 137, 6, 4) + matrices(1.0, 42, 0, 10, "final")
    v = rules.local_full_rank(rows, **FR1)  # 16 of 20 pass = 80 %
    assert v.verdict == "reproduced" and v.evidence.n == 2


def test_local_full_rank_nan_fails():
    rows = [
        {
            "scale": "S",
            "weight_decay": 1.0,
            "seed": 42,
            "object": "delta",
            "shape": "128x128",
            "entropy_n": math.nan,
            "r99_n": 0.9,
        }
    ]
    assert rules.local_full_rank(rows, **FR1).verdict == "not reproduced"


# ── per-matrix and joint SVD failure ──────────────────────────────────────────────────────────────

PM = dict(half_fraction=0.5, half_R=0.5, full_R=0.95, cond_share=0.8, full_rank_R=[1.0])


def failure(half, below, variant="split", wds=(1.0,), seeds=SEEDS):
    return runs(wds=wds, seeds=seeds, variant=variant, fails_half=half, fails_below_full=below)


def test_per_matrix_svd_failure_tiers():
    v = rules.per_matrix_svd_failure(failure(True, True), **PM)
    assert v.verdict == "reproduced" and v.evidence.n == 3
    assert "80%" in v.rule and "R < 0.5" in v.rule and "R < 0.95" in v.rule and "ρ ≤ 0.5" in v.rule
    assert rules.per_matrix_svd_failure(failure(True, False), **PM).verdict == "partial"
    assert rules.per_matrix_svd_failure(failure(False, True), **PM).verdict == "not reproduced"
    one_seed_recovers = failure(True, {42: True, 137: False, 2024: True})
    assert rules.per_matrix_svd_failure(one_seed_recovers, **PM).verdict == "partial"
    assert rules.per_matrix_svd_failure([], **PM).verdict == "inconclusive"
    assert rules.per_matrix_svd_failure(failure(True, True, seeds=(42,)), **PM).evidence.n == 1


JS = dict(half_R=0.5, full_R=0.95, cond_share=0.8, full_rank_R=[1.0], gap=0.0, agree_tol=1e-5)


def test_joint_svd_failure_tiers():
    both = failure(True, True, "J1") + failure(True, True, "J3") + failure(False, False, "J2")
    v = rules.joint_svd_failure(both, **JS)
    assert v.verdict == "reproduced" and v.evidence.n == 3
    assert (
        "J1 and J3" in v.rule and "80%" in v.rule and "R < 0.95" in v.rule and "R < 0.5" in v.rule
    )
    one = failure(True, True, "J1") + failure(True, False, "J3")
    assert rules.joint_svd_failure(one, **JS).verdict == "partial"
    none = failure(False, True, "J1") + failure(True, False, "J3")
    assert rules.joint_svd_failure(none, **JS).verdict == "not reproduced"
    assert rules.joint_svd_failure(failure(True, True, "J2"), **JS).verdict == "not reproduced"
    assert rules.joint_svd_failure([], **JS).verdict == "inconclusive"


# ── energy-accuracy-dissociation ──────────────────────────────────────────────────────────────────

ED = dict(energy_min=0.9, half_R=0.5, cond_share=0.8)


def points(label, energy, R, seeds=SEEDS):
    return runs(seeds=seeds, label=label, energy=energy, R=R)


def test_energy_accuracy_dissociation_tiers():
    svd, joint = "per-matrix SVD (split)", "joint SVD (J1)"
    rows = points(svd, 0.95, 0.1) + points(svd, 0.2, 0.0) + points(joint, 0.92, 0.4)
    v = rules.energy_accuracy_dissociation(rows, **ED)
    assert v.verdict == "reproduced" and v.evidence.n == 3
    assert "E ≥ 0.9" in v.rule and "R ≤ 0.5" in v.rule and "80%" in v.rule
    assert (
        rules.energy_accuracy_dissociation(
            points(svd, 0.95, 0.1) + points(joint, 0.95, 0.9), **ED
        ).verdict
        == "partial"
    )
    one_seed_short = points(svd, {42: 0.95, 137: 0.95, 2024: 0.5}, 0.1) + points(joint, 0.95, 0.1)
    assert rules.energy_accuracy_dissociation(one_seed_short, **ED).verdict == "partial"
    assert (
        rules.energy_accuracy_dissociation(
            points("trajectory PCA (uncentred)", 0.99, 0.1), **ED
        ).verdict
        == "not reproduced"
    )
    assert rules.energy_accuracy_dissociation([], **ED).verdict == "inconclusive"
    nan = points(svd, math.nan, 0.1) + points(joint, 0.95, math.nan)
    assert rules.energy_accuracy_dissociation(nan, **ED).verdict == "not reproduced"


# ── cross-scale-consistency ───────────────────────────────────────────────────────────────────────

CS = dict(
    tau=0.99,
    dim_low=2,
    dim_high=6,
    pass_share=0.9,
    k_good=5,
    k_all=6,
    cond_share=0.8,
    matrix_share=0.8,
    full_R=0.95,
    k_never=21,
)


def overview(scale, k=4, k95=5, share=1.0, svd=1.0, grokked=True, seeds=SEEDS):
    return runs(
        scale,
        seeds=seeds,
        **{
            "k_0.99": k,
            "k95_stable": k95,
            "delta_pass_share": 1.0,
            "final_pass_share": share,
            "svd_first_full": svd,
            "joint_first_full": None,
            "grokked": grokked,
        }
    )


def cross(rows, scales, status=None):
    return rules.cross_scale_consistency(
        rows, status=rows if status is None else status, scales=scales, **CS
    )


def test_cross_scale_consistency_tiers():
    v = cross(overview("S") + overview("M"), ["S", "M"])
    assert v.verdict == "reproduced" and v.evidence.n == 6
    assert (
        "2–6" in v.rule
        and "≤ 5" in v.rule
        and "≤ 6" in v.rule
        and "80%" in v.rule
        and "0.95" in v.rule
    )
    # all four at S, M fails the dimension: partial
    assert cross(overview("S") + overview("M", k=12), ["S", "M"]).verdict == "partial"
    bad = overview("S", k=12, svd=0.5) + overview("M", k95=None, share=0.1)
    assert cross(bad, ["S", "M"]).verdict == "not reproduced"


def test_cross_scale_consistency_missing_and_ungrokked():
    # M has no grokked run: not judged; the ungrokked runs do not enter the evidence
    v = cross(overview("S") + overview("M", grokked=False), ["S", "M"])
    assert v.verdict == "partial" and v.evidence.n == 3
    assert v.checks["every scale judged (> 50% of its runs grokked)"] is False
    assert cross(overview("S", grokked=False), ["S"]).verdict == "inconclusive"
    assert cross([], ["S"]).verdict == "inconclusive"
    # an extra scale is shown, not judged
    v = cross(overview("S") + overview("X", k=40), ["S"])
    assert v.verdict == "reproduced" and v.evidence.n == 3


# ── report sentences ──────────────────────────────────────────────────────────────────────────────


def test_report_sentences():
    assert report.spread([]) == "–" and report.spread([], empty="none") == "none"
    assert report.spread([1.0, 3.0]).startswith("2.0 ± 1.4")
    assert report.shares_text({"J1": 1.0, "J3": 0.25}) == "J1 100%, J3 25%"
    assert "about as concentrated" in report.walk_reading([3, 4], 6)
    assert "needs more directions" in report.walk_reading([30, 40], 6)
    assert report.walk_reading([], 6) == ""
    assert report.k_range([3, 8, 5]) == "3–8" and report.k_range([]) == "none"
    text = report.recovery_reading([4, 7], [3], [], {"random subspace": 0.1}, 0.95)
    assert "more directions than" in text and "stable k_95 4–7, first 3–3, code k* none" in text
    assert "do not recover" in text
    assert "also recovers" in report.recovery_reading([4], [4], [4], {"cross-seed PCA": 0.97}, 0.95)
    assert "inherits" in report.init_reading([0.1, 0.9], [0.96, 0.1], [0.9, 0.9], [0.5, 0.5])
    text = report.init_reading([0.9], [0.1], [0.9], [0.9])
    assert "0 of 1" in text and "inherits" not in text and "markedly" not in text
    assert "random init left inside it" in report.init_residue_reading([0.1], [0.9])
    assert "does not keep" in report.init_residue_reading([0.1], [0.2])
    assert "OUTSIDE" in report.joint_sanity([1.0], 1e-3, 1e-5)
    assert "within" in report.joint_sanity([1.0], 0.0, 1e-5)
    assert "same dissociation" in report.pca_reading([0.99], [0.4], 0.9, 0.8, 0.99, [0.3, 0.75])
    assert "does not show" in report.pca_reading([], [], 0.0, 0.8, 0.99, [0.3, 0.75])
    comps = [{"scale": "S", "dimension": True, "recovery": False}]
    assert report.components_value(comps, ["dimension", "recovery"]) == "S: dimension hold"


# ── verdict-trust fixes: minimum evidence, positive controls, init residue, judged scales ─────────
# Each test feeds an input on which the earlier rule passed and the fixed one does not.


def test_one_seed_is_inconclusive_everywhere():
    one = dict(seeds=(42,))
    assert (
        rules.global_subspace_dim(
            runs("S", **one, **{"k_0.95": 2, "k_0.99": 4}), scales=["S"], **DIM
        ).verdict
        == "inconclusive"
    )
    assert rules.trajectory_pca_recovery(runs(**one, stable=3), **REC).verdict == "inconclusive"
    assert rules.local_full_rank(matrices(1.0, 42, 9, 1, "final"), **FR).verdict == "inconclusive"
    assert rules.per_matrix_svd_failure(failure(True, True, **one), **PM).verdict == "inconclusive"
    assert (
        rules.joint_svd_failure(
            failure(True, True, "J1", **one) + failure(True, True, "J3", **one), **JS
        ).verdict
        == "inconclusive"
    )
    svd, joint = "per-matrix SVD (split)", "joint SVD (J1)"
    assert (
        rules.energy_accuracy_dissociation(
            points(svd, 0.95, 0.1, **one) + points(joint, 0.95, 0.1, **one), **ED
        ).verdict
        == "inconclusive"
    )
    v = cross(overview("S", **one), ["S"])
    assert v.verdict == "inconclusive" and "3 seeds" in v.rule
    # fifteen runs of one seed are still one seed
    many = runs(wds=(0.1, 0.2, 0.3, 0.5, 1.0), seeds=(42,), stable=3)
    assert len(many) == 5 and rules.trajectory_pca_recovery(many, **REC).verdict == "inconclusive"
    assert rules.trajectory_pca_recovery(many, min_evidence=1, **REC).verdict == "reproduced"


def test_failure_claims_need_their_positive_control():
    broken = rules.per_matrix_svd_failure(
        failure(True, True), **(PM | {"full_rank_R": [1, 0.4, 1]})
    )
    assert broken.verdict == "inconclusive" and "0.999" in broken.rule
    no_control = PM | {"full_rank_R": []}
    assert rules.per_matrix_svd_failure(failure(True, True), **no_control).verdict == "inconclusive"
    both = failure(True, True, "J1") + failure(True, True, "J3")
    ok = dict(half_R=0.5, full_R=0.95, cond_share=0.8, agree_tol=1e-5)
    assert rules.joint_svd_failure(both, full_rank_R=[1.0], gap=0.0, **ok).verdict == "reproduced"
    assert rules.joint_svd_failure(both, full_rank_R=[0.2], gap=0.0, **ok).verdict == "inconclusive"
    v = rules.joint_svd_failure(both, full_rank_R=[1.0], gap=1e-3, **ok)
    assert v.verdict == "inconclusive" and "1e-05" in v.rule
    assert (
        rules.joint_svd_failure(both, full_rank_R=[1.0], gap=float("nan"), **ok).verdict
        == "inconclusive"
    )


def test_per_matrix_failure_explained_by_init_residue_is_not_supported():
    wt = runs(variant="W_T truncated", fails_half=False, fails_below_full=False, first_full=0.5)
    v = rules.per_matrix_svd_failure(failure(True, True), wt_failure=wt, **PM)
    assert v.verdict == "not supported" and v.evidence.n == 3
    still = runs(variant="W_T truncated", fails_half=True, fails_below_full=True, first_full=1.0)
    assert (
        rules.per_matrix_svd_failure(failure(True, True), wt_failure=still, **PM).verdict
        == "reproduced"
    )


def test_cross_scale_needs_most_runs_grokked_and_all_four_somewhere():
    # full rank alone at every scale no longer earns "partial"
    weak = overview("S", k=12) + overview("M", k95=None)
    v = cross(weak, ["S", "M"])
    assert v.verdict == "not reproduced"
    # one grokked run of three does not stand for its scale
    status = overview("S") + overview("M", grokked={42: True, 137: False, 2024: False})
    v = cross(overview("S") + overview("M", seeds=(42,)), ["S", "M"], status)
    assert v.verdict == "partial" and v.evidence.n == 3
    full = overview("S") + overview("M")
    assert cross(full, ["S", "M"]).verdict == "reproduced"


def test_local_full_rank_judges_w_t_drops_thin_matrices_and_needs_the_control_to_differ():
    # Δ_W passes (old rule: reproduced) but W_T, the judged object, does not
    rows = matrices(1.0, 42, 9, 1) + matrices(1.0, 137, 9, 1) + matrices(1.0, 2024, 9, 1)
    rows += (
        matrices(1.0, 42, 1, 9, "final")
        + matrices(1.0, 137, 1, 9, "final")
        + matrices(1.0, 2024, 1, 9, "final")
    )
    v = rules.local_full_rank(rows, **FR)
    assert v.verdict == "not reproduced" and "W_T" in v.rule and "sides ≥ 3" in v.rule
    # W_T passes, and so does the λ = 0 control: not supported
    good = [r | {"object": "final"} for r in rows if r["object"] == "delta"]
    control = [r | {"scale": "S, λ=0 control", "weight_decay": 0.0} for r in good]
    assert rules.local_full_rank(good, **FR).verdict == "reproduced"
    assert rules.local_full_rank(good, controls=control, **FR).verdict == "not supported"
    # a 2 × 128 matrix does not count toward the share
    thin = [
        r | {"shape": "2x128", "entropy_n": 0.1, "r99_n": 0.1}
        for r in matrices(1.0, 42, 0, 4, "final")
        + matrices(1.0, 137, 0, 4, "final")
        + matrices(1.0, 2024, 0, 4, "final")
    ]
    assert rules.local_full_rank(good + thin, **FR).verdict == "reproduced"


def test_full_rank_values_name_the_judged_object_and_the_control():
    rows = {"entropy_n": [0.9, 0.7], "r99_n": [0.8, 0.6]}
    ours, null = report.full_rank_values(
        rows, {("S", 1.0): 0.9}, {("S, λ=0", 0.0): 1.0}, 0.8, "W_T", [0.87], [0.1], [0.96]
    )
    assert ours.startswith("W_T: entropy rank/n 0.80") and "passing conditions 100%" in ours
    assert null.startswith("λ = 0 control: 1.00") and "cos(Δ_W, −W_0) 0.96" in null


def test_cross_scale_full_rank_component_reads_w_t():
    # Δ_W passes everywhere (delta_pass_share 1.0, the old component) but W_T does not
    v = cross(overview("S", share=0.1), ["S"])
    assert v.checks["S: full rank"] is False and v.verdict == "not reproduced"
