"""The verdict object every rule returns, and the common tiered rule shape."""

import math

import pytest

from grokbook.papers.verdict import VERDICTS, Evidence, Verdict, tiered, verdict_text


def test_evidence_counts_what_entered_and_reads_naturally():
    e = Evidence.of(["add s42", "sub s42"], "runs")
    assert (e.n, e.items) == (2, ("add s42", "sub s42"))
    assert (
        Evidence.of([7], "seeds").text() == "1 seed"
        and Evidence.of([], "pairs").text() == "0 pairs"
    )


def test_a_verdict_outside_the_five_is_refused():
    assert len(VERDICTS) == 5 and "not supported" in VERDICTS
    with pytest.raises(ValueError, match="verdict='confirmed'"):
        Verdict("confirmed", "rule", Evidence.of([1]))


def test_tiered_gives_inconclusive_below_the_minimum_evidence():
    tiers = [("reproduced", {"a": True}), ("partial", {"b": True})]
    assert tiered("r", Evidence.of([1, 2], "seeds"), tiers, min_n=3).verdict == "inconclusive"
    assert tiered("r", Evidence.of([1, 2, 3], "seeds"), tiers, min_n=3).verdict == "reproduced"


def test_tiered_falls_through_the_tiers_and_keeps_every_check():
    tiers = [("reproduced", {"a": False, "c": True}), ("partial", {"b": True})]
    v = tiered("r", Evidence.of([1, 2, 3]), tiers)
    assert v.verdict == "partial" and v.checks == {"a": False, "c": True, "b": True}
    nan_check = [("reproduced", {"x > 1": math.nan > 1})]
    assert tiered("r", Evidence.of([1]), nan_check).verdict == "not reproduced"


def test_verdict_text_shows_rule_evidence_and_checks():
    v = tiered(
        "mean in [0.6, 0.8]", Evidence.of([1, 2, 3], "seeds"), [("reproduced", {"in range": True})]
    )
    text = verdict_text(v)
    assert "**Verdict: reproduced** (3 seeds)." in text and "Rule: mean in [0.6, 0.8]" in text
    assert "- in range: yes" in text
