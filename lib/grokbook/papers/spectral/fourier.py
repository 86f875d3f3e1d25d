"""Tables of the four Fourier claims (spec.add-single-mode, spec.mul-dlog-mode, spec.sub-multimode,
spec.x2y2-no-single-basis): the shared per-model pipeline over the grid's runs, the edge table,
and the short texts the ledger stores (our value, the null). Xu 2026d Fig. 1.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from grokbook.measures import spectral
from grokbook.measures.trajectory import Spread

SUMMARY = ["seed", "inputs", "k_star", "F_v1", "F_v2", "F_v3", "peak_v1", "peak_v2", "peak_v3",
           "top_mean", "bulk_mean", "kstar_mean", "null_mean", "null_q95", "null_q99", "span_mean",
           "wn_mean", "wn_q99", "eta2_top", "null_eta2", "eta2_wn99"]   # summary table columns
CONTROL = ["seed", "inputs", "variant", "F_v1", "F_v2", "F_v3", "peak_v1", "peak_v2", "peak_v3",
           "top_mean", "null_mean", "null_q99", "wn_q99"]   # columns of the control-grouping tables


def analyse(runs, bases: Sequence[str], *, window: str, W: int, centred: bool, n_dirs: int,
            n_null: int, n_span: int, null_seed: int, rel_eps: float, wn_draws: int) -> list:
    """`spectral.analyse_model` of every GridRun in `runs`; the window ends at the run's stop step
    (window = "stop", as coded) or at the end of the post-grok tail (window = "tail")."""
    return [spectral.analyse_model(g.run, end_step=None if window == "stop" else g.run.final_step,
                                   W=W, centred=centred, n_dirs=n_dirs, n_null=n_null,
                                   n_span=n_span, null_seed=null_seed, rel_eps=rel_eps,
                                   bases=list(bases), wn_draws=wn_draws)
            for g in runs]


def edge_table(analyses, runs, snapshot_every: int) -> pd.DataFrame:
    """One row per model: window, grok step, gap index k*, gap ratio R, σ2/σ1 and E3."""
    return pd.DataFrame([{"seed": a.seed,
                          "window": f"{a.window_steps[0] - snapshot_every}–{a.end_step}",
                          "grok step R98": g.run.grok_step(), "k* (weighted)": a.edge.k_star,
                          "R": a.edge.gap_ratio, "σ2/σ1": a.edge.sigma[1] / a.edge.sigma[0],
                          "E3": a.edge.E3}
                         for a, g in zip(analyses, runs)])


def directions(analyses, keys) -> pd.DataFrame:
    """Every `spectral.direction_rows` row of every model for the (inputs, basis, variant) keys."""
    return pd.DataFrame([r for a in analyses for r in spectral.direction_rows(a, keys)])


def eta2_white_noise(p: int, pairs, basis: str, q: float = 0.99) -> float:
    """The q-quantile of η² for a white-noise field over these pairs in this grouping: with N kept
    pairs in K non-empty classes, η² of i.i.d. Gaussian values is Beta((K−1)/2, (N−K)/2)."""
    from scipy.stats import beta
    g = spectral.groupings(p, pairs)[basis].g
    g = g[g >= 0]
    N, K = len(g), len(np.unique(g))
    return float(beta.ppf(q, (K - 1) / 2, (N - K) / 2)) if 1 < K < N else math.nan


def summary(analyses) -> pd.DataFrame:
    """Every `spectral.summary_rows` row of every model, with `eta2_wn99`: the white-noise 99th
    percentile of η² for the row's pairs and grouping (the gate of the Fourier rules)."""
    rows = pd.DataFrame([r for a in analyses for r in spectral.summary_rows(a)])
    pairs = {(a.seed, inp): a.inputs[inp] for a in analyses for inp in a.inputs}
    rows["eta2_wn99"] = [eta2_white_noise(r.p, pairs[(r.seed, r.inputs)], r.basis)
                         for r in rows.itertuples()]
    return rows


def top3_lists(analyses, basis: str, inputs: str = "test") -> dict[int, list]:
    """seed -> the top-3 frequency lists of v1, v2, v3 in `basis`."""
    return {a.seed: a.spectra[(inputs, basis, "zero")][0].top3[:3].tolist() for a in analyses}


