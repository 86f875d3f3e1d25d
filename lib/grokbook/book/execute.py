"""Executing claim notebooks: parameter resolution (notebook defaults, shared grid, smoke file, user
overrides), one claim (`run_claim`), every claim (`reproduce`, optionally until a deadline), the
planning pass (`plan`), and the ledger fields only the runner knows (every parameter as papermill
ran it, the profile, the source digest).

Two choices of the runner reach the training layer through the environment of the process that
trains (the notebook kernels inherit it): compiled steps ($GROKBOOK_COMPILE) and the deadline
($GROKBOOK_DEADLINE); `grokbook.training.cache` is the only reader (`runner_settings` sets them for
the duration of one call).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Optional

import yaml

from grokbook.book import ledger
from grokbook.book import registry
from grokbook.book import scorecard
from grokbook.paths import project_root
from grokbook.training.config import RunConfig
from grokbook.errors import ConfigError, UsageError

PROFILES = ("smoke", "reduced", "paper")
LIGHT = ("smoke", "reduced")  # profiles given as overrides of the paper's values


class Stopped(UsageError):
    """A claim stopped at its deadline: its training checkpoint is kept, the claim has no new ledger
    entry."""


@contextmanager
def runner_settings(compile_step: bool = False, deadline: Optional[float] = None):
    """Set, for the duration of the block, the runner's choices that the training layer reads:
    compiled steps and the deadline (a time.time() value); the previous environment is restored
    afterwards.
    """
    new = {
        "GROKBOOK_COMPILE": "1" if compile_step else None,
        "GROKBOOK_DEADLINE": None if deadline is None else repr(float(deadline)),
    }
    old = {k: os.environ.get(k) for k in new}
    try:
        for k, v in new.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def parse_value(name: str, text: str):
    """-p values are YAML/Python literals: 59, 1e-3, "[7, 8, 9]", add, true."""
    import ast

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise UsageError(f"-p {name}: cannot parse {text!r} as a literal ({e.problem})") from e
    if isinstance(value, str):  # YAML 1.1 reads 1e-3 as a string; Python literal syntax fixes that
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            pass
    return value


SHARED_FIELDS = (
    "p",
    "train_frac",
    "lr",
    "weight_decay",
    "steps",
    "batch_size",
    "eval_every",
    "snapshot_every",
    "device",
)  # notebook parameters that are RunConfig fields of the same name


def check_parameters(values: dict) -> None:
    """Validate the parameters every notebook shares, before a kernel starts, by building the
    RunConfig of every (op, seed) they name — the same checks and messages as inside the notebook —
    and every count (a name starting `n_` or ending `_samples`) is at least 1. Raises ConfigError.
    """
    seeds, ops = values.get("seeds", [0]), values.get("ops", ["add"])
    if "task_sets" in values and "ops" not in values:  # multitask notebooks name task sets, not ops
        from grokbook.training.tasks import TASK_SETS

        sets = values["task_sets"]
        bad = [t for t in sets if t not in TASK_SETS] if isinstance(sets, list) and sets else [sets]
        if bad:
            raise ConfigError(
                f"task_sets={sets!r}: unknown or empty; choose from {list(TASK_SETS)}"
            )
        ops = [list(TASK_SETS[t]) for t in sets]
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in seeds)
    ):
        raise ConfigError(
            f"seeds={seeds!r} must be a non-empty list of integers >= 0, e.g. [7, 8, 9]"
        )
    for name, value in values.items():  # counts (n_checkpoints, probe_samples, ...)
        count = name.startswith("n_") or name.endswith("_samples")
        if count and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            raise ConfigError(f"{name}={value!r} is a count; it must be an integer >= 1")
    for name, value in values.items():  # the same seed twice would train the same run twice
        if name.endswith("seeds") and isinstance(value, list) and len(set(value)) != len(value):
            raise ConfigError(f"{name}={value!r} lists a seed twice; give distinct seeds")
    if not isinstance(ops, list) or not ops:
        raise ConfigError(f"ops={ops!r} must be a list of operation names, e.g. [add, mul]")
    shared = {k: values[k] for k in SHARED_FIELDS if k in values}
    for op in ops:
        for seed in seeds:
            RunConfig(**shared, ops=(op,) if isinstance(op, str) else tuple(op), seed=seed)


def notebook_parameters(nb: Path) -> dict:
    """Name -> default of the notebook's `parameters` cell (plain `name = literal` lines, possibly
    multi-line)."""
    import ast
    import nbformat

    cells = [
        c
        for c in nbformat.read(nb, as_version=4).cells
        if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])
    ]
    if not cells:
        raise UsageError(f"{nb}: no code cell tagged `parameters`")
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(cells[0].source).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }


def profile_values(claim_id: str, nb: Path, profile: str = "smoke") -> dict:
    """Overrides of a claim under a light profile ("smoke" or "reduced"): its shared grid's values,
    then its own `<slug>.<profile>.yaml` (which may only hold parameters the claim owns, not the
    grid's). A claim has a reduced profile when its grid has one, or, outside a grid, when it has a
    reduced file; otherwise UsageError."""
    from grokbook.papers.grid import grid_of

    grid = grid_of(claim_id)
    own_file = nb.with_suffix(f".{profile}.yaml")
    own, _ = own_overrides(nb, profile)
    if profile == "reduced" and not has_profile(claim_id, nb, profile):
        raise UsageError(
            f"{claim_id} has no reduced profile: {no_reduced_reason(claim_id, nb)}; run it with "
            "--profile smoke or --profile paper"
        )
    if grid is None:
        return own
    clash = sorted(set(own) & set(grid.paper))
    if clash:
        raise UsageError(
            f"{own_file.name} sets {clash}, which belong to the shared grid {grid.name}; "
            "change them in the grid's definition"
        )
    return {**(grid.smoke if profile == "smoke" else grid.reduced), **own}


def own_overrides(nb: Path, profile: str) -> tuple[dict, dict]:
    """A claim's own `<slug>.<profile>.yaml`: (parameter overrides, why) — `why` maps a parameter
    to the reason its reduced value is enough and is not a parameter."""
    f = nb.with_suffix(f".{profile}.yaml")
    own = dict((yaml.safe_load(f.read_text()) or {}) if f.exists() else {})
    why = own.pop("why", {})
    if not isinstance(why, dict):
        raise UsageError(f"{f.name}: `why` must map parameters to reasons, not {why!r}")
    return own, why


def has_profile(claim_id: str, nb: Path, profile: str) -> bool:
    """Whether a claim can run under a profile: smoke and paper always; reduced when its grid
    defines one (and does not exclude the claim) or, outside a grid, when it has a
    `<slug>.reduced.yaml`."""
    return profile != "reduced" or no_reduced_reason(claim_id, nb) is None


def no_reduced_reason(claim_id: str, nb: Path) -> str | None:
    """Why a claim has no reduced profile, or None when it has one."""
    from grokbook.papers.grid import grid_of

    grid = grid_of(claim_id)
    if grid is None:
        if nb.with_suffix(".reduced.yaml").exists():
            return None
        return "its point is the breadth of the paper's runs (see its page)"
    if grid.reduced is None:
        return f"its point is the breadth of the paper's grid {grid.name} (see its page)"
    return grid.no_reduced.get(claim_id)


def reductions(claim_id: str, nb: Path) -> list[str]:
    """The reduced profile's departures from the paper for a claim, one sentence each: its grid's,
    then those of its own reduced file (whose `why` key explains them)."""
    from grokbook.papers.grid import grid_of, short_value

    grid = grid_of(claim_id)
    out = grid.reductions() if grid else []
    own, why = own_overrides(nb, "reduced")
    defaults = notebook_parameters(nb)
    return out + [
        f"{k}: {short_value(defaults.get(k), k)} → {short_value(v, k)}"
        + (f" ({why[k]})" if k in why else "")
        for k, v in own.items()
    ]


def executed_parameters(nb: Path, executed: Path) -> dict:
    """Every parameter of an executed notebook: its defaults with papermill's injected values on
    top."""
    import nbformat

    injected = (
        nbformat.read(executed, as_version=4).metadata.get("papermill", {}).get("parameters", {})
    )
    return {**notebook_parameters(nb), **injected}


def resolve(
    claim_id: str, profile: str, user: list[tuple[str, str]]
) -> tuple[registry.Claim, Path, dict, str]:
    """Claim, source notebook, parameters to inject, and the profile label ("smoke", "paper",
    "<p>+custom")."""
    claim = registry.get(claim_id)
    if claim.notebook is None:
        raise UsageError(
            f"{claim_id} is pending: no notebook implements it yet (see `grokbook claims`)"
        )
    if profile not in PROFILES:
        raise UsageError(f"--profile {profile!r} is unknown; choose one of {list(PROFILES)}")
    nb = project_root() / claim.notebook
    defaults = notebook_parameters(nb)
    params: dict = {}
    if profile in LIGHT:
        params |= profile_values(claim.id, nb, profile)
    for name, text in user:
        if name not in defaults:
            raise UsageError(
                f"-p {name}: {claim_id} has no parameter {name!r}; its parameters are: "
                f"{', '.join(n for n in defaults if n != 'profile')}"
            )
        params[name] = parse_value(name, text)
    if "device" in defaults and not any(n == "device" for n, _ in user) and profile == "paper":
        import torch

        params["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    label = profile + ("+custom" if user else "")
    params["profile"] = label
    check_parameters({**defaults, **params})
    return claim, nb, params, label


LIB = Path(__file__).parents[1]  # the grokbook package
COMPUTING = ("training", "measures", "papers")  # the layers whose code decides a result


def source_digest(nb: Path, profile: str) -> str:
    """What an executed claim's result depends on: the notebook, its profile overrides (light
    profiles) and the code it reaches in the layers that compute results (training, measures,
    papers): the modules its code cells import, followed through their own imports
    (`reached_modules`), each read as Python tokens without comments, docstrings and layout
    (`code_tokens`). A ledger entry carrying the current digest is up to date and `reproduce` skips
    its claim; the book layer (pages, runner), the documentation of the computing layers and the
    modules a claim never imports can change without making its result stale.
    """
    import hashlib

    h = hashlib.sha256(nb.read_bytes())
    own = nb.with_suffix(f".{profile}.yaml")
    if profile in LIGHT and own.exists():
        h.update(own.read_bytes())
    for f in reached_modules(notebook_imports(nb)):
        name = f.relative_to(LIB)
        if name.parts[0] in COMPUTING:
            h.update(str(name).encode() + b"\0" + code_tokens(f.read_text()).encode())
    return h.hexdigest()[:16]


def notebook_imports(nb: Path) -> list[str]:
    """The grokbook modules a notebook's code cells import (with each `from` import's names that
    are modules themselves, e.g. `from grokbook.papers.spectral import rules`)."""
    import ast

    cells = json.loads(nb.read_text()).get("cells", [])
    names: list[str] = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError as e:
            raise UsageError(
                f"{nb}: a code cell does not parse ({e.msg}, line {e.lineno})"
            ) from None
        names += imported_names(tree, package="")
    return [n for n in names if n == "grokbook" or n.startswith("grokbook.")]


def imported_names(tree, package: str) -> list[str]:
    """Module names an AST imports anywhere (top level or inside functions), relative imports
    resolved against `package`; `from m import a` gives m and m.a (m.a may be a plain name)."""
    import ast

    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # `from ..m import a` inside package p.q: p.m
                above = package.rsplit(".", node.level - 1)[0]
                base = f"{above}.{base}" if base else above
            out += [base] + [f"{base}.{a.name}" for a in node.names]
    return out


def reached_modules(names: list[str]) -> list[Path]:
    """The files of the grokbook modules that importing `names` runs: each module, the packages
    above it and, transitively, what they import; sorted."""

    def file_of(name: str) -> Path | None:
        rel = Path(*name.split(".")[1:])
        for f in (LIB / rel / "__init__.py", (LIB / rel).with_suffix(".py")):
            if f.is_file():
                return f
        return None

    seen: dict[str, Path] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # the packages above run first
            mod = ".".join(parts[:i])
            f = file_of(mod)
            if mod in seen or f is None:
                continue
            seen[mod] = f
            package = mod if f.name == "__init__.py" else mod.rpartition(".")[0]
            stat = f.stat()
            todo += module_imports(str(f), package, stat.st_mtime_ns, stat.st_size)
    return sorted(set(seen.values()))


@lru_cache(maxsize=None)
def module_imports(path: str, package: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """The grokbook modules one file imports (cached per version of the file)."""
    import ast

    found = imported_names(ast.parse(Path(path).read_text()), package)
    return tuple(n for n in found if n.startswith("grokbook."))


def code_tokens(source: str) -> str:
    """The tokens of a Python module that can change what it computes, one per line: comments,
    docstrings (the leading string statement of a module, class or function), blank lines and line
    breaks inside brackets are left out, so rewording or reformatting them leaves this unchanged."""
    import ast
    import io
    import tokenize

    docs = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            docs.add(body[0].lineno)
    kept, skipping = [], False
    breaks = (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL):
            continue
        starts_statement = not kept or kept[-1][0] in breaks
        if tok.type == tokenize.STRING and tok.start[0] in docs and starts_statement:
            skipping = True
        if skipping:
            skipping = tok.type != tokenize.NEWLINE
            continue
        kept.append((tok.type, tok.string))
    return "\n".join(f"{t} {s}" for t, s in kept)


def is_current(claim: registry.Claim, profile: str) -> bool:
    """Whether the claim's executed notebook and ledger for this profile exist and carry the current
    digest."""
    out = scorecard.executed_path(claim, profile)
    entry = ledger.read(scorecard.ledger_for(out))
    return (
        entry is not None
        and out.exists()
        and entry.get("profile") == profile
        and entry.get("source_digest") == source_digest(project_root() / claim.notebook, profile)
    )


def run_claim(
    claim_id: str,
    profile: str = "smoke",
    user: list[tuple[str, str]] = (),
    output: Path | None = None,
    compile_step: Optional[bool] = None,
) -> Path:
    """Execute one claim notebook with papermill; returns the executed notebook's path.
    compile_step: train with compiled steps (None: as the enclosing `runner_settings` says). A claim
    whose training reaches the deadline raises Stopped (its checkpoint is kept; the next run resumes
    from it)."""
    if compile_step is not None:
        with runner_settings(compile_step, _deadline_now()):
            return run_claim(claim_id, profile, user, output)
    import papermill
    from grokbook.training.cache import compile_requested

    claim, nb, params, label = resolve(claim_id, profile, list(user))
    out = Path(output) if output else scorecard.executed_path(claim, "custom" if user else profile)
    out.parent.mkdir(parents=True, exist_ok=True)
    led = scorecard.ledger_for(out)
    led.unlink(missing_ok=True)  # a failed run must not leave an older verdict behind
    os.environ["GROKBOOK_LEDGER"] = str(led.resolve())
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # busy-waiting threads stall shared CPUs
    os.environ.setdefault(
        "OPENBLAS_NUM_THREADS", "1"
    )  # numpy's small Gram products: 10-20x slower threaded
    compiled = compile_requested()
    # the code and the reductions as they are when execution starts, so that an edit made while the
    # notebook runs cannot be recorded as what it ran with
    digest = source_digest(nb, profile)
    reduced = reductions(claim.id, nb) if profile == "reduced" else []
    shown = {k: v for k, v in params.items() if k != "profile"} | (
        {"compile_step": True} if compiled else {}
    )
    print(f"[{claim_id}] profile={label} {shown} -> {out}", flush=True)
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(nb),
            str(out),
            parameters=params,
            cwd=str(project_root()),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
        )
    except papermill.PapermillExecutionError as e:
        if e.ename == "DeadlineReached":
            raise Stopped(f"{claim_id}: stopped at the deadline: {e.evalue}") from None
        raise UsageError(
            f"{claim_id}: the notebook stopped with {e.ename}: {e.evalue} (see {out})"
        ) from None
    finally:
        os.environ.pop("GROKBOOK_LEDGER", None)
    entry = json.loads(led.read_text()) if led.exists() else None
    if entry is None:
        raise UsageError(
            f"{claim_id}: the notebook finished without recording a ledger entry ({led})"
        )
    relative_paths(out)
    entry["parameters"] = executed_parameters(nb, out)  # as papermill ran it, no hand-written list
    entry["profile"] = label
    entry["reductions"] = reduced
    entry["compile_step"] = compiled
    entry["source_digest"] = digest  # reproduce skips current entries; stale otherwise
    ledger.write(led, entry)
    print(
        f"[{claim_id}] verdict: {entry['verdict']} | ours: {entry['our_value']} | "
        f"{time.perf_counter() - t0:.0f} s | ledger {led}",
        flush=True,
    )
    return out


def relative_paths(executed: Path) -> None:
    """Papermill records the input and output paths of an execution; keep them relative to the
    project, so a committed notebook does not carry the folder it was executed in."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    meta = nb.metadata.get("papermill", {})
    root = project_root().resolve()
    for key in ("input_path", "output_path"):
        path = Path(meta.get(key) or "")
        if path.is_absolute() and path.resolve().is_relative_to(root):
            meta[key] = str(path.resolve().relative_to(root))
    nbformat.write(nb, executed)


