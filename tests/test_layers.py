"""The package's layers import only downwards: training <- measures <- papers <- book <- cli."""

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib" / "grokbook"
RANK = {
    "errors": 0,
    "paths": 0,
    "training": 1,
    "measures": 2,
    "plotting": 2,
    "papers": 3,
    "book": 4,
    "cli": 5,
}
MODULES = sorted(LIB.rglob("*.py"))


def layer(module: str) -> str:
    """Layer of a dotted module name inside grokbook ('grokbook.measures.defect' -> 'measures')."""
    parts = module.split(".")
    return parts[1].removesuffix(".py") if len(parts) > 1 else "grokbook"


def imported(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.relative_to(LIB)}: relative import"
            mod = node.module or ""
            if mod == "grokbook":
                out |= {f"grokbook.{a.name}" for a in node.names}
            elif mod.startswith("grokbook."):
                out.add(mod)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("grokbook.")}
    return out


def own_layer(path: Path) -> str:
    rel = path.relative_to(LIB).parts
    return rel[0].removesuffix(".py")


def test_every_module_has_a_layer():
    assert len(MODULES) > 30
    for path in MODULES:
        if path.name != "__init__.py" or path.parent != LIB:
            assert own_layer(path) in RANK, path


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_imports_point_down(path):
    if path.parent == LIB and path.name == "__init__.py":
        return
    mine = RANK[own_layer(path)]
    for mod in imported(path):
        theirs = RANK[layer(mod)]
        same = layer(mod) == own_layer(path)
        assert theirs < mine or same, f"{path.relative_to(LIB)} imports {mod} from a higher layer"


def test_layer_rule_catches_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from grokbook.book import ledger\n")
    assert RANK[layer(next(iter(imported(bad))))] > RANK["measures"]


def test_no_import_cycles():
    graph = {}
    for path in MODULES:
        name = "grokbook." + ".".join(path.relative_to(LIB).with_suffix("").parts)
        graph[name.removesuffix(".__init__")] = {m for m in imported(path)}
    seen, stack = set(), []

    def visit(node):
        if node in stack:
            raise AssertionError(
                "import cycle: " + " -> ".join(stack[stack.index(node) :] + [node])
            )
        if node in seen:
            return
        stack.append(node)
        for nxt in graph.get(node, ()):
            visit(nxt)
        stack.pop()
        seen.add(node)

    for node in graph:
        visit(node)
