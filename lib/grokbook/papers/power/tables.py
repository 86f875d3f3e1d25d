"""The measured tables of the Power et al. 2022 notebooks: one row per run (or per fraction,
variant, operation), built from recorded runs with the measures of grokbook.measures. No
plotting, no I/O."""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from grokbook.measures.curves import delay_events, first_below, loss_bump
from grokbook.measures.data_efficiency import (Censored, ExpFit, FStar, censored_median,
                                               exp_fit_bootstrap, f_star, log_linear_fit,
                                               mean_curve, pct_per_point, time_to_threshold)
from grokbook.measures.embedding import CircleFit, circle_fit, fourier_power
from grokbook.measures.trajectory import Spread
from grokbook.papers.power.grids import CurveRun
from grokbook.training.model import param_layout
from grokbook.training.train import Run


def spread_text(values, digits: int = 0) -> str:
    """"mean ± std (range, n)" over runs, or "not reached in k run(s)" if some run has no value."""
    v = pd.Series(list(values), dtype=float)
    if len(v) and v.notna().all():
        return Spread.of(v).fmt(digits=digits)
    return f"not reached in {int(v.isna().sum())} run(s)"


# --- learning-curve grid (delayed generalisation, validation-loss bump, output-head circle) ---

def delay_table(runs: Sequence[CurveRun], *, train_level: float, gen_level: float,
                val_level: float) -> pd.DataFrame:
    """One row per run: T_train, T_gen_start, T_val, validation accuracy at T_train and T_val /
    T_train (empty when an event did not happen). Ref: Power et al. 2022 §3.1, Fig. 1 left."""
    rows = []
    for g in runs:
        r = g.run
        ev = delay_events(r.eval_steps, r.train_acc[:, 0], r.test_acc[:, 0], train_level,
                          gen_level, val_level)
        rows.append({"label": g.label, "role": g.role, "op": g.op,
                     "train_frac": r.config.train_frac, "seed": g.seed, **dataclasses.asdict(ev),
                     "ratio": ev.ratio, "final_step": r.final_step})
    return pd.DataFrame(rows)


def delay_marks(table: pd.DataFrame) -> list[dict]:
    """T_train and T_val of each row, as vertical marks for plotting.accuracy_events."""
    return [{"T_train": _int(t), "T_val": _int(v)} for t, v in zip(table.t_train, table.t_val)]


def delay_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Spread over seeds of every event step and of the delay factor, per training fraction."""
    cols = {"T_train": ("t_train", 0), "T_gen_start": ("t_gen_start", 0), "T_val": ("t_val", 0),
            "T_val / T_train": ("ratio", 1), "val acc at T_train": ("val_at_t_train", 3)}
    return pd.DataFrame({f"{f:.0%} data": {k: spread_text(g[c], d) for k, (c, d) in cols.items()}
                         for f, g in table.groupby("train_frac", sort=False)})


def loss_bump_table(runs: Sequence[CurveRun], *, train_level: float,
                    val_level: float) -> pd.DataFrame:
    """One row per run: the validation-loss curve's step-0 value, maximum, its step and height (max
    / step-0), whether it is back below the step-0 value later, and the timing against T_train
    and T_val. Ref: Power et al. 2022 Appendix Fig. 4."""
    rows = []
    for g in runs:
        r = g.run
        b = loss_bump(r.eval_steps, r.test_loss[:, 0])
        ev = delay_events(r.eval_steps, r.train_acc[:, 0], r.test_acc[:, 0],
                          train_level=train_level, val_level=val_level)
        below = ev.t_val is not None and first_below(r.eval_steps, r.test_loss[:, 0], b.initial,
                                                     after=ev.t_val) is not None
        after_train = ev.t_train is not None and b.peak_step >= ev.t_train
        rows.append({"label": g.label, "λ": r.config.weight_decay, "seed": g.seed,
                     "initial": b.initial, "peak": b.peak, "peak_step": b.peak_step,
                     "height": b.height, "rises": b.rises, "T_train": ev.t_train,
                     "peak_after_t_train": after_train, "t_val": ev.t_val,
                     "back_below_step": b.back_below_step,
                     "back_below": b.back_below_step is not None, "below_after_t_val": below,
                     "final_loss": b.final, "final_step": r.final_step})
    return pd.DataFrame(rows)


def loss_peaks(runs: Sequence[CurveRun]) -> list[tuple[int, float]]:
    """(step, value) of each run's validation-loss maximum, for plotting.val_loss_bumps."""
    bumps = [loss_bump(g.run.eval_steps, g.run.test_loss[:, 0]) for g in runs]
    return [(b.peak_step, b.peak) for b in bumps]