def other_generator(p: int, g: int | None = None) -> int:
    """The second generator of the dlog check: g if given (it must be a primitive root of p), else
    the second-smallest primitive root of p (7 for p = 97, the paper's code)."""
    from grokbook.errors import ConfigError
    qs = [q for q in range(2, p) if (p - 1) % q == 0 and all(q % r for r in range(2, q))]

    def is_root(x):
        return 1 < x < p and all(pow(x, (p - 1) // q, p) != 1 for q in qs)

    if g is not None:
        if not is_root(int(g)):
            raise ConfigError(f"alt_generator={g} is not a primitive root of p={p}")
        return int(g)
    roots = [x for x in range(2, p) if is_root(x)]
    if len(roots) < 2:
        raise ConfigError(f"p={p} has fewer than two primitive roots; the check needs two")
    return roots[1]


def mul_seeds(rows: pd.DataFrame, ratios: pd.DataFrame, log_basis: str, raw_basis: str,
              inputs: str = "test") -> list[dict]:
    """Per seed the inputs of `rules.mul_dlog_mode`: the dlog and raw summary rows (empty class 0),
    the imputed dlog/raw ratio and its random-triple 95th percentile."""
    t = ratios[ratios.inputs == inputs].set_index("seed")
    pick = rows[(rows.inputs == inputs) & (rows.variant == "zero")]
    def row(s, basis):
        return pick[(pick.seed == s) & (pick.basis == basis)].iloc[0].to_dict()

    return [{"seed": s, "dlog": row(s, log_basis), "raw": row(s, raw_basis),
             "ratio": t.loc[s, "imputed ratio"], "ratio_null_q95": t.loc[s, "null q95"]}
            for s in t.index]


def _peaks(r) -> str:
    return f"({r.peak_v1}, {r.peak_v2}, {r.peak_v3})"


def add_values(t: pd.DataFrame, edges: pd.DataFrame) -> tuple[str, str]:
    """Our value and the null of spec.add-single-mode from its test-pair rows and the edge table."""
    peaks = "; ".join(f"s{int(r.seed)} {(int(r.peak_v1), int(r.peak_v2), int(r.peak_v3))}"
                      for r in t.itertuples())
    ours = (f"test pairs: F(v1–v3) mean {Spread.of(t.top_mean).fmt(digits=3)}, peaks {peaks}, "
            f"k* {list(edges['k* (weighted)'])}")
    null = (f"random directions: mean F {Spread.of(t.null_mean).fmt(digits=3)}, 99th pct "
            f"{Spread.of(t.null_q99).fmt(digits=3)}; white-noise 99th pct {t.wn_q99.iloc[0]:.3f}; "
            f"bulk v4–v8 {Spread.of(t.bulk_mean).fmt(digits=3)}")
    return ours, null


def mul_values(ratios: pd.DataFrame, dl: pd.DataFrame) -> tuple[str, str]:
    """Our value and the null of spec.mul-dlog-mode (test-pair ratios; dlog rows by seed)."""
    t = ratios[ratios.inputs == "test"]
    ours = (f"test pairs: dlog/raw top-3 ratio {Spread.of(t['paper ratio']).fmt(digits=2)} "
            "as coded, "
            f"{Spread.of(t['imputed ratio']).fmt(digits=2)} imputed; F_dlog(v1–v3) mean "
            f"{Spread.of(dl.top_mean).fmt(digits=3)}, peaks "
            + "; ".join(f"s{s} {_peaks(r)}" for s, r in dl.iterrows()))
    null = (f"random triples: imputed ratio 95th pct {Spread.of(t['null q95']).fmt(digits=2)}; "
            f"random-direction F_dlog 99th pct {Spread.of(dl.null_q99).fmt(digits=3)}; white noise "
            f"99th pct {dl.wn_q99.iloc[0]:.3f}")
    return ours, null


def sub_values(t: pd.DataFrame) -> tuple[str, str]:
    """Our value and the null of spec.sub-multimode (test-pair rows by seed, with top_bulk)."""
    ours = ("test pairs: peaks " + "; ".join(f"s{s} {_peaks(r)}" for s, r in t.iterrows())
            + f"; F(v1–v3) mean {Spread.of(t.top_mean).fmt(digits=3)}; top/bulk "
            f"{Spread.of(t.top_bulk).fmt(digits=2)}")
    null = (f"random directions: F 95th pct {Spread.of(t.null_q95).fmt(digits=3)}, mean "
            f"{Spread.of(t.null_mean).fmt(digits=3)}; white noise 99th pct {t.wn_q99.iloc[0]:.3f}")
    return ours, null


def x2y2_rows(analyses) -> pd.DataFrame:
    """Summary rows of the x²+y² page (the imputed variant only for the output grouping), with
    whether v1–v3 collapse in that grouping and mean F(v1–v3) over the random 99th percentile."""
    from grokbook.papers.spectral.rules import single_basis_collapse
    rows = summary(analyses)
    rows = rows[(rows.variant != "impute") | (rows.basis == "x2_y2")].reset_index(drop=True)
    rows["collapse"] = [single_basis_collapse(r) for r in rows.to_dict("records")]
    rows["F/null_q99"] = rows.top_mean / rows.null_q99
    return rows


def x2y2_values(t: pd.DataFrame) -> tuple[str, str, pd.DataFrame]:
    """Our value, the null and the best grouping per seed (largest F/null_q99) of
    spec.x2y2-no-single-basis from its test-pair rows."""
    best = t.loc[t.groupby("seed")["F/null_q99"].idxmax()].set_index("seed")
    n_hit = sum(bool(t[t.seed == s].collapse.any()) for s in best.index)
    ours = ("test pairs, best grouping per seed: " + "; ".join(
        f"s{s} {r.basis} ({r.variant}) F(v1–v3) {r.top_mean:.3f}, peaks {_peaks(r)}"
        for s, r in best.iterrows()) + f"; collapsing groupings: {n_hit}/{len(best)} seeds")
    null = (f"random directions in the best grouping: 99th pct "
            f"{Spread.of(best.null_q99).fmt(digits=3)}; white noise 99th pct "
            f"{Spread.of(best.wn_q99).fmt(digits=3)}")
    return ours, null, best
