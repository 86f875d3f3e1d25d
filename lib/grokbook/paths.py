"""Where the project lives on disk: the repository root, the run cache, the build folder."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """$GROKBOOK_ROOT, else the nearest folder upwards from the working directory that holds
    notebooks/ and book/, else the checkout this package was installed from (editable install)."""
    if os.environ.get("GROKBOOK_ROOT"):
        return Path(os.environ["GROKBOOK_ROOT"]).resolve()
    for d in [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[2]]:
        if (d / "notebooks").is_dir() and (d / "book").is_dir():
            return d
    raise FileNotFoundError(
        "cannot find the grokbook project root (a folder with notebooks/ and book/); "
        "run from inside the checkout or set GROKBOOK_ROOT"
    )


def cache_root() -> Path:
    """Run cache: $GROKBOOK_CACHE, else <project>/.cache/runs (git-ignored)."""
    if os.environ.get("GROKBOOK_CACHE"):
        return Path(os.environ["GROKBOOK_CACHE"])
    return project_root() / ".cache" / "runs"


def build_root() -> Path:
    """Git-ignored folder for smoke executions, custom runs and the built book."""
    return project_root() / "build"
