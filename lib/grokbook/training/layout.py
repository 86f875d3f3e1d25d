"""Where the missing runs of one stack train: the training layout.

  stacked    one process with all of torch's threads trains the runs as one stack (train_stack,
             batched over runs);
  processes  one worker process per core, each with one torch thread: the runs are dealt out
             round-robin, each worker trains its share as one stack, with its own resumable
             checkpoint in the cache's partial/ folder, and writes its finished runs to the cache
             itself (with the caller's `save`, cache.save_run).

On a few cores the batched matmuls of one stack can keep the cores less busy than independent
stacks, one per core; which layout is faster depends on the CPU and the model shape.
$GROKBOOK_LAYOUT (`grokbook run/reproduce --layout`) chooses: stacked, processes or auto (the
default). auto is stacked with one core, with one run to train, on a CUDA device and for a stack
whose budgets add up to fewer than MIN_CALIBRATED_RUN_STEPS run-steps; otherwise it is
the layout that a short calibration measured faster at the model shape (CALIBRATION_STEPS marginal
steps of each, CALIBRATION_REPEATS interleaved repeats), stored in <cache>/layout.json under the
number of cores, the CPU, the torch version and the shape, so that the same computer keeps making
the same choice (a run's float rounding depends on the layout that trains it). Delete an entry of
that file to measure again. Runs whose stack left a checkpoint of the stacked layout resume
stacked, whatever the setting; a worker's share with a checkpoint is dealt out again whole.

The timing helpers (`marginal`, `time_stacked`, `TimingPool`) are shared with
benchmarks/training_speed.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing as mp
import os
import pickle
import platform
import statistics
import time
import traceback
import types
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch

from grokbook.errors import ConfigError
from grokbook.training.config import RunConfig
from grokbook.training.train import DeadlineReached, GradHook, Run, train_stack

LAYOUTS = ("stacked", "processes")
SETTINGS = ("auto",) + LAYOUTS  # the values $GROKBOOK_LAYOUT may take
BASE_STEPS = 2  # steps of the short run whose time a marginal measurement subtracts
CALIBRATION_STEPS = 20  # marginal steps per measurement in auto's calibration
CALIBRATION_REPEATS = 2  # interleaved repeats of each layout in auto's calibration
RUNS_PER_WORKER = 2  # auto's calibration stack: this many runs per core
MARGIN = 1.1  # auto takes processes only if its median speed is this many times stacked's
# auto trains a stack whose budgets add up to fewer run-steps stacked, without calibrating: the
# calibration (tens of seconds per shape) would cost about as much as it could save
MIN_CALIBRATED_RUN_STEPS = 100_000


class WorkerFailed(RuntimeError):
    """A worker process of the processes layout raised or died; the message names its runs."""


# ── choosing a layout ─────────────────────────────────────────────────────────────────────────────


def requested() -> str:
    """The layout setting of this process: $GROKBOOK_LAYOUT, or auto when it is not set."""
    value = os.environ.get("GROKBOOK_LAYOUT", "auto")
    if value not in SETTINGS:
        raise ConfigError(
            f"GROKBOOK_LAYOUT={value!r} is not a training layout; use one of {', '.join(SETTINGS)}"
        )
    return value


@contextmanager
def layout_setting(value: Optional[str]):
    """Set $GROKBOOK_LAYOUT to `value` for the duration of the block (processes started inside it,
    notebook kernels included, inherit it) and restore it afterwards; None leaves it as it is."""
    if value is not None and value not in SETTINGS:
        raise ConfigError(
            f"layout={value!r} is not a training layout; use one of {', '.join(SETTINGS)}"
        )
    old = os.environ.get("GROKBOOK_LAYOUT")
    try:
        if value is not None:
            os.environ["GROKBOOK_LAYOUT"] = value
        yield
    finally:
        if old is None:
            os.environ.pop("GROKBOOK_LAYOUT", None)
        else:
            os.environ["GROKBOOK_LAYOUT"] = old


def refuse_in_worker_start() -> None:
    """Raise if this process is a worker that is still starting: a spawned worker first runs the
    parent's main script again, and a script that trains at its top level (not under
    `if __name__ == "__main__":`) would train there too, and wait for the parent's locks forever."""
    if getattr(mp.current_process(), "_inheriting", False):
        raise RuntimeError(
            "a worker process reached training while it ran the main script to start; put the "
            "script's training under `if __name__ == \"__main__\":`"
        )


