"""On-disk run cache keyed by a hash of the full run config (+ schema version, + gradient-hook key).

Layout: <root>/<key>/ {config.json, arrays.npz, env.json, DONE}. An entry is written into a
temporary folder and renamed into place; DONE (written last) holds the sha256 of every other file,
and loading verifies it. A partial, torn or tampered entry is reported with a warning, removed and
retrained — never trusted. Interrupted stacks resume from <root>/partial/<stack>.pt.

Three settings of the process that executes notebooks reach training here, and only here:
$GROKBOOK_COMPILE=1 (`grokbook run/reproduce --compile`: every config is trained with
compile_step=True), $GROKBOOK_DEADLINE (`grokbook reproduce --deadline`: a time.time() value
after which a training stack writes its checkpoint and stops with DeadlineReached) and
$GROKBOOK_LAYOUT (`grokbook run/reproduce --layout`: one stacked process or one worker process per
core, layout.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import warnings
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np

from grokbook.training.config import RunConfig, stack_key
from grokbook.paths import cache_root
from grokbook.errors import ConfigError
from grokbook.training.layout import (
    checkpoint_file,
    choose_layout,
    refuse_in_worker_start,
    train_in_processes,
)
from grokbook.training.train import GradHook, Run, train_stack

# bump when train() semantics or the file format change: older entries are then ignored
SCHEMA_VERSION = 2

_ARRAYS = (
    "eval_steps",
    "train_acc",
    "test_acc",
    "train_loss",
    "test_loss",
    "snapshot_steps",
    "theta_init",
    "theta_final",
)


class CorruptEntry(RuntimeError):
    """A cache entry that fails verification."""


def run_key(cfg: RunConfig, hook_key: str = "", index: Optional[int] = None) -> str:
    """The run cache's key: hash of the config, the schema version and (if any) what the gradient
    hook does to this run. A hook that describes each run on its own (`hook.row_key(i)`) is keyed by
    that alone; a hook that only has one `key` for all its rows is keyed by that key and the row
    index (`index`).
    """
    hook = (
        {}
        if not hook_key
        else {"hook": hook_key} if index is None else {"hook": hook_key, "row": index}
    )
    blob = json.dumps({"v": SCHEMA_VERSION, "cfg": cfg.to_dict(), **hook}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def hook_keys(grad_hook: Optional[GradHook], n: int) -> list[tuple[str, Optional[int]]]:
    """(hook key, row index or None) of each of n runs trained with this hook, for run_key. With
    `row_key(i)` (what the hook does to run i, its per-run data included) the key does not depend on
    the run's position in the caller's list; otherwise the hook's `key` plus the position."""
    if grad_hook is None:
        return [("", None)] * n
    row_key = getattr(grad_hook, "row_key", None)
    if row_key is not None:
        keys = [row_key(i) for i in range(n)]
        if not all(isinstance(k, str) and k for k in keys):
            raise ValueError("grad_hook.row_key(i) must return a non-empty string for every run")
        return [(k, None) for k in keys]
    key = getattr(grad_hook, "key", "")
    if not key:
        raise ValueError(
            "grad_hook needs a non-empty `key` attribute describing what it does (cache key)"
        )
    return [(key, i) for i in range(n)]


def compile_requested() -> bool:
    """Whether the process that executes notebooks asked for compiled training steps
    ($GROKBOOK_COMPILE=1, set by `grokbook run/reproduce --compile`)."""
    value = os.environ.get("GROKBOOK_COMPILE", "0")
    if value not in ("0", "1"):
        raise ConfigError(f"GROKBOOK_COMPILE={value!r} is out of range; use 0 or 1")
    return value == "1"


def deadline() -> Optional[float]:
    """The time.time() after which training stacks stop at a checkpoint ($GROKBOOK_DEADLINE), or
    None."""
    value = os.environ.get("GROKBOOK_DEADLINE")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"GROKBOOK_DEADLINE={value!r} is not a time in seconds") from None