def collect_plan(claims: list[registry.Claim], profile: str) -> dict:
    """Planning pass: execute each notebook until its first training call ($GROKBOOK_PLAN makes
    load_or_train record the missing runs and stop). -> {(config, hook key): [claim ids that asked
    for it]}, in first-seen order; later training calls of a notebook (runs that depend on earlier
    results) are not seen."""
    import tempfile
    import papermill
    from grokbook.training.cache import plan_entries

    needs: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for i, claim in enumerate(claims, 1):
                _, nb, params, _ = resolve(claim.id, profile, [])
                print(f"plan [{i}/{len(claims)}] {claim.id}", flush=True)
                os.environ["GROKBOOK_PLAN"] = str(Path(tmp) / f"{i}.jsonl")
                try:
                    papermill.execute_notebook(
                        str(nb),
                        str(Path(tmp) / "plan.ipynb"),
                        parameters=params,
                        cwd=str(project_root()),
                        kernel_name="python3",
                        progress_bar=False,
                    )
                except papermill.PapermillExecutionError:
                    pass  # PlanComplete (or an error the real pass will report)
                for entry in plan_entries(Path(tmp) / f"{i}.jsonl"):
                    needs.setdefault(entry, []).append(claim.id)
        finally:
            os.environ.pop("GROKBOOK_PLAN", None)
    return needs


