"""Competing precursors of grokking beside the commutator-defect onset (Xu 2026a §4.3, Figs. 6–7).

The defect onset is read as a precursor because it comes before R90. Simpler events of the same runs
come before R90 too; if one of them leads as often and as steadily, the onset's lead says nothing of
its own. Each precursor is the step of one event in a run's record:
- memorisation: first evaluation with training accuracy ≥ 0.99;
- test-loss peak: the evaluation with the highest test loss (it rises while the network memorises);
- attention-norm peak: the snapshot with the largest attention-weight norm (weight decay then
  shrinks the weights: the "weight-norm decline");
- gradient-norm peak: the probe with the largest median mini-batch gradient norm.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from grokbook.measures.defect import defect_parts

PRECURSORS = ("memorisation", "test-loss peak", "attention-norm peak", "gradient-norm peak")


def peak_step(steps: np.ndarray, values: np.ndarray) -> Optional[int]:
    """Step of the largest finite value; None if there is none. steps, values [N]."""
    v = np.asarray(values, dtype=np.float64)
    if not np.isfinite(v).any():
        return None
    return int(np.asarray(steps)[int(np.nanargmax(np.where(np.isfinite(v), v, np.nan)))])


def precursor_steps(run, task: int = 0) -> dict[str, Optional[int]]:
    """The step of every event in PRECURSORS for one run (None where it has no such event)."""
    attn = np.linalg.norm(np.asarray(run.snapshots["attn"], dtype=np.float64), axis=1)   # [S]
    parts = defect_parts(run.probes, run.config.probe_eta)
    return {"memorisation": run.memorised_step(task),
            "test-loss peak": peak_step(run.eval_steps, run.test_loss[:, task]),
            "attention-norm peak": peak_step(run.snapshot_steps, attn),
            "gradient-norm peak": peak_step(parts.steps, parts.grad_norm)}
