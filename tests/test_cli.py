"""The `grokbook` command line: user errors exit with status 2 and a one-line message naming the parameter,
before any kernel starts; `claims --json` covers every claim of the briefs; -p values parse as literals."""
import json
import re
from pathlib import Path

import papermill
import pytest
import yaml

from grokbook import cli
from grokbook.book import execute
from grokbook.errors import UsageError
from grokbook.book import registry

CLAIM = "curv.baseline-grokking"          # the template notebook: its smoke ops include mul (needs a prime p)
SHARED_PAPERS = Path(__file__).resolve().parents[1].parent / "shared" / "papers"


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
    assert err.startswith("error: ") and "\n" not in err       # one line, no traceback
    return err


def test_unknown_claim_id(capsys):
    err = error_of(capsys, "run", "curv.no-such-claim")
    assert "unknown claim id 'curv.no-such-claim'" in err and CLAIM in err


def test_pending_claim(capsys):
    pending = [c.id for c in registry.claims() if c.notebook is None]
    if not pending:
        pytest.skip("every registered claim has a notebook")
    assert "pending" in error_of(capsys, "run", pending[0])


def test_unknown_profile(capsys):
    assert "--profile 'fast'" in error_of(capsys, "run", CLAIM, "--profile", "fast")


def test_unknown_parameter_lists_the_valid_names(capsys):
    err = error_of(capsys, "run", CLAIM, "-p", "learning_rate", "1e-3")
    assert "learning_rate" in err
    for name in ("p", "ops", "seeds", "train_frac", "lr", "weight_decay"):
        assert re.search(rf"\b{name}\b", err.split("parameters are:")[1]), name


@pytest.mark.parametrize("name,value,says", [
    ("p", "1", "p=1"), ("p", "0", "p=0"), ("p", "-3", "p=-3"), ("p", "2.5", "p=2.5"),
    ("p", "33", "p=33 is not prime"),                          # the notebook's ops include mul
    ("train_frac", "0", "train_frac=0"), ("train_frac", "1.5", "train_frac=1.5"),
    ("ops", "[foo]", "unknown operation 'foo'"), ("ops", "add", "ops='add' must be a list"),
    ("seeds", "[]", "seeds=[]"), ("seeds", "[1, -2]", "seeds="), ("steps", "0", "steps=0"),
    ("lr", "0", "lr=0"), ("weight_decay", "-1", "weight_decay=-1"), ("device", "tpu", "device='tpu'"),
])
def test_bad_values_exit_2_naming_the_parameter(capsys, name, value, says):
    assert says in error_of(capsys, "run", CLAIM, "-p", name, value)


def test_a_non_prime_p_passes_when_no_op_needs_a_field(tmp_path):
    with pytest.raises(Executed):                              # validation passed: it went on to execute
        cli.main(["run", CLAIM, "-p", "p", "33", "-p", "ops", "[add, sub]", "--output", str(tmp_path / "o.ipynb")])


def test_resolve_merges_smoke_then_user_values():
    _, nb, params, label = execute.resolve(CLAIM, "smoke", [("lr", "1e-3"), ("seeds", "[7, 8]")])
    smoke = yaml.safe_load(nb.with_suffix(".smoke.yaml").read_text())
    assert params["lr"] == 0.001 and params["seeds"] == [7, 8] and params["p"] == smoke["p"]
    assert label == "smoke+custom" and params["profile"] == "smoke+custom"


@pytest.mark.parametrize("text,value", [("[7, 8, 9]", [7, 8, 9]), ("1e-3", 1e-3), ("1.0e-3", 1e-3), ("3e3", 3000.0),
                                        ("0.5", 0.5), ("59", 59), ("add", "add"), ("[add, mul]", ["add", "mul"]),
                                        ("true", True), ('"mul"', "mul")])
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


