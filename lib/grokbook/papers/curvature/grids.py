"""The baseline run grid of this paper (Xu 2026a §2, Table 1): one model per operation and seed at
λ = 1, the same operations at λ = 0 as the control, with commutator probes every `probe_every` steps
and a `tail_steps` tail after R98. Eight claims read it by name (`BASELINE`), so its runs are
trained once, in one stacked job, and read from the run cache afterwards. The probes and the tail
do not change the training trajectory (the probes draw from their own random stream; the tail only
adds steps after the stop).
"""
from __future__ import annotations

from typing import Mapping, Sequence

from grokbook.errors import ConfigError
from grokbook.papers.grid import Grid
from grokbook.training.config import RunConfig, sweep
from grokbook.training.train import Run

OPS = ["add", "sub", "mul", "x2_y2", "x2_xy_y2", "x3_xy"]


def baseline_configs(*, ops: Sequence[str], seeds: Sequence[int], weight_decay: float,
                     control_ops: Sequence[str], control_seeds: Sequence[int],
                     control_weight_decay: float, **shared) -> list[RunConfig]:
    """The main grid (every op × seed at λ = weight_decay, seed varying fastest), then the control
    grid (every control op × control seed at λ = control_weight_decay). `shared` holds the RunConfig
    fields common to all runs (p, d_model, n_layers, lr, steps, probe_every, tail_steps, ...)."""
    if not ops or not seeds:
        raise ConfigError(f"ops={list(ops)!r}, seeds={list(seeds)!r}: the main grid needs an op "
                          "and a seed")
    base = RunConfig(**shared)
    main = sweep(base, weight_decay=[weight_decay], ops=[(o,) for o in ops], seed=list(seeds))
    control = sweep(base, weight_decay=[control_weight_decay], ops=[(o,) for o in control_ops],
                    seed=list(control_seeds))
    return main + control


BASELINE = Grid(
    name="curvature.baseline",
    paper=dict(p=97, ops=OPS, seeds=[42, 137, 2024], train_frac=0.5, d_model=128, n_layers=2,
               lr=1e-3, weight_decay=1.0, control_weight_decay=0.0, control_ops=OPS,
               control_seeds=[42, 137, 2024], batch_size=512, steps=50_000, eval_every=100,
               snapshot_every=100, tail_steps=1_000, probe_every=100, probe_samples=5,
               device="cpu"),
    # CPU smoke setting (measured): p = 47, one d_model 64 layer and lr 3e-3 grok add/sub/mul in
    # 1,500-2,600 steps after memorising at ~200; x2_xy_y2 stays the non-grokking control
    smoke=dict(p=47, d_model=64, n_layers=1, lr=0.003, steps=3000,
               ops=["add", "sub", "mul", "x2_xy_y2"], control_ops=["add"], control_seeds=[42],
               tail_steps=300, probe_samples=3),
    # reduced: the paper's model and optimiser; controls stop at 10,000 steps, the length of the
    # paper's own commutator-script controls (Xu 2026a §3), ≈ 3× the R98 step of add
    reduced=dict(ops=["add", "sub", "mul", "x2_y2", "x2_xy_y2"], control_ops=["add"],
                 steps=10_000),
    why=dict(ops="x3_xy dropped: the second non-grokking operation adds no new kind of run",
             control_ops="the λ = 0 control on add only",
             steps="runs that do not grok stop at 10,000 steps and are censored there; the "
                   "grokking runs reach R98 at ≈ 3,000 steps"),
    build=baseline_configs,
    claims=("curv.baseline-grokking", "curv.converse-alignment", "curv.defect-explosion",
            "curv.exec-vs-random", "curv.invariance-rho", "curv.onset-precedes-grokking",
            "curv.pc1-concentration", "curv.pc1-vs-random-walk"))


def baseline_runs(namespace: Mapping) -> tuple[list[Run], list[Run]]:
    """(main runs, control runs) of the baseline grid for a notebook's parameters (its globals()),
    loaded from the run cache or trained in one stacked job."""
    from grokbook.training.cache import load_or_train
    runs = load_or_train(BASELINE.configs(namespace))
    n_main = len(namespace["ops"]) * len(namespace["seeds"])
    return runs[:n_main], runs[n_main:]


GRIDS = (BASELINE,)