def plan_and_train(claims: list[registry.Claim], profile: str) -> None:
    """Train every run the planning pass found (hooked ones excepted) at once, in stacks of
    compatible runs across notebooks, before the notebooks execute."""
    from grokbook.training.cache import load_or_train

    cfgs = [
        c for c, hook in collect_plan(claims, profile) if not hook
    ]  # distinct, first-seen order
    print(f"plan: {len(cfgs)} run(s) to train before executing the notebooks", flush=True)
    if cfgs:
        load_or_train(cfgs)


def claims_to_run(profile: str, paper: str | None, force: bool) -> list[registry.Claim]:
    """Implemented claims (of one paper) whose ledger entry for this profile is not current (all
    with force)."""
    if profile not in PROFILES:
        raise UsageError(f"--profile {profile!r} is unknown; choose one of {list(PROFILES)}")
    todo, implemented = [], [c for c in registry.claims(paper) if c.notebook is not None]
    without = [
        c.id for c in implemented if not has_profile(c.id, project_root() / c.notebook, profile)
    ]
    if without:
        print(
            f"--profile {profile}: {len(without)} claim(s) have no such profile (their point is "
            f"the paper's breadth): {', '.join(without)}",
            flush=True,
        )
    implemented = [c for c in implemented if c.id not in without]
    for claim in implemented:
        if not force and is_current(claim, profile):
            print(
                f"[{claim.id}] current ({profile} ledger matches the notebook and library): "
                "skipped",
                flush=True,
            )
        else:
            todo.append(claim)
    print(f"--profile {profile}: {len(todo)} of {len(implemented)} claim(s) to run", flush=True)
    return todo


