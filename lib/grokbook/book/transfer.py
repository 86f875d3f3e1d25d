"""Moving results between machines: `pack` writes the executed notebooks, their ledgers, the
benchmark results and (optionally) the run cache into one .tar.gz; `unpack` checks every path of
such an archive before it writes anything, then puts the files back in place.

An archive holds only regular files under four roots: book/ (executed paper- and reduced-profile
notebooks and ledgers), build/ (smoke and custom executions; not the built HTML),
benchmarks/results/ and .cache/runs/ (the run cache, stored under that name wherever
$GROKBOOK_CACHE points). Absolute paths, '..', links and anything else are refused.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import Iterator

from grokbook.errors import UsageError
from grokbook.paths import cache_root, project_root

ROOTS = ("book", "build", "benchmarks/results", ".cache/runs")
CACHE = ".cache/runs"
BUILD_SKIP = ("html", "book-src")  # build/ outputs that `grokbook book` regenerates
RESULT_SUFFIXES = (".ipynb", ".ledger.json")  # what book/ and build/ contribute


def _files(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def members(with_cache: bool) -> list[tuple[Path, str]]:
    """(file on disk, name in the archive) of everything `pack` writes."""
    root = project_root()
    out = [
        (f, f.relative_to(root).as_posix())
        for f in _files(root / "book")
        if f.name.endswith(RESULT_SUFFIXES)
    ]
    out += [
        (f, f.relative_to(root).as_posix())
        for f in _files(root / "build")
        if f.name.endswith(RESULT_SUFFIXES)
        and f.relative_to(root / "build").parts[0] not in BUILD_SKIP
    ]
    out += [(f, f.relative_to(root).as_posix()) for f in _files(root / "benchmarks" / "results")]
    if with_cache:
        cache = cache_root()
        for f in _files(cache):
            rel = f.relative_to(cache)
            if rel.parts[0] == "locks" or any(p.startswith(".") for p in rel.parts):
                continue  # lock files and half-written entries stay behind
            out.append((f, f"{CACHE}/{rel.as_posix()}"))
    return out


def pack(out: Path, with_cache: bool = False) -> int:
    """Write the archive; returns the number of files in it."""
    out = Path(out)
    files = members(with_cache)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    with tarfile.open(tmp, "w:gz") as tar:
        for f, name in files:
            tar.add(f, arcname=name, recursive=False)
    os.replace(tmp, out)
    return len(files)


def check_name(name: str) -> str:
    """The reason an archive member name is refused, or "" if it is allowed."""
    path = PurePosixPath(name)
    if not name or name.startswith("/") or "\\" in name or path.is_absolute():
        return "absolute or unusual path"
    if any(part in ("..", "") for part in name.split("/")):
        return "'..' or an empty component"
    if not any(name == r or name.startswith(r + "/") for r in ROOTS):
        return f"outside {', '.join(r + '/' for r in ROOTS)}"
    return ""


def check(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Every member if all are allowed (regular files and folders under ROOTS); else UsageError
    naming each refused member and why."""
    bad = []
    for m in tar.getmembers():
        why = check_name(m.name.rstrip("/") if m.isdir() else m.name)
        if not (m.isfile() or m.isdir()):
            why = "not a regular file or folder (link or device)"
        if why:
            bad.append(f"{m.name!r} ({why})")
    if bad:
        raise UsageError(
            f"refusing the archive: {len(bad)} member(s) not allowed: {'; '.join(bad[:5])}"
        )
    return tar.getmembers()


def destination(name: str) -> Path:
    """Where a checked member goes: the run cache for .cache/runs/..., the project for the rest."""
    if name == CACHE or name.startswith(CACHE + "/"):
        return cache_root() / name[len(CACHE) + 1 :]
    return project_root() / name


def unpack(archive: Path) -> dict:
    """Check every member of the archive, then write its files. An existing complete run-cache entry
    is kept (entries are keyed by their config, so it holds the same run); other files are replaced.
    -> counts {"written", "kept"}."""
    archive = Path(archive)
    if not archive.is_file():
        raise UsageError(f"{archive}: no such archive")
    try:
        tar = tarfile.open(archive, "r:gz")
    except (tarfile.TarError, OSError) as e:
        raise UsageError(f"{archive}: not a .tar.gz archive ({e})") from None
    counts = {"written": 0, "kept": 0}
    with tar:
        found = [m for m in check(tar) if m.isfile()]
        complete = {
            e
            for e in map(_cache_entry, (m.name for m in found))
            if e is not None and (e / "DONE").exists()
        }  # decided before writing anything
        for m in found:
            if _cache_entry(m.name) in complete:
                counts["kept"] += 1
                continue
            dest = destination(m.name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
            with tar.extractfile(m) as src, open(tmp, "wb") as f:
                shutil.copyfileobj(src, f)
            os.replace(tmp, dest)
            counts["written"] += 1
    return counts


def _cache_entry(name: str):
    """The run-cache entry folder a member belongs to (None for partial checkpoints and other
    files)."""
    if not name.startswith(CACHE + "/"):
        return None
    parts = name[len(CACHE) + 1 :].split("/")
    return cache_root() / parts[0] if len(parts) >= 2 and parts[0] != "partial" else None