def test_claims_json_covers_every_claim_of_the_briefs(capsys):
    if not SHARED_PAPERS.is_dir():
        pytest.skip(f"the briefs folder {SHARED_PAPERS} (../shared/papers beside the clone) is not there")
    headed = set()
    for md in SHARED_PAPERS.glob("*.md"):
        headed |= set(re.findall(r"^### ([a-z]+\.[a-z0-9-]+)", md.read_text(), flags=re.M))
    assert len(headed) > 40
    assert cli.main(["claims", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert headed <= set(ids), sorted(headed - set(ids))
    assert {r["status"] for r in rows} <= {"pending", "run", "not run"}


def test_task_sets_are_validated_like_ops():
    from grokbook.errors import ConfigError
    execute.check_parameters({"task_sets": ["dual", "tri"], "p": 97, "seeds": [1]})
    with pytest.raises(ConfigError, match="task_sets=\\['quad'\\]"):
        execute.check_parameters({"task_sets": ["quad"], "p": 97})
    with pytest.raises(ConfigError, match="p=33 is not prime"):       # mul needs a field
        execute.check_parameters({"task_sets": ["dual"], "p": 33})


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
    assert execute.source_digest(nb, "paper") != d0                      # paper ignores the smoke file
    nb.write_text("{ }")
    assert execute.source_digest(nb, "smoke") != d0


def test_reproduce_skips_claims_whose_ledger_is_current(tmp_path, monkeypatch, capsys):
    claims = [c for c in registry.claims("power") if c.notebook][:2]
    out = {c.id: tmp_path / f"{c.slug}.ipynb" for c in claims}
    monkeypatch.setattr(execute.scorecard, "executed_path", lambda c, prof: out[c.id])
    monkeypatch.setattr(execute.registry, "claims", lambda paper=None: claims)
    ran = []
    monkeypatch.setattr(execute, "run_claim", lambda cid, prof: ran.append(cid))
    first = claims[0]
    out[first.id].write_text("{}")
    stamp = {"profile": "smoke", "verdict": "partial",
             "source_digest": execute.source_digest(execute.project_root() / first.notebook, "smoke")}
    out[first.id].with_suffix(".ledger.json").write_text(json.dumps(stamp))
    execute.reproduce("smoke", None, force=False, plan=False)
    assert ran == [claims[1].id] and f"[{first.id}] current" in capsys.readouterr().out
    ran.clear()
    execute.reproduce("smoke", None, force=True, plan=False)
    assert ran == [c.id for c in claims]
    ran.clear()
    out[first.id].with_suffix(".ledger.json").write_text(json.dumps({**stamp, "source_digest": "stale"}))
    execute.reproduce("smoke", None, force=False, plan=False)
    assert ran == [c.id for c in claims]


def test_reproduce_rejects_a_nonpositive_jobs_count(capsys):
    assert "--jobs 0" in error_of(capsys, "reproduce", "--jobs", "0")


def test_compile_flag_reaches_every_config_the_kernel_builds(monkeypatch):
    import dataclasses
    import os
    from grokbook.training.config import RunConfig
    monkeypatch.setenv("GROKBOOK_COMPILE", "0")                 # restored after the test
    assert RunConfig().compile_step is False
    with pytest.raises(Executed):                               # validated, then the notebook would run
        cli.main(["run", CLAIM, "--compile"])
    assert os.environ["GROKBOOK_COMPILE"] == "1"                # papermill's kernel inherits the environment
    c = RunConfig(p=11)
    assert c.compile_step is True and c.to_dict()["compile_step"] is True
    monkeypatch.setenv("GROKBOOK_COMPILE", "0")
    assert dataclasses.replace(c, seed=3).compile_step is True  # an explicit value survives replace()
    monkeypatch.setenv("GROKBOOK_COMPILE", "yes")
    with pytest.raises(execute.ConfigError, match="GROKBOOK_COMPILE='yes'"):
        RunConfig()


def test_plan_lists_each_stack_with_the_claims_that_need_it(tmp_path, monkeypatch, capsys):
    import dataclasses
    import os
    from grokbook.training.config import RunConfig
    a = RunConfig(p=11, d_model=16, n_heads=2, d_ff=32, n_layers=1, steps=20, seed=1)
    b, c = dataclasses.replace(a, seed=2), dataclasses.replace(a, steps=50)
    claims = [c for c in registry.claims() if c.notebook][:2]
    wants = {claims[0].id: [a, c], claims[1].id: [b, a]}

    def plan_like_load_or_train(nb, out, parameters, **kw):      # what a notebook does in planning mode
        claim = next(x for x in claims if str(nb).endswith(x.notebook))
        with open(os.environ["GROKBOOK_PLAN"], "a") as f:
            f.writelines(json.dumps({"config": x.to_dict(), "hook": ""}) + "\n" for x in wants[claim.id])
    monkeypatch.setattr(papermill, "execute_notebook", plan_like_load_or_train)
    monkeypatch.setattr(execute, "claims_to_run", lambda profile, paper, force: claims)
    execute.plan("paper", None, False, tmp_path / "plan.json")
    d = json.loads((tmp_path / "plan.json").read_text())
    assert d["claims"] == [x.id for x in claims] and "GROKBOOK_PLAN" not in os.environ
    assert d["total"] | {"snapshot_gb": 0} == {"stacks": 2, "runs": 3, "run_steps": 90, "snapshot_gb": 0,
                                               "hooked_runs": 0}
    assert [(s["runs"], s["steps"], s["claims"]) for s in d["stacks"]] == [
        (1, 50, [claims[0].id]), (2, 20, [claims[0].id, claims[1].id])]          # most run-steps first
    assert "total: 3 runs in 2 stacks, 90 run-steps at most" in capsys.readouterr().out