def plan(profile: str, paper: str | None, force: bool, out: Path | None) -> None:
    """Print (and write as JSON) the runs `reproduce` would train for these claims, grouped into
    stacks and chunks (a shared grid and the claims that read it), with the upper bound and the
    expected cost from measured runs (`costs`). With `out`, the measurements of the local run cache
    are also kept in benchmarks/results/measured-runs.json."""
    from grokbook.book import costs
    from grokbook.training.cache import plan_stacks

    todo = claims_to_run(profile, paper, force)
    table = costs.measurements()
    rows = plan_stacks(collect_plan(todo, profile), lambda cs: costs.stack_cost(cs, table))
    chunks = plan_chunks(rows, todo, profile)
    total = {
        "stacks": len(rows),
        "runs": sum(r["runs"] for r in rows),
        "run_steps": sum(r["run_steps"] for r in rows),
        "expected_run_steps": sum(r["expected_run_steps"] for r in rows),
        "snapshot_gb": round(sum(r["snapshot_gb"] for r in rows), 2),
        "hooked_runs": sum(r["runs"] for r in rows if r["hook"]),
    }
    print(
        f"\n{'runs':>5} {'p':>4} {'d':>4} {'L':>2} {'T':>2} {'steps':>8} {'run-steps':>11} "
        f"{'expected':>11} {'h':>6} {'probe':>6} {'snap GB':>8} hook claims"
    )
    for r in rows:
        hours = "?" if r["expected_h"] is None else f"{r['expected_h']:.2f}"
        print(
            f"{r['runs']:5d} {r['p']:4d} {r['d_model']:4d} {r['n_layers']:2d} {r['n_tasks']:2d} "
            f"{r['steps']:8d} {r['run_steps']:11,d} {r['expected_run_steps']:11,d} {hours:>6} "
            f"{r['probe_every']:6d} {r['snapshot_gb']:8.2f} {r['hook'] or '-'} "
            f"{', '.join(r['claims'])}"
        )
    print(
        f"total: {total['runs']} runs in {total['stacks']} stacks, {total['run_steps']:,} "
        f"run-steps at most, {total['expected_run_steps']:,} expected from measured runs "
        f"({total['hooked_runs']} hooked runs train in the real pass), "
        f"{total['snapshot_gb']} GB of snapshots; first training call of each notebook only"
    )
    print("\nchunks (train, then execute the claims that read them; one sitting each):")
    for ch in chunks:
        train = "?" if ch["expected_h"] is None else f"{ch['expected_h']:.2f}"
        notebooks = "?" if ch["analysis_h"] is None else f"{ch['analysis_h']:.2f}"
        split = (
            ""
            if ch["sittings"] in (None, 1)
            else f"; {ch['sittings']} sittings of ≤ {SITTING_H:g} h with --deadline "
            f"{int(SITTING_H * 3600)}"
        )
        print(
            f"  {ch['chunk']}: {ch['runs']} runs, {train} h of training expected, then "
            f"{len(ch['claims'])} claims in {notebooks} h (their last executions){split}"
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps(
                {
                    "profile": profile,
                    "paper": paper,
                    "claims": [c.id for c in todo],
                    "total": total,
                    "chunks": chunks,
                    "stacks": rows,
                },
                indent=1,
            )
        )
        print(f"written {out}; measurements kept in {costs.write(table)}")