def as_requested(cfg: RunConfig) -> RunConfig:
    """The config as this process trains it: compile_step=True when compiled steps were asked
    for."""
    return (
        dataclasses.replace(cfg, compile_step=True)
        if compile_requested() and not cfg.compile_step
        else cfg
    )


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_run(run: Run, entry: Path) -> None:
    """Write a run atomically: temp folder, files, DONE with checksums last, then rename."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.parent / f".{entry.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    (tmp / "config.json").write_text(json.dumps(run.config.to_dict(), indent=1, sort_keys=True))
    (tmp / "env.json").write_text(json.dumps({**run.env, "final_step": run.final_step}, indent=1))
    arrays = (
        {k: getattr(run, k) for k in _ARRAYS}
        | {f"snap_{g}": a for g, a in run.snapshots.items()}
        | {f"probe_{k}": a for k, a in run.probes.items()}
    )
    np.savez(tmp / "arrays.npz", **arrays)
    sums = {f: _sha(tmp / f) for f in ("config.json", "env.json", "arrays.npz")}
    (tmp / "DONE").write_text(json.dumps({"schema": SCHEMA_VERSION, "sha256": sums}, indent=1))
    if entry.exists():  # a stale or corrupt entry the caller decided to replace
        shutil.rmtree(entry, ignore_errors=True)
    try:
        os.rename(tmp, entry)
    except OSError:  # another process finished the same run first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)


def load_run(entry: Path, cfg: RunConfig) -> Run:
    """Read and verify one entry; raises CorruptEntry if anything is missing or does not match."""
    done = entry / "DONE"
    if not done.exists():
        raise CorruptEntry(f"{entry}: no completion marker (interrupted write)")
    try:
        meta = json.loads(done.read_text())
        for f, digest in meta["sha256"].items():
            if _sha(entry / f) != digest:
                raise CorruptEntry(f"{entry}/{f}: checksum mismatch")
        if json.loads((entry / "config.json").read_text()) != json.loads(json.dumps(cfg.to_dict())):
            raise CorruptEntry(f"{entry}: stored config differs from the requested one")
        env = json.loads((entry / "env.json").read_text())
        with np.load(entry / "arrays.npz") as z:
            arrays = {k: z[k] for k in z.files}
    except CorruptEntry:
        raise
    except Exception as e:
        raise CorruptEntry(f"{entry}: unreadable ({type(e).__name__}: {e})") from e
    snaps = {k[5:]: arrays.pop(k) for k in list(arrays) if k.startswith("snap_")}
    probes = {k[6:]: arrays.pop(k) for k in list(arrays) if k.startswith("probe_")}
    return Run(
        config=cfg,
        snapshots=snaps,
        probes=probes,
        final_step=int(env.pop("final_step")),
        env=env,
        **{k: arrays[k] for k in _ARRAYS},
    )


def is_cached(cfg: RunConfig, root: Optional[Path] = None) -> bool:
    """Whether a complete entry for this (hook-free) config is in the cache (not verified: load to
    verify)."""
    return (
        (Path(root) if root is not None else cache_root()) / run_key(as_requested(cfg)) / "DONE"
    ).exists()


class PlanComplete(RuntimeError):
    """Raised in planning mode ($GROKBOOK_PLAN) at the first call that would train: its missing
    configs have been written to the plan file; the notebook stops there (`grokbook reproduce`
    trains the plan stacked).
    """


def _plan(cfgs: list[RunConfig], missing: list[int], hook_key: str) -> None:
    """In planning mode, append the missing configs to the plan file (one JSON line each: config and
    hook key) and stop the notebook. Hooked runs are listed for the record but trained in the real
    pass (a hook is code, and may depend on earlier runs)."""
    plan = os.environ.get("GROKBOOK_PLAN")
    if not plan or not missing:
        return
    lines = list(
        dict.fromkeys(json.dumps({"config": cfgs[i].to_dict(), "hook": hook_key}) for i in missing)
    )
    with open(plan, "a") as f:
        f.writelines(line + "\n" for line in lines)
    raise PlanComplete(
        f"planned {len(lines)} run(s)" if not hook_key else "a hooked run: left to the real pass"
    )


def plan_entries(plan: Path) -> list[tuple[RunConfig, str]]:
    """The distinct (config, hook key) pairs of a plan file, in first-seen order."""
    seen = {}
    for line in Path(plan).read_text().splitlines() if Path(plan).exists() else []:
        d = json.loads(line)
        seen.setdefault(json.dumps(d, sort_keys=True), d)
    return [(RunConfig(**d["config"]), d["hook"]) for d in seen.values()]


def plan_stacks(
    needs: dict[tuple[RunConfig, str], list[str]],
    cost: Optional[Callable[[list[RunConfig]], dict]] = None,
) -> list[dict]:
    """The stacks a plan trains: one row per (stack shape, hook) with its runs, the claims that need
    them, its step budget and the run-steps it costs at most (runs that stop on grokking cost less),
    largest first; `cost(configs)` adds its fields to the row (the expected cost).
    """
    from grokbook.training.model import group_slices

    groups: dict[tuple, list[RunConfig]] = defaultdict(list)
    claims: dict[tuple, list[str]] = defaultdict(list)
    for (c, hook), ids in needs.items():
        groups[(stack_key(c), hook)].append(c)
        claims[(stack_key(c), hook)] = list(dict.fromkeys(claims[(stack_key(c), hook)] + ids))
    rows = []
    for (sk, hook), cs in groups.items():
        c = cs[0]
        n_snap = c.steps // c.snapshot_every + 1
        n_snap = min(n_snap, c.snapshot_cap) if c.snapshot_cap else n_snap
        per_snap = sum(
            math.prod(shape) for g in c.snapshot_groups for _, shape in group_slices(c, g).values()
        )
        rows.append(
            {
                "runs": len(cs),
                "hook": hook,
                "p": c.p,
                "d_model": c.d_model,
                "n_layers": c.n_layers,
                "n_tasks": c.n_tasks,
                "steps": c.steps,
                "run_steps": len(cs) * c.steps,
                "probe_every": c.probe_every,
                "snapshot_gb": len(cs) * n_snap * per_snap * 4 / 1e9,
                "claims": claims[(sk, hook)],
            }
            | (cost(cs) if cost else {})
        )
    return sorted(rows, key=lambda r: -r["run_steps"])


@contextmanager
def _training_locks(root: Path, keys: Sequence[str]):
    """Exclusive per-run locks while a process trains these runs, so that parallel notebook
    executions that need the same runs wait for one training instead of repeating it. Taken in
    sorted order (no deadlock).
    """
    import fcntl

    folder = root / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    try:
        for k in sorted(set(keys)):
            f = open(folder / f"{k}.lock", "w")
            fcntl.flock(f, fcntl.LOCK_EX)
            files.append(f)
        yield
    finally:
        for f in files:
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()


def load_or_train(
    cfgs: Union[RunConfig, Sequence[RunConfig]],
    grad_hook: Optional[GradHook] = None,
    root: Optional[Path] = None,
    progress: bool = True,
) -> Union[Run, list[Run]]:
    """Return the cached run of every config, training the missing ones in stacks of compatible
    runs. A single config gives a single Run; a list gives a list in the same order."""
    single = isinstance(cfgs, RunConfig)
    cfgs = [as_requested(c) for c in ([cfgs] if single else cfgs)]
    root = Path(root) if root is not None else cache_root()
    hooks = hook_keys(grad_hook, len(cfgs))
    hook_key = getattr(grad_hook, "key", "") or (hooks[0][0] if hooks else "")
    keys = [run_key(c, k, i) for c, (k, i) in zip(cfgs, hooks)]
    runs: dict[int, Run] = {}
    missing: dict[tuple, list[int]] = defaultdict(list)
    for i, (c, k) in enumerate(zip(cfgs, keys)):
        entry = root / k
        if entry.exists():
            try:
                runs[i] = load_run(entry, c)
                continue
            except CorruptEntry as e:
                warnings.warn(f"run cache: {e}; discarding the entry and retraining")
                shutil.rmtree(entry, ignore_errors=True)
        missing[stack_key(c)].append(i)
    _plan(cfgs, [i for g in missing.values() for i in g], hook_key)
    if missing:
        refuse_in_worker_start()
    for n, group in enumerate(missing.values(), 1):
        if progress and len(missing) > 1:
            c = cfgs[group[0]]
            print(
                f"run batch {n}/{len(missing)}: {len(group)} run(s), p={c.p} d={c.d_model} "
                f"L={c.n_layers} T={c.n_tasks} steps<={c.steps}",
                flush=True,
            )
        todo = list(dict.fromkeys(keys[i] for i in group))  # a config listed twice trains once
        first = {keys[i]: i for i in reversed(group)}
        with _training_locks(root, todo):
            todo = [
                k for k in todo if not (root / k / "DONE").exists()
            ]  # trained meanwhile by another process
            idx = [first[k] for k in todo]
            todo_cfgs = [cfgs[i] for i in idx]
            how = choose_layout(todo_cfgs, grad_hook, root, progress, todo) if todo else ""
            if how == "processes":
                train_in_processes(
                    todo_cfgs,
                    idx,
                    todo,
                    root,
                    save=save_run,
                    grad_hook=grad_hook,
                    progress=progress,
                    deadline=deadline(),
                )
            elif todo:
                part = checkpoint_file(root / "partial", todo)
                part.parent.mkdir(parents=True, exist_ok=True)
                trained = train_stack(
                    todo_cfgs,
                    grad_hook=grad_hook,
                    rows=idx,
                    checkpoint=part,
                    progress=progress,
                    deadline=deadline(),
                )
                for i, run in zip(idx, trained):
                    run.env |= {"layout": "stacked", "workers": 1}
                    save_run(run, root / keys[i])
                part.unlink(missing_ok=True)
        for i in group:
            runs[i] = load_run(root / keys[i], cfgs[i])
    out = [runs[i] for i in range(len(cfgs))]
    return out[0] if single else out
