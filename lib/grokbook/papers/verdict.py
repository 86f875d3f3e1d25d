"""What a verdict rule returns: the verdict, the rule in words and the evidence that entered.

Every claim's rule is a function in its paper's package (`papers/<paper>/rules.py`) that takes
measured numbers and the rule's thresholds (notebook parameters) and returns a `Verdict`. The claim
page prints `rule` and the ledger stores the same object, so the words and the decision cannot drift
apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

VERDICTS = ("reproduced", "partial", "not reproduced", "not supported", "inconclusive")
MEANING = {
    "reproduced": "our measurement meets the paper's claim under the rule fixed in advance",
    "partial": "part of the claim holds (a weaker tier of the rule), or it holds in some runs only",
    "not reproduced": "enough evidence, and the measurement contradicts the claim",
    "not supported": "the paper's number appears, but a null or control gives the same, so it does "
    "not support the claim's reading",
    "inconclusive": "too little evidence to decide (too few runs, seeds or pairs, or a gate "
    "failed)",
}


MARK = {True: "yes", False: "no", None: "n/a"}  # how a check's outcome is printed


@dataclass(frozen=True)
class Evidence:
    """What entered the decision: n units (runs, seeds, pairs, cells) and their labels."""

    n: int
    unit: str = "runs"
    items: tuple[str, ...] = ()

    @classmethod
    def of(cls, items: Sequence, unit: str = "runs") -> "Evidence":
        labels = tuple(str(i) for i in items)
        return cls(n=len(labels), unit=unit, items=labels)

    def text(self) -> str:
        """ "3 seeds", "1 seed": the unit is written in the plural and singularised for n = 1."""
        unit = self.unit[:-1] if self.n == 1 and self.unit.endswith("s") else self.unit
        return f"{self.n} {unit}"


@dataclass(frozen=True)
class Verdict:
    """A rule's decision. `checks` maps each condition, in words, to whether it held (None: not
    evaluable)."""

    verdict: str
    rule: str
    evidence: Evidence
    checks: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r}; must be one of {VERDICTS}")
        if not isinstance(self.evidence, Evidence) or self.evidence.n < 0:
            raise ValueError(f"evidence={self.evidence!r} must be an Evidence with n >= 0")

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "rule": self.rule,
            "evidence_n": self.evidence.n,
            "evidence_unit": self.evidence.unit,
            "evidence": list(self.evidence.items),
            "checks": {k: v for k, v in self.checks.items()},
        }


def tiered(
    rule: str,
    evidence: Evidence,
    tiers: Sequence[tuple[str, dict]],
    *,
    min_n: int = 1,
    otherwise: str = "not reproduced",
) -> Verdict:
    """The common rule shape: "inconclusive" below `min_n` units of evidence, else the first tier
    whose checks all hold (tiers are (verdict, {condition in words: bool}) from strongest to
    weakest), else `otherwise`. The checks of every tier are kept, so the page can say which
    condition failed."""
    checks = {k: v for _, conds in tiers for k, v in conds.items()}
    if evidence.n < min_n:
        return Verdict("inconclusive", rule, evidence, checks)
    for verdict, conds in tiers:
        if all(bool(v) for v in conds.values()):
            return Verdict(verdict, rule, evidence, checks)
    return Verdict(otherwise, rule, evidence, checks)


def verdict_text(result: Verdict) -> str:
    """Markdown for a claim page's Verdict section: the verdict, the evidence that entered, the rule
    with its thresholds and every check with its outcome."""
    lines = [
        f"**Verdict: {result.verdict}** ({result.evidence.text()}).",
        "",
        f"Rule: {result.rule}",
        "",
    ]
    lines += [
        f"- {k}: {MARK[bool(v) if v is not None else None]}" for k, v in result.checks.items()
    ]
    return "\n".join(lines)
