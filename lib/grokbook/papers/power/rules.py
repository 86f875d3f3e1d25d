"""Verdict rules of Power et al. 2022, one function per claim (see grokbook.papers.verdict).

Each takes the measured numbers of its notebook (small tables, dicts of per-run values) and the
thresholds (notebook parameters) and returns a `Verdict` whose `rule` states the thresholds in
words. A value that a run did not reach is None or NaN; it never satisfies a condition. The
strongest tier of every rule needs at least `min_evidence` seeds behind it; with fewer, the verdict
is "inconclusive"."""
from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence

import pandas as pd

from grokbook.errors import ConfigError
from grokbook.measures.data_efficiency import FStar, compare_f_star, strictly_decreasing
from grokbook.papers.verdict import Evidence, Verdict

MIN_EVIDENCE = 3      # seeds behind the strongest tier of every rule (fewer: inconclusive)


def _num(x) -> float:
    """None / NaN / number -> float (NaN for a missing value)."""
    return float("nan") if x is None else float(x)


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _verdict(verdict: str, rule: str, evidence: Evidence, checks: dict) -> Verdict:
    return Verdict(verdict, rule, evidence,
                   {k: None if v is None else bool(v) for k, v in checks.items()})


def _enough(evidence: Evidence, min_evidence: int) -> tuple[str, bool]:
    """The minimum-evidence check of the strongest tier, in words, and whether it holds."""
    return f"at least {min_evidence} {evidence.unit} ({evidence.n})", evidence.n >= min_evidence


def delayed_generalization(runs: Sequence[Mapping], *, train_level: float, val_level: float,
                           max_val_at_t_train: float, min_delay: float, no_delay: float,
                           min_evidence: int = MIN_EVIDENCE) -> Verdict:
    """power.delayed-generalization (Power et al. 2022 §3.1, Fig. 1 left), the λ = 1, 10⁵-step
    variant. runs: one dict per seed with `label`, `val_at_t_train` (validation accuracy at T_train)
    and `ratio` (T_val / T_train). The 10⁶-step variant without weight decay is not run, so the best
    verdict is "partial"; it needs `min_evidence` seeds."""
    quiet = [_num(r["val_at_t_train"]) < max_val_at_t_train for r in runs]
    delayed = [_num(r["ratio"]) >= min_delay for r in runs]
    together = [_num(r["ratio"]) < no_delay for r in runs]
    n = len(runs)
    evidence = Evidence.of([r["label"] for r in runs], "seeds")
    enough_words, enough = _enough(evidence, min_evidence)
    rule = ("partial (the 10⁶-step variant without weight decay is not run, so nothing stronger) "
            f"if in every seed, with at least {min_evidence} seeds, the validation accuracy at "
            f"T_train (first training accuracy ≥ {train_level}) is below {max_val_at_t_train} and "
            f"T_val (first validation accuracy ≥ {val_level}) ≥ {min_delay:g}·T_train; not "
            f"reproduced if T_val < {no_delay:g}·T_train in some seed; inconclusive otherwise")
    checks = {enough_words: enough,
              f"every seed: validation accuracy at T_train < {max_val_at_t_train}":
              all(quiet) if n else None,
              f"every seed: T_val ≥ {min_delay:g}·T_train": all(delayed) if n else None,
              f"some seed: T_val < {no_delay:g}·T_train": any(together) if n else None}
    if enough and all(q and d for q, d in zip(quiet, delayed)):
        return _verdict("partial", rule, evidence, checks)
    if any(together):
        return _verdict("not reproduced", rule, evidence, checks)
    return _verdict("inconclusive", rule, evidence, checks)