def cores() -> int:
    """CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def choose_layout(
    cfgs: Sequence[RunConfig],
    grad_hook: Optional[GradHook],
    root: Path,
    progress: bool = True,
    keys: Sequence[str] = (),
) -> str:
    """The layout that trains these missing runs (cache keys `keys`) of one stack: $GROKBOOK_LAYOUT
    with auto resolved (module docstring). Where processes cannot train them (a checkpoint of the
    stacked layout to resume; a CUDA device; a gradient hook that is not split-safe or cannot be
    sent to another process) it is stacked, with a one-line message that says why."""
    setting, c = requested(), cfgs[0]
    if setting == "stacked":
        return "stacked"
    started = checkpoint_file(Path(root) / "partial", keys) if keys else None
    if started is not None and started.exists():
        print(f"training layout: stacked for this call, to resume {started}", flush=True)
        return "stacked"
    if setting == "auto":
        if cores() < 2 or len(cfgs) < 2 or c.device != "cpu":
            return "stacked"
        if sum(x.steps for x in cfgs) < MIN_CALIBRATED_RUN_STEPS:
            return "stacked"
        if calibrated_layout(c, root, progress) == "stacked":
            return "stacked"
    why = split_problem(c, grad_hook)
    if why:
        print(f"training layout: stacked for this call, not processes ({why})", flush=True)
        return "stacked"
    return "processes"


class _Discard:
    """A file that forgets what is written to it."""

    def write(self, data: bytes) -> None:
        pass


class _SpawnPickler(pickle.Pickler):
    """A pickler that refuses classes and functions of __main__: a spawned worker cannot import
    them (a notebook's __main__ is not a module it can load)."""

    def reducer_override(self, obj):
        if isinstance(obj, (type, types.FunctionType)) and obj.__module__ == "__main__":
            raise pickle.PicklingError(f"{obj.__qualname__} is defined in __main__")
        return NotImplemented


def split_problem(cfg: RunConfig, grad_hook: Optional[GradHook]) -> str:
    """Why the processes layout cannot train runs of this config with this hook ("" if it can)."""
    if cfg.device != "cpu":
        return f"device={cfg.device!r}: worker processes train on the CPU"
    if grad_hook is None:
        return ""
    name = getattr(grad_hook, "__name__", type(grad_hook).__name__)
    if getattr(grad_hook, "split_safe", False) is not True:
        return (
            f"the gradient hook {name} does not declare split_safe = True (that each worker may "
            "apply its own copy of it)"
        )
    try:
        _SpawnPickler(_Discard(), protocol=pickle.HIGHEST_PROTOCOL).dump(grad_hook)
    except Exception as e:
        return f"the gradient hook {name} cannot be sent to a worker ({type(e).__name__}: {e})"
    return ""


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(cfg: RunConfig) -> str:
    """What auto's calibration depends on: cores, CPU, torch version and the shape of a training
    step."""
    fields = {
        "cores": cores(),
        "cpu": json.dumps(cpu_model()),
        "torch": torch.__version__,
        "p": cfg.p,
        "tasks": cfg.n_tasks,
        "d_model": cfg.d_model,
        "n_layers": cfg.n_layers,
        "n_heads": cfg.n_heads,
        "d_ff": cfg.d_ff,
        "batch_size": cfg.batch_size,
        "compile_step": cfg.compile_step,
    }
    return " ".join(f"{k}={v}" for k, v in fields.items())


def calibrated_layout(cfg: RunConfig, root: Path, progress: bool = True) -> str:
    """auto's layout at this config's model shape: the one stored in <root>/layout.json, or, the
    first time, the one `measure` finds faster (then stored). One process measures at a time; a
    second one waits and reads the first one's choice."""
    key, path = machine_key(cfg), Path(root) / "layout.json"
    with _file_lock(Path(root) / "locks" / "layout.lock"):
        stored = _read_choices(path)
        if key in stored:
            return stored[key]["layout"]
        if progress:
            print(
                f"training layout: measuring stacked vs processes at p={cfg.p} d={cfg.d_model} "
                f"L={cfg.n_layers} T={cfg.n_tasks} (once for this computer and shape)",
                flush=True,
            )
        try:
            rates = measure(cfg, cores(), CALIBRATION_STEPS, CALIBRATION_REPEATS)
        except WorkerFailed as e:  # not stored: the next call measures again
            reason = str(e).splitlines()[0]
            print(f"training layout: stacked for this call (no measurement: {reason})", flush=True)
            return "stacked"
        chosen = decide(rates)
        stored[key] = {
            "layout": chosen,
            "run_steps_per_s": {k: [round(r, 3) for r in v] for k, v in rates.items()},
            "measured": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        _write_json(path, stored)
    speeds = ", ".join(f"{k} {_median(v):.1f}" for k, v in rates.items())
    print(f"training layout: {chosen} (run-steps/s: {speeds}; stored in {path})", flush=True)
    return chosen


def decide(rates: dict[str, list[float]]) -> str:
    """processes if its median run-steps/s is at least MARGIN times stacked's, else stacked (also
    when processes has no valid measurement)."""
    processes, stacked = _median(rates["processes"]), _median(rates["stacked"])
    return "processes" if processes > 0 and processes >= MARGIN * stacked else "stacked"


def measure(cfg: RunConfig, workers: int, steps: int, repeats: int) -> dict[str, list[float]]:
    """Run-steps/s of each layout at this config's model shape, one value per repeat:
    RUNS_PER_WORKER × workers runs trained as one stack in this process (stacked) and dealt out to
    `workers` worker processes (processes); each value is marginal (`steps` steps), the layouts
    interleaved."""
    cfgs = calibration_configs(cfg, RUNS_PER_WORKER * workers)
    with TimingPool(deal(cfgs, workers)) as pool:
        timers = {"stacked": lambda n: time_stacked(cfgs, n), "processes": pool.time}
        for timer in timers.values():  # first steps of each process: allocator, compilation
            timer(BASE_STEPS)
        rates: dict[str, list[float]] = {name: [] for name in timers}
        for r in range(repeats):
            for name in rotated(list(timers), r):
                seconds = marginal(timers[name], steps)
                rates[name].append(len(cfgs) * steps / seconds if seconds > 0 else math.nan)
    return rates


def _median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else 0.0


def _read_choices(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text())
        if not all(v["layout"] in LAYOUTS for v in stored.values()):
            raise ValueError("an entry names an unknown layout")
        return stored
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        warnings.warn(f"{path}: unreadable ({type(e).__name__}: {e}); measuring again")
        return {}


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


@contextmanager
def _file_lock(path: Path):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ── timing ────────────────────────────────────────────────────────────────────────────────────────


def deal(items: list, workers: int) -> list[list]:
    """Round-robin shares of `items` for at most `workers` workers (none of them empty)."""
    n = min(workers, len(items))
    return [items[w::n] for w in range(n)]


def rotated(names: list, k: int) -> list:
    """The names in the order repeat k measures them (rotated by k)."""
    k %= len(names)
    return names[k:] + names[:k]


def calibration_configs(cfg: RunConfig, n: int) -> list[RunConfig]:
    """n runs of this config's shape (seeds 0..n-1) that only train: no snapshots, no probes, no
    stop on grokking."""
    return [
        dataclasses.replace(
            cfg,
            seed=s,
            snapshot_groups=(),
            probe_every=0,
            stop_on_grok=False,
            tail_steps=0,
        )
        for s in range(n)
    ]


def with_steps(cfg: RunConfig, steps: int) -> RunConfig:
    """The config with a budget of `steps` steps and evaluations at the first and last step only."""
    return dataclasses.replace(cfg, steps=steps, eval_every=steps, snapshot_every=steps)


def sync(device: str) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_stacked(cfgs: list[RunConfig], steps: int) -> float:
    """Wall seconds that train_stack takes for these runs with `steps` steps, in this process."""
    cfgs = [with_steps(c, steps) for c in cfgs]
    sync(cfgs[0].device)
    t = time.perf_counter()
    train_stack(cfgs, progress=False)
    sync(cfgs[0].device)
    return time.perf_counter() - t


def marginal(timer: Callable[[int], float], steps: int) -> float:
    """Seconds that `steps` more training steps cost: timer(BASE_STEPS + steps) -
    timer(BASE_STEPS), so that set-up and the evaluations at the first and last step cancel."""
    return timer(BASE_STEPS + steps) - timer(BASE_STEPS)


class TimingPool:
    """Worker processes (one torch thread each), each holding a share of runs; `time(steps)` has all
    of them train their share with `steps` steps at once and returns the slowest one's seconds."""

    def __init__(self, shares: list[list[RunConfig]]):
        ctx = mp.get_context("spawn")
        self.workers: list[tuple[Connection, mp.process.BaseProcess]] = []
        try:
            for i, share in enumerate(shares):
                here, there = ctx.Pipe()
                name = f"timing-{i + 1}"
                proc = ctx.Process(target=_timing_worker, args=(there, share), name=name)
                proc.start()
                there.close()
                self.workers.append((here, proc))
        except BaseException:  # stop the workers started so far
            self.close()
            raise

    def time(self, steps: int) -> float:
        for conn, proc in self.workers:
            try:
                conn.send(steps)
            except OSError:  # the worker has gone: its answer says how
                pass
        return max(_timing_answer(conn, proc) for conn, proc in self.workers)

    def close(self) -> None:
        for conn, proc in self.workers:
            try:
                conn.send(None)
            except OSError:  # the worker has gone already
                pass
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
                proc.join()
            conn.close()

    def __enter__(self) -> "TimingPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _timing_answer(conn: Connection, proc) -> float:
    try:
        answer = conn.recv()
    except (EOFError, OSError):
        proc.join()
        raise WorkerFailed(f"timing worker {proc.name} exited with code {proc.exitcode}") from None
    if answer[0] == "error":
        raise WorkerFailed(f"timing worker {proc.name} failed: {answer[1]}\n{answer[2]}")
    return answer[1]


def _timing_worker(conn: Connection, share: list[RunConfig]) -> None:
    """Worker process of a TimingPool: time its share for every step count it receives (None
    ends it)."""
    torch.set_num_threads(1)
    while (steps := conn.recv()) is not None:
        try:
            conn.send(("ok", time_stacked(share, steps)))
        except Exception as e:
            conn.send(("error", f"{type(e).__name__}: {e}", traceback.format_exc()))
            return


# ── training in worker processes ──────────────────────────────────────────────────────────────────


@dataclass
class Share:
    """One worker's runs: their configs, the caller's row index and cache entry of each, the
    share's checkpoint, and the function that writes a finished run to its entry."""

    cfgs: list[RunConfig]
    rows: list[int]
    entries: list[Path]
    checkpoint: Path
    save: Callable[[Run, Path], None]


def checkpoint_file(folder: Path, keys: Sequence[str]) -> Path:
    """The resumable checkpoint of the stack of these runs (cache keys, in stack order)."""
    return Path(folder) / (hashlib.sha256("".join(keys).encode()).hexdigest()[:24] + ".pt")


def share_file(checkpoint: Path) -> Path:
    """The list of a worker's run keys, written beside its checkpoint."""
    return checkpoint.with_name(checkpoint.stem + ".share.json")


def deal_shares(keys: list[str], workers: int, folder: Path) -> list[list[str]]:
    """Each worker's run keys: first every share whose checkpoint an earlier call left and whose
    runs are all among `keys` (so that it resumes, in the same stack), then the other keys dealt out
    round-robin to the remaining workers (at least one). Each share's keys are written beside its
    checkpoint for later calls."""
    todo, covered, kept = set(keys), set(), []
    for f in sorted(Path(folder).glob("*.share.json")):
        try:
            share = json.loads(f.read_text())
        except ValueError:
            continue  # a torn list: its runs are dealt out afresh
        fits = isinstance(share, list) and share and set(share) <= todo - covered
        if fits and checkpoint_file(folder, share).exists():
            kept.append(share)
            covered |= set(share)
    rest = [k for k in keys if k not in covered]
    shares = kept + deal(rest, max(1, workers - len(kept)))
    for share in shares:
        _write_json(share_file(checkpoint_file(folder, share)), share)
    return shares


def describe(cfg: RunConfig, key: str) -> str:
    """A run in an error message: its cache key and what tells it apart from its stack mates."""
    return (
        f"{key} (seed={cfg.seed}, ops={'+'.join(cfg.ops)}, train_frac={cfg.train_frac:g}, "
        f"lr={cfg.lr:g}, weight_decay={cfg.weight_decay:g})"
    )


def train_in_processes(
    cfgs: list[RunConfig],
    rows: list[int],
    keys: list[str],
    root: Path,
    *,
    save: Callable[[Run, Path], None],
    grad_hook: Optional[GradHook] = None,
    progress: bool = True,
    deadline: Optional[float] = None,
) -> None:
    """Train the runs (configs with the caller's row index and the cache key of each) in worker
    processes, one per core, each worker saving its finished runs with save(run, root / key).
    Raises WorkerFailed, naming the failed worker's runs, as soon as one fails (the other workers
    are stopped: a run is only saved once it has finished) and, once every worker has stopped,
    DeadlineReached if any stopped at the deadline (each wrote its checkpoint first)."""
    folder = Path(root) / "partial"
    folder.mkdir(parents=True, exist_ok=True)
    at = {k: j for j, k in enumerate(keys)}
    shares = [
        Share(
            cfgs=[cfgs[at[k]] for k in share],
            rows=[rows[at[k]] for k in share],
            entries=[Path(root) / k for k in share],
            checkpoint=checkpoint_file(folder, share),
            save=save,
        )
        for share in deal_shares(keys, cores(), folder)
    ]
    ctx = mp.get_context("spawn")
    workers = []
    try:
        for i, share in enumerate(shares):
            here, there = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=_train_share,
                args=(there, share, grad_hook, deadline, len(shares)),
                name=f"train-{i + 1}",
            )
            proc.start()
            there.close()
            workers.append((here, proc))
        stopped = _follow(workers, shares, progress)
    finally:
        for conn, proc in workers:
            if proc.is_alive():
                proc.terminate()
            proc.join()
            conn.close()
    if stopped:
        raise DeadlineReached(
            f"deadline reached in {len(stopped)} of {len(shares)} worker processes: "
            + "; ".join(stopped)
        )


def _follow(workers: list, shares: list[Share], progress: bool) -> list[str]:
    """Wait for every worker, with one progress bar for all of them (at the step of the slowest);
    returns the messages of the workers that stopped at the deadline. Raises WorkerFailed at the
    first failure."""
    c = shares[0].cfgs[0]
    steps, grokked = [0] * len(shares), [0] * len(shares)
    training = [len(s.cfgs) for s in shares]
    runs = sum(training)
    bar = _bar(c, runs, len(shares), progress)
    pending = {conn: i for i, (conn, _) in enumerate(workers)}
    stopped = []
    try:
        while pending:
            for conn in wait(list(pending)):
                i = pending[conn]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    proc = workers[i][1]
                    proc.join()
                    what = f"the process exited with code {proc.exitcode} before reporting"
                    raise WorkerFailed(_failure(i, shares, what)) from None
                if message[0] == "progress":
                    steps[i], grokked[i], training[i] = message[1:]
                elif message[0] == "error":
                    raise WorkerFailed(_failure(i, shares, message[1], message[2]))
                else:  # done or stopped at the deadline
                    del pending[conn]
                    steps[i], training[i] = c.steps, 0
                    if message[0] == "deadline":
                        stopped.append(f"worker {i + 1}: {message[1]}")
                if bar is not None:
                    bar.update(min(steps) - bar.n)
                    bar.set_postfix_str(
                        f"grokked {sum(grokked)}/{runs}, training {sum(training)}", refresh=False
                    )
    finally:
        if bar is not None:
            bar.close()
    return stopped


def _bar(c: RunConfig, runs: int, n_workers: int, show: bool):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(
        total=c.steps,
        desc=f"train {runs} run(s) in {n_workers} processes p={c.p} d={c.d_model} L={c.n_layers}",
        unit="step",
        mininterval=10.0,
    )


def _failure(i: int, shares: list[Share], what: str, trace: str = "") -> str:
    share = shares[i]
    runs = "; ".join(describe(c, e.name) for c, e in zip(share.cfgs, share.entries))
    text = f"training worker {i + 1} of {len(shares)} failed while training run(s) {runs}: {what}"
    return text + (f"\nworker traceback:\n{trace}" if trace else "")


def _train_share(
    conn: Connection,
    share: Share,
    grad_hook: Optional[GradHook],
    deadline: Optional[float],
    n_workers: int,
) -> None:
    """Worker process: train one share as one stack with one torch thread, save its runs, remove
    its checkpoint, and report progress and the outcome to the parent through `conn`."""
    torch.set_num_threads(1)

    def report(step: int, grokked: int, training: int) -> None:
        conn.send(("progress", step, grokked, training))

    try:
        runs = train_stack(
            share.cfgs,
            grad_hook=grad_hook,
            rows=share.rows,
            checkpoint=share.checkpoint,
            progress=False,
            deadline=deadline,
            report=report,
        )
        for run, entry in zip(runs, share.entries):
            run.env |= {"layout": "processes", "workers": n_workers}
            share.save(run, entry)
        share.checkpoint.unlink(missing_ok=True)
        share_file(share.checkpoint).unlink(missing_ok=True)
        outcome = ("done",)
    except DeadlineReached as e:
        outcome = ("deadline", str(e))
    except BaseException as e:  # reported to the parent, which names the runs
        outcome = ("error", f"{type(e).__name__}: {e}", traceback.format_exc())
    try:
        conn.send(outcome)
    except OSError:  # the parent has gone: nothing to report to
        pass
    finally:
        conn.close()
