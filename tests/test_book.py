"""The book generator (grokbook.book.pages): staged pages, _toc.yml, result boxes and the scorecard,
without running Sphinx.

A temporary project root holds a fake smoke execution of one implemented claim and a fake
paper-profile execution of another (notebook + ledger, as `grokbook run` writes them).
"""

import json
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from grokbook.book import pages as book
from grokbook.book import registry

REPO = Path(__file__).resolve().parents[1]


def fake_execution(
    nb_path: Path,
    claim: registry.Claim,
    profile: str,
    verdict: str,
    digest: str = "old",
    reductions: tuple = (),
) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# A claim ({claim.id})\n\nWhat we measure."),
            nbformat.v4.new_code_cell('profile = "paper"', metadata={"tags": ["parameters"]}),
            nbformat.v4.new_markdown_cell("## Verdict"),
        ]
    )
    nb_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, nb_path)
    entry = {
        "claim": claim.id,
        "paper": claim.paper,
        "verdict": verdict,
        "profile": profile,
        "our_value": "R90 2,800 ± 300 | ours",
        "null_value": "no grok at λ = 0",
        "rule": "rule",
        "parameters": {"p": 47, "profile": profile},
        "evidence_n": 2,
        "evidence_unit": "seeds",
        "device": "cpu",
        "device_name": "x86_64",
        "wall_s": 312.0,
        "recorded": "2026-11-23T15:00:00+00:00",
        "source_digest": digest,
        "reductions": list(reductions),
    }
    nb_path.with_suffix(".ledger.json").write_text(json.dumps(entry))


@pytest.fixture
def staged(tmp_path, monkeypatch):
    implemented = [c for c in registry.claims() if c.notebook]
    if len(implemented) < 3:
        pytest.skip("needs three implemented claims in the registry")
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    shutil.copytree(REPO / "book", root / "book", ignore=shutil.ignore_patterns("results"))
    monkeypatch.setenv("GROKBOOK_ROOT", str(root))
    smoke, paper, not_run = implemented[:3]
    for c in (smoke, paper, not_run):  # the sources, for the staleness digest
        (root / c.notebook).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / c.notebook, root / c.notebook)
    from grokbook.book.execute import source_digest

    fake_execution(
        root / "build" / "smoke" / smoke.paper / f"{smoke.slug}.ipynb",
        smoke,
        "smoke",
        "reproduced",
        digest=source_digest(root / smoke.notebook, "smoke"),
    )
    fake_execution(
        root / "book" / "results" / "paper" / paper.paper / f"{paper.slug}.ipynb",
        paper,
        "paper",
        "partial",
    )
    return book.stage(tmp_path / "src"), smoke, paper, not_run


def test_toc_has_every_paper_and_implemented_claim(staged):
    src = staged[0]
    toc = yaml.safe_load((src / "_toc.yml").read_text())
    assert toc["root"] == "intro"
    assert toc["parts"][0]["caption"] == "Getting started"
    assert [c["file"] for c in toc["parts"][0]["chapters"]] == [
        "setup",
        "rerun",
        "scorecard",
        "methods",
        "performance",
    ]
    papers = toc["parts"][1:]
    assert [p["chapters"][0]["file"] for p in papers] == [
        f"{k}/index" for k in registry.PAPER_ORDER
    ]
    for part, key in zip(papers, registry.PAPER_ORDER):
        assert part["caption"] == registry.papers()[key]["short"]
        listed = [s["file"] for s in part["chapters"][0].get("sections", [])]
        assert listed == [f"{key}/{c.slug}" for c in registry.claims(key) if c.notebook]
    files = (
        ["intro", "setup", "rerun", "scorecard", "methods", "performance"]
        + [f"{k}/index" for k in registry.PAPER_ORDER]
        + [s["file"] for p in papers for s in p["chapters"][0].get("sections", [])]
    )
    for f in files:
        assert (src / f"{f}.md").exists() or (src / f"{f}.ipynb").exists(), f


def test_every_claim_id_appears_in_its_index_and_the_scorecard(staged):
    src = staged[0]
    card = (src / "scorecard.md").read_text()
    for c in registry.claims():
        assert c.id in (src / c.paper / "index.md").read_text()
        assert c.id in card


