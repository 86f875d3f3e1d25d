"""Where each claim's executed notebook and ledger live, and the scorecard built from them.

Paper and reduced profiles: book/results/<profile>/<paper>/<slug>.ipynb (+ .ledger.json),
committed. Smoke profile: build/smoke/<paper>/<slug>.ipynb, git-ignored. The book shows the best
available entry of a claim: paper, else reduced, else smoke.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from grokbook.book import ledger
from grokbook.book import registry
from grokbook.paths import build_root, project_root

COMMITTED = ("paper", "reduced")  # profiles whose results are committed with the book
BEST_FIRST = ("paper", "reduced", "smoke")


def executed_path(claim: registry.Claim, profile: str) -> Path:
    """Default output of `grokbook run` for a claim and profile ("paper", "reduced", "smoke" or
    "custom")."""
    if profile in COMMITTED:
        return project_root() / "book" / "results" / profile / claim.paper / f"{claim.slug}.ipynb"
    return build_root() / profile / claim.paper / f"{claim.slug}.ipynb"


def ledger_for(notebook: Path) -> Path:
    return notebook.with_suffix(".ledger.json")


def best_entry(claim: registry.Claim) -> tuple[Optional[dict], Optional[Path]]:
    """The best available ledger entry (paper, else reduced, else smoke profile) with its notebook
    path."""
    for profile in BEST_FIRST:
        nb = executed_path(claim, profile)
        entry = ledger.read(ledger_for(nb))
        if entry is not None and "profile" in entry and nb.exists():  # the runner has finished it
            return entry, nb
    return None, None


def is_stale(claim: registry.Claim, entry: dict) -> bool:
    """Whether an entry was computed by another version of the claim's notebook, smoke file or
    library."""
    from grokbook.book.execute import source_digest

    profile = str(entry.get("profile", "")).split("+")[0]
    return entry.get("source_digest") != source_digest(project_root() / claim.notebook, profile)


def evidence_text(entry: dict) -> str | None:
    """ "3 seeds", "1 seed" from a ledger entry (None for an entry without an evidence count)."""
    from grokbook.papers.verdict import Evidence

    if entry.get("evidence_n") is None:
        return None
    return Evidence(entry["evidence_n"], entry.get("evidence_unit") or "runs").text()


def rows(paper: Optional[str] = None) -> list[dict]:
    """One scorecard row per registered claim (pending ones included)."""
    out = []
    for c in registry.claims(paper):
        entry, _ = best_entry(c) if c.notebook else (None, None)
        status = "pending" if c.notebook is None else ("run" if entry else "not run")
        get = (lambda k: entry.get(k)) if entry else (lambda k: None)
        out.append(
            {
                "id": c.id,
                "paper": c.paper,
                "title": c.title,
                "optional": c.optional,
                "status": status,
                "verdict": get("verdict"),
                "profile": get("profile"),
                "evidence_n": get("evidence_n"),
                "evidence_unit": get("evidence_unit"),
                "evidence": evidence_text(entry) if entry else None,
                "stale": is_stale(c, entry) if entry else None,
                "paper_value": c.paper_value,
                "our_value": get("our_value"),
                "null_value": get("null_value"),
                "rule": get("rule"),
                "parameters": get("parameters"),
            }
        )
    return out
