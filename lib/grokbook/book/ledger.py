"""The claim ledger: the last cell of every claim notebook records what was measured and the
verdict.

The entry is JSON next to the executed notebook (the runner passes the path in $GROKBOOK_LEDGER;
without it, build/ledger/<claim>.json). The verdict, its rule in words and the evidence that entered
come from the claim's rule function (a `Verdict`); the runner adds every parameter of the executed
notebook, the profile and a digest of the sources after the kernel finishes, so no notebook lists
its parameters by hand.
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from grokbook.book import registry
from grokbook.papers.verdict import VERDICTS, Evidence, Verdict
from grokbook.paths import build_root


def ledger_path(claim_id: str) -> Path:
    if os.environ.get("GROKBOOK_LEDGER"):
        return Path(os.environ["GROKBOOK_LEDGER"])
    return build_root() / "ledger" / f"{claim_id}.json"


class Entry:
    """Opened in a notebook's set-up cell (starts the clock), recorded in its last cell."""

    def __init__(self, claim_id: str, **legacy):
        self.claim = registry.get(claim_id)
        self.legacy = legacy  # TRANSITION: profile=, parameters= of unconverted notebooks
        self._t0 = time.perf_counter()

    def record(
        self,
        result: Optional[Verdict] = None,
        *,
        our_value: str,
        null_value: str,
        device: str,
        numbers: Optional[dict] = None,
        **legacy,
    ) -> dict:
        """Write the ledger entry. our_value / null_value: short text with the spread over seeds;
        numbers: the raw measured values (JSON-able)."""
        if result is None:  # TRANSITION: verdict=, rule=, seeds= of unconverted notebooks
            result = Verdict(
                legacy["verdict"], legacy["rule"], Evidence.of(legacy["seeds"], "seeds")
            )
        if not isinstance(result, Verdict):
            raise TypeError(
                f"result={result!r} must be the Verdict returned by the claim's rule function"
            )
        import torch

        c = self.claim
        entry = {
            "claim": c.id,
            "paper": c.paper,
            "title": c.title,
            "statement": c.statement,
            "paper_value": c.paper_value,
            "our_value": our_value,
            "null_value": null_value,
            **result.to_dict(),
            "numbers": numbers or {},
            "device": device,
            "device_name": (
                torch.cuda.get_device_name()
                if device.startswith("cuda")
                else (platform.processor() or platform.machine())
            ),
            "torch": torch.__version__,
            "wall_s": round(time.perf_counter() - self._t0, 1),
            "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write(ledger_path(c.id), entry)
        return entry

    def summary(self, entry: dict) -> str:  # TRANSITION: the result box replaces it
        rows = [
            ("claim", entry["claim"]),
            ("paper", entry["paper_value"]),
            ("ours", entry["our_value"]),
            ("null / control", entry["null_value"]),
            ("verdict", f"**{entry['verdict']}**"),
            ("rule", entry["rule"]),
        ]
        return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def write(path: Path, entry: dict) -> None:
    """Write an entry atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entry, indent=1, ensure_ascii=False, default=_jsonable))
    os.replace(tmp, path)


def _jsonable(x):
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"ledger: cannot store {type(x).__name__}")


def read(path: Path) -> Optional[dict]:
    """A ledger entry, or None if the file is missing."""
    return json.loads(path.read_text()) if path.exists() else None
