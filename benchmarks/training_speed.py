"""Training speed: run-steps/s of each way to train R runs of one model scale, in one process run.

  stacked     grokbook's trainer, the R runs in one stack, all threads;
  processes   one worker process per core (one torch thread each), the R runs dealt out
              round-robin, each worker training its share as one stack (grokbook.training.layout);
  compiled    stacked with compile_step=True (torch.compile of the loss and of the AdamW update);
              its one-off compilation (the first call at these shapes) is reported as compile_s
              and is not part of the steps/s;
  sequential  grokbook's trainer, one run at a time (R stacks of one);
  reference   the papers' loop: one nn.TransformerEncoder model and one torch.optim.AdamW per run,
              trained one run after another.

Every time is marginal: a run of BASE + steps steps minus a run of BASE steps, so set-up, model
construction and the evaluations at the first and last step cancel. Repeat k measures every layout
once, in an order rotated by k, before repeat k + 1. For each layout the table gives the median and
the min-max over repeats of run-steps/s (R x steps / seconds), of the speed-up over `reference`
(per repeat: reference seconds / layout seconds) and of the achieved GFLOP/s (analytic training
FLOPs per run-step, `flops_per_run_step`, times run-steps/s), and the achieved share of the measured
matmul peak (float32 torch.mm of two N x N matrices with all threads, median of repeats).

  python benchmarks/training_speed.py --scale smoke --runs 2 --steps 3 --repeats 2
  python benchmarks/training_speed.py --scale paper --runs 6 12 --steps 30 --repeats 5
  python benchmarks/training_speed.py --device cuda --scale paper --runs 8 64 --steps 200
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from grokbook.book.pages import speed_table  # noqa: E402
from grokbook.training.config import RunConfig  # noqa: E402
from grokbook.training.layout import (  # noqa: E402
    BASE_STEPS,
    TimingPool,
    cores,
    cpu_model,
    deal,
    marginal,
    rotated,
    sync,
    time_stacked,
)
from grokbook.training.tasks import make_split  # noqa: E402

SCALES = {  # smoke: the CPU smoke model; paper: the Xu papers' model at p = 97
    "smoke": dict(p=47, d_model=64, n_layers=1, lr=3e-3),
    "paper": dict(p=97, d_model=128, n_layers=2, lr=1e-3),
}
LAYOUTS = ("stacked", "processes", "compiled", "sequential", "reference")


def configs(scale: str, R: int, device: str, compiled: bool = False) -> list[RunConfig]:
    """R runs (seeds 0..R-1) of the scale's model that only train: no snapshots, no stop."""
    return [
        RunConfig(
            **SCALES[scale],
            seed=s,
            snapshot_groups=(),
            stop_on_grok=False,
            device=device,
            compile_step=compiled,
        )
        for s in range(R)
    ]


def flops_per_run_step(c: RunConfig) -> float:
    """Training FLOPs of one run-step of the model in training/model.py, counted from its matmuls.

    Per token and layer: the in-projection 2·d·3d, the out-projection 2·d·d, the two FFN matmuls
    2·d·d_ff each, and attention over the n = 2 positions, 2·n·d for the scores and 2·n·d for the
    mixing; n tokens per example; the head 2·d·p per task, on position 0 only. Embedding lookups,
    LayerNorms, GELU, softmax, the loss and the optimiser are left out. The backward pass costs
    about twice the forward pass, so one step of a batch of B examples costs

        F = 3 · B · [ n · L · (8·d² + 4·d·d_ff + 4·n·d) + 2·T·d·p ],   n = 2.

    At the paper's model (p 97, d 128, d_ff 256, L 2, T 1, B 512): 1.655 GFLOP per run-step.
    """
    n, d = 2, c.d_model
    per_token_layer = 8 * d * d + 4 * d * c.d_ff + 4 * n * d
    forward = n * c.n_layers * per_token_layer + 2 * c.n_tasks * d * c.p
    return 3.0 * c.batch_size * forward


