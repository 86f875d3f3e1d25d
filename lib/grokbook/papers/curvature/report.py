"""Short texts for the baseline-grid claim pages and their ledger entries: spreads and
per-operation lists that read "–" where nothing was measured, so the notebooks hold no conditional
sentence builders."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from grokbook.measures.trajectory import Spread


def spread(values: Sequence[float], scale: float = 1.0, digits: int = 1, empty: str = "–") -> str:
    """Mean ± s.d. (range, n) of the finite values, or `empty` if there are none."""
    v = [float(x) for x in values if x is not None and not math.isnan(float(x))]
    return Spread.of(v).fmt(scale, digits) if v else empty


def per_key(values: Mapping, fmt: str = "{:.2f}", keys: Sequence | None = None) -> str:
    """"add 1.08, sub 1.04" from {key: value}, in the order of `keys` (default: the mapping's); a
    missing or NaN value reads "–"."""
    def one(k):
        v = values.get(k)
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        return f"{k} –" if missing else f"{k} {fmt.format(v)}"
    return ", ".join(one(k) for k in (values if keys is None else keys))


def value_range(values: Sequence[float], fmt: str = "{:.2f}", scale: float = 1.0) -> str:
    """"lo–hi" of the finite values (scaled), or "–"."""
    v = [scale * float(x) for x in values if x is not None and not math.isnan(float(x))]
    return f"{fmt.format(min(v))}–{fmt.format(max(v))}" if v else "–"


def lead_summary(r90: Sequence, onsets: Sequence, grokking: Sequence[bool]) -> dict:
    """For one onset detector over a set of runs: positive leads R90 − onset among the grokking runs
    ("k/n", n = every grokking run, a missing lead counting as not positive), their mean lead
    (None if none), and the non-grokking runs in which the detector fired ("k/n")."""
    from grokbook.measures.defect import lead_time
    leads = [lead_time(g, o) for g, o, h in zip(r90, onsets, grokking) if h]
    got = [x for x in leads if x is not None]
    fired = [o is not None and not (isinstance(o, float) and math.isnan(o))
             for o, h in zip(onsets, grokking) if not h]
    return {"positive": f"{sum(x > 0 for x in got)}/{len(leads)}",
            "mean lead": sum(got) / len(got) if got else None,
            "controls fired": f"{sum(fired)}/{len(fired)}"}


def lead_rows(leads: Mapping[str, Mapping]) -> list[dict]:
    """One row per precursor: its positive leads "k/n" (n = every run, a missing lead counting as
    not positive) and the spread of its finite leads in steps. leads: name -> {run label: lead}."""
    rows = []
    for name, by_run in leads.items():
        got = [x for x in by_run.values() if x is not None and not math.isnan(float(x))]
        rows.append({"precursor": name,
                     "positive leads": f"{sum(x > 0 for x in got)}/{len(by_run)}",
                     "lead R90 − event (steps)": spread(got, digits=0)})
    return rows
