"""Shared run grids of Power et al. 2022 (see grokbook.papers.grid).

`CURVES` holds the runs behind the learning-curve claims (Power et al. 2022 §3.1, Fig. 1 left;
Appendix Fig. 4; §3.4, Fig. 3 right): one model per (op, seed) at weight decay λ and training
fraction `train_frac`, plus two controls per (op, control seed): the same model with
`control_train_frac` of the data (the curves should track each other) and the same model at λ =
`control_weight_decay` (memorises, does not generalise). Delayed generalisation and the
validation-loss bump read division, the output embedding reads addition, so the grid trains
both. A run stops `tail_steps` after its grok rule fires.

The fraction-sweep claims (data fraction vs steps, weight decay vs other variants, operation
difficulty) sweep different fractions, seeds, budgets and operations; their notebooks build
their own run lists (grokbook.papers.power.sweeps) and share individual runs only through the
run cache.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from grokbook.errors import ConfigError
from grokbook.papers.grid import Grid
from grokbook.training.config import RunConfig, sweep
from grokbook.training.train import Run

ROLES = ("main", "more data", "no decay")   # the grid run at (train_frac, λ) and its two controls


@dataclass(frozen=True)
class CurveRun:
    """One run of the learning-curve grid with the coordinates it was trained at."""
    op: str
    role: str                 # one of ROLES
    seed: int
    run: Run

    @property
    def label(self) -> str:
        return f"{self.op} s{self.seed}"


def curve_configs(*, ops: Sequence[str], seeds: Sequence[int], train_frac: float,
                  weight_decay: float, control_train_frac: float, control_weight_decay: float,
                  control_seeds: Sequence[int], control_steps: int,
                  **shared) -> list[tuple[str, str, int, RunConfig]]:
    """(op, role, seed, config) for every run, in a fixed order: the main runs (ops × seeds),
    then the more-data controls, then the no-decay controls (ops × control_seeds each, with a
    budget of control_steps). `shared` holds the RunConfig fields common to all runs (p, d_model,
    n_layers, lr, steps, ...)."""
    if not ops or not seeds:
        raise ConfigError("ops and seeds must each name at least one value")
    base = RunConfig(train_frac=train_frac, weight_decay=weight_decay, **shared)
    kinds = (("main", {}, list(seeds)),
             ("more data", {"train_frac": [control_train_frac], "steps": [control_steps]},
              list(control_seeds)),
             ("no decay", {"weight_decay": [float(control_weight_decay)],
                           "steps": [control_steps]}, list(control_seeds)))
    out = []
    for role, change, role_seeds in kinds:
        for c in sweep(base, ops=[(o,) for o in ops], seed=role_seeds, **change):
            out.append((c.ops[0], role, c.seed, c))
    return out


def _configs(**params) -> list[RunConfig]:
    return [c for *_, c in curve_configs(**params)]


CURVES = Grid(
    name="power.curves",
    paper=dict(p=97, ops=["div", "add"], seeds=[42, 137, 2024], train_frac=0.5, d_model=128,
               n_layers=2, lr=1e-3, weight_decay=1.0, batch_size=512, steps=100_000, tail_steps=500,
               eval_every=100, snapshot_every=5_000, control_train_frac=0.8,
               control_weight_decay=0.0, control_seeds=[42, 137, 2024], control_steps=100_000,
               device="cpu"),
    # the shared CPU smoke model on addition: the λ = 1 and λ = 0 runs are the curvature baseline's
    # (memorise at ~200 steps, grok at ~1,400-2,600); tail_steps 0 keeps those configs identical
    smoke=dict(p=47, ops=["add"], d_model=64, n_layers=1, lr=0.003, steps=3000, tail_steps=0,
               snapshot_every=100, control_seeds=[42], control_steps=3000),
    # reduced: the paper's model; the controls stop at 10,000 steps (≈ 3× the grok step of the
    # λ = 1 runs) and are censored there
    reduced=dict(control_steps=10_000),
    why=dict(control_steps="the two controls stop at 10,000 steps, about 3× the grok step of the "
                           "λ = 1 runs, and are censored there; the paper runs them for 100,000"),
    build=_configs,
    claims=("power.delayed-generalization", "power.val-loss-rise", "power.embedding-circle"))


def curve_runs(namespace) -> list[CurveRun]:
    """Load (or train, stacked) the learning-curve grid for a notebook's parameters
    (its globals())."""
    from grokbook.training.cache import load_or_train
    points = curve_configs(**CURVES.pick(namespace))
    runs = load_or_train([c for *_, c in points])
    return [CurveRun(op, role, seed, r) for (op, role, seed, _), r in zip(points, runs)]


def select(grid: Sequence[CurveRun], op: str | None = None,
           role: str | None = None) -> list[CurveRun]:
    """The grid runs of one op and/or role (None = any)."""
    if role is not None and role not in ROLES:
        raise ConfigError(f"role={role!r}; choose one of {ROLES}")
    return [g for g in grid if (op is None or g.op == op) and (role is None or g.role == role)]


GRIDS = (CURVES,)