def val_loss_rise(runs: Sequence[Mapping], *, train_level: float, val_level: float,
                  min_evidence: int = MIN_EVIDENCE) -> Verdict:
    """power.val-loss-rise (Power et al. 2022 Appendix Fig. 4). runs: one dict per seed with
    `label`, `rises` (an interior validation-loss maximum above the step-0 value), `back_below`
    (the loss later falls below the step-0 value), `peak_after_t_train`, `below_after_t_val` and
    `t_val` (None or NaN if validation accuracy never reached `val_level`)."""
    n = len(runs)
    shape = [bool(r["rises"]) and bool(r["back_below"]) for r in runs]
    full = [s and bool(r["peak_after_t_train"]) and bool(r["below_after_t_val"])
            for s, r in zip(shape, runs)]
    tested = n > 0 and all(not _missing(r["t_val"]) for r in runs)
    evidence = Evidence.of([r["label"] for r in runs], "seeds")
    enough_words, enough = _enough(evidence, min_evidence)
    rule = (f"reproduced if, with at least {min_evidence} seeds, in every seed the validation loss "
            "has an interior maximum above its step-0 value, at or after T_train (first training "
            f"accuracy ≥ {train_level}), and is below its step-0 value at some evaluation at or "
            f"after T_val (first validation accuracy ≥ {val_level}); partial if every seed rises "
            "and falls back below the step-0 value without that timing; inconclusive if some run "
            f"never reaches T_val or fewer than {min_evidence} seeds show the full rule; not "
            "reproduced otherwise")
    checks = {enough_words: enough,
              "every seed: interior maximum above the step-0 value, later back below it":
              all(shape) if n else None,
              "every seed: maximum at or after T_train and below the step-0 value after T_val":
              all(full) if n else None,
              "every run reaches T_val (the fall can be judged)": tested if n else None}
    if n and all(full):
        verdict = "reproduced" if enough else "inconclusive"
    elif n and all(shape):
        verdict = "partial"
    else:
        verdict = "not reproduced" if tested else "inconclusive"
    return _verdict(verdict, rule, evidence, checks)


def embedding_circle(scores: Mapping[str, float], control_scores: Mapping[str, float],
                     null_max: float, *, all_grokked: bool, min_score: float,
                     min_evidence: int = MIN_EVIDENCE) -> Verdict:
    """power.embedding-circle (Power et al. 2022 §3.4, Fig. 3 right). scores: circle score per
    weight-decay model (label -> score, one model per seed); control_scores: the same for the
    no-decay controls; null_max: the largest score of the permutation null; all_grokked: every
    weight-decay run grokked within the budget. No model -> inconclusive."""
    ours = [_num(v) for v in scores.values()]
    ctrl = [_num(v) for v in control_scores.values()]
    low = min(ours) if ours and not any(math.isnan(s) for s in ours) else float("nan")  # NaN fails
    above_null = bool(ours) and low > null_max
    above_ctrl = bool(ours) and (not ctrl or low > max(ctrl))
    reach = bool(ours) and all(s >= min_score for s in ours)
    evidence = Evidence.of(list(scores), "seeds")
    enough_words, enough = _enough(evidence, min_evidence)
    rule = (f"reproduced if, with at least {min_evidence} seeds, every weight-decay model has a "
            f"circle score ≥ {min_score} and above both the highest permutation-null draw and "
            "every no-decay control; partial if it beats both nulls but not every model reaches "
            f"{min_score}; inconclusive if some weight-decay run did not grok or fewer than "
            f"{min_evidence} seeds meet the full rule; not reproduced otherwise")
    checks = {enough_words: enough, "every weight-decay run grokked": all_grokked,
              f"every model scores ≥ {min_score}": reach if ours else None,
              "lowest model score > highest permutation-null draw": above_null if ours else None,
              "lowest model score > every no-decay control": above_ctrl if ours else None}
    if not ours or not all_grokked:
        return _verdict("inconclusive", rule, evidence, checks)
    beats = above_null and above_ctrl
    if beats and reach:
        verdict = "reproduced" if enough else "inconclusive"
    else:
        verdict = "partial" if beats else "not reproduced"
    return _verdict(verdict, rule, evidence, checks)


