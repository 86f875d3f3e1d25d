"""Publishing the built book: `build/html` becomes the single commit of a `gh-pages` branch, pushed
to a remote (a remote name of this repository, a URL or a path), the usual way a Jupyter Book is
served as static pages."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

from grokbook.errors import UsageError
from grokbook.paths import build_root, project_root

BRANCH = "gh-pages"


@contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=project_root(), capture_output=True, text=True)


def publish(remote: str = "origin") -> str:
    """Commit build/html as the gh-pages branch (with .nojekyll, so folders starting with an
    underscore are served) and force-push it to `remote`; returns the commit message."""
    import ghp_import

    html = build_root() / "html"
    if not (html / "index.html").exists():
        raise UsageError(f"no built book in {html}: run `grokbook book` first")
    if _git("rev-parse", "--git-dir").returncode != 0:
        raise UsageError(f"{project_root()} is not a git repository: nothing to publish from")
    known = _git("remote", "get-url", remote).returncode == 0
    if not (known or "://" in remote or "@" in remote or Path(remote).exists()):
        raise UsageError(
            f"--remote {remote!r} is neither a remote of this repository (`git remote -v`) nor a "
            "URL or path of a repository"
        )
    head = _git("rev-parse", "--short", "HEAD").stdout.strip() or "an uncommitted tree"
    message = f"book built from {head}"
    try:
        with _cwd(project_root()):
            ghp_import.ghp_import(
                str(html),
                mesg=message,
                remote=remote,
                branch=BRANCH,
                push=True,
                force=True,
                nojekyll=True,
                no_history=True,
            )
    except ghp_import.GhpError as e:
        raise UsageError(f"publishing to {remote!r} failed: {e}") from None
    except subprocess.CalledProcessError as e:
        raise UsageError(
            f"publishing to {remote!r} failed: `{' '.join(e.cmd)}` exited with {e.returncode}"
        ) from None
    return message
