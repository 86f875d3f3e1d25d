"""The one-shot GPU-machine scripts: the wheel list pins every package exactly once, agrees with requirements.txt
where both pin a package, and every script parses (`bash -n`). The scripts themselves run only on a lent GPU
machine, or here with `DRY=1 bash scripts/device_paper.sh` (a few minutes on CPU; not part of the tests)."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("device_paper.sh", "device_unpack.sh", "fetch_device_wheels.sh")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> list[tuple[str, str]]:
    lines = [ln.split("#")[0].strip() for ln in path.read_text().splitlines()]
    return [tuple(ln.split("==")) for ln in lines if ln]


def test_device_wheels_are_pinned_once_and_match_requirements():
    path = ROOT / "scripts" / "device_wheels.txt"
    assert path.read_text().startswith("# "), "the list opens with a one-line comment"
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    bad = [ln for ln in lines if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.+!-]*", ln)]
    assert not bad, f"not NAME==VERSION: {bad}"
    names = [canonical(n) for n, _ in pins(path)]
    assert len(names) == len(set(names)), f"pinned twice: {sorted(n for n in set(names) if names.count(n) > 1)}"
    assert {"papermill", "nbclient", "nbformat", "ipykernel", "pyzmq", "tornado"} <= set(names)
    required = {canonical(n): v for n, v in pins(ROOT / "requirements.txt")}
    differ = {n: (v, required[canonical(n)]) for n, v in pins(path) if required.get(canonical(n), v) != v}
    assert not differ, f"device pins differ from requirements.txt (device, requirements): {differ}"


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_parses(script):
    proc = subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