def data_fraction_vs_steps(medians, *, seeds: Sequence[int], min_span: float,
                           t_train_range: Sequence[float], trend_rho: float,
                           min_evidence: int = MIN_EVIDENCE) -> Verdict:
    """power.data-fraction-vs-steps (Power et al. 2022 §3.1.1, Fig. 1 centre). medians: one row per
    training fraction (a table or a list of dicts) with `frac`, `T_val`, `val_censored`,
    `T_train`, `train_censored` (censored medians over `seeds`, the seeds present at every
    fraction). A fraction generalises when its median T_val is observed."""
    columns = ["frac", "T_val", "val_censored", "T_train", "train_censored"]
    m = pd.DataFrame(medians, columns=columns)
    m = m.sort_values("frac").reset_index(drop=True)
    gen = m[~m.val_censored.astype(bool)]
    rho = float(m.frac.corr(m.T_val, method="spearman")) if m.T_val.nunique() > 1 else float("nan")
    monotone = len(gen) >= 2 and strictly_decreasing(gen.T_val)
    span = float(gen.T_val.iloc[0] / gen.T_val.iloc[-1]) if len(gen) >= 2 else float("nan")
    lo, hi = t_train_range
    t_train_in = len(m) > 0 and bool(m.T_train.between(lo, hi).all() and not m.train_censored.any())
    t_train_flat = len(m) > 0 and bool(m.T_train.iloc[0] <= m.T_train.iloc[-1])
    evidence = Evidence.of([f"s{s}" for s in seeds], "seeds")
    enough_words, enough = _enough(evidence, min_evidence)
    rule = ("reproduced if, with at least "
            f"{min_evidence} seeds per fraction, the median T_val over the generalising fractions "
            "(median T_val observed) rises strictly as the fraction falls and spans ≥ "
            f"{min_span:g}× from the largest to the smallest of them, and the median T_train stays "
            f"in [{lo:g}, {hi:g}] at every fraction without being larger at the smallest fraction "
            "than at the largest; partial if it rises strictly or the Spearman ρ(fraction, median "
            f"T_val) ≤ −{trend_rho}; inconclusive with fewer than two generalising fractions, or "
            f"when the reproduced tier holds on fewer than {min_evidence} seeds; not reproduced "
            "otherwise")
    full = monotone and span >= min_span and t_train_in and t_train_flat
    checks = {enough_words: enough, "at least two generalising fractions": len(gen) >= 2,
              "median T_val rises strictly as the fraction falls": monotone,
              f"span ≥ {min_span:g}× (measured {span:.1f}×)": span >= min_span,
              f"median T_train in [{lo:g}, {hi:g}] at every fraction": t_train_in,
              "median T_train not larger at the smallest fraction": t_train_flat,
              f"Spearman ρ ≤ −{trend_rho} (measured {rho:.2f})": rho <= -trend_rho}
    if len(gen) < 2:
        verdict = "inconclusive"
    elif full:
        verdict = "reproduced" if enough else "inconclusive"
    elif monotone or rho <= -trend_rho:
        verdict = "partial"
    else:
        verdict = "not reproduced"
    return _verdict(verdict, rule, evidence, checks)


def _halved(ref: FStar, other: FStar, min_ratio: float, max_fraction: float) -> Optional[bool]:
    """Is f*(ref) ≤ f*(other) / min_ratio? A variant that never reaches the threshold is censored:
    its f* is only known to exceed the largest fraction tested, so the comparison is decided
    only when that bound already settles it (True), and undecided (None) otherwise. `ref.value`
    is an upper bound of f*(ref) in every case."""
    if ref.never:
        return False
    if other.never:
        return True if ref.value <= max_fraction / min_ratio else None
    return ref.value <= other.value / min_ratio


def weight_decay_most_effective(f_star: Mapping[str, FStar], *, seeds: Sequence[int],
                                reference: str, adam_variant: str, init_variant: str,
                                fractions: Sequence[float], min_fractions: int, min_ratio: float,
                                min_share: float, acc_threshold: float,
                                min_evidence: int = MIN_EVIDENCE) -> Verdict:
    """power.weight-decay-most-effective (Power et al. 2022 §3.3, Fig. 2 left). f_star: variant ->
    f*, the smallest training fraction at which its seed-mean best validation accuracy (over
    `seeds`) reaches `acc_threshold`; fractions: the fractions tested. A variant that never
    reaches the threshold is censored (its f* is only known to exceed the largest fraction), not
    f* = 1."""
    if reference not in f_star:
        raise ConfigError(f"reference={reference!r} must be one of the variants {list(f_star)}")
    ref = f_star[reference]
    others = {n: fs for n, fs in f_star.items() if n != reference}
    top = max(fractions) if len(fractions) else 1.0
    beaten_by = [n for n, fs in others.items() if compare_f_star(fs, ref) is True]
    halved = [n for n, fs in others.items() if _halved(ref, fs, min_ratio, top) is True]
    bracket: Optional[bool] = None
    if adam_variant in f_star and init_variant in f_star:
        init, adam = f_star[init_variant], f_star[adam_variant]
        # towards-init must reach the threshold itself; an Adam that never does lies above it
        bracket = (not init.never and ref.value <= init.value
                   and (adam.never or init.value <= adam.value))
    evidence = Evidence.of([f"s{s}" for s in seeds], "seeds")
    enough_words, enough = _enough(evidence, min_evidence)
    rule = (f"f* = smallest fraction with seed-mean best validation accuracy ≥ {acc_threshold} (a "
            "variant that never reaches it is censored above the largest fraction tested); "
            f"reproduced if, with at least {min_evidence} seeds, no variant has a smaller f* than "
            f"{reference}, f*(reference) ≤ f*(v) / {min_ratio:g} is established for at least "
            f"{min_share:.0%} of the other variants, and f*({init_variant}) is reached and lies "
            f"between f*(reference) and f*({adam_variant}); partial if the reference is best but "
            "another condition fails; not reproduced if a variant needs strictly less data; "
            f"inconclusive with fewer than {min_fractions} fractions, when no variant reaches the "
            f"threshold, or when the reproduced tier holds on fewer than {min_evidence} seeds")
    decidable = len(fractions) >= min_fractions and not all(fs.never for fs in f_star.values())
    share = len(halved) >= min_share * len(others)
    checks = {enough_words: enough,
              f"at least {min_fractions} fractions and some variant reaches {acc_threshold}":
              decidable,
              "no variant needs strictly less data than the reference": not beaten_by,
              f"f*(reference) ≤ f*(v) / {min_ratio:g} established for ≥ {min_share:.0%} of the "
              f"others ({len(halved)}/{len(others)})": share,
              "towards-init reaches the threshold, between the reference and Adam": bracket}
    if not decidable:
        verdict = "inconclusive"
    elif beaten_by:
        verdict = "not reproduced"
    elif share and bracket:
        verdict = "reproduced" if enough else "inconclusive"
    else:
        verdict = "partial"
    return _verdict(verdict, rule, evidence, checks)


