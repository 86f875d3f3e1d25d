"""Notebook hygiene (after nmaci's process_notebooks checks): sources are stripped and
parameterised, pages read top to bottom (set-up hidden, short code, lines <= 100 characters, no
references to documents outside the repository), smoke profiles only set parameters the claim owns,
every registered notebook exists, and the claims of a shared grid declare the grid's parameters with
the grid's values."""

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from grokbook.book import registry

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(ROOT.glob("notebooks/**/*.ipynb"))
NOTES = re.compile(  # the working-note forms that can be told apart from code
    r"\bbrief\b|\b(power|curvature|multitask|holographic|spectral|STYLE|SMOKE|STACK)\.md\b"
    r"|working notes|our notes",
    re.I,
)
OUTSIDE = re.compile(NOTES.pattern + r"|\b[MA]\d{1,2}\b(?= of the| item|\))", re.I)  # + item ids
TEXT_FILES = sorted(
    p
    for pattern in ("lib/**/*.py", "tests/*.py", "benchmarks/*.py", "book/*.md", "README.md")
    for p in ROOT.glob(pattern)
    if p.name != "test_notebooks.py"  # this file spells the forms out to test the patterns
)
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def parameters(nb) -> dict:
    """Name -> default of the first code cell's plain assignments."""
    out = {}
    for node in ast.parse(code_cells(nb)[0].source).body:
        assert (
            isinstance(node, ast.Assign) and len(node.targets) == 1
        ), f"parameters cell: only `name = literal` lines, got {ast.unparse(node)!r}"
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
    assert "parameters" in first.metadata.get(
        "tags", []
    ), "first code cell must be tagged `parameters`"
    for i, c in enumerate(code_cells(nb)):
        assert not c.outputs, f"code cell {i} has outputs (strip them)"
        assert c.execution_count is None, f"code cell {i} has execution_count {c.execution_count}"
    params = parameters(nb)
    assert params.get("profile") == "paper", "a `profile` parameter, default \"paper\""
    if "device" in params:
        assert params["device"] == "cpu"


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_papermill_sees_every_parameter(path):
    """papermill skips a parameter line it cannot parse (e.g. a comment containing '='), and `-p`
    would then refuse that name: every assignment of the parameters cell must be visible to
    papermill."""
    import papermill

    seen = set(papermill.inspect_notebook(str(path)))
    assert seen == set(
        parameters(nbformat.read(path, as_version=4))
    ), "papermill cannot parse some parameter lines"


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_smoke_profile_sets_only_parameters_of_its_notebook(path):
    smoke = path.with_suffix(".smoke.yaml")
    assert smoke.exists(), f"missing {rel(smoke)}"
    values = yaml.safe_load(smoke.read_text()) or {}
    assert isinstance(values, dict)
    params = parameters(nbformat.read(path, as_version=4))
    assert not set(values) - set(
        params
    ), f"not parameters of the notebook: {sorted(set(values) - set(params))}"
    assert "profile" not in values, "the CLI sets profile"
    assert not numbers_read_as_strings(
        values
    ), f"YAML reads these as strings, write e.g. 1.0e-3 or 0.001: {numbers_read_as_strings(values)}"


def test_every_registered_notebook_exists_and_every_notebook_is_registered():
    registered = {c.notebook for c in registry.claims() if c.notebook}
    missing = sorted(n for n in registered if not (ROOT / n).exists())
    assert not missing, f"claims.yaml names notebooks that do not exist: {missing}"
    orphans = sorted(set(map(rel, SOURCES)) - registered)
    assert not orphans, f"notebooks no claim in claims.yaml points to: {orphans}"


