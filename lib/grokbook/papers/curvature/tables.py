"""Row builders of the baseline-grid claim pages (Xu 2026a §3–4): one dict per run, probe or matrix,
built from the grid's runs with the measures of grokbook.measures, so the notebooks only call them
and tabulate the rows. `group` and `condition` sort a run into the grokking operations, the
non-grokking operations and the λ-control runs.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from grokbook.measures import defect as dm
from grokbook.measures.curves import training_phase


def condition(weight_decay: float, op: str, main_weight_decay: float,
              grok_ops: Sequence[str]) -> str:
    """"grokking op", "non-grokking op" or "λ=<value>" for a run at weight_decay doing op."""
    if weight_decay != main_weight_decay:
        return f"λ={weight_decay:g}"
    return "grokking op" if op in grok_ops else "non-grokking op"


def with_condition(rows: list[dict], main_weight_decay: float,
                   grok_ops: Sequence[str]) -> list[dict]:
    """The rows (each with `weight_decay` and `op`), each with its `condition` added."""
    return [{**r, "condition": condition(r["weight_decay"], r["op"], main_weight_decay, grok_ops)}
            for r in rows]


def alignment_rows(runs, groups: Sequence[str], P: int) -> list[dict]:
    """One row per probe with a displacement: group, op, seed, step, the ratio c̄_t / √(2/(πP)) and
    the training phase at that step (Xu 2026a App., fig. O). The first probe (no Δθ yet) and
    probes without a ratio are left out."""
    rows = []
    for r, g in zip(runs, groups):
        steps = np.asarray(r.probes["steps"])
        phase = dm.at_steps(steps, r.eval_steps, training_phase(r.train_acc[:, 0],
                                                                   r.test_acc[:, 0]))
        ratio = dm.alignment_ratio(r.probes["align"], P)
        rows += [{"group": g, "op": r.config.ops[0], "seed": r.config.seed, "step": int(s),
                  "ratio": float(x), "phase": ph}
                 for s, x, ph in zip(steps, ratio, phase) if not np.isnan(x)]
    return rows


def onset_rows(runs, groups: Sequence[str], defect: Sequence[np.ndarray], *, factor: float,
               floor: float, smooth_width: int) -> list[dict]:
    """One row per run: group, op, seed, memorisation step, the defect onset and its smoothed
    variant (Methods: onset), R90, R98, the lead R90 − onset and both events counted from
    memorisation. defect: the per-probe median D of each run."""
    rows = []
    for r, g, d in zip(runs, groups, defect):
        steps = r.probes["steps"]
        row = {"group": g, "op": r.config.ops[0], "seed": r.config.seed,
               "memorised": r.memorised_step(),
               "onset": dm.onset_step(steps, d, factor=factor, floor=floor),
               "smoothed onset": dm.smoothed_onset_step(steps, d, smooth_width, factor=factor,
                                                        floor=floor),
               "R90": r.grok_step(threshold=0.9, patience=1), "R98": r.grok_step()}
        rows.append(row | {"lead": dm.lead_time(row["R90"], row["onset"]),
                           "onset − mem": dm.lead_time(row["onset"], row["memorised"]),
                           "R90 − mem": dm.lead_time(row["R90"], row["memorised"])})
    return rows


def decomposition_rows(rows: Sequence[dict], parts: Sequence, probe_every: int,
                       n_baseline: int) -> list[dict]:
    """Per run (rows: group, op, seed, R90, max_step, as in the run table) at two moments — the last
    probe before R90 (the step of the maximum D for a run without R90) and the maximum D — the
    factors by which D, ‖δ‖/η² and 1/(‖g_A‖‖g_B‖) changed since the baseline and the denominator's
    share of D's log-growth (measures.defect.growth_factors; Xu 2026a Fig. 5)."""
    out = []
    for row, d in zip(rows, parts):
        r90 = row["R90"]
        missing = r90 is None or (isinstance(r90, float) and np.isnan(r90))
        pre = row["max_step"] if missing else r90 - probe_every
        for moment, step in (("before R90", pre), ("max D", row["max_step"])):
            out.append({"group": row["group"], "run": f"{row['op']} s{row['seed']}",
                        "moment": moment, "step": step,
                        **dm.growth_factors(d, step, n_baseline)})
    return out


def precision_rows(runs, labels: Sequence[str], groups: Sequence[str], samples: int) -> list[dict]:
    """The float32-versus-float64 commutator check (measures.defect.precision_check, medians over
    `samples` batch pairs) at the first and the last θ of every run given."""
    out = []
    for r, label, g in zip(runs, labels, groups):
        for name, theta in (("θ_0", r.theta_init), ("θ_final", r.theta_final)):
            check = dm.precision_check(r.config, theta, samples, seed=0)
            out.append({"group": g, "run": label, "θ": name,
                        **{k: float(np.median(v)) for k, v in check.items()}})
    return out
