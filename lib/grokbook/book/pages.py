"""Assemble the Jupyter Book in build/book-src/ and build it into build/html/ (Sphinx warnings are
errors).

Static pages come from book/ (intro, setup, rerun, _config.yml, assets). Generated here: one index
page per paper (citation, claims, verdicts), one page per implemented claim (its executed notebook,
paper profile, else reduced, else smoke) with a result box on top, the scorecard with its
verdict-count figure, and _toc.yml. Cross-page numbers are written from the ledger JSON, never glued
(a glue key does not resolve across pages).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

from grokbook.book import execute
from grokbook.book import ledger
from grokbook.book import registry
from grokbook.book import scorecard
from grokbook.errors import UsageError
from grokbook.papers.verdict import MEANING
from grokbook.paths import build_root, project_root

SETUP = {  # which of our setups each paper's pages use (details: setup.md)
    "power": "the shared 2-token **encoder variant** (pre-LN, one readout at position 0), not the "
    "decoder of Power et al.; their operations table, 3 seeds, training fraction and step budgets",
    "curvature": "the shared-trunk encoder exactly as the paper's code builds it (p = 97, 2 "
    "layers, d_model 128, one head per operation, 290,401 parameters)",
    "multitask": "the shared trunk with two heads (add, mul) or three (add, mul, a² + b²) on one "
    "split of the nonzero pairs; 315,427 parameters tri-task",
    "holographic": "the tri-task shared trunk of the multi-task paper (315,427 parameters) and two "
    "larger trunks of our own resolution",
    "spectral": "the single-task encoder of the curvature paper (290,401 parameters) and its "
    "tri-task trunk",
}
SCALE = (
    "p",
    "ops",
    "task_sets",
    "seeds",
    "d_model",
    "n_layers",
    "lr",
    "weight_decay",
    "weight_decays",
    "steps",
    "device",
)  # the run scale shown in the result box
OUTCOMES = ledger.VERDICTS + ("not run", "pending")
PROFILES = ("paper", "reduced", "smoke")  # counted separately; a custom run is never shown
BADGE = {
    "reproduced": "success",
    "partial": "warning",
    "not reproduced": "danger",
    "not supported": "danger",
    "inconclusive": "secondary",
    "not run": "light",
    "pending": "light",
}
BOX_CLASS = {
    "reproduced": "tip",
    "partial": "attention",
    "not reproduced": "danger",
    "not supported": "error",
    "inconclusive": "note",
}  # admonition colour per verdict


def esc(text) -> str:
    """Registry or ledger text made literal in Markdown (also inside a table cell)."""
    return (
        "–"
        if text in (None, "")
        else str(text).replace("|", "\\|").replace("*", "\\*").replace("$", "\\$")
    )


def outcome(row: dict) -> str:
    """One-line verdict of a scorecard row: a verdict, 'not run' or 'pending'."""
    return row["verdict"] or row["status"]


def base_profile(row: dict) -> str | None:
    return str(row["profile"]).split("+")[0] if row.get("profile") else None


def evidence(row: dict) -> str:
    return row.get("evidence") or "–"


def verdict_line(row: dict) -> str:
    v = f"**{outcome(row)}**" + (
        f" ({base_profile(row)} profile, {evidence(row)})" if row["verdict"] else ""
    )
    return (
        v
        + (" · **stale**" if row.get("stale") else "")
        + (" · optional" if row["optional"] else "")
    )


def counts(rows: list[dict]) -> str:
    """Verdict counts per profile, e.g. "smoke: reproduced 3 · partial 2"; never summed across
    profiles."""
    parts = []
    for prof in PROFILES:
        sub = [r for r in rows if base_profile(r) == prof]
        n = {o: sum(r["verdict"] == o for r in sub) for o in ledger.VERDICTS}
        if sub:
            parts.append(
                f"{prof} profile: " + " · ".join(f"{o} **{k}**" for o, k in n.items() if k)
            )
    rest = {o: sum(outcome(r) == o for r in rows) for o in ("not run", "pending")}
    parts += [f"{o}: **{k}**" for o, k in rest.items() if k]
    return "; ".join(parts) or "no claims"


def count_table(rows: list[dict]) -> list[str]:
    """Markdown table: claims per verdict for each paper and profile (never added across
    profiles), then the claims not run yet and the pending ones."""
    meta = registry.papers()
    lines = ["| paper | profile | verdicts | stale |", "|---|---|---|---|"]
    for key in [*registry.PAPER_ORDER, "all"]:
        sub = rows if key == "all" else [r for r in rows if r["paper"] == key]
        name = "**all**" if key == "all" else meta[key]["short"]
        for prof in PROFILES:
            ran = [r for r in sub if base_profile(r) == prof]
            if ran:
                n = {o: sum(r["verdict"] == o for r in ran) for o in ledger.VERDICTS}
                text = " · ".join(f"{o} {k}" for o, k in n.items() if k)
                lines.append(f"| {name} | {prof} | {text} | {sum(bool(r['stale']) for r in ran)} |")
        rest = {o: sum(outcome(r) == o for r in sub) for o in ("not run", "pending")}
        if any(rest.values()):
            text = " · ".join(f"{o} {k}" for o, k in rest.items() if k)
            lines.append(f"| {name} | – | {text} | – |")
    return lines


def verdict_legend() -> list[str]:
    return [
        "| verdict | meaning |",
        "|---|---|",
        *[f"| **{v}** | {m} |" for v, m in MEANING.items()],
    ]


def count_figure(rows: list[dict], path: Path) -> None:
    """Stacked bars: verdicts per paper, one bar per profile that has results."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {
        "reproduced": "#2e7d32",
        "partial": "#f9a825",
        "not reproduced": "#c62828",
        "not supported": "#6a1b9a",
        "inconclusive": "#9e9e9e",
    }
    bars = [
        (
            registry.papers()[k]["short"],
            prof,
            [r for r in rows if r["paper"] == k and base_profile(r) == prof],
        )
        for k in registry.PAPER_ORDER
        for prof in PROFILES
    ]
    bars = [b for b in bars if b[2]]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(bars) + 1.2))
    labels = [f"{paper} ({prof})" for paper, prof, _ in bars]
    left = [0] * len(bars)
    for v, colour in colours.items():
        n = [sum(r["verdict"] == v for r in sub) for *_, sub in bars]
        ax.barh(labels, n, left=left, color=colour, label=v)
        left = [a + b for a, b in zip(left, n)]
    ax.invert_yaxis()
    ax.set_xlabel("claims")
    ax.legend(ncol=3, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def scorecard_page(rows: list[dict]) -> str:
    meta, out = registry.papers(), [
        "# Scorecard",
        "",
        "Every claim of the five papers with the verdict of its best execution: the paper "
        "profile where it exists, else the reduced profile (the paper's model on a CPU, fewer "
        "grid points), else the CPU smoke one (column *profile*; smoke verdicts check the "
        "machinery and show the phenomenon in small, they are not evidence about the papers' "
        "scale; see {ref}`methods-profiles`). *Evidence* is what entered the verdict (runs, "
        "seeds or pairs that were measured, not those requested). A *stale* result was computed "
        "by an older version of its notebook or of the library code it imports; re-run it. Each "
        "claim's page has the paper's value, ours, the null and the rule. Verdicts are never "
        "added across profiles.",
        "",
        "## The five verdicts",
        "",
        *verdict_legend(),
        "",
        "See {ref}`methods-verdicts` for how rules are "
        "built and what minimum evidence they need.",
        "",
        "## Verdicts per paper and profile",
        "",
        "```{image} verdict-counts.png",
        ":alt: verdict counts " "per paper and profile",
        ":width: 560px",
        "```",
        "",
        *count_table(rows),
        "",
    ]
    for paper in registry.PAPER_ORDER:
        sub = [r for r in rows if r["paper"] == paper]
        out += [
            f"## {meta[paper]['short']} — {meta[paper]['title']}",
            "",
            f"{counts(sub)}.",
            "",
            "| claim | paper value | verdict | evidence | profile | stale |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {claim_link(r, paper + '/')} | {esc(r['paper_value'])} | {verdict_cell(r)} | "
            f"{evidence(r)} | {esc(base_profile(r))} | {'**stale**' if r['stale'] else '–'} |"
            for r in sub
        ]
        pending = [r["id"] for r in sub if r["status"] == "pending"]
        out += [
            "",
            (
                f"Pending (no notebook yet): {', '.join(f'`{i}`' for i in pending)}."
                if pending
                else ""
            ),
            "",
        ]
    return "\n".join(out)


def verdict_cell(row: dict) -> str:
    """The verdict as a coloured badge (sphinx-design), for a table cell."""
    v = outcome(row)
    return f"{{bdg-{BADGE[v]}}}`{v}`" + (" (optional)" if row["optional"] else "")


def claim_link(row: dict, folder: str) -> str:
    """The claim ID linked to its page (pending claims: to their paper's index, or plain on that
    index)."""
    if row["status"] == "pending":
        return f"{{doc}}`{row['id']} <{folder}index>`" if folder else f"`{row['id']}`"
    return f"{{doc}}`{row['id']} <{folder}{row['id'].split('.', 1)[1]}>`"


def paper_index(paper: str) -> str:
    m, rows = registry.papers()[paper], scorecard.rows(paper)
    out = [
        f"# {m['title']}",
        "",
        f"{m['authors']} ({m['year']}). *{m['title']}*. "
        f"arXiv:[{m['arxiv']}](https://arxiv.org/abs/{m['arxiv']}).",
        "",
        f"**Our setup:** {SETUP[paper]}. See {{doc}}`../setup`.",
        "",
        f"Verdicts: {counts(rows)}.",
        "",
        "| claim | what it says | figure | verdict |",
        "|---|---|---|---|",
    ]
    claims = {c.id: c for c in registry.claims(paper)}
    out += [
        f"| {claim_link(r, '')} | {esc(r['title'])} | {esc(claims[r['id']].figure)} | "
        f"{verdict_line(r)} |"
        for r in rows
    ]
    pending = [c for c in claims.values() if c.notebook is None]
    if pending:
        out += ["", "## Pending claims", "", "No notebook implements these yet.", ""]
        for c in pending:
            out += [
                f"### `{c.id}`{' (optional)' if c.optional else ''}",
                "",
                f"**{esc(c.title)}.** {esc(c.statement)}",
                "",
                f"*Paper value:* {esc(c.paper_value)}"
                + (f" ({c.figure})" if c.figure else "")
                + ".",
                "",
            ]
    return "\n".join(out) + "\n"


def not_run_page(c: registry.Claim) -> str:
    note = (
        f"This claim is implemented in `{c.notebook}` but has not been executed yet. Run `grokbook "
        f"run {c.id}` (smoke profile, CPU), `--profile reduced` (the paper's model, fewer grid "
        "points) or `--profile paper` (the paper's scale), then `grokbook book`."
        if (project_root() / c.notebook).exists()
        else f"This claim's notebook, `{c.notebook}`, is registered but not in this checkout yet."
    )
    return (
        f"# {esc(c.title)} (`{c.id}`)\n\n{esc(c.statement)}\n\n*Paper value:* {esc(c.paper_value)}"
        f"{f' ({c.figure})' if c.figure else ''}.\n\n```{{note}}\n{note}\n```\n"
    )


def paper_model_route(c: registry.Claim) -> str:
    """How a reader gets this claim at the paper's model: the reduced profile where it has one,
    else only the paper profile, with the reason."""
    why = execute.no_reduced_reason(c.id, project_root() / c.notebook)
    if why is None:
        return (
            f"`grokbook run {c.id} --profile reduced` or `--profile paper` gives the paper's model"
        )
    return (
        f"`grokbook run {c.id} --profile paper` gives the paper's model; no reduced profile: {why}"
    )


def result_box(c: registry.Claim, entry: dict, stale: bool) -> str:
    """The result box at the top of a claim page, from its ledger entry."""
    prof = str(entry["profile"]).split("+")[0]
    wall = (
        f"{entry['wall_s'] / 60:.1f} min" if entry["wall_s"] >= 120 else f"{entry['wall_s']:.0f} s"
    )
    scale = ", ".join(
        f"{k} = {v}" for k, v in (entry.get("parameters") or {}).items() if k in SCALE
    )
    rows = [
        ("verdict", f"**{entry['verdict']}**"),
        ("paper", esc(c.paper_value)),
        ("ours", esc(entry["our_value"])),
        ("null / control", esc(entry["null_value"])),
        ("evidence", scorecard.evidence_text(entry) or "–"),
        ("rule", esc(entry["rule"])),
        (
            "profile",
            f"{prof} ({scale}; {esc(entry['device_name'] or entry['device'])}, "
            f"{entry['recorded'][:10]}, {wall})",
        ),
    ]
    note = {
        "smoke": "\n\n**Smoke profile:** a small CPU setting that checks the code end to end and "
        "shows the phenomenon in small; its verdict is not evidence about the paper's scale "
        f"({paper_model_route(c)}; see {{doc}}`../rerun`).",
        "reduced": "\n\n**Reduced profile:** the paper's model, task, optimiser, data fraction and "
        "grok rule; reduced only in breadth ({ref}`methods-profiles`):\n"
        + "".join(f"\n- {esc(r)}" for r in entry.get("reductions") or ["(none recorded)"]),
    }.get(prof, "")
    if stale:
        note += (
            "\n\n**Stale:** this result was computed by an older version of the notebook or the "
            f"library. Re-run `grokbook run {c.id}` to refresh it."
        )
    table = (
        "```{list-table}\n:header-rows: 0\n:widths: 1 5\n\n"
        + "\n".join(f"* - {k}\n  - {v}" for k, v in rows)
        + "\n```"
    )
    return (
        f"::::{{admonition}} Result: {entry['verdict']}\n:class: {BOX_CLASS[entry['verdict']]}\n"
        f"{table}{note}\n::::"
    )


HIDE = {"parameters": "hide-input", "injected-parameters": "hide-input"}  # collapsed on the page


def tidy_streams(nb) -> None:
    """Merge each cell's consecutive stream outputs and apply carriage returns as a terminal would,
    so a progress bar shows as its final line instead of one line per update."""
    for cell in nb.cells:
        outs = []
        for o in cell.get("outputs", []):
            if (
                o.output_type == "stream"
                and outs
                and outs[-1].output_type == "stream"
                and outs[-1].name == o.name
            ):
                outs[-1].text += o.text
            else:
                outs.append(o)
        for o in outs:
            if o.output_type == "stream":
                o.text = "\n".join(
                    ([s for s in ln.split("\r") if s] or [""])[-1] for ln in o.text.split("\n")
                )
        if cell.cell_type == "code":
            cell.outputs = outs


def claim_page(c: registry.Claim, folder: Path) -> None:
    """Write <folder>/<slug>.ipynb (executed notebook with the result box on top) or <slug>.md (not
    run)."""
    entry, nb_path = scorecard.best_entry(c)
    if entry is None:
        (folder / f"{c.slug}.md").write_text(not_run_page(c))
        return
    nb = nbformat.read(nb_path, as_version=4)
    title, _, rest = nb.cells[0].source.partition("\n")
    box = [
        nbformat.v4.new_markdown_cell(title),
        nbformat.v4.new_markdown_cell(result_box(c, entry, scorecard.is_stale(c, entry))),
    ]
    if rest.strip():
        box.append(nbformat.v4.new_markdown_cell(rest.strip()))
    for cell in box:
        if nb.nbformat_minor < 5:
            cell.pop("id", None)
    nb.cells[:1] = box
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        tags += [HIDE[t] for t in list(tags) if t in HIDE and HIDE[t] not in tags]
    tidy_streams(nb)
    nbformat.write(nb, folder / f"{c.slug}.ipynb")


SPEED_COMMAND = (
    "python benchmarks/training_speed.py --scale paper --runs 6 12 --steps 30 --repeats 5"
)


def _spread(stat: dict, fmt: str, unit: str = "") -> str:
    """median (min–max) of one benchmark statistic, and how many repeats gave no value."""
    bad = f"; {stat['invalid']} repeat(s) without a positive time" if stat.get("invalid") else ""
    return (
        f"{fmt.format(stat['median'])}{unit} "
        f"({fmt.format(stat['min'])}–{fmt.format(stat['max'])}{unit}{bad})"
    )


def speed_table(d: dict, name: str) -> list[str]:
    """One training-speed result (benchmarks/training_speed.py) as a heading, the device and
    versions it was measured on, and one row per (R, layout)."""
    env, peak = d["env"], d["matmul_peak_gflops"]
    has_ref = all("vs_reference" in r for r in d["rows"])
    out = [
        f"### {env['device']} · {env['scale']} model",
        "",
        f"{esc(env.get('device_name') or env['device'])}; {env['cores']} cores, {env['threads']} "
        f"torch threads, torch {env['torch']}, Python {env['python']}; model {env['model']}; "
        f"{env['steps']} marginal steps per measurement, {env['repeats']} interleaved repeats. "
        f"Measured matmul peak {peak['median']:.0f} GFLOP/s (float32 `torch.mm` of two "
        f"{peak['size']} × {peak['size']} matrices, all threads, median of {peak['repeats']}; "
        f"range {peak['min']:.0f}–{peak['max']:.0f}); {d['flops_per_run_step'] / 1e9:.3f} GFLOP "
        f"per run-step. File `benchmarks/results/{name}`.",
        "",
        "| R | layout | run-steps/s | "
        + ("vs papers' loop | " if has_ref else "")
        + "GFLOP/s | share of matmul peak | first compile s |",
        "|---|---|---|" + ("---|" if has_ref else "") + "---|---|---|",
    ]
    for r in d["rows"]:
        name_ = r["layout"] + (f" ({r['workers']} workers)" if r["layout"] == "processes" else "")
        share = r["gflops"]["median"] / peak["median"]
        out.append(
            f"| {r['R']} | {name_} | {_spread(r['run_steps_per_s'], '{:.1f}')} | "
            + (f"{_spread(r['vs_reference'], '{:.2f}', '×')} | " if has_ref else "")
            + f"{_spread(r['gflops'], '{:.1f}')} | {100 * share:.0f} % | "
            + ("–" if r["compile_s"] is None else f"{r['compile_s']:.0f}")
            + " |"
        )
    return out + [""]


def benchmark_tables() -> list[str]:
    """The training-speed tables of every result file benchmarks/results/training_speed-*.json
    (written by benchmarks/training_speed.py), or a line saying that it has not been run yet."""
    import json

    out = []
    for f in sorted((project_root() / "benchmarks" / "results").glob("training_speed-*.json")):
        out += speed_table(json.loads(f.read_text()), f.name)
    return out or [
        f"The training-speed benchmark has not been run yet (`{SPEED_COMMAND}` writes "
        "`benchmarks/results/training_speed-cpu-paper.json`).",
        "",
    ]


FIELDS_COMMAND = "python benchmarks/perturbation_fields.py --directions 32 --repeats 5"


def field_speed_table() -> list[str]:
    """The perturbation-field benchmark (benchmarks/perturbation_fields.py) as a table, or a line
    saying that it has not been run yet."""
    import json

    f = project_root() / "benchmarks" / "results" / "perturbation_fields-cpu-paper.json"
    if not f.exists():
        return [
            f"The perturbation-field benchmark has not been run yet (`{FIELDS_COMMAND}`).",
            "",
        ]
    d = json.loads(f.read_text())
    e = d["env"]
    sizes = ", ".join(f"{k} {n:,}" for k, n in e["inputs"].items())
    out = [
        f"{e['cpu_model']}, {e['threads']} threads, torch {e['torch']}; the paper's model (p = "
        f"{e['model']['p']}, d_model {e['model']['d_model']}, {e['model']['n_layers']} layers), "
        f"{e['directions']} random directions, inputs: {sizes}; {e['repeats']} repeats. File "
        f"`benchmarks/results/{f.name}`.",
        "",
        "| way | seconds per direction | speed-up over `whole` |",
        "|---|---|---|",
    ]
    for way, stat in d["seconds_per_direction"].items():
        up = d["speedup_over_whole"].get(way)
        out.append(
            f"| {way} | {_spread(stat, '{:.3f}', ' s')} | "
            + ("–" if up is None else _spread(up, "{:.2f}", "×"))
            + " |"
        )
    return out + [""]


def plan_table(profile: str = "paper") -> list[str]:
    """The stacks a profile trains, from `grokbook plan --profile <profile> --out
    benchmarks/results/plan-<profile>.json`, and its chunks where the plan has them."""
    import json

    f = project_root() / "benchmarks" / "results" / f"plan-{profile}.json"
    if not f.exists():
        return [
            f"No plan in `benchmarks/results/` yet (`grokbook plan --profile {profile} --out "
            f"{f.name}`).",
            "",
        ]
    d = json.loads(f.read_text())
    t = d["total"]
    out = [
        f"{t['runs']} runs in {t['stacks']} stacks, at most {t['run_steps']:,} run-steps (runs "
        f"that stop on grokking cost less), {t['snapshot_gb']} GB of parameter snapshots (an upper "
        f"bound too), for {len(d['claims'])} claims. The planning pass sees the first training "
        "call of each notebook only: runs that depend on earlier results (the gradient-deletion "
        "interventions, for example) are not counted. File `benchmarks/results/" + f.name + "`.",
        "",
        "| runs | p | d_model | layers | tasks | step budget | run-steps | probe every | snapshots "
        "GB | hook | first needed by |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in d["stacks"]:
        out.append(
            f"| {r['runs']} | {r['p']} | {r['d_model']} | {r['n_layers']} | {r['n_tasks']} | "
            f"{r['steps']:,} | {r['run_steps']:,} | {r['probe_every'] or '-'} | "
            f"{r['snapshot_gb']:.2f} | {r['hook'] or '-'} | "
            + ", ".join(f"`{i}`" for i in r["claims"])
            + " |"
        )
    return out + [""] + chunk_table(d)


def chunk_table(d: dict) -> list[str]:
    """The plan's chunks with their expected training hours (from measured runs), if recorded."""
    if not d.get("chunks"):
        return []
    out = [
        f"Expected from measured runs: {d['total']['expected_run_steps']:,} run-steps. One chunk "
        "is a shared grid and the claims that read it; its hours are the expected run-steps at "
        "the fastest measured CPU speed of the model shape, i.e. on a machine that trains and "
        "does nothing else (? where that speed was not measured). A chunk "
        "longer than one sitting of two hours trains over several: `grokbook reproduce "
        "--deadline 7200` stops at a checkpoint and the same command resumes; the notebooks run "
        "in the last sitting.",
        "",
        "| chunk | runs | expected training | notebooks (last executions) | sittings | claims |",
        "|---|---|---|---|---|---|",
    ]
    for ch in d["chunks"]:
        hours = "?" if ch["expected_h"] is None else f"{ch['expected_h']:.2f} h"
        notebooks = "?" if ch.get("analysis_h") is None else f"{ch['analysis_h']:.2f} h"
        out.append(
            f"| `{ch['chunk']}` | {ch['runs']} | {hours} | {notebooks} | "
            f"{ch.get('sittings') or '?'} | " + ", ".join(f"`{i}`" for i in ch["claims"]) + " |"
        )
    return out + [""]


def wall_table() -> list[str]:
    """Wall time of every executed claim notebook (the entry the book shows), from the ledger."""
    out = ["| claim | profile | device | wall time |", "|---|---|---|---|"]
    for c in registry.claims():
        entry, _ = scorecard.best_entry(c) if c.notebook else (None, None)
        if entry:
            out.append(
                f"| `{c.id}` | {entry['profile']} | {esc(entry['device_name'] or entry['device'])} "
                f"| {entry['wall_s']:.0f} s |"
            )
    return out


def performance_page() -> str:
    return "\n".join(
        [
            "# Performance",
            "",
            "Training dominates the cost of this book. The trainer stacks R runs (seeds, weight "
            "decays, learning rates, task sets of one shape) along a leading dimension of the "
            "parameters and takes one optimiser step for all of them; runs that stop leave the "
            "stack. Where the missing runs of a stack train is the *training layout*: `stacked` "
            "(one process with all threads, one stack) or `processes` (one worker process per "
            "core with one thread, the runs dealt out round-robin, each worker training its share "
            "as one stack with its own checkpoint). `grokbook run/reproduce --layout` (or "
            "`$GROKBOOK_LAYOUT`) chooses; the default, `auto`, measures both once per model shape "
            "on the computer that trains (about half a minute at the paper's model; a stack whose "
            "budgets add up to fewer than 100,000 run-steps trains stacked without measuring) and "
            "keeps its choice in `.cache/runs/layout.json`, so that the same computer always "
            "trains a config the same way.",
            "",
            "## Training speed",
            "",
            "The benchmark `benchmarks/training_speed.py` times, in one process run on one device, "
            "R runs trained stacked, in worker processes, stacked with the compiled step "
            "(`compile_step=True`: `torch.compile` of the loss and of the AdamW update; its first "
            "compilation at new shapes is listed separately), one after another with our trainer "
            "(sequential), and with the papers' own loop (one `nn.TransformerEncoder` and one "
            "`torch.optim.AdamW` per run, one run after another). Times are marginal (a run of 2 + "
            "n steps minus a run of 2 steps), so set-up and the evaluations at the first and last "
            "step cancel. Each repeat measures every layout once, in a rotated order, before the "
            "next; a cell gives the median over repeats and, in brackets, the smallest and "
            "largest. Speed-ups over the papers' loop are taken within each repeat. GFLOP/s count "
            "the model's matmuls analytically (`flops_per_run_step` in the benchmark) and are "
            "compared with the measured matmul peak of the same device. Ratios are only compared "
            "within one table (one run of the benchmark).",
            "",
            *benchmark_tables(),
            "## Analysis speed: perturbation fields",
            "",
            "After training, the longest computations of the book are the perturbation fields of "
            "the spectral claims: for every edge, random and update-span direction, one forward "
            "pass of the perturbed model per input pair, on the test pairs and on the full grid "
            "(see {ref}`methods-spectral-edge`). `benchmarks/perturbation_fields.py` times three "
            "ways to compute the same fields: `whole` (16 directions per pass over all inputs of "
            "a set, how they were computed first), `tiled` (4 directions × 1,024 inputs per pass, "
            "small enough for the processor's caches) and `union` (tiled, over the union of the "
            "two input sets, read back per set; the test pairs lie inside the grid), in rotated "
            "order per repeat, speed-ups taken within each repeat. `union` is what the notebooks "
            "use; the fields agree to float32 rounding (checked before timing).",
            "",
            *field_speed_table(),
            "## What the paper profile trains",
            "",
            "`grokbook plan --profile paper` executes every notebook up to its first training call "
            "and lists the runs `grokbook reproduce --profile paper` would train, grouped into "
            "stacks of one shape.",
            "",
            *plan_table(),
            "## What the reduced profile trains",
            "",
            "`grokbook plan --profile reduced`: the same listing for the paper's model on a CPU, "
            "reduced in breadth (see {ref}`methods-profiles`), with the expected cost per chunk.",
            "",
            *plan_table("reduced"),
            "## Wall time per claim",
            "",
            "Wall time of the executed notebook each page shows (training included when the run "
            "cache was cold; notebooks that reuse a shared grid read it from the cache).",
            "",
            *wall_table(),
            "",
        ]
    )


def stage(dest: Path) -> Path:
    """Write the whole book source into dest (emptied first); returns dest."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(
        project_root() / "book",
        dest,
        ignore=shutil.ignore_patterns("results", "_build", "*.ledger.json"),
    )
    rows = scorecard.rows()
    (dest / "scorecard.md").write_text(scorecard_page(rows))
    count_figure(rows, dest / "verdict-counts.png")
    (dest / "performance.md").write_text(performance_page())
    toc = {
        "format": "jb-book",
        "root": "intro",
        "parts": [
            {
                "caption": "Getting started",
                "chapters": [
                    {"file": f} for f in ("setup", "rerun", "scorecard", "methods", "performance")
                ],
            }
        ],
    }
    for paper in registry.PAPER_ORDER:
        (dest / paper).mkdir()
        (dest / paper / "index.md").write_text(paper_index(paper))
        implemented = [c for c in registry.claims(paper) if c.notebook]
        for c in implemented:
            claim_page(c, dest / paper)
        chapter = {"file": f"{paper}/index"} | (
            {"sections": [{"file": f"{paper}/{c.slug}"} for c in implemented]}
            if implemented
            else {}
        )
        toc["parts"].append({"caption": registry.papers()[paper]["short"], "chapters": [chapter]})
    (dest / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False, allow_unicode=True))
    return dest


def build() -> Path:
    """Stage the book and build it with `jupyter-book build -W -n --keep-going`; returns
    build/html/index.html. Raises UsageError listing the warnings if Sphinx reports any."""
    src = stage(build_root() / "book-src")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb if jb.exists() else "jupyter-book"), "build", str(src), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
    )
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)  # drop terminal colours
    if proc.returncode != 0 or "WARNING" in log:
        problems = [
            ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln
        ] or log.splitlines()[-30:]
        raise UsageError("the book build failed (warnings are errors):\n" + "\n".join(problems))
    html = build_root() / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.copytree(src / "_build" / "html", html)
    return html / "index.html"