def code_lines(nb) -> list[str]:
    return [ln for c in code_cells(nb) for ln in c.source.splitlines() if ln.strip()]


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_page_reads_top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    cells = code_cells(nb)
    assert "hide-input" in cells[0].metadata.get(
        "tags", []
    ), "the parameters cell is collapsed (hide-input)"
    assert "remove-input" in cells[1].metadata.get(
        "tags", []
    ), "the set-up cell is hidden (remove-input)"
    long = [ln for ln in code_lines(nb) if len(ln) > 100]
    assert not long, f"code lines over 100 characters: {long[:3]}"
    assert "entry.record(" in cells[-1].source, "the last code cell records the ledger entry"


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_no_reference_to_documents_outside_the_repository(path):
    nb = nbformat.read(path, as_version=4)
    hits = [m.group(0) for c in nb.cells for m in OUTSIDE.finditer(c.source)]
    assert not hits, f"refers to documents that are not in the repository: {hits[:5]}"


@pytest.mark.parametrize("path", TEXT_FILES, ids=rel)
def test_code_and_pages_cite_the_papers_not_working_notes(path):
    hits = [
        f"line {i}: {m.group(0)}"
        for i, line in enumerate(path.read_text().splitlines(), 1)
        for m in NOTES.finditer(line)
    ]
    assert not hits, f"cites documents that are not in the repository: {hits[:5]}"


def test_outside_reference_pattern_catches_the_old_forms():
    for text in ("(brief M2)", "see curvature.md", "as the Brief says", "multitask.md protocol"):
        assert OUTSIDE.search(text), text
    assert not OUTSIDE.search("Xu 2026a §3, Fig. 2; see {ref}`methods-trajectory-pca`")
    for text in ("Ref: spectral.md M1 steps 1–4.", "# the brief's [data] value"):
        assert NOTES.search(text), text
    assert not NOTES.search("Ref: Xu 2026d; Methods, spectral edge. A45) a1)")
    assert len(TEXT_FILES) > 50


def test_median_notebook_is_short():
    """Median code lines outside the parameters cell (that cell declares every parameter of the
    claim and of its shared grid, one per line, and is collapsed on the page)."""
    counts = sorted(
        len(code_lines(nbformat.read(p, as_version=4)))
        - len(
            [
                ln
                for ln in code_cells(nbformat.read(p, as_version=4))[0].source.splitlines()
                if ln.strip()
            ]
        )
        for p in SOURCES
    )
    assert counts[len(counts) // 2] <= 60, f"median code lines {counts[len(counts) // 2]} > 60"


def grid_claims():
    from grokbook.papers.grid import all_grids

    return [(g, c) for g in all_grids().values() for c in g.claims]


@pytest.mark.parametrize("grid, claim_id", grid_claims(), ids=lambda x: getattr(x, "name", x))
def test_claims_of_a_grid_ask_for_identical_runs(grid, claim_id):
    """Paper profile: the notebook's defaults of the grid's parameters are the grid's paper values.
    Smoke and reduced profiles: the grid's values apply and the claim's own file does not override
    them. So every notebook of a grid builds the same run configs under every profile."""
    path = ROOT / registry.get(claim_id).notebook
    params = parameters(nbformat.read(path, as_version=4))
    differ = {
        k: (params.get(k, "missing"), v)
        for k, v in grid.paper.items()
        if params.get(k, "missing") != v
    }
    assert not differ, f"defaults differ from grid {grid.name} (notebook, grid): {differ}"
    for light in ("smoke", "reduced"):
        f = path.with_suffix(f".{light}.yaml")
        own = (yaml.safe_load(f.read_text()) or {}) if f.exists() else {}
        clash = set(own) & set(grid.paper)
        assert not clash, f"{light} file repeats grid parameters {clash}"
    for profile in ("paper", "smoke") + (("reduced",) if grid.reduced is not None else ()):
        assert grid.configs(grid.values(profile)) == grid.configs(
            {**params, **grid.values(profile)}
        )


def test_a_claim_that_reads_other_ledgers_runs_after_them():
    """A composite claim names the claims it reads (`after` in claims.yaml, so `reproduce` runs it
    last); the default of its notebook's `individual_claims` parameter is that same list."""
    composite = [c for c in registry.claims() if c.after]
    assert composite
    for c in composite:
        params = parameters(nbformat.read(ROOT / c.notebook, as_version=4))
        assert list(c.after) == params["individual_claims"]
        assert all(registry.get(d).notebook for d in c.after)
