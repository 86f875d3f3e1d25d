"""The committed executions (book/results/<profile>/<paper>/): every executed notebook has its
ledger and belongs to a registered claim, ran top to bottom without errors, and its ledger records
the profile, every parameter of the notebook, a verdict and the evidence that entered it (and, for
the reduced profile, the reductions the result box lists)."""

from pathlib import Path

import nbformat
import pytest

from grokbook.book import ledger, registry, scorecard
from grokbook.book.execute import notebook_parameters
from grokbook.paths import project_root

ROOT = Path(project_root())
RESULTS = sorted(
    p for profile in scorecard.COMMITTED for p in (ROOT / "book" / "results" / profile).glob("*/*")
)
NOTEBOOKS = [p for p in RESULTS if p.suffix == ".ipynb"]
BY_PATH = {
    scorecard.executed_path(c, p): c
    for c in registry.claims()
    if c.notebook
    for p in scorecard.COMMITTED
}


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def test_every_committed_file_pairs_a_notebook_with_its_ledger():
    notebooks = {p.with_suffix("") for p in NOTEBOOKS}
    ledgers = {
        Path(str(p).removesuffix(".ledger.json"))
        for p in RESULTS
        if p.name.endswith(".ledger.json")
    }
    others = [
        rel(p) for p in RESULTS if p.suffix != ".ipynb" and not p.name.endswith(".ledger.json")
    ]
    assert NOTEBOOKS, "no committed execution"
    assert notebooks == ledgers, sorted(map(rel, notebooks ^ ledgers))
    assert not others, others


@pytest.mark.parametrize("path", NOTEBOOKS, ids=rel)
def test_committed_execution_is_complete_and_recorded(path):
    claim = BY_PATH.get(path)
    assert claim is not None, "no registered claim has this executed notebook"
    nb = nbformat.read(path, as_version=4)
    ran = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert [c.execution_count for c in ran] == list(range(1, len(ran) + 1)), "not run in order"
    errors = [o.get("ename") for c in ran for o in c.outputs if o.output_type == "error"]
    assert not errors, f"error outputs: {errors}"
    entry = ledger.read(scorecard.ledger_for(path))
    profile = path.parents[1].name
    assert entry["claim"] == claim.id and entry["profile"] == profile
    declared = set(notebook_parameters(ROOT / claim.notebook))
    assert set(entry["parameters"]) == declared, set(entry["parameters"]) ^ declared
    assert entry["verdict"] in ledger.VERDICTS
    assert isinstance(entry["evidence_n"], int) and entry["evidence_n"] >= 0
    assert entry["evidence"], "the ledger does not name the runs that entered"
    if profile == "reduced":
        assert entry["reductions"], "a reduced result lists its reductions"