def plan_chunks(rows: list[dict], todo: list[registry.Claim], profile: str) -> list[dict]:
    """The plan's stacks grouped by the shared grid (or the single claim) that asks for them: each
    chunk trains and executes in one sitting. `expected_h`: training at the measured speed (None
    when a stack's speed is unknown); `analysis_h`: the claims' last recorded wall times in this
    profile (None when one has none)."""
    from grokbook.papers.grid import grid_of

    def chunk_of(claim_id: str) -> str:
        g = grid_of(claim_id)
        return g.name if g else claim_id

    def add(a, b):
        return None if a is None or b is None else round(a + b, 2)

    chunks: dict[str, dict] = {}
    for c in todo:
        ch = chunks.setdefault(chunk_of(c.id), {"runs": 0, "expected_h": 0.0, "analysis_h": 0.0})
        wall = last_wall_s(c, profile)
        ch["analysis_h"] = add(ch["analysis_h"], None if wall is None else wall / 3600)
    for r in rows:
        ch = chunks.setdefault(
            chunk_of(r["claims"][0]), {"runs": 0, "expected_h": 0.0, "analysis_h": None}
        )
        ch["runs"] += r["runs"]
        ch["expected_h"] = add(ch["expected_h"], r["expected_h"])
    return [
        {
            "chunk": k,
            **v,
            "sittings": sittings(v["expected_h"], v["analysis_h"]),
            "claims": [c.id for c in todo if chunk_of(c.id) == k],
        }
        for k, v in chunks.items()
    ]