def test_result_box_on_top_of_every_executed_page(staged):
    src, smoke, paper, _ = staged
    nb = nbformat.read(src / smoke.paper / f"{smoke.slug}.ipynb", as_version=4)
    title, box, rest = (c.source for c in nb.cells[:3])
    assert title == f"# A claim ({smoke.id})" and rest == "What we measure."
    assert box.startswith("::::{admonition} Result: reproduced\n:class: tip\n")
    assert "* - evidence\n  - 2 seeds" in box and "* - null / control\n  - no grok at λ = 0" in box
    assert "smoke (p = 47; x86_64, 2026-11-23, 5.2 min)" in box and "**Smoke profile:**" in box
    assert "**Stale:**" not in box  # its digest matches the source notebook
    assert "hide-input" in nb.cells[3].metadata.tags  # the parameters cell is collapsed
    nb = nbformat.read(src / paper.paper / f"{paper.slug}.ipynb", as_version=4)
    box = nb.cells[1].source
    assert ":class: attention" in box and "**Smoke profile:**" not in box
    assert "**Stale:**" in box  # recorded with another digest


def test_the_best_profile_is_shown_and_a_reduced_page_lists_its_reductions(tmp_path, monkeypatch):
    from grokbook.book import scorecard

    monkeypatch.setenv("GROKBOOK_ROOT", str(tmp_path))
    c = next(c for c in registry.claims() if c.notebook)
    at = {prof: scorecard.executed_path(c, prof) for prof in ("smoke", "reduced", "paper")}
    assert at["reduced"] == tmp_path / "book" / "results" / "reduced" / c.paper / f"{c.slug}.ipynb"
    fake_execution(at["smoke"], c, "smoke", "reproduced")
    assert scorecard.best_entry(c)[0]["profile"] == "smoke"
    fake_execution(at["reduced"], c, "reduced", "partial", reductions=["steps: 50,000 → 10,000"])
    entry, path = scorecard.best_entry(c)
    assert entry["profile"] == "reduced" and path == at["reduced"]
    box = book.result_box(c, entry, stale=False)
    assert "**Reduced profile:**" in box and "- steps: 50,000 → 10,000" in box
    assert "**Smoke profile:**" not in box
    fake_execution(at["paper"], c, "paper", "not reproduced")
    assert scorecard.best_entry(c)[0]["profile"] == "paper"


def test_unexecuted_claim_gets_a_not_run_page(staged):
    src, _, _, not_run = staged
    assert not (src / not_run.paper / f"{not_run.slug}.ipynb").exists()
    text = (src / not_run.paper / f"{not_run.slug}.md").read_text()
    assert "has not been executed yet" in text and f"grokbook run {not_run.id}" in text


def test_verdicts_and_pending_claims_in_the_pages(staged):
    src, smoke, paper, not_run = staged
    card = (src / "scorecard.md").read_text()
    row = next(ln for ln in card.splitlines() if f"`{smoke.id} <" in ln)
    assert "{bdg-success}`reproduced`" in row and row.endswith("| 2 seeds | smoke | – |")
    paper_row = next(ln for ln in card.splitlines() if f"`{paper.id} <" in ln)
    assert "{bdg-warning}`partial`" in paper_row and paper_row.endswith("| paper | **stale** |")
    assert "`not run`" in next(ln for ln in card.splitlines() if f"`{not_run.id} <" in ln)
    totals = [ln for ln in card.splitlines() if ln.startswith("| **all** |")]
    n_pending = sum(c.notebook is None for c in registry.claims())
    n_not_run = len(registry.claims()) - n_pending - 2
    assert totals[0] == "| **all** | paper | partial 1 | 1 |"  # never summed
    assert totals[1] == "| **all** | smoke | reproduced 1 | 0 |"
    rest = f"not run {n_not_run}" + (f" · pending {n_pending}" if n_pending else "")
    assert totals[2] == f"| **all** | – | {rest} | – |"
    assert "| **not supported** |" in card and "verdict-counts.png" in card
    pending = [c for c in registry.claims() if c.notebook is None]
    for c in pending:
        index = (src / c.paper / "index.md").read_text()
        assert f"### `{c.id}`" in index.split("## Pending claims")[1]
        line = next(ln for ln in index.splitlines() if ln.startswith(f"| `{c.id}`"))
        assert line.rstrip(" |").endswith("pending" + (" · optional" if c.optional else ""))
        assert "**pending**" in next(ln for ln in card.splitlines() if f"`{c.id} <" in ln)
    optional = [c for c in registry.claims() if c.optional]
    assert all(
        "optional"
        in next(
            ln
            for ln in (src / c.paper / "index.md").read_text().splitlines()
            if f"`{c.id}" in ln and ln.startswith("|")
        )
        for c in optional
    )


