"""Throughput of stacked training: R runs in one step vs the same R runs trained one after another.

Measures training steps per second (run-steps/s = R x steps / seconds) of
  stacked     grokbook's trainer with all R runs in one stack;
  sequential  grokbook's trainer, one run at a time (R stacks of 1);
  reference   (optional, --reference) the papers' loop structure: one nn.TransformerEncoder model
              and one torch.optim.AdamW per run, trained one run at a time;
  compiled    (optional, --compile) the stacked trainer with `compile_step=True` (torch.compile of
              the loss and of the AdamW update); its one-off compilation is timed separately
              (compile_s) on a short run of the same shapes and is not part of the steps/s.
All in one process, same model. Every time is marginal: the wall time of a run of BASE + steps steps
minus that of a run of BASE steps, so set-up, the evaluations at the first and last step (grokbook)
and model construction (reference) cancel and what remains is the cost of `steps` training steps.

  python benchmarks/stacked_training.py --device cpu --scale smoke --runs 1 8 32 --steps 40
  python benchmarks/stacked_training.py --device cuda --scale paper --runs 1 8 32 128 --steps 300
  --reference --compile
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from grokbook.training.config import RunConfig  # noqa: E402
from grokbook.training.tasks import make_split  # noqa: E402
from grokbook.training.train import train_stack  # noqa: E402

SCALES = {  # smoke: the CPU smoke model; paper: the Xu papers' model at p = 97
    "smoke": dict(p=47, d_model=64, n_layers=1, lr=3e-3),
    "paper": dict(p=97, d_model=128, n_layers=2, lr=1e-3),
}


def configs(scale: str, R: int, steps: int, device: str, compiled: bool = False) -> list[RunConfig]:
    return [
        RunConfig(
            **SCALES[scale],
            seed=s,
            steps=steps,
            eval_every=steps,
            snapshot_every=steps,
            snapshot_groups=(),
            stop_on_grok=False,
            device=device,
            compile_step=compiled,
        )
        for s in range(R)
    ]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_grokbook(cfgs: list[RunConfig], stacked: bool) -> float:
    _sync(cfgs[0].device)
    t = time.perf_counter()
    if stacked:
        train_stack(cfgs, progress=False)
    else:
        for c in cfgs:
            train_stack([c], progress=False)
    _sync(cfgs[0].device)
    return time.perf_counter() - t


class PaperModel(nn.Module):
    """The papers' module structure: embedding + positions, nn.TransformerEncoder, LayerNorm, Linear
    head."""

    def __init__(self, c: RunConfig):
        super().__init__()
        self.embed = nn.Embedding(c.p, c.d_model)
        self.pos = nn.Parameter(torch.randn(2, c.d_model) / math.sqrt(c.d_model))
        layer = nn.TransformerEncoderLayer(
            c.d_model,
            c.n_heads,
            c.d_ff,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)
        self.ln = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.p)

    def forward(self, x):
        return self.head(self.ln(self.encoder(self.embed(x) + self.pos)[:, 0]))


def time_reference(cfgs: list[RunConfig]) -> float:
    """One model and one optimiser per run, trained one after another (the papers' loop)."""
    dev = cfgs[0].device
    _sync(dev)
    t = time.perf_counter()
    for c in cfgs:
        torch.manual_seed(c.seed)
        split = make_split(c.p, c.ops, c.train_frac, c.seed)
        x, y = split.train_x.to(dev), split.train_y[:, 0].to(dev)
        model = PaperModel(c).to(dev)
        opt = torch.optim.AdamW(
            model.parameters(), lr=c.lr, betas=(c.beta1, c.beta2), weight_decay=c.weight_decay
        )
        for _ in range(c.steps):
            idx = torch.randint(len(x), (c.batch_size,), device=dev)
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
            opt.step()
    _sync(dev)
    return time.perf_counter() - t


BASE = 2  # steps of the short run whose time is subtracted


def marginal(timer, steps: int) -> float:
    """Seconds that `steps` more training steps cost: timer(BASE + steps) - timer(BASE)."""
    return timer(BASE + steps) - timer(BASE)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    ap.add_argument("--runs", type=int, nargs="+", default=[1, 8, 32, 128])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument(
        "--reference", action="store_true", help="also time the papers' one-model-per-run loop"
    )
    ap.add_argument(
        "--compile", action="store_true", help="also time the stacked trainer with compile_step"
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    time_grokbook(
        configs(args.scale, 2, 5, args.device), stacked=True
    )  # warm-up (allocator, kernels)
    rows = []
    for R in args.runs:
        timers = {
            "stacked": lambda n: time_grokbook(
                configs(args.scale, R, n, args.device), stacked=True
            ),
            "sequential": lambda n: time_grokbook(
                configs(args.scale, R, n, args.device), stacked=False
            ),
        }
        if args.reference:
            timers["reference"] = lambda n: time_reference(configs(args.scale, R, n, args.device))
        row = {"R": R, "steps": args.steps}
        if args.compile:
            compiled = lambda n: time_grokbook(
                configs(args.scale, R, n, args.device, True), stacked=True
            )  # noqa: E731
            row["compile_s"] = compiled(BASE)  # first call at these shapes: compilation included
            timers["compiled"] = compiled
        for name, timer in timers.items():
            row[f"{name}_s"] = marginal(timer, args.steps)
        for k in ("stacked", "sequential", "reference", "compiled"):
            if f"{k}_s" in row:
                row[f"{k}_run_steps_per_s"] = R * args.steps / row[f"{k}_s"]
        row["speedup_vs_sequential"] = row["sequential_s"] / row["stacked_s"]
        if args.reference:
            row["speedup_vs_reference"] = row["reference_s"] / row["stacked_s"]
        if args.compile:
            row["compiled_speedup_vs_stacked"] = row["stacked_s"] / row["compiled_s"]
            if args.reference:
                row["compiled_speedup_vs_reference"] = row["reference_s"] / row["compiled_s"]
        rows.append(row)
        print(
            json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}),
            flush=True,
        )
    env = {
        "device": args.device,
        "scale": args.scale,
        "model": SCALES[args.scale],
        "torch": torch.__version__,
        "device_name": (
            torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor()
        ),
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"stacked_training-{args.device.split(':')[0]}-{args.scale}.json"
    path.write_text(json.dumps({"env": env, "rows": rows}, indent=1))
    head = (
        "| R | stacked run-steps/s | sequential run-steps/s | speed-up |"
        + (" reference run-steps/s | speed-up vs reference |" if args.reference else "")
        + (" compiled run-steps/s | compiled vs stacked | compile s |" if args.compile else "")
    )
    print(
        f"\n{env['device_name'] or args.device}, scale={args.scale}, torch {env['torch']}, "
        f"{env['threads']} threads\n"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        line = (
            f"| {r['R']} | {r['stacked_run_steps_per_s']:.1f} | "
            f"{r['sequential_run_steps_per_s']:.1f} | {r['speedup_vs_sequential']:.2f}× |"
        )
        if args.reference:
            line += f" {r['reference_run_steps_per_s']:.1f} | {r['speedup_vs_reference']:.2f}× |"
        if args.compile:
            line += (
                f" {r['compiled_run_steps_per_s']:.1f} | {r['compiled_speedup_vs_stacked']:.2f}× | "
                f"{r['compile_s']:.0f} |"
            )
        print(line)
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
