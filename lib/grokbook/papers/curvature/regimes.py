"""Per-run summaries for the slow regime (curvature.md curv.slow-regime): grok steps under three rules, the
defect onset under the paper's committed detector and under a smoothed one, and the lead times.

The detectors themselves live in grokbook.defect (M4 and its smoothed variant); this module only decides
which probes they see. The committed detector sees every probe from step 0 (in the slow regime its baseline
is already inflated by the first probes, curvature.md ambiguity 4); the smoothed one sees the probes from the
memorisation step on, so its baseline is the post-memorisation level, as the brief's resolution asks.

Ref: curvature.md curv.slow-regime ("Resolution for onset"), M4.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from grokbook.measures.defect import lead_time, median_defect, onset_step, smoothed_onset_step


def post_memorisation_onset(steps: np.ndarray, series: np.ndarray, memorised: Optional[int], width: int = 5,
                            n_baseline: int = 5, factor: float = 10.0, floor: float = 5.0) -> Optional[int]:
    """Smoothed onset (defect.smoothed_onset_step: causal rolling median of `width` probes, M4 thresholds,
    baseline = median of the first n_baseline probes, firing only after them) applied to the probes at
    steps >= memorised (all probes if memorised is None). steps, series [Q] (per-probe median D, NaN = missing) -> step or None.
    Ref: curvature.md curv.slow-regime, "Resolution for onset"."""
    steps, series = np.asarray(steps), np.asarray(series, dtype=np.float64)
    keep = steps >= (memorised or 0)
    return smoothed_onset_step(steps[keep], series[keep], width=width, n_baseline=n_baseline, start=n_baseline,
                               factor=factor, floor=floor)


def onset_rows(runs, factor: float = 10.0, floor: float = 5.0, width: int = 5, smooth_baseline: int = 5,
               task: int = 0) -> list[dict]:
    """One row per run: op, seed, λ, lr, memorisation step (train >= 0.99), R50 / R90 (first test >= 0.5 / 0.9),
    R98 (the run's stop rule), the committed onset (defect.onset_step on every probe, baseline = first 3
    probes), the smoothed onset (post_memorisation_onset), the lead R90 − onset and the normalised lead
    lead / R98 for each, the share of probes whose D is missing (every sample 0 or NaN), the max median D.
    Needs Run.probes. Ref: curvature.md curv.slow-regime (Table 2, figY/figZ), M4."""
    rows = []
    for r in runs:
        c, steps = r.config, np.asarray(r.probes["steps"])
        d = median_defect(r.probes["defect"])
        mem, r98 = r.memorised_step(task), r.grok_step(task)
        r50, r90 = (r.grok_step(task, threshold=t, patience=1) for t in (0.5, 0.9))
        onsets = {"committed": onset_step(steps, d, factor=factor, floor=floor),
                  "smoothed": post_memorisation_onset(steps, d, mem, width, smooth_baseline, factor, floor)}
        row = {"op": c.ops[task], "seed": c.seed, "weight_decay": c.weight_decay, "lr": c.lr, "memorised": mem,
               "R50": r50, "R90": r90, "R98": r98, "final_step": r.final_step}
        for name, onset in onsets.items():
            lead = lead_time(r90, onset)
            row |= {f"onset_{name}": onset, f"lead_{name}": lead,
                    f"norm_lead_{name}": lead / r98 if lead is not None and r98 else math.nan}
        rows.append(row | {"missing_D": float(np.isnan(d).mean()) if len(d) else math.nan,
                           "max_D": float(np.nanmax(d)) if np.isfinite(d).any() else math.nan})
    return rows