def test_table_cells_are_escaped():
    assert book.esc("|cos(Δθ, δ)| ≈ f*(x) $5") == "\\|cos(Δθ, δ)\\| ≈ f\\*(x) \\$5"
    assert book.esc(None) == "–"


def test_progress_bars_collapse_to_their_last_state():
    cell = nbformat.v4.new_code_cell(
        "train()",
        outputs=[
            nbformat.v4.new_output("stream", name="stderr", text="warn\n\rbar 0%"),
            nbformat.v4.new_output("stream", name="stderr", text="\rbar 50%\rbar 100%\n"),
            nbformat.v4.new_output("stream", name="stdout", text="done\n"),
        ],
    )
    nb = nbformat.v4.new_notebook(cells=[cell])
    book.tidy_streams(nb)
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [
        ("stderr", "warn\nbar 100%\n"),
        ("stdout", "done\n"),
    ]


def speed_result(device: str, scale: str, rows: list[dict]) -> dict:
    """A training-speed result file as benchmarks/training_speed.py writes it."""
    env = {
        "device": device,
        "device_name": "NVIDIA H100" if device == "cuda" else "AMD EPYC",
        "scale": scale,
        "model": {"p": 97},
        "cores": 2,
        "threads": 2,
        "torch": "2.13.0",
        "python": "3.11.7",
        "steps": 30,
        "repeats": 5,
    }
    peak = {"median": 100.0, "min": 90.0, "max": 104.0, "size": 2048, "repeats": 5}
    return {"env": env, "matmul_peak_gflops": peak, "flops_per_run_step": 1.655e9, "rows": rows}


def speed_row(R: int, layout: str, rate: float, **kw) -> dict:
    """One (R, layout) row: run-steps/s with a ±10 % range, GFLOP/s at 1 GFLOP per run-step."""

    def stat(x):
        return {"median": x, "min": 0.9 * x, "max": 1.1 * x}

    return {
        "R": R,
        "layout": layout,
        "workers": 2 if layout == "processes" else 1,
        "run_steps_per_s": stat(rate),
        "gflops": stat(rate / 10),
        "compile_s": None,
    } | kw


def test_performance_page_tables_every_benchmark_file_and_each_executed_claims_wall_time(
    staged, tmp_path
):
    src, smoke, paper, not_run = staged
    bench = Path(book.project_root()) / "benchmarks" / "results"
    bench.mkdir(parents=True)
    assert "The training-speed benchmark has not been run yet" in book.performance_page()
    noisy = {"median": 40.0, "min": 36.0, "max": 44.0, "invalid": 1}
    rows = [speed_row(8, "stacked", 80.0), speed_row(8, "processes", 40.0, run_steps_per_s=noisy)]
    (bench / "training_speed-cuda-paper.json").write_text(
        json.dumps(speed_result("cuda", "paper", rows))
    )
    page = book.performance_page()
    assert "### cuda · paper model" in page and "NVIDIA H100" in page
    assert "Measured matmul peak 100 GFLOP/s" in page
    assert "training-speed benchmark has not been run yet" not in page
    assert "| 8 | stacked | 80.0 (72.0–88.0) | 8.0 (7.2–8.8) | 8 % | – |" in page
    assert "| 8 | processes (2 workers) | 40.0 (36.0–44.0; 1 repeat(s) without a positive" in page
    assert "vs papers' loop" not in page
    assert (
        f"| `{smoke.id}` | smoke | x86_64 | 312 s |" in page and f"| `{paper.id}` | paper |" in page
    )
    assert f"`{not_run.id}`" not in page