SITTING_H = 2.0  # longest planned sitting; training checkpoints, so a chunk may take several


def sittings(train_h: Optional[float], analysis_h: Optional[float]) -> Optional[int]:
    """Sittings of at most SITTING_H hours a chunk needs: its training resumes from checkpoints
    across sittings (`reproduce --deadline`), its notebooks run in the last one. None when the
    training time is unknown."""
    if train_h is None:
        return None
    return max(1, math.ceil((train_h + (analysis_h or 0.0)) / SITTING_H - 1e-9))


def _deadline_now() -> Optional[float]:
    from grokbook.training.cache import deadline

    return deadline()


def _run_detached(claim_id: str, profile: str) -> tuple[int, str]:
    """`grokbook run` of one claim in its own process (its own environment and ledger path); exit
    status and output, with progress-bar redraws collapsed to their last state. The process inherits
    the runner's settings (compiled steps, deadline) from the environment."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "grokbook.cli", "run", claim_id, "--profile", profile],
        capture_output=True,
        text=True,
        cwd=str(project_root()),
    )
    text = "\n".join(
        seg.split("\r")[-1]
        for seg in (proc.stdout + proc.stderr).splitlines()
        if seg.split("\r")[-1].strip() and "Kernel is running over TCP" not in seg
    )
    return proc.returncode, text


def last_wall_s(claim: registry.Claim, profile: str) -> Optional[float]:
    """Wall time of the claim's last recorded execution in this profile (the deadline's estimate),
    or None."""
    entry = ledger.read(scorecard.ledger_for(scorecard.executed_path(claim, profile)))
    wall = (entry or {}).get("wall_s")
    return float(wall) if isinstance(wall, (int, float)) else None


def fits(claim: registry.Claim, profile: str, end: Optional[float]) -> Optional[str]:
    """Why a claim is not started before the deadline `end` (a time.time() value), or None if it may
    start: the deadline has passed, or its last recorded wall time is longer than the time left."""
    if end is None:
        return None
    left = end - time.time()
    if left <= 0:
        return "the deadline has passed"
    wall = last_wall_s(claim, profile)
    if wall is not None and wall > left:
        return f"its last execution took {wall:.0f} s, {left:.0f} s are left"
    return None


def reproduce(
    profile: str,
    paper: str | None,
    force: bool,
    plan: bool,
    jobs: int = 1,
    deadline_s: Optional[float] = None,
    compile_step: bool = False,
) -> list[str]:
    """Execute every implemented claim (of one paper), skipping those whose ledger entry is current.
    With deadline_s, no claim starts after that many seconds (nor one whose last execution took
    longer than the time left), and a training stack still running then writes its checkpoint and
    stops; everything finished is kept and the same command resumes. Returns the ids of the claims
    left for a later run.
    """
    if deadline_s is not None and deadline_s <= 0:
        raise UsageError(
            f"--deadline {deadline_s:g} is out of range; it must be a number of seconds > 0"
        )
    end = None if deadline_s is None else time.time() + deadline_s
    with runner_settings(compile_step, end):
        return _reproduce(profile, paper, force, plan, jobs, end)


def _reproduce(
    profile: str, paper: str | None, force: bool, plan: bool, jobs: int, end: Optional[float]
) -> list[str]:
    from grokbook.training.train import DeadlineReached

    todo = claims_to_run(profile, paper, force)
    failed, left = [], []
    if plan and todo:
        try:
            plan_and_train(todo, profile)
        except DeadlineReached as e:
            print(f"plan: {e}; no claim started", flush=True)
            return _report_left([c.id for c in todo], failed)
    # claims that read other claims' ledgers (`after` in claims.yaml) start once every other claim
    # has finished, so they never read a ledger that is missing or being rewritten
    todo = [c for c in todo if not c.after] + [c for c in todo if c.after]
    if jobs > 1:  # registry order, `jobs` at a time; shared runs are trained once (run locks)
        from concurrent.futures import ThreadPoolExecutor

        def job(claim):
            why = fits(claim, profile, end)
            return (None, why) if why else _run_detached(claim.id, profile)

        first = [c for c in todo if not c.after]
        with ThreadPoolExecutor(jobs) as pool:
            futures = [pool.submit(job, c) for c in first]
            for i, (claim, fut) in enumerate(zip(first, futures), 1):
                code, text = fut.result()
                if code is None:
                    print(f"[{i}/{len(todo)}] [{claim.id}] not started: {text}", flush=True)
                    left.append(claim.id)
                    continue
                print(f"[{i}/{len(todo)}] {text}", flush=True)
                if code != 0:
                    (left if code == 3 else failed).append(claim.id)  # 3: stopped at the deadline
    serial = todo if jobs == 1 else [c for c in todo if c.after]
    for i, claim in enumerate(serial, len(todo) - len(serial) + 1):
        why = fits(claim, profile, end)
        if why:
            print(f"[{i}/{len(todo)}] [{claim.id}] not started: {why}", flush=True)
            left.append(claim.id)
            continue
        print(f"[{i}/{len(todo)}]", end=" ", flush=True)
        try:
            run_claim(claim.id, profile)
        except Stopped as e:
            print(e, flush=True)
            left.append(claim.id)
        except UsageError as e:
            print(f"error: {e}", file=sys.stderr, flush=True)
            failed.append(claim.id)
    return _report_left(left, failed)


def _report_left(left: list[str], failed: list[str]) -> list[str]:
    if left:
        print(
            f"deadline: {len(left)} claim(s) left for a later run (finished claims and training "
            f"checkpoints are kept; the same command continues): {', '.join(left)}",
            flush=True,
        )
    if failed:
        raise UsageError(f"{len(failed)} claim(s) failed: {', '.join(failed)}")
    return left


def print_claims(as_json: bool) -> None:
    """The scorecard: verdict, evidence that entered, profile and staleness per claim (with --json
    also every recorded parameter, the rule and the values)."""
    rows = scorecard.rows()
    if as_json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    print(f"{'claim':38} {'verdict':15} {'evidence':10} {'profile':13} {'stale':5} our value")
    for r in rows:
        n = r["evidence"] or "-"
        stale = "-" if r["stale"] is None else "yes" if r["stale"] else "no"
        print(
            f"{r['id']:38} {r['verdict'] or r['status']:15} {n:10} {r['profile'] or '-':13} "
            f"{stale:5} {r['our_value'] or '-'}"
        )
    from grokbook.papers.verdict import MEANING

    print("\nverdicts: " + "; ".join(f"{v}: {m}" for v, m in MEANING.items()))
    print(
        "profile: the best execution available per claim — paper (the papers' grids), else "
        "reduced (the paper's model on a CPU, fewer grid points), else smoke (a small CPU "
        "setting; not evidence about the papers' scale)"
    )
