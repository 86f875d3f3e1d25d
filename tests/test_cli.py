"""The `grokbook` command line: user errors exit with status 2 and a one-line message naming the
parameter, before any kernel starts; `claims --json` covers every registered claim; -p values parse
as literals; `reproduce --deadline` stops between claims and keeps what finished; `pack`/`unpack`
move results with checked paths."""

import json
import re
from pathlib import Path

import papermill
import pytest
import yaml

from grokbook import cli
from grokbook.book import costs, execute
from grokbook.errors import UsageError
from grokbook.book import registry

ROOT = Path(__file__).resolve().parents[1]

# the template notebook: its smoke ops include mul (needs a prime p)
CLAIM = "curv.baseline-grokking"


class Executed(Exception):
    """Raised instead of running a notebook: validation let the command through."""


@pytest.fixture(autouse=True)
def no_execution(monkeypatch):
    def refuse(*a, **kw):
        raise Executed

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def error_of(capsys, *argv) -> str:
    assert cli.main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err  # one line, no traceback
    return err


def test_unknown_claim_id(capsys):
    err = error_of(capsys, "run", "curv.no-such-claim")
    assert "unknown claim id 'curv.no-such-claim'" in err and CLAIM in err


def test_pending_claim(capsys, monkeypatch):
    import dataclasses

    pending = dataclasses.replace(
        registry.get(CLAIM), notebook=None
    )  # a claim without a notebook yet
    monkeypatch.setattr(registry, "get", lambda claim_id: pending)
    assert "pending" in error_of(capsys, "run", CLAIM)


def test_unknown_profile(capsys):
    assert "--profile 'fast'" in error_of(capsys, "run", CLAIM, "--profile", "fast")


def test_unknown_parameter_lists_the_valid_names(capsys):
    err = error_of(capsys, "run", CLAIM, "-p", "learning_rate", "1e-3")
    assert "learning_rate" in err
    for name in ("p", "ops", "seeds", "train_frac", "lr", "weight_decay"):
        assert re.search(rf"\b{name}\b", err.split("parameters are:")[1]), name


@pytest.mark.parametrize(
    "name,value,says",
    [
        ("p", "1", "p=1"),
        ("p", "0", "p=0"),
        ("p", "-3", "p=-3"),
        ("p", "2.5", "p=2.5"),
        ("p", "33", "p=33 is not prime"),  # the notebook's ops include mul
        ("train_frac", "0", "train_frac=0"),
        ("train_frac", "1.5", "train_frac=1.5"),
        ("ops", "[foo]", "unknown operation 'foo'"),
        ("ops", "add", "ops='add' must be a list"),
        ("seeds", "[]", "seeds=[]"),
        ("seeds", "[1, -2]", "seeds="),
        ("steps", "0", "steps=0"),
        ("lr", "0", "lr=0"),
        ("weight_decay", "-1", "weight_decay=-1"),
        ("device", "tpu", "device='tpu'"),
    ],
)
def test_bad_values_exit_2_naming_the_parameter(capsys, name, value, says):
    assert says in error_of(capsys, "run", CLAIM, "-p", name, value)


def test_a_non_prime_p_passes_when_no_op_needs_a_field(tmp_path):
    with pytest.raises(Executed):  # validation passed: it went on to execute
        cli.main(
            [
                "run",
                CLAIM,
                "-p",
                "p",
                "33",
                "-p",
                "ops",
                "[add, sub]",
                "--output",
                str(tmp_path / "o.ipynb"),
            ]
        )


def test_resolve_merges_smoke_then_user_values():
    _, nb, params, label = execute.resolve(CLAIM, "smoke", [("lr", "1e-3"), ("seeds", "[7, 8]")])
    smoke = execute.profile_values(CLAIM, nb)  # its grid's smoke values, then its own file
    own = yaml.safe_load(nb.with_suffix(".smoke.yaml").read_text()) or {}
    assert own.items() <= smoke.items() and "p" in smoke
    assert params["lr"] == 0.001 and params["seeds"] == [7, 8] and params["p"] == smoke["p"]
    assert label == "smoke+custom" and params["profile"] == "smoke+custom"