def operation_difficulty(f_star: Mapping[str, FStar], best_run_acc: Mapping[str, float], *,
                         seeds: Sequence[int], harder_pairs: Sequence[Sequence[str]],
                         pair_share: float, same_pair: Sequence[str], same_tol: float,
                         never_op: str, acc_threshold: float, n_fractions: int,
                         min_fractions: int, min_evidence: int = MIN_EVIDENCE) -> Verdict:
    """power.operation-difficulty (Power et al. 2022 §3.2, Fig. 2 right). f_star: op -> f* at
    `acc_threshold` (from the seed-mean best validation accuracy over `seeds`); best_run_acc: op
    -> the best validation accuracy of any single run (any seed, any fraction), so that "never
    generalises" fails as soon as one seed generalises."""
    pairs = {f"{a} needs less data than {b}": compare_f_star(f_star[a], f_star[b])
             for a, b in harder_pairs if a in f_star and b in f_star}
    decided = [v for v in pairs.values() if v is not None]
    c1 = None if len(decided) < 2 else sum(decided) >= pair_share * len(decided)
    a, b = same_pair
    c2 = None
    if a in f_star and b in f_star and compare_f_star(f_star[a], f_star[b]) is not None:
        fa, fb = f_star[a], f_star[b]
        # one never reaches the threshold, the other does: a difference, whatever the fraction grid
        c2 = fa.never == fb.never and abs(fa.value - fb.value) <= same_tol
    c3 = bool(_num(best_run_acc[never_op]) < acc_threshold) if never_op in best_run_acc else None
    evidence = Evidence.of([f"s{s}" for s in seeds], "seeds")
    enough_words, enough = _enough(evidence, min_evidence)
    rule = (f"(i) the symmetric operation has the smaller f* (at {acc_threshold}) in ≥ "
            f"{pair_share:.0%} of the decidable pairs {[list(p) for p in harder_pairs]} "
            f"(undecidable below two decidable pairs); (ii) f*({a}) and f*({b}) within {same_tol}, "
            "and both reached or both not; (iii) no single run of "
            f"{never_op} reaches {acc_threshold} at any fraction; reproduced: all three, with at "
            f"least {min_evidence} seeds; partial: two; inconclusive: fewer than two but the "
            f"undecidable ones could make two, fewer than {min_fractions} fractions, or all three "
            f"on fewer than {min_evidence} seeds; not reproduced otherwise")
    checks = {enough_words: enough, "(i) symmetric operations need less data": c1,
              f"(ii) f*({a}) ≈ f*({b})": c2, f"(iii) {never_op} never generalises": c3, **pairs}
    n_true = sum(c is True for c in (c1, c2, c3))
    n_none = sum(c is None for c in (c1, c2, c3))
    if n_fractions < min_fractions:
        verdict = "inconclusive"
    elif n_true == 3:
        verdict = "reproduced" if enough else "inconclusive"
    elif n_true == 2:
        verdict = "partial"
    else:
        verdict = "inconclusive" if n_true + n_none >= 2 else "not reproduced"
    return _verdict(verdict, rule, evidence, checks)
