"""Notebook hygiene (after nmaci's process_notebooks checks): sources are stripped and parameterised,
smoke profiles only set real parameters, every registered notebook exists, executed book copies ran
top to bottom without errors."""
import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from grokbook.book import registry

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(ROOT.glob("notebooks/**/*.ipynb"))
EXECUTED = sorted(p for p in ROOT.glob("book/**/*.ipynb") if ".ipynb_checkpoints" not in p.parts)
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def parameters(nb) -> dict:
    """Name -> default of the first code cell's plain assignments."""
    out = {}
    for node in ast.parse(code_cells(nb)[0].source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, \
            f"parameters cell: only `name = literal` lines, got {ast.unparse(node)!r}"
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def numbers_read_as_strings(value) -> list:
    """Strings in a YAML document that look like numbers (YAML 1.1 reads 1e-3 as a string)."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in numbers_read_as_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in numbers_read_as_strings(v)]
    return [value] if isinstance(value, str) and NUMBER.fullmatch(value) else []


def test_there_is_at_least_one_notebook():
    assert SOURCES, "no notebooks/**/*.ipynb found"


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_source_notebook_is_stripped_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown", "the first cell states the claim"
    first = code_cells(nb)[0]
    assert "parameters" in first.metadata.get("tags", []), "first code cell must be tagged `parameters`"
    for i, c in enumerate(code_cells(nb)):
        assert not c.outputs, f"code cell {i} has outputs (strip them)"
        assert c.execution_count is None, f"code cell {i} has execution_count {c.execution_count}"
    params = parameters(nb)
    assert params.get("profile") == "paper", "a `profile` parameter, default \"paper\""
    if "device" in params:
        assert params["device"] == "cpu"


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_papermill_sees_every_parameter(path):
    """papermill skips a parameter line it cannot parse (e.g. a comment containing '='), and `-p` would then
    refuse that name: every assignment of the parameters cell must be visible to papermill."""
    import papermill
    seen = set(papermill.inspect_notebook(str(path)))
    assert seen == set(parameters(nbformat.read(path, as_version=4))), "papermill cannot parse some parameter lines"


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_smoke_profile_sets_only_parameters_of_its_notebook(path):
    smoke = path.with_suffix(".smoke.yaml")
    assert smoke.exists(), f"missing {rel(smoke)}"
    values = yaml.safe_load(smoke.read_text()) or {}
    assert isinstance(values, dict)
    params = parameters(nbformat.read(path, as_version=4))
    assert not set(values) - set(params), f"not parameters of the notebook: {sorted(set(values) - set(params))}"
    assert "profile" not in values, "the CLI sets profile"
    assert not numbers_read_as_strings(values), \
        f"YAML reads these as strings, write e.g. 1.0e-3 or 0.001: {numbers_read_as_strings(values)}"


def test_every_registered_notebook_exists_and_every_notebook_is_registered():
    registered = {c.notebook for c in registry.claims() if c.notebook}
    missing = sorted(n for n in registered if not (ROOT / n).exists())
    assert not missing, f"claims.yaml names notebooks that do not exist: {missing}"
    orphans = sorted(set(map(rel, SOURCES)) - registered)
    assert not orphans, f"notebooks no claim in claims.yaml points to: {orphans}"


@pytest.mark.parametrize("path", EXECUTED, ids=rel)
def test_executed_book_copy_ran_in_order_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    ran = [c for c in code_cells(nb) if c.source.strip()]
    assert [c.execution_count for c in ran] == list(range(1, len(ran) + 1)), "not run top to bottom on a fresh kernel"
    errors = [o.get("ename") for c in ran for o in c.outputs if o.output_type == "error"]
    assert not errors, f"error outputs: {errors}"
