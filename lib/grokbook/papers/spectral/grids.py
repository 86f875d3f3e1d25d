"""The shared single-task run grid of the spectral-edge paper (spectral.md Setup): one model per (op, seed) at
weight decay λ plus matched λ = 0 controls, each storing the attention weights *and* the full parameter vector
at every snapshot (so the perturbed checkpoint is exactly the window's end; spectral.md A1, A13). Every spec.*
notebook builds its runs with `grid_runs` from the same parameters; they are trained once and cached.

Runs stop `tail_steps` after every task grokked; the as-coded analysis cuts the trajectory at the stop step
(`measures.stop_step`), the post-grok variant (spectral.md A2) uses the tail.
"""
from __future__ import annotations

from typing import Sequence

from grokbook.training.config import RunConfig, sweep
from grokbook.papers.multitask.grids import GridRun
from grokbook.errors import ConfigError


def grid_configs(*, ops: Sequence[str], seeds: Sequence[int], weight_decay: float, control_ops: Sequence[str],
                 control_seeds: Sequence[int], control_weight_decay: float, control_steps: int,
                 **shared) -> list[tuple[str, float, int, RunConfig]]:
    """(op, λ, seed, config) for every run: ops × seeds at λ, then control_ops × control_seeds at the control λ
    with their own budget. `shared` holds the common RunConfig fields (p, d_model, steps, snapshot_every, ...)."""
    if not ops or not seeds:
        raise ConfigError("ops and seeds must each name at least one value")
    base = RunConfig(snapshot_groups=("attn", "all"), **shared)
    main = sweep(base, weight_decay=[float(weight_decay)], ops=[(o,) for o in ops], seed=list(seeds))
    ctrl = sweep(base, weight_decay=[float(control_weight_decay)], ops=[(o,) for o in control_ops],
                 seed=list(control_seeds), steps=[control_steps])
    return [(c.ops[0], c.weight_decay, c.seed, c) for c in main + ctrl]


def grid_runs(**params) -> list[GridRun]:
    """Load (or train, stacked) every run of the grid; same arguments as `grid_configs`.
    GridRun.task_set holds the op name."""
    from grokbook.training.cache import load_or_train
    points = grid_configs(**params)
    runs = load_or_train([c for *_, c in points])
    return [GridRun(op, wd, seed, r) for (op, wd, seed, _), r in zip(points, runs)]
