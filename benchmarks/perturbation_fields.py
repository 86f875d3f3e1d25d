"""Perturbation-field speed: seconds per direction of the fields every spectral claim computes
(`spectral.perturbation_field`: one forward pass per input and perturbed θ) at the papers' model,
on the full input grid and on a test set of half the pairs, three ways, in one process run:

  whole   each input set on its own, 16 directions per pass over all of its inputs (how the fields
          were computed before the tiles);
  tiled   each input set on its own, in the default tiles (4 directions x 1,024 inputs);
  union   the default tiles over the union of the two sets, i.e. the grid, with the test rows
          read back from it (what `spectral.analyse_model` does).

Repeat k times the three in an order rotated by k, before repeat k + 1. For each way the result
gives the median and min-max over repeats of the seconds per direction and of the speed-up over
`whole` (per repeat). The fields of the three ways are checked equal up to float32 rounding first.

  python benchmarks/perturbation_fields.py --directions 8 --repeats 2
  python benchmarks/perturbation_fields.py --directions 32 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from grokbook.measures.spectral import attn_of, perturbation_field, random_directions
from grokbook.training.config import RunConfig
from grokbook.training.layout import cpu_model, rotated
from grokbook.training.model import init_theta
from grokbook.training.tasks import domain_pairs
from training_speed import summary

PAPER = RunConfig(p=97, d_model=128, n_layers=2, lr=1e-3, ops=("mul",))
WAYS = ("whole", "tiled", "union")


def inputs(cfg: RunConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """The full grid and a test set of half of its pairs, drawn with `seed`."""
    grid = domain_pairs(cfg.p, cfg.ops).numpy()
    pick = np.random.default_rng(seed).permutation(len(grid))[: len(grid) // 2]
    return {"test": grid[np.sort(pick)], "grid": grid}


def fields(way: str, theta: np.ndarray, D: np.ndarray, sets: dict) -> dict[str, np.ndarray]:
    """Δh of every direction on every input set, computed the given way."""
    if way == "union":  # the test pairs lie inside the grid: one pass over it serves both
        grid = perturbation_field(PAPER, theta, D, sets["grid"])
        row = {tuple(x): i for i, x in enumerate(sets["grid"])}
        return {"test": grid[:, [row[tuple(x)] for x in sets["test"]]], "grid": grid}
    tiles = {"whole": dict(chunk=16, block=10**9), "tiled": {}}[way]
    return {k: perturbation_field(PAPER, theta, D, x, **tiles) for k, x in sets.items()}


def seconds(way: str, theta: np.ndarray, D: np.ndarray, sets: dict) -> float:
    t = time.perf_counter()
    fields(way, theta, D, sets)
    return time.perf_counter() - t


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--directions", type=int, default=32, help="random directions per way")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args(argv)
    for name in ("directions", "repeats"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be an integer >= 1")
    theta = init_theta(PAPER, 0).numpy()
    D = random_directions(attn_of(theta, PAPER).shape[0], args.directions, seed=1)
    sets = inputs(PAPER)
    ref = fields("whole", theta, D, sets)
    for way in WAYS[1:]:
        got = fields(way, theta, D, sets)
        for k in sets:
            np.testing.assert_allclose(got[k], ref[k], rtol=1e-4, atol=1e-5, err_msg=f"{way} {k}")
    times: dict[str, list[float]] = {w: [] for w in WAYS}
    for k in range(args.repeats):
        for way in rotated(list(WAYS), k):
            times[way].append(seconds(way, theta, D, sets) / args.directions)
    result = {
        "env": {
            "cpu_model": cpu_model(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "model": {"p": PAPER.p, "d_model": PAPER.d_model, "n_layers": PAPER.n_layers},
            "inputs": {k: len(x) for k, x in sets.items()},
            "directions": args.directions,
            "repeats": args.repeats,
        },
        "seconds_per_direction": {w: summary(times[w]) for w in WAYS},
        "speedup_over_whole": {
            w: summary([a / b for a, b in zip(times["whole"], times[w])]) for w in WAYS[1:]
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "perturbation_fields-cpu-paper.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    for w in WAYS:
        s = result["seconds_per_direction"][w]
        up = result["speedup_over_whole"].get(w)
        print(
            f"{w:6s} {s['median']:.3f} s/direction ({s['min']:.3f}-{s['max']:.3f})"
            + (f", {up['median']:.2f}x whole ({up['min']:.2f}-{up['max']:.2f})" if up else "")
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
