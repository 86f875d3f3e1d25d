"""Checks of the executed smoke copies (run after `grokbook reproduce --profile smoke`, not with the
unit tests): every implemented claim ran top to bottom once without errors, and its ledger records
every parameter of its notebook, the profile, the verdict and the evidence that entered it."""

from pathlib import Path

import nbformat
import pytest

from grokbook.book import ledger, registry, scorecard
from grokbook.book.execute import notebook_parameters
from grokbook.paths import project_root

CLAIMS = [c for c in registry.claims() if c.notebook]


def test_every_implemented_claim_was_executed():
    missing = [c.id for c in CLAIMS if not scorecard.executed_path(c, "smoke").exists()]
    assert CLAIMS and not missing, f"no smoke execution for {missing}"


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_executed_copy_ran_in_order_without_errors(claim):
    path = scorecard.executed_path(claim, "smoke")
    nb = nbformat.read(path, as_version=4)
    ran = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert [c.execution_count for c in ran] == list(range(1, len(ran) + 1)), "not run top to bottom"
    errors = [o.get("ename") for c in ran for o in c.outputs if o.output_type == "error"]
    assert not errors, f"error outputs: {errors}"


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_ledger_records_every_parameter_and_the_evidence(claim):
    entry = ledger.read(scorecard.ledger_for(scorecard.executed_path(claim, "smoke")))
    assert entry is not None
    declared = set(notebook_parameters(Path(project_root()) / claim.notebook))
    assert set(entry["parameters"]) == declared, set(entry["parameters"]) ^ declared
    assert entry["profile"] == "smoke" and entry["verdict"] in ledger.VERDICTS
    assert isinstance(entry["evidence_n"], int) and entry["evidence_n"] >= 0
    assert not scorecard.is_stale(claim, entry)