def test_reduced_profile_takes_the_grid_values_and_refuses_a_claim_without_one():
    from grokbook.papers.grid import grid_of

    _, nb, params, label = execute.resolve("curv.pc1-concentration", "reduced", [])
    grid = grid_of("curv.pc1-concentration")
    assert {k: params[k] for k in grid.reduced} == dict(grid.reduced) and label == "reduced"
    reductions = execute.reductions("curv.pc1-concentration", nb)
    assert reductions[2].startswith("steps: 50,000 → 10,000 (")  # the grid's, then the claim's
    assert reductions[3].startswith("no_grok_ops: [x2_xy_y2, x3_xy] → [x2_xy_y2] (x3_xy is not")
    assert params["no_grok_ops"] == ["x2_xy_y2"] and "why" not in params
    without = "curv.slow-regime"
    nb = Path(execute.project_root()) / registry.get(without).notebook
    assert not execute.has_profile(without, nb, "reduced")
    with pytest.raises(UsageError, match=f"{without} has no reduced profile"):
        execute.resolve(without, "reduced", [])


@pytest.mark.parametrize(
    "text,value",
    [
        ("[7, 8, 9]", [7, 8, 9]),
        ("1e-3", 1e-3),
        ("1.0e-3", 1e-3),
        ("3e3", 3000.0),
        ("0.5", 0.5),
        ("59", 59),
        ("add", "add"),
        ("[add, mul]", ["add", "mul"]),
        ("true", True),
        ('"mul"', "mul"),
    ],
)
def test_parse_value(text, value):
    got = execute.parse_value("x", text)
    assert got == value and type(got) is type(value)


def test_yaml_alone_reads_1e_3_as_a_string():
    """Why parse_value falls back to Python literals: YAML 1.1 needs a dot (1.0e-3) for a float.
    The same trap applies to .smoke.yaml files (checked in test_notebooks)."""
    assert yaml.safe_load("1e-3") == "1e-3"


def test_parse_value_rejects_broken_yaml():
    with pytest.raises(UsageError, match="-p seeds"):
        execute.parse_value("seeds", "[1, 2")