def matmul_peak(device: str, size: int, repeats: int) -> dict:
    """Measured matmul peak: GFLOP/s of a float32 torch.mm of two size x size matrices with all
    threads (2·size³ FLOPs each), median and range over `repeats` calls after one warm-up."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    out = torch.mm(a, b)
    rates = []
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        torch.mm(a, b, out=out)
        sync(device)
        rates.append(2 * size**3 / (time.perf_counter() - t) / 1e9)
    return summary(rates) | {"size": size, "repeats": repeats}


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


def time_reference(cfgs: list[RunConfig], steps: int) -> float:
    """One model and one optimiser per run, trained one after another (the papers' loop)."""
    dev = cfgs[0].device
    sync(dev)
    t = time.perf_counter()
    for c in cfgs:
        torch.manual_seed(c.seed)
        split = make_split(c.p, c.ops, c.train_frac, c.seed)
        x, y = split.train_x.to(dev), split.train_y[:, 0].to(dev)
        model = PaperModel(c).to(dev)
        opt = torch.optim.AdamW(
            model.parameters(), lr=c.lr, betas=(c.beta1, c.beta2), weight_decay=c.weight_decay
        )
        for _ in range(steps):
            idx = torch.randint(len(x), (c.batch_size,), device=dev)
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
            opt.step()
    sync(dev)
    return time.perf_counter() - t


def time_sequential(cfgs: list[RunConfig], steps: int) -> float:
    """grokbook's trainer, one run at a time."""
    return sum(time_stacked([c], steps) for c in cfgs)


def summary(values: list[float]) -> dict:
    """Median, min and max of the finite values, the values themselves, and how many were not
    finite (a marginal time <= 0 gives no speed)."""
    finite = [v for v in values if math.isfinite(v)] or [math.nan]
    return {
        "median": statistics.median(finite),
        "min": min(finite),
        "max": max(finite),
        "values": values,
        "invalid": sum(not math.isfinite(v) for v in values),
    }


def measure_at(args, R: int) -> list[dict]:
    """One row per layout for R runs: marginal seconds of every repeat, and what they give."""
    cfgs = configs(args.scale, R, args.device)
    compiled = configs(args.scale, R, args.device, compiled=True)
    timers = {
        "stacked": lambda n: time_stacked(cfgs, n),
        "compiled": lambda n: time_stacked(compiled, n),
        "sequential": lambda n: time_sequential(cfgs, n),
        "reference": lambda n: time_reference(cfgs, n),
    }
    pool = TimingPool(deal(cfgs, cores())) if "processes" in args.layouts else None
    try:
        if pool is not None:
            timers["processes"] = pool.time
        timers = {name: timers[name] for name in args.layouts}
        compile_s = timers["compiled"](BASE_STEPS) if "compiled" in timers else None
        for timer in timers.values():  # warm-up: allocator, kernels, workers' first steps
            timer(BASE_STEPS)
        seconds = {name: [] for name in timers}
        for k in range(args.repeats):
            for name in rotated(list(timers), k):
                seconds[name].append(marginal(timers[name], args.steps))
            print(f"R={R} repeat {k + 1}/{args.repeats} done", flush=True)
    finally:
        if pool is not None:
            pool.close()
    flops = flops_per_run_step(cfgs[0])
    rows = []
    for name, secs in seconds.items():
        rates = [R * args.steps / s if s > 0 else math.nan for s in secs]
        row = {
            "R": R,
            "layout": name,
            "workers": min(cores(), R) if name == "processes" else 1,
            "seconds": secs,
            "run_steps_per_s": summary(rates),
            "gflops": summary([r * flops / 1e9 for r in rates]),
            "compile_s": compile_s if name == "compiled" else None,
        }
        if "reference" in seconds:
            ratios = [r / s if s > 0 else math.nan for r, s in zip(seconds["reference"], secs)]
            row["vs_reference"] = summary(ratios)
        rows.append(row)
    return rows


def environment(args) -> dict:
    """The device, the model and the versions a result was measured with."""
    return {
        "device": args.device,
        "device_name": (
            torch.cuda.get_device_name() if args.device.startswith("cuda") else cpu_model()
        ),
        "scale": args.scale,
        "model": SCALES[args.scale],
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cores": cores(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "steps": args.steps,
        "base_steps": BASE_STEPS,
        "repeats": args.repeats,
    }


def parse(argv=None) -> argparse.Namespace:
    """The command line, checked: every value named with its allowed range."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    ap.add_argument("--runs", type=int, nargs="+", default=[6, 12], help="values of R")
    ap.add_argument("--steps", type=int, default=30, help="marginal steps per measurement")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved repeats (>= 1)")
    ap.add_argument(
        "--layouts", nargs="+", choices=LAYOUTS, help="default: all (cuda: not processes)"
    )
    ap.add_argument("--peak-size", type=int, default=2048, help="N of the N x N peak matmul")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args(argv)
    if args.layouts is None:
        cpu = args.device == "cpu"
        args.layouts = [x for x in LAYOUTS if cpu or x != "processes"]
    for name in ("steps", "repeats"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} {getattr(args, name)} is out of range; it must be >= 1")
    if any(R < 1 for R in args.runs):
        ap.error(f"--runs {args.runs}: every R must be >= 1")
    return args


def main(argv=None) -> None:
    """Measure the peak, then every R, write the JSON result file and print its table."""
    args = parse(argv)
    env = environment(args)
    peak = matmul_peak(args.device, args.peak_size, max(5, args.repeats))
    rows = [row for R in args.runs for row in measure_at(args, R)]
    result = {
        "env": env,
        "matmul_peak_gflops": peak,
        "flops_per_run_step": flops_per_run_step(configs(args.scale, 1, args.device)[0]),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"training_speed-{args.device.split(':')[0]}-{args.scale}.json"
    path.write_text(json.dumps(result, indent=1))
    print("\n" + "\n".join(speed_table(result, path.name)))
    print(f"written {path}")


if __name__ == "__main__":
    main()