def head_rows(run: Run) -> np.ndarray:
    """The p rows of the run's (single) output head, [p, d_model], from its final parameters."""
    off, shape = param_layout(run.config)["heads.weight"]          # (n_tasks, p, d_model)
    return run.theta_final[off:off + math.prod(shape)].reshape(shape)[0]


def model_name(g: CurveRun) -> str:
    return f"{g.op} λ={g.run.config.weight_decay:g} seed {g.seed}"


def circle_fits(runs: Sequence[CurveRun]) -> dict[str, CircleFit]:
    """Model name -> circle fit of its output-head rows (2-D PCA, angular order, best step k)."""
    return {model_name(g): circle_fit(head_rows(g.run), g.run.config.p) for g in runs}


def circle_table(runs: Sequence[CurveRun], fits: Mapping[str, CircleFit]) -> pd.DataFrame:
    """One row per model: grok step, final test accuracy, best k, circle score, variance in PC1+PC2
    and the largest Fourier share of the head rows. Ref: Power et al. 2022 §3.4, Fig. 3 right."""
    rows = []
    for g in runs:
        f = fits[model_name(g)]
        top = float(fourier_power(head_rows(g.run), g.run.config.p).max())
        rows.append({"model": model_name(g), "λ": g.run.config.weight_decay,
                     "grok_step": g.run.grok_step(), "final_test_acc": float(g.run.test_acc[-1, 0]),
                     "k": f.k, "circle_score": f.score, "PC1+PC2 variance": float(f.pc_share.sum()),
                     "top frequency share": top})
    return pd.DataFrame(rows)


