"""The claim registry (claims.yaml): every claim ID of the five papers, its paper, statement, paper
value and notebook (null while the claim is pending)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import yaml

from grokbook.errors import ConfigError

PAPER_ORDER = ("power", "curvature", "multitask", "holographic", "spectral")


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    title: str
    statement: str
    paper_value: str
    figure: Optional[str]
    optional: bool
    notebook: Optional[str]  # notebooks/<paper>/<slug>.ipynb, relative to the project root
    after: tuple[str, ...] = ()  # claims whose ledgers this claim reads (it runs after them)

    @property
    def slug(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def status(self) -> str:
        return "pending" if self.notebook is None else "implemented"


@lru_cache(maxsize=1)
def _load() -> tuple[dict, tuple[Claim, ...]]:
    data = yaml.safe_load((Path(__file__).parent / "claims.yaml").read_text())
    return data["papers"], tuple(
        Claim(**{**c, "after": tuple(c.get("after", ()))}) for c in data["claims"]
    )


def papers() -> dict[str, dict]:
    """Paper key -> {title, authors, year, arxiv, short}."""
    return dict(_load()[0])


def claims(paper: Optional[str] = None) -> list[Claim]:
    if paper is not None and paper not in PAPER_ORDER:
        raise ConfigError(f"paper={paper!r} is unknown; known papers: {list(PAPER_ORDER)}")
    return [c for c in _load()[1] if paper is None or c.paper == paper]


def get(claim_id: str) -> Claim:
    for c in _load()[1]:
        if c.id == claim_id:
            return c
    ids = [c.id for c in _load()[1] if c.notebook]
    raise ConfigError(
        f"unknown claim id {claim_id!r}; claims with a notebook: {', '.join(ids)} "
        "(`grokbook claims` lists all, pending ones included)"
    )
