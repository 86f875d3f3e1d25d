"""The claim ledger: the last cell of every claim notebook records what was measured and the verdict.

The entry is JSON next to the executed notebook (the CLI passes the path in $GROKBOOK_LEDGER; without it,
build/ledger/<claim>.json). Verdicts come from rules fixed as notebook parameters, never typed in.
"""
from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from . import registry
from .paths import build_root

VERDICTS = ("reproduced", "partial", "not reproduced", "inconclusive")


def ledger_path(claim_id: str) -> Path:
    if os.environ.get("GROKBOOK_LEDGER"):
        return Path(os.environ["GROKBOOK_LEDGER"])
    return build_root() / "ledger" / f"{claim_id}.json"


class Entry:
    """Opened in a notebook's setup cell (starts the clock), recorded in its last cell."""

    def __init__(self, claim_id: str, *, profile: str, parameters: dict):
        self.claim = registry.get(claim_id)
        self.profile = profile
        self.parameters = dict(parameters)
        self._t0 = time.perf_counter()

    def record(self, *, our_value: str, null_value: str, verdict: str, rule: str, seeds, device: str,
               numbers: Optional[dict] = None) -> dict:
        """Write the ledger entry. our_value / null_value: short text with the spread over seeds;
        rule: the verdict rule with its thresholds; numbers: the raw measured values (JSON-able)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict={verdict!r}; must be one of {VERDICTS}")
        import torch
        c = self.claim
        entry = {
            "claim": c.id, "paper": c.paper, "title": c.title, "statement": c.statement,
            "paper_value": c.paper_value, "our_value": our_value, "null_value": null_value,
            "verdict": verdict, "rule": rule, "profile": self.profile, "parameters": self.parameters,
            "seeds": list(seeds), "numbers": numbers or {},
            "device": device, "device_name": torch.cuda.get_device_name() if device.startswith("cuda")
            else (platform.processor() or platform.machine()),
            "torch": torch.__version__, "wall_s": round(time.perf_counter() - self._t0, 1),
            "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        path = ledger_path(c.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entry, indent=1, ensure_ascii=False, default=_jsonable))
        os.replace(tmp, path)
        return entry

    def summary(self, entry: dict) -> str:
        """Markdown table of a recorded entry, for the notebook's last output."""
        rows = [("claim", entry["claim"]), ("paper", entry["paper_value"]), ("ours", entry["our_value"]),
                ("null / control", entry["null_value"]), ("verdict", f"**{entry['verdict']}**"),
                ("rule", entry["rule"]), ("profile", entry["profile"]), ("seeds", entry["seeds"]),
                ("device", entry["device"]), ("wall time", f"{entry['wall_s']} s")]
        return "| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


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