def test_performance_page_tables_the_perturbation_field_benchmark(staged):
    bench = Path(book.project_root()) / "benchmarks" / "results"
    bench.mkdir(parents=True)
    assert "The perturbation-field benchmark has not been run yet" in book.performance_page()

    def stat(x):
        return {"median": x, "min": 0.9 * x, "max": 1.1 * x}

    env = {
        "cpu_model": "AMD EPYC",
        "threads": 2,
        "torch": "2.13.0",
        "directions": 32,
        "model": {"p": 97, "d_model": 128, "n_layers": 2},
        "inputs": {"test": 4704, "grid": 9409},
        "repeats": 5,
    }
    result = {
        "env": env,
        "seconds_per_direction": {"whole": stat(1.5), "tiled": stat(1.0), "union": stat(0.5)},
        "speedup_over_whole": {"tiled": stat(1.5), "union": stat(3.0)},
    }
    (bench / "perturbation_fields-cpu-paper.json").write_text(json.dumps(result))
    page = book.performance_page()
    assert "inputs: test 4,704, grid 9,409; 5 repeats" in page
    assert "perturbation-field benchmark has not been run yet" not in page
    assert "| whole | 1.500 s (1.350–1.650 s) | – |" in page
    assert "| union | 0.500 s (0.450–0.550 s) | 3.00× (2.70–3.30×) |" in page


def test_performance_page_shows_compiled_rows_speedups_and_the_paper_plan(staged):
    bench = Path(book.project_root()) / "benchmarks" / "results"
    bench.mkdir(parents=True)
    assert "No plan in `benchmarks/results/` yet" in book.performance_page()
    ratio = {"median": 1.5, "min": 1.25, "max": 1.75}
    rows = [
        speed_row(32, "compiled", 150.0, compile_s=21.4, vs_reference=ratio),
        speed_row(32, "reference", 100.0, vs_reference={"median": 1.0, "min": 1.0, "max": 1.0}),
    ]
    (bench / "training_speed-cpu-smoke.json").write_text(
        json.dumps(speed_result("cpu", "smoke", rows))
    )
    stack = {
        "runs": 30,
        "hook": "",
        "p": 97,
        "d_model": 128,
        "n_layers": 2,
        "n_tasks": 2,
        "steps": 300000,
        "run_steps": 9000000,
        "probe_every": 200,
        "snapshot_gb": 1.5,
        "claims": ["a", "b"],
    }
    plan = {
        "profile": "paper",
        "paper": None,
        "claims": ["a", "b"],
        "stacks": [stack],
        "total": {
            "stacks": 1,
            "runs": 30,
            "run_steps": 9000000,
            "snapshot_gb": 1.5,
            "hooked_runs": 0,
        },
    }
    (bench / "plan-paper.json").write_text(json.dumps(plan))
    page = book.performance_page()
    assert "| R | layout | run-steps/s | vs papers' loop | GFLOP/s |" in page
    assert "| 32 | compiled | 150.0 (135.0–165.0) | 1.50× (1.25–1.75×) | 15.0 " in page
    assert "| 15 % | 21 |" in page and "| 32 | reference | 100.0 (90.0–110.0) | 1.00× " in page
    assert "30 runs in 1 stacks, at most 9,000,000 run-steps" in page and "for 2 claims." in page
    assert "| 30 | 97 | 128 | 2 | 2 | 300,000 | 9,000,000 | 200 | 1.50 | - | `a`, `b` |" in page
    reduced = plan | {
        "profile": "reduced",
        "total": plan["total"] | {"expected_run_steps": 1_200_000},
        "chunks": [
            {
                "chunk": "multitask.shared",
                "runs": 30,
                "expected_h": 3.75,
                "analysis_h": 0.25,
                "sittings": 2,
                "claims": ["a", "b"],
            },
            {"chunk": "c", "runs": 0, "expected_h": None, "claims": ["c"]},
        ],
    }
    (bench / "plan-reduced.json").write_text(json.dumps(reduced))
    page = book.performance_page()
    assert "Expected from measured runs: 1,200,000 run-steps" in page
    assert "| `multitask.shared` | 30 | 3.75 h | 0.25 h | 2 | `a`, `b` |" in page
    assert "| `c` | 0 | ? | ? | ? | `c` |" in page


def test_a_smoke_box_offers_the_reduced_profile_only_where_the_claim_has_one():
    with_reduced, without = registry.get("multi.staggered-order"), registry.get(
        "multi.wd-groktime-powerlaw"
    )
    assert "--profile reduced` or `--profile paper`" in book.paper_model_route(with_reduced)
    route = book.paper_model_route(without)
    assert "--profile reduced" not in route and "no reduced profile: its point is a power" in route