def fourier_shares(runs: Sequence[CurveRun],
                   top: int = 8) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per model, the variance share of its head rows in each of the `top` frequencies strongest in
    any model; and those frequencies. -> ({name: [top]}, [top])."""
    power = {model_name(g): fourier_power(head_rows(g.run), g.run.config.p) for g in runs}
    freqs = np.argsort(np.max(list(power.values()), axis=0))[::-1][:top]
    return {n: v[freqs] for n, v in power.items()}, freqs


# --- fraction sweeps ---

def time_table(runs: Sequence[Run], *, train_threshold: float,
               val_threshold: float) -> pd.DataFrame:
    """One row per run: T_train and T_val (censored at the run's last step when not reached), the
    delay T_val − T_train and the best validation accuracy. Ref: Power et al. 2022 §3.1.1, Fig.
    1 centre."""
    rows = []
    for r in runs:
        tt = time_to_threshold(r.eval_steps, r.train_acc[:, 0], train_threshold, r.final_step)
        tv = time_to_threshold(r.eval_steps, r.test_acc[:, 0], val_threshold, r.final_step)
        rows.append({"frac": r.config.train_frac, "seed": r.config.seed, "T_train": tt.value,
                     "train_censored": tt.censored, "T_val": tv.value, "val_censored": tv.censored,
                     "delay": tv.value - tt.value, "best_val_acc": float(r.test_acc[:, 0].max())})
    return pd.DataFrame(rows)


def _censored(g: pd.DataFrame, col: str, cens: str) -> list[Censored]:
    return [Censored(v, c) for v, c in zip(g[col], g[cens])]


def median_table(table: pd.DataFrame) -> pd.DataFrame:
    """Censored medians over seeds per fraction of T_val, T_train and the delay, with every
    seed's T_val."""
    rows = []
    for f, g in table.groupby("frac"):
        v = censored_median(_censored(g, "T_val", "val_censored"))
        t = censored_median(_censored(g, "T_train", "train_censored"))
        d = censored_median(_censored(g, "delay", "val_censored"))
        rows.append({"frac": f, "T_val": v.value, "val_censored": v.censored, "T_train": t.value,
                     "train_censored": t.censored, "delay": d.value, "delay_censored": d.censored,
                     "T_val per seed": ", ".join(c.fmt() for c in _censored(g, "T_val",
                                                                              "val_censored"))})
    return pd.DataFrame(rows)


@dataclasses.dataclass(frozen=True)
class FractionFit:
    """ln T_val = a + b·frac over the generalising fractions, and the local rate between the two
    smallest."""
    gen: tuple                  # the generalising fractions, increasing
    fit: Optional[ExpFit]       # None with fewer than two generalising fractions
    local: Optional[float]      # % per point between the two smallest generalising fractions
    n_seeds: int                # seeds behind each median (the bootstrap resamples them)


def fraction_fit(table: pd.DataFrame, medians: pd.DataFrame, *, n_boot: int,
                 seed: int) -> FractionFit:
    """Exponential fit of the median T_val over the fractions whose median is observed, with a seed
    bootstrap of the slope. Ref: Power et al. 2022 §3.1.1 (40–50 % per point near 25–30 % data)."""
    gen = medians[~medians.val_censored.astype(bool)].sort_values("frac")
    n_seeds = int(table.groupby("frac").size().min()) if len(table) else 0
    if len(gen) < 2:
        return FractionFit(tuple(gen.frac), None, None, n_seeds)
    used = table[table.frac.isin(gen.frac)]
    groups = [_censored(g, "T_val", "val_censored") for _, g in used.groupby("frac")]
    fit = exp_fit_bootstrap(list(gen.frac), groups, n_boot=n_boot, seed=seed)
    local = pct_per_point(log_linear_fit(gen.frac.iloc[:2], gen.T_val.iloc[:2])[1])
    return FractionFit(tuple(gen.frac), fit, local, n_seeds)


def seeds_in_every(table: pd.DataFrame, by: str | Sequence[str]) -> list[int]:
    """The seeds that have a run in every group of `by` (e.g. every fraction): the seeds that
    entered every median or mean."""
    groups = [set(g.seed) for _, g in table.groupby(by)]
    return sorted(set.intersection(*groups)) if groups else []


def fit_numbers(ff: FractionFit) -> Optional[dict]:
    """The fit's numbers for the ledger (None without a fit)."""
    if ff.fit is None:
        return None
    f = ff.fit
    return {"a": f.a, "b": f.b, "b_lo": f.b_lo, "b_hi": f.b_hi, "fracs": f.fracs,
            "local_pct": ff.local}


def best_acc_table(runs: Sequence[Run], key: str = "op",
                   names: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """One row per run: `key` (its operation, or the given name per run), fraction, seed, best
    validation accuracy within the budget, T_train (first training accuracy ≥ 0.99) and the last
    step. Ref: Power et al. 2022 Fig. 2 (best validation accuracy after the budget)."""
    labels = names if names is not None else [r.config.ops[0] for r in runs]
    return pd.DataFrame([{key: n, "frac": r.config.train_frac, "seed": r.config.seed,
                          "best_val_acc": float(r.test_acc[:, 0].max()),
                          "T_train": r.memorised_step(),
                          "final_step": r.final_step} for n, r in zip(labels, runs)])


def mean_std_table(table: pd.DataFrame, key: str,
                   order: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """"mean ± std" over seeds of the best validation accuracy, `key` × fraction."""
    agg = table.groupby([key, "frac"], sort=False).best_val_acc.agg(["mean", "std"]).fillna(0.0)
    cells = agg["mean"].map("{:.3f}".format) + " ± " + agg["std"].map("{:.3f}".format)
    out = cells.unstack("frac")
    return out.reindex(order) if order is not None else out


def accuracy_curves(table: pd.DataFrame, key: str) -> dict[str, tuple]:
    """`key` value -> (fractions, seed-mean best validation accuracy, std over seeds)."""
    return {k: mean_curve(g.frac, g.best_val_acc) for k, g in table.groupby(key, sort=False)}


def f_stars(curves: Mapping[str, tuple], threshold: float) -> dict[str, FStar]:
    """`key` value -> f*, the smallest fraction whose seed-mean best validation accuracy reaches
    `threshold`."""
    return {k: f_star(f, m, threshold) for k, (f, m, _) in curves.items()}


def f_star_table(columns: Mapping[str, Mapping[str, FStar]], table: pd.DataFrame,
                 key: str) -> pd.DataFrame:
    """One row per variant or operation: its f* under every threshold in `columns` (column label ->
    {name: f*}), the value of the first one, and the median T_train of its runs."""
    first = next(iter(columns.values()))
    return pd.DataFrame([{key: k, **{c: fs[k].fmt() for c, fs in columns.items()},
                          "f* value": first[k].value,
                          "median T_train": table[table[key] == k].T_train.median()}
                         for k in first])


def _int(x) -> Optional[int]:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else int(x)
