"""Code lines are at most 100 characters in the library, the tests and the benchmarks."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINE = 100
FILES = sorted(
    {*ROOT.glob("lib/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("benchmarks/*.py")}
)


def long_lines(path: Path) -> list[int]:
    """Numbers (1-based) of the lines of `path` longer than MAX_LINE characters."""
    text = path.read_text(encoding="utf-8")
    return [no for no, line in enumerate(text.splitlines(), 1) if len(line) > MAX_LINE]


def test_the_style_check_covers_every_part_and_flags_a_long_line(tmp_path):
    parts = {f.relative_to(ROOT).parts[0] for f in FILES}
    assert parts == {"lib", "tests", "benchmarks"}
    f = tmp_path / "x.py"
    f.write_text("a = 1\n" + "b = '" + "x" * MAX_LINE + "'\n" + "c = 'θ" + "x" * 92 + "'\n")
    assert long_lines(f) == [2]            # characters, not bytes: line 3 has 100 characters


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_lines_are_at_most_100_characters(path):
    bad = long_lines(path)
    assert not bad, f"{path.relative_to(ROOT)}: lines longer than {MAX_LINE} characters: {bad}"