def test_claims_json_covers_every_registered_claim_and_notebook(capsys):
    assert cli.main(["claims", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = [r["id"] for r in rows]
    assert len(ids) > 40 and len(ids) == len(set(ids))
    assert ids == [c.id for c in registry.claims()]
    assert {r["status"] for r in rows} <= {"pending", "run", "not run"}
    keys = {"verdict", "evidence_n", "evidence", "profile", "stale", "parameters", "rule"}
    assert all(keys <= set(r) for r in rows)
    root = execute.project_root()
    registered = {c.notebook for c in registry.claims() if c.notebook}
    on_disk = {
        p.relative_to(root).as_posix()
        for p in (root / "notebooks").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    }
    assert registered and registered <= on_disk, sorted(registered - on_disk)
    assert on_disk <= registered, sorted(on_disk - registered)  # no notebook outside the registry


def test_task_sets_are_validated_like_ops():
    from grokbook.errors import ConfigError

    execute.check_parameters({"task_sets": ["dual", "tri"], "p": 97, "seeds": [1]})
    with pytest.raises(ConfigError, match="task_sets=\\['quad'\\]"):
        execute.check_parameters({"task_sets": ["quad"], "p": 97})
    with pytest.raises(ConfigError, match="p=33 is not prime"):  # mul needs a field
        execute.check_parameters({"task_sets": ["dual"], "p": 33})
    execute.check_parameters({"n_checkpoints_tri": 80, "probe_samples": 9, "n_layers": 2})
    for name, bad in (("n_checkpoints_tri", 0), ("probe_samples", -1), ("n_null", 2.5)):
        with pytest.raises(
            ConfigError, match=f"{name}={bad} is a count; it must be an integer >= 1"
        ):
            execute.check_parameters({name: bad})


def test_source_digest_follows_the_notebook_and_its_smoke_overrides(tmp_path):
    nb, yml = tmp_path / "c.ipynb", tmp_path / "c.smoke.yaml"
    nb.write_text("{}")
    yml.write_text("p: 47\n")
    d0 = execute.source_digest(nb, "smoke")
    assert execute.source_digest(nb, "smoke") == d0
    yml.write_text("p: 53\n")
    d1 = execute.source_digest(nb, "smoke")
    assert d1 != d0 and execute.source_digest(nb, "paper") == execute.source_digest(nb, "paper")
    yml.write_text("p: 47\n")
    assert execute.source_digest(nb, "paper") != d0  # paper ignores the smoke file
    nb.write_text("{ }")
    assert execute.source_digest(nb, "smoke") != d0


def test_source_digest_follows_the_modules_a_notebook_reaches(tmp_path, monkeypatch):
    lib = tmp_path / "grokbook"
    files = {
        "__init__.py": "",
        "papers/__init__.py": "",
        "papers/a.py": "from grokbook.measures import m\nX = 1\n",
        "papers/b.py": "Y = 1\n",
        "measures/__init__.py": "",
        "measures/m.py": "def f():\n    from . import n\n",
        "measures/n.py": "Z = 1\n",
        "book/__init__.py": "",
        "book/ledger.py": "from grokbook.papers import a\n",
    }
    write_tree(lib, files)
    monkeypatch.setattr(execute, "LIB", lib)
    nb = tmp_path / "c.ipynb"
    cell = {
        "cell_type": "code",
        "source": ["%matplotlib inline\n", "from grokbook.book import ledger"],
    }
    nb.write_text(json.dumps({"cells": [cell]}))
    reached = execute.reached_modules(execute.notebook_imports(nb))
    assert {str(f.relative_to(lib)) for f in reached} == set(files) - {"papers/b.py"}
    d0 = execute.source_digest(nb, "paper")
    for name, stale in (("papers/b.py", 0), ("book/ledger.py", 0), ("measures/n.py", 1)):
        f = lib / name
        text = f.read_text()
        f.write_text(text + "V = 2\n")
        assert (execute.source_digest(nb, "paper") != d0) == stale, name
        f.write_text(text)
    assert execute.source_digest(nb, "paper") == d0
    nb.write_text(json.dumps({"cells": [{**cell, "source": ["x = (\n"]}]}))
    with pytest.raises(UsageError, match="c.ipynb: a code cell does not parse"):
        execute.source_digest(nb, "paper")


NOTEBOOKS = [ROOT / c.notebook for c in registry.claims() if c.notebook]


def test_notebook_imports_cover_what_importing_them_runs():
    """The digest follows imports statically; importing every notebook's modules for real loads no
    computing-layer module the static reading misses, and the computing layers import nothing by
    name at run time (only `papers.grid.all_grids` does, for the book layer)."""
    import ast
    import subprocess
    import sys

    statements, static = set(), set()
    for nb in NOTEBOOKS:
        static |= set(execute.reached_modules(execute.notebook_imports(nb)))
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "code":
                for node in ast.walk(ast.parse("".join(cell["source"]))):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and "grokbook" in (
                        getattr(node, "module", None) or node.names[0].name
                    ):
                        statements.add(ast.unparse(node))
    code = "\n".join(sorted(statements)) + (
        "\nimport sys\nprint('\\n'.join(sorted({m.__file__ for n, m in sys.modules.items()"
        " if n.startswith('grokbook') and getattr(m, '__file__', None)})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {Path(f) for f in out.stdout.split()}
    computing = {f for f in loaded if f.relative_to(execute.LIB).parts[0] in execute.COMPUTING}
    assert len(statements) > 20 and len(computing) > 30
    assert computing <= static, sorted(computing - static)
    dynamic = [
        str(f.relative_to(execute.LIB))
        for layer in execute.COMPUTING
        for f in (execute.LIB / layer).rglob("*.py")
        if re.search(r"importlib|__import__|all_grids\(|grid_of\(", f.read_text())
    ]
    assert dynamic == ["papers/grid.py"]


def test_every_grid_claim_imports_the_module_that_defines_its_grid():
    """A claim's reduced and smoke values come from its grid's module: the digest must follow it."""
    import sys

    from grokbook.papers.grid import all_grids, grid_of

    all_grids()  # imports every module of the paper packages
    modules = {
        g.name: Path(m.__file__)
        for name, m in list(sys.modules.items())
        if name.startswith("grokbook.papers.")
        for g in getattr(m, "GRIDS", ())
    }
    checked = 0
    for c in registry.claims():
        grid = grid_of(c.id) if c.notebook else None
        if grid is not None:
            reached = execute.reached_modules(execute.notebook_imports(ROOT / c.notebook))
            assert modules[grid.name] in reached, (c.id, grid.name)
            checked += 1
    assert checked >= 30


def test_code_tokens_ignore_documentation_and_layout_but_not_code():
    src = (
        '"""Module."""\nimport math  # why\n\n\ndef f(a,\n      b):\n    """Doc."""\n'
        '    x = "s"\n    "not a docstring"\n    return math.pi * a + b\n'
    )
    same = (
        '"""Reworded."""\nimport math\n\ndef f(a, b):\n    # new comment\n'
        '    x = "s"\n    "not a docstring"\n    return math.pi * a + b\n'
    )
    tokens = execute.code_tokens(src)
    assert execute.code_tokens(same) == tokens
    assert execute.code_tokens(src.replace('    """Doc."""\n', "")) == tokens
    for old, new in (('x = "s"', 'x = "t"'), ("math.pi", "math.e"), ("not a doc", "a statement")):
        assert execute.code_tokens(src.replace(old, new)) != tokens, new


def test_reproduce_skips_claims_whose_ledger_is_current(tmp_path, monkeypatch, capsys):
    claims = [c for c in registry.claims("power") if c.notebook][:2]
    out = {c.id: tmp_path / f"{c.slug}.ipynb" for c in claims}
    monkeypatch.setattr(execute.scorecard, "executed_path", lambda c, prof: out[c.id])
    monkeypatch.setattr(execute.registry, "claims", lambda paper=None: claims)
    ran = []
    monkeypatch.setattr(execute, "run_claim", lambda cid, prof: ran.append(cid))
    first = claims[0]
    out[first.id].write_text("{}")
    stamp = {
        "profile": "smoke",
        "verdict": "partial",
        "source_digest": execute.source_digest(execute.project_root() / first.notebook, "smoke"),
    }
    out[first.id].with_suffix(".ledger.json").write_text(json.dumps(stamp))
    execute.reproduce("smoke", None, force=False, plan=False)
    assert ran == [claims[1].id] and f"[{first.id}] current" in capsys.readouterr().out
    ran.clear()
    execute.reproduce("smoke", None, force=True, plan=False)
    assert ran == [c.id for c in claims]
    ran.clear()
    out[first.id].with_suffix(".ledger.json").write_text(
        json.dumps({**stamp, "source_digest": "stale"})
    )
    execute.reproduce("smoke", None, force=False, plan=False)
    assert ran == [c.id for c in claims]


def test_reproduce_rejects_a_nonpositive_jobs_count(capsys):
    assert "--jobs 0" in error_of(capsys, "reproduce", "--jobs", "0")


@pytest.fixture
def scratch_output(monkeypatch, tmp_path):
    """Executed notebooks and ledgers of `grokbook run` go to tmp_path (a run deletes the ledger it
    is about to replace: the checkout's own executions must stay untouched)."""
    monkeypatch.setattr(
        execute.scorecard, "executed_path", lambda c, prof: tmp_path / prof / f"{c.slug}.ipynb"
    )


def seen_by_kernel(monkeypatch, variable: str, *flags: str) -> list:
    """The value of an environment variable in the notebook's process for `grokbook run CLAIM
    FLAGS`, then for `grokbook run CLAIM`; the variable is unset before and must be after."""
    import os

    monkeypatch.delenv(variable, raising=False)
    seen = []

    def kernel(*a, **kw):  # what the notebook's process would see
        seen.append(os.environ.get(variable))
        raise Executed

    monkeypatch.setattr(papermill, "execute_notebook", kernel)
    for argv in (["run", CLAIM, *flags], ["run", CLAIM]):
        with pytest.raises(Executed):
            cli.main(argv)
    assert variable not in os.environ
    return seen


def test_compile_flag_reaches_the_kernel_explicitly_and_only_for_the_call(
    monkeypatch, scratch_output
):
    from grokbook.training.config import RunConfig

    assert seen_by_kernel(monkeypatch, "GROKBOOK_COMPILE", "--compile") == ["1", None]
    assert RunConfig().compile_step is False  # no config default reads the environment
    assert RunConfig().compile_step is False  # no config default reads the environment


def test_a_deadline_stop_inside_a_notebook_is_a_clean_stop(monkeypatch, scratch_output):
    def kernel(*a, **kw):
        raise papermill.PapermillExecutionError(
            3,
            3,
            "runs = load_or_train(...)",
            "DeadlineReached",
            "deadline reached at step 400 of 1000",
            [],
        )

    monkeypatch.setattr(papermill, "execute_notebook", kernel)
    with pytest.raises(
        execute.Stopped, match="stopped at the deadline: deadline reached at step 400"
    ):
        execute.run_claim(CLAIM)


@pytest.fixture
def clock(monkeypatch):
    """A fake clock for the deadline: `now[0]` seconds; each fake claim execution takes `cost`
    seconds."""
    now = [1000.0]
    monkeypatch.setattr(execute.time, "time", lambda: now[0])
    return now


def fake_claims(monkeypatch, tmp_path, n=3):
    claims = [c for c in registry.claims("power") if c.notebook][:n]
    out = {c.id: tmp_path / f"{c.slug}.ipynb" for c in claims}
    monkeypatch.setattr(execute.scorecard, "executed_path", lambda c, prof: out[c.id])
    monkeypatch.setattr(execute.registry, "claims", lambda paper=None: claims)
    return claims, out


def test_reproduce_with_a_deadline_starts_no_claim_after_it_and_keeps_the_finished(
    tmp_path, monkeypatch, capsys, clock
):
    import os

    claims, out = fake_claims(monkeypatch, tmp_path)
    ran, env = [], []

    def run(cid, prof):
        env.append(os.environ.get("GROKBOOK_DEADLINE"))
        clock[0] += 10  # each claim takes 10 s
        ran.append(cid)

    monkeypatch.setattr(execute, "run_claim", run)
    left = execute.reproduce("smoke", None, force=True, plan=False, deadline_s=15)
    assert ran == [claims[0].id, claims[1].id] and left == [claims[2].id]
    assert env == [repr(1015.0)] * 2 and "GROKBOOK_DEADLINE" not in os.environ
    text = capsys.readouterr().out
    assert (
        f"[{claims[2].id}] not started: the deadline has passed" in text
        and "1 claim(s) left" in text
    )


def test_a_claim_whose_last_execution_does_not_fit_is_not_started(
    tmp_path, monkeypatch, capsys, clock
):
    claims, out = fake_claims(monkeypatch, tmp_path)
    out[claims[0].id].with_suffix(".ledger.json").write_text(json.dumps({"wall_s": 100.0}))
    ran = []
    monkeypatch.setattr(execute, "run_claim", lambda cid, prof: ran.append(cid))
    left = execute.reproduce("smoke", None, force=True, plan=False, deadline_s=50)
    assert left == [claims[0].id] and ran == [c.id for c in claims[1:]]
    assert "its last execution took 100 s, 50 s are left" in capsys.readouterr().out


def test_a_claim_stopped_at_its_checkpoint_is_left_not_failed(tmp_path, monkeypatch, clock):
    claims, _ = fake_claims(monkeypatch, tmp_path)
    ran = []

    def run(cid, prof):
        ran.append(cid)
        clock[0] += 60
        if cid == claims[0].id:
            raise execute.Stopped(
                f"{cid}: stopped at the deadline: deadline reached at step 400 of 1000"
            )

    monkeypatch.setattr(execute, "run_claim", run)
    left = execute.reproduce("smoke", None, force=True, plan=False, deadline_s=30)
    assert ran == [claims[0].id] and left == [c.id for c in claims]  # the rest did not start


def test_a_stop_at_the_deadline_exits_3_and_jobs_count_it_as_left(
    tmp_path, monkeypatch, capsys, clock
):
    def kernel(*a, **kw):
        raise papermill.PapermillExecutionError(
            3, 3, "", "DeadlineReached", "deadline reached at step 4", []
        )

    monkeypatch.setattr(papermill, "execute_notebook", kernel)
    assert cli.main(["run", CLAIM, "--output", str(tmp_path / "o.ipynb")]) == 3
    assert "stopped at the deadline" in capsys.readouterr().err
    claims, _ = fake_claims(monkeypatch, tmp_path)
    codes = {claims[0].id: 3, claims[1].id: 0, claims[2].id: 2}
    monkeypatch.setattr(execute, "_run_detached", lambda cid, prof: (codes[cid], f"[{cid}] ..."))
    with pytest.raises(UsageError, match=f"1 claim\\(s\\) failed: {claims[2].id}"):
        execute.reproduce("smoke", None, force=True, plan=False, jobs=2, deadline_s=100)
    assert (
        "1 claim(s) left for a later run (finished claims and training checkpoints are kept; the "
        f"same command continues): {claims[0].id}" in capsys.readouterr().out
    )


def test_reproduce_rejects_a_nonpositive_deadline(capsys):
    assert "--deadline 0 is out of range" in error_of(capsys, "reproduce", "--deadline", "0")


def make_project(root: Path) -> None:
    files = {
        "book/power/a.ipynb": "{}",
        "book/power/a.ledger.json": "{}",
        "book/intro.md": "static page",
        "build/smoke/power/b.ipynb": "{}",
        "build/smoke/power/b.ledger.json": "{}",
        "build/html/index.html": "<html>",
        "benchmarks/results/bench.json": "{}",
        "notebooks/power/a.ipynb": "{}",
    }
    write_tree(root, files)


def write_tree(root: Path, files: dict) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def make_cache(cache: Path) -> None:
    for name, text in {
        "k1/DONE": "done",
        "k1/arrays.npz": "x",
        "partial/s.pt": "ckpt",
        "locks/k1.lock": "",
        ".k2.tmp9/arrays.npz": "half",
    }.items():
        (cache / name).parent.mkdir(parents=True, exist_ok=True)
        (cache / name).write_text(text)


def test_pack_and_unpack_move_results_and_optionally_the_run_cache(tmp_path, monkeypatch, capsys):
    import tarfile

    here, there = tmp_path / "here", tmp_path / "there"
    make_project(here)
    make_cache(here / ".cache" / "runs")
    monkeypatch.setenv("GROKBOOK_ROOT", str(here))
    monkeypatch.delenv("GROKBOOK_CACHE", raising=False)
    assert cli.main(["pack", str(tmp_path / "results.tar.gz")]) == 0
    assert cli.main(["pack", str(tmp_path / "all.tar.gz"), "--cache"]) == 0
    with tarfile.open(tmp_path / "results.tar.gz") as tar:
        assert sorted(tar.getnames()) == [
            "benchmarks/results/bench.json",
            "book/power/a.ipynb",
            "book/power/a.ledger.json",
            "build/smoke/power/b.ipynb",
            "build/smoke/power/b.ledger.json",
        ]
    with tarfile.open(tmp_path / "all.tar.gz") as tar:
        cached = sorted(n for n in tar.getnames() if n.startswith(".cache/"))
    assert cached == [
        ".cache/runs/k1/DONE",
        ".cache/runs/k1/arrays.npz",
        ".cache/runs/partial/s.pt",
    ]
    (there / "notebooks").mkdir(parents=True)
    (there / "book").mkdir()
    monkeypatch.setenv("GROKBOOK_ROOT", str(there))
    monkeypatch.setenv(
        "GROKBOOK_CACHE", str(tmp_path / "elsewhere")
    )  # the cache goes where it lives
    (tmp_path / "elsewhere" / "k1").mkdir(parents=True)
    (tmp_path / "elsewhere" / "k1" / "DONE").write_text("ours")  # a complete entry: kept
    capsys.readouterr()
    assert cli.main(["unpack", str(tmp_path / "all.tar.gz")]) == 0
    assert "6 file(s) written, 2 kept" in capsys.readouterr().out
    assert (there / "book/power/a.ledger.json").read_text() == "{}"
    assert (there / "benchmarks/results/bench.json").exists() and not (
        there / "build/html"
    ).exists()
    assert (tmp_path / "elsewhere/partial/s.pt").read_text() == "ckpt"
    assert (tmp_path / "elsewhere/k1/DONE").read_text() == "ours"
    assert not (tmp_path / "elsewhere/k1/arrays.npz").exists()


@pytest.mark.parametrize(
    "name,kind,why",
    [
        ("../evil.py", "file", "'..'"),
        ("/etc/evil", "file", "absolute"),
        ("notebooks/x.ipynb", "file", "outside"),
        ("book/../../evil", "file", "'..'"),
        ("book/link", "symlink", "link"),
        ("build/dev", "fifo", "link or device"),
        (".cache/runsX/k/DONE", "file", "outside"),
    ],
)
def test_unpack_refuses_an_archive_with_any_unsafe_member_and_writes_nothing(
    tmp_path, monkeypatch, capsys, name, kind, why
):
    import io
    import tarfile

    (tmp_path / "p" / "notebooks").mkdir(parents=True)
    (tmp_path / "p" / "book").mkdir()
    monkeypatch.setenv("GROKBOOK_ROOT", str(tmp_path / "p"))
    monkeypatch.delenv("GROKBOOK_CACHE", raising=False)
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        ok = tarfile.TarInfo("book/power/fine.ipynb")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"{}"))
        bad = tarfile.TarInfo(name)
        if kind == "symlink":
            bad.type, bad.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "fifo":
            bad.type = tarfile.FIFOTYPE
        else:
            bad.size = 1
        tar.addfile(bad, io.BytesIO(b"x") if kind == "file" else None)
    err = error_of(capsys, "unpack", str(archive))
    assert "refusing the archive" in err and repr(name) in err and why in err
    assert not (tmp_path / "p" / "book" / "power").exists()  # checked before anything is written


def test_unpack_of_something_that_is_not_an_archive(tmp_path, capsys):
    (tmp_path / "x.tar.gz").write_text("not gzip")
    assert "not a .tar.gz archive" in error_of(capsys, "unpack", str(tmp_path / "x.tar.gz"))
    assert "no such archive" in error_of(capsys, "unpack", str(tmp_path / "missing.tar.gz"))


def test_plan_lists_each_stack_with_the_claims_that_need_it(tmp_path, monkeypatch, capsys):
    import dataclasses
    import os
    from grokbook.training.config import RunConfig

    a = RunConfig(p=11, d_model=16, n_heads=2, d_ff=32, n_layers=1, steps=20, seed=1)
    b, c = dataclasses.replace(a, seed=2), dataclasses.replace(a, steps=50)
    claims = [c for c in registry.claims() if c.notebook][:2]
    wants = {claims[0].id: [a, c], claims[1].id: [b, a]}

    def plan_like_load_or_train(nb, out, parameters, **kw):  # what a notebook does in planning mode
        claim = next(x for x in claims if str(nb).endswith(x.notebook))
        with open(os.environ["GROKBOOK_PLAN"], "a") as f:
            f.writelines(
                json.dumps({"config": x.to_dict(), "hook": ""}) + "\n" for x in wants[claim.id]
            )

    monkeypatch.setattr(papermill, "execute_notebook", plan_like_load_or_train)
    monkeypatch.setattr(execute, "claims_to_run", lambda profile, paper, force: claims)
    monkeypatch.setattr(costs, "MEASURED", (str(tmp_path / "measured.json"),))
    monkeypatch.setenv("GROKBOOK_CACHE", str(tmp_path / "cache"))  # nothing measured
    execute.plan("paper", None, False, tmp_path / "plan.json")
    d = json.loads((tmp_path / "plan.json").read_text())
    assert d["claims"] == [x.id for x in claims] and "GROKBOOK_PLAN" not in os.environ
    assert d["total"] | {"snapshot_gb": 0} == {
        "stacks": 2,
        "runs": 3,
        "run_steps": 90,
        "expected_run_steps": 90,  # nothing measured: the budgets
        "snapshot_gb": 0,
        "hooked_runs": 0,
    }
    assert sum(ch["runs"] for ch in d["chunks"]) == 3
    assert any(ch["expected_h"] is None for ch in d["chunks"])  # no measured speed
    assert all((ch["sittings"] is None) == (ch["expected_h"] is None) for ch in d["chunks"])

    assert json.loads((tmp_path / "measured.json").read_text()) == {}
    assert [(s["runs"], s["steps"], s["claims"]) for s in d["stacks"]] == [
        (1, 50, [claims[0].id]),
        (2, 20, [claims[0].id, claims[1].id]),
    ]  # most run-steps first
    assert "total: 3 runs in 2 stacks, 90 run-steps at most" in capsys.readouterr().out


def test_a_chunk_longer_than_a_sitting_is_planned_over_several():
    assert execute.sittings(None, 0.1) is None
    assert execute.sittings(0.0, None) == 1
    assert execute.sittings(1.9, 0.1) == 1  # exactly two hours
    assert execute.sittings(1.9, 0.2) == 2
    assert execute.sittings(5.5, 0.3) == 3


def test_reproduce_runs_claims_that_read_other_ledgers_last(monkeypatch):
    """With two jobs, ordinary claims run in parallel processes; a claim with `after` runs only once
    they have all returned."""
    composite = next(c for c in registry.claims() if c.after)
    plain = [c for c in registry.claims("power") if c.notebook][:2]
    monkeypatch.setattr(execute.registry, "claims", lambda paper=None: [composite, *plain])
    monkeypatch.setattr(execute, "is_current", lambda c, prof: False)
    order = []
    monkeypatch.setattr(
        execute, "_run_detached", lambda cid, prof: (order.append(cid), (0, cid))[1]
    )
    monkeypatch.setattr(execute, "run_claim", lambda cid, prof: order.append(cid))
    execute.reproduce("smoke", None, force=False, plan=False, jobs=2)
    assert sorted(order[:2]) == sorted(c.id for c in plain) and order[2] == composite.id


def test_a_modulus_too_large_for_the_machine_is_refused_before_any_allocation(capsys):
    from grokbook.training.tasks import max_modulus

    err = error_of(capsys, "run", CLAIM, "-p", "p", "10000019")
    assert "p=10000019 is out of range" in err and f"at most {max_modulus():,}" in err
    assert 1000 < max_modulus() < 10_000_019


def test_the_same_seed_twice_is_refused(capsys):
    assert "seeds=[1, 1] lists a seed twice" in error_of(
        capsys, "run", CLAIM, "-p", "seeds", "[1, 1]"
    )


@pytest.mark.parametrize("p", [53, 59])
def test_every_claim_resolves_its_parameters_at_other_primes(p):
    """The parameters each claim's runner checks (shared run fields, ops, seeds) accept another
    prime; a default tied to p = 97 that a run config would reject shows up here."""
    for claim in registry.claims():
        if claim.notebook:
            execute.resolve(claim.id, "smoke", [("p", str(p))])
            execute.resolve(claim.id, "paper", [("p", str(p))])


def test_claims_table_explains_the_five_verdicts(capsys):
    assert cli.main(["claims"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:5] == ["claim", "verdict", "evidence", "profile", "stale"]
    assert all(
        f"{v}: " in out
        for v in ("reproduced", "partial", "not reproduced", "not supported", "inconclusive")
    )


def test_publish_pushes_the_built_book_to_a_bare_repository(tmp_path, monkeypatch, capsys):
    import subprocess

    def git(*args, cwd=tmp_path / "proj"):
        return subprocess.run(
            ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
        ).stdout

    proj, bare = tmp_path / "proj", tmp_path / "pages.git"
    (proj / "build" / "html" / "_static").mkdir(parents=True)
    git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    git("init", "-q")
    git("config", "user.email", "a@b.c")
    git("config", "user.name", "a")
    (proj / "README.md").write_text("x\n")
    git("add", "README.md")
    git("commit", "-q", "-m", "first")
    monkeypatch.setenv("GROKBOOK_ROOT", str(proj))
    assert "run `grokbook book` first" in error_of(capsys, "publish", "--remote", str(bare))
    (proj / "build" / "html" / "index.html").write_text("<h1>book one</h1>")
    (proj / "build" / "html" / "_static" / "a.css").write_text("p {}")
    assert cli.main(["publish", "--remote", str(bare)]) == 0
    assert git("show", "gh-pages:index.html", cwd=bare) == "<h1>book one</h1>"
    assert set(git("ls-tree", "--name-only", "gh-pages", cwd=bare).split()) == {
        ".nojekyll",
        "_static",
        "index.html",
    }
    (proj / "build" / "html" / "index.html").write_text("<h1>book two</h1>")
    assert cli.main(["publish", "--remote", str(bare)]) == 0  # replaces the published book
    assert git("show", "gh-pages:index.html", cwd=bare) == "<h1>book two</h1>"
    assert "book built from" in git("log", "-1", "--format=%s", "gh-pages", cwd=bare)
    assert "'nowhere' is neither a remote" in error_of(capsys, "publish", "--remote", "nowhere")


def test_forge_workflow_tests_every_pull_request_and_publishes_only_from_main():
    flow = yaml.safe_load((Path(execute.project_root()) / ".github/workflows/book.yml").read_text())
    on = flow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "pull_request" in on and on["push"]["branches"] == ["main"]
    steps = flow["jobs"]["test-and-publish"]["steps"]
    test = next(s for s in steps if s.get("name") == "test command")
    publish = next(s for s in steps if s.get("name") == "publish the book")
    assert test["run"] == "bash .ci/run" and "if" not in test
    assert "grokbook publish" in publish["run"] and "refs/heads/main" in publish["if"]
    assert steps.index(test) < steps.index(publish)


def test_executed_notebooks_keep_project_relative_paths(tmp_path, monkeypatch):
    import nbformat

    monkeypatch.setenv("GROKBOOK_ROOT", str(tmp_path))
    out = tmp_path / "book" / "results" / "reduced" / "x.ipynb"
    out.parent.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {
        "input_path": str(tmp_path / "notebooks" / "x.ipynb"),
        "output_path": str(out),
    }
    nbformat.write(nb, out)
    execute.relative_paths(out)
    meta = nbformat.read(out, as_version=4).metadata["papermill"]
    assert meta == {
        "input_path": "notebooks/x.ipynb",
        "output_path": "book/results/reduced/x.ipynb",
    }


def test_layout_flag_reaches_the_kernel_only_for_the_call_and_is_checked(
    monkeypatch, capsys, scratch_output
):
    seen = seen_by_kernel(monkeypatch, "GROKBOOK_LAYOUT", "--layout", "processes")
    assert seen == ["processes", None]
    with pytest.raises(SystemExit) as bad:
        cli.main(["reproduce", "--layout", "threads"])
    assert bad.value.code == 2
    assert "--layout: invalid choice: 'threads'" in capsys.readouterr().err
