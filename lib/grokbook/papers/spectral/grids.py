"""The shared single-task run grid of the spectral-edge paper (Xu 2026d §2): one model per
(op, seed) at weight decay λ plus matched λ = 0 controls, each storing the attention weights *and*
the full parameter vector at every snapshot, so the perturbed checkpoint is exactly the window's
end. Nine spec.* notebooks ask for this grid by name (`MAIN`); its runs are trained once and cached.

The non-grokking operations (`regime_ops`) run at the same λ for `regime_steps`: the second null of
spec.edge-separates-regimes (an edge that also appears in them marks the weight-decay regime, not
grokking). Runs stop `tail_steps` after every task grokked; the as-coded analysis cuts the
trajectory at the stop step (`measures.trajectory.stop_step`), the post-grok variant reads the tail.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from grokbook.errors import ConfigError
from grokbook.papers.grid import Grid, GridRun
from grokbook.training.config import RunConfig, sweep


def grid_configs(*, ops: Sequence[str], seeds: Sequence[int], weight_decay: float,
                 control_ops: Sequence[str], control_seeds: Sequence[int],
                 control_weight_decay: float, control_steps: int, regime_ops: Sequence[str],
                 regime_steps: int, **shared) -> list[tuple[str, float, int, RunConfig]]:
    """(op, λ, seed, config) for every run: ops × seeds at λ, then control_ops × control_seeds
    at the control λ with their own budget, then the non-grokking regime_ops × seeds at λ for
    regime_steps. `shared`: the common RunConfig fields (p, d_model, ...)."""
    if not ops or not seeds:
        raise ConfigError("ops and seeds must each name at least one value")
    both = sorted(set(ops) & set(regime_ops))
    if both:
        raise ConfigError(f"regime_ops={list(regime_ops)!r} repeats {both} from ops; regime_ops "
                          "are the operations that do not grok")
    base = RunConfig(snapshot_groups=("attn", "all"), **shared)
    main = sweep(base, weight_decay=[float(weight_decay)], ops=[(o,) for o in ops],
                 seed=list(seeds))
    ctrl = sweep(base, weight_decay=[float(control_weight_decay)], ops=[(o,) for o in control_ops],
                 seed=list(control_seeds), steps=[control_steps])
    regime = sweep(base, weight_decay=[float(weight_decay)], ops=[(o,) for o in regime_ops],
                   seed=list(seeds), steps=[regime_steps]) if regime_ops else []
    return [(c.ops[0], c.weight_decay, c.seed, c) for c in main + ctrl + regime]


def grid_runs(**params) -> list[GridRun]:
    """Load (or train, stacked) every run of the grid; same arguments as `grid_configs`.
    GridRun.task_set holds the op name."""
    from grokbook.training.cache import load_or_train
    points = grid_configs(**params)
    runs = load_or_train([c for *_, c in points])
    return [GridRun(op, wd, seed, r) for (op, wd, seed, _), r in zip(points, runs)]


def _configs(**params) -> list[RunConfig]:
    return [c for *_, c in grid_configs(**params)]


MAIN = Grid(
    name="spectral.main",
    paper=dict(p=97, ops=["add", "sub", "mul", "x2_y2"], seeds=[42, 137, 2024], weight_decay=1.0,
               control_ops=["add", "sub", "mul", "x2_y2"], control_seeds=[42, 137, 2024],
               control_weight_decay=0.0, control_steps=6_000, regime_ops=["x2_xy_y2", "x3_xy"],
               regime_steps=20_000, train_frac=0.5, d_model=128,
               n_layers=2, lr=1e-3, batch_size=512, steps=200_000, tail_steps=2_000, eval_every=100,
               snapshot_every=100, device="cpu"),
    # CPU smoke: p = 47 keeps the Fourier analysis meaningful at a fraction of the cost; one
    # d_model 64 layer, lr 3e-3, seed 42 only, 300 post-grok steps, one add λ = 0 control
    smoke=dict(p=47, d_model=64, n_layers=1, lr=0.003, steps=3000, tail_steps=300, seeds=[42],
               control_ops=["add"], control_seeds=[42], control_steps=3000,
               regime_ops=["x2_xy_y2"], regime_steps=3000),
    # reduced: the paper's model; one λ = 0 control operation and one non-grokking operation
    reduced=dict(control_ops=["add"], regime_ops=["x2_xy_y2"], regime_steps=6_000),
    why=dict(control_ops="the λ = 0 control on add only: three matched pairs",
             regime_ops="one non-grokking operation; x3_xy would be a second of the same kind",
             regime_steps="they stop at 6,000 steps, the controls' budget, ≈ 2× the grok step, "
                          "and are censored there"),
    build=_configs,
    claims=("spec.add-single-mode", "spec.edge-activation-diffuse", "spec.edge-not-head-localized",
            "spec.edge-sae-null", "spec.edge-separates-regimes", "spec.mul-dlog-mode",
            "spec.sub-multimode", "spec.x2y2-cross-terms", "spec.x2y2-no-single-basis"))


def main_runs(namespace: Mapping) -> list[GridRun]:
    """The grokking runs and their λ = 0 controls for the parameters of a notebook (its
    globals())."""
    return _split(namespace)[0]


def regime_runs(namespace: Mapping) -> list[GridRun]:
    """The non-grokking operations (`regime_ops`) at the grokking runs' λ."""
    return _split(namespace)[1]


def _split(namespace: Mapping) -> tuple[list[GridRun], list[GridRun]]:
    params = MAIN.pick(namespace)
    runs = grid_runs(**params)
    n_regime = len(params["regime_ops"]) * len(params["seeds"])
    return runs[:len(runs) - n_regime], runs[len(runs) - n_regime:]


GRIDS = (MAIN,)
