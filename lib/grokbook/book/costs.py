"""Expected training cost of a plan, from runs that were measured.

A run that stops on grokking costs far less than its step budget, so the upper bound of a plan
(every run to its budget) says little about the hours it takes. Every finished run in the run cache
records its stop step and the wall time and size of the stack it was trained in; `measured_runs`
reads them, and `benchmarks/results/measured-runs.json` keeps them with the book, so a fresh
machine plans from the same measurements. A run's *family* is everything that decides its
trajectory up to the grok rule (not its seed, budget, tail, snapshots or probes, which do not change
the trajectory); its expected length is the median grok step of the measured runs of its family
(a run that did not grok within its budget counts as never) plus its tail, capped by its budget,
else its budget. A stack's speed is the fastest measured rate (run-steps per second) of a stack of
the same model shape on CPU, else unknown: other work on the cores only slows a stack down, so the
fastest measurement is the closest to a machine that trains and nothing else, which is what a plan
assumes.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from grokbook.paths import cache_root, project_root
from grokbook.training.config import RunConfig

MEASURED = ("benchmarks", "results", "measured-runs.json")


NOT_TRAJECTORY = (
    "seed",
    "steps",
    "tail_steps",
    "snapshot_every",
    "snapshot_groups",
    "snapshot_cap",
    "probe_every",
    "probe_samples",
    "probe_eta",
    "probe_groups",
)


def family(cfg: RunConfig) -> str:
    """The configuration up to what does not change the trajectory before the grok rule fires
    (seed, budget, tail, snapshots, probes), as a short hash."""
    d = {k: v for k, v in cfg.to_dict().items() if k not in NOT_TRAJECTORY}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def shape(cfg: RunConfig) -> str:
    """The model shape that decides a training step's cost: p, d_model, layers, tasks, batch."""
    return f"p{cfg.p} d{cfg.d_model} L{cfg.n_layers} T{cfg.n_tasks} b{cfg.batch_size}"


def measured_runs(root: Optional[Path] = None) -> dict[str, dict]:
    """{cache key: measurement} of every finished run in the run cache: family, shape, seed, stop
    step, budget, and the size and wall time of its training stack."""
    root = Path(root) if root is not None else cache_root()
    out = {}
    for done in sorted(root.glob("*/DONE")):
        try:
            cfg = RunConfig(**json.loads((done.parent / "config.json").read_text()))
            env = json.loads((done.parent / "env.json").read_text())
        except (OSError, ValueError, TypeError):
            continue  # an entry the cache itself would discard
        out[done.parent.name] = {
            "family": family(cfg),
            "shape": shape(cfg),
            "seed": cfg.seed,
            "ops": list(cfg.ops),
            "weight_decay": cfg.weight_decay,
            "steps": cfg.steps,
            "final_step": int(env["final_step"]),
            "grok_step": _grok_step(cfg, int(env["final_step"])),
            "stack_size": int(env.get("stack_size", 1)),
            "stack_wall_s": float(env.get("stack_wall_s", float("nan"))),
            "workers": int(env.get("workers", 1)),  # processes layout: shares trained at once
            "device": env.get("device", ""),
        }
    return out


def measurements(path: Optional[Path] = None, root: Optional[Path] = None) -> dict[str, dict]:
    """The committed measurements updated with those of the local run cache."""
    path = Path(path) if path is not None else project_root().joinpath(*MEASURED)
    known = json.loads(path.read_text()) if path.exists() else {}
    return known | measured_runs(root)


def write(table: dict[str, dict], path: Optional[Path] = None) -> Path:
    path = Path(path) if path is not None else project_root().joinpath(*MEASURED)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")
    return path


def _grok_step(cfg: RunConfig, final_step: int) -> Optional[int]:
    """The step the grok rule fired at, or None if the run reached its budget first."""
    if not cfg.stop_on_grok or final_step >= cfg.steps:
        return None
    return final_step - cfg.tail_steps


def expected_steps(cfg: RunConfig, table: dict[str, dict]) -> tuple[int, int]:
    """(expected training steps of a run, how many measured runs that rests on: 0 = its budget)."""
    seen = [m for m in table.values() if m["family"] == family(cfg) and "grok_step" in m]
    if not seen or not cfg.stop_on_grok:
        return cfg.steps, len(seen) if seen else 0
    groks = [math.inf if m["grok_step"] is None else m["grok_step"] for m in seen]
    median = float(np.median(groks))
    return (
        cfg.steps if math.isinf(median) else min(cfg.steps, int(median) + cfg.tail_steps),
        len(seen),
    )


def speed(cfg: RunConfig, table: dict[str, dict]) -> Optional[float]:
    """Fastest measured run-steps per second of the machine for this model shape on CPU, or None.
    One stack = the runs that share a wall time; a worker's share in the processes layout is such a
    stack, trained beside `workers` - 1 others, so the machine's rate is its rate times `workers`.
    Stacks trained while the cores also ran other work are slower; the fastest is the one that
    had them to itself.
    """
    stacks: dict[tuple, list[int]] = {}
    for m in table.values():
        if m["shape"] == shape(cfg) and m["device"] == "cpu" and m["stack_wall_s"] > 0:
            key = (m["stack_wall_s"], m["stack_size"], m.get("workers", 1))
            stacks.setdefault(key, []).append(m["final_step"])
    rates = [
        sum(steps) / wall * workers
        for (wall, size, workers), steps in stacks.items()
        if len(steps) == size
    ]
    return max(rates) if rates else None


def stack_cost(cfgs: Sequence[RunConfig], table: dict[str, dict]) -> dict:
    """Expected run-steps of a stack, the share of its runs with a measured family, and the
    expected hours at the measured speed of its shape (None without a measured speed)."""
    exp = [expected_steps(c, table) for c in cfgs]
    run_steps = sum(s for s, _ in exp)
    rate = speed(cfgs[0], table)
    return {
        "expected_run_steps": run_steps,
        "measured_share": sum(n > 0 for _, n in exp) / len(exp),
        "run_steps_per_s": None if rate is None else round(rate, 1),
        "expected_h": None if rate is None else round(run_steps / rate / 3600, 2),
    }
