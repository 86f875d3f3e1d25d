"""Assemble the Jupyter Book in build/book-src/ and build it into build/html/ (Sphinx warnings are errors).

Static pages come from book/ (intro, setup, rerun, _config.yml, assets). Generated here: one index page per
paper (citation, claims, verdicts), one page per implemented claim (its executed notebook, paper profile
preferred, else the smoke copy under a warning banner), the scorecard and _toc.yml. Cross-page numbers are
written from the ledger JSON, never glued (STACK.md traps).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

from grokbook.book import ledger
from grokbook.book import registry
from grokbook.book import scorecard
from grokbook.errors import UsageError
from grokbook.paths import build_root, project_root

SETUP = {   # which of our setups each paper's pages use (details: setup.md)
    "power": "the shared 2-token **encoder variant** (pre-LN, one readout at position 0), not the decoder of "
             "Power et al.; their operations table, 3 seeds, training fraction and step budgets",
    "curvature": "the shared-trunk encoder exactly as the paper's code builds it (p = 97, 2 layers, d_model 128, "
                 "one head per operation, 290,401 parameters)",
    "multitask": "the shared trunk with two heads (add, mul) or three (add, mul, a² + b²) on one split of the "
                 "nonzero pairs; 315,427 parameters tri-task",
    "holographic": "the tri-task shared trunk of the multi-task paper (315,427 parameters) and two larger "
                   "trunks of our own resolution",
    "spectral": "the single-task encoder of the curvature paper (290,401 parameters) and its tri-task trunk",
}
SCALE = ("p", "ops", "seeds", "d_model", "n_layers", "lr", "weight_decay", "steps", "device")   # shown in the banner
OUTCOMES = ledger.VERDICTS + ("not run", "pending")


def esc(text) -> str:
    """Registry or ledger text made literal in Markdown (also inside a table cell)."""
    return "–" if text in (None, "") else str(text).replace("|", "\\|").replace("*", "\\*").replace("$", "\\$")


def outcome(row: dict) -> str:
    """One-line verdict of a scorecard row: a verdict, 'not run' or 'pending'."""
    return row["verdict"] or row["status"]


def verdict_line(row: dict) -> str:
    v = outcome(row) + (f" ({row['profile']} profile)" if row["verdict"] else "")
    return v + (" · optional" if row["optional"] else "")


def counts(rows: list[dict]) -> str:
    n = {o: sum(outcome(r) == o for r in rows) for o in OUTCOMES}
    return " · ".join(f"{o}: **{k}**" for o, k in n.items() if k)


def count_table(rows: list[dict]) -> list[str]:
    """Markdown table: claims per outcome for each paper and in all, with how many ran at paper scale."""
    meta, lines = registry.papers(), ["| paper | " + " | ".join(OUTCOMES) + " | at paper scale |",
                                      "|---" * (len(OUTCOMES) + 2) + "|"]
    for key, sub in [(k, [r for r in rows if r["paper"] == k]) for k in registry.PAPER_ORDER] + [("all", rows)]:
        n = [sum(outcome(r) == o for r in sub) for o in OUTCOMES] + [sum(r["profile"] == "paper" for r in sub)]
        lines.append(f"| {meta[key]['short'] if key != 'all' else '**all**'} | " + " | ".join(map(str, n)) + " |")
    return lines


def scorecard_page(rows: list[dict]) -> str:
    meta, out = registry.papers(), ["# Scorecard", "",
           "Every claim of the five papers with the verdict of its execution: the paper-profile one where it "
           "exists, else the CPU smoke one, whose verdicts are not evidence about the papers' scale (column "
           "*profile*). *Null* is the control or null value measured beside our headline number. Pending claims "
           "have no notebook yet.", "", *count_table(rows), ""]
    for paper in registry.PAPER_ORDER:
        sub = [r for r in rows if r["paper"] == paper]
        out += [f"## {meta[paper]['short']} — {meta[paper]['title']}", "", f"{counts(sub)}.", "",
                "| claim | paper value | our value | null | verdict | profile |", "|---|---|---|---|---|---|"]
        out += [f"| {claim_link(r, paper + '/')} | {esc(r['paper_value'])} | {esc(r['our_value'])} | "
                f"{esc(r['null_value'])} | **{outcome(r)}**{' (optional)' if r['optional'] else ''} | "
                f"{esc(r['profile'])} |" for r in sub]
        pending = [r["id"] for r in sub if r["status"] == "pending"]
        out += ["", f"Pending (no notebook yet): {', '.join(f'`{i}`' for i in pending)}." if pending else "", ""]
    return "\n".join(out)


def claim_link(row: dict, folder: str) -> str:
    """The claim ID linked to its page (pending claims: to their paper's index, or plain on that index)."""
    if row["status"] == "pending":
        return f"{{doc}}`{row['id']} <{folder}index>`" if folder else f"`{row['id']}`"
    return f"{{doc}}`{row['id']} <{folder}{row['id'].split('.', 1)[1]}>`"


def paper_index(paper: str) -> str:
    m, rows = registry.papers()[paper], scorecard.rows(paper)
    out = [f"# {m['title']}", "", f"{m['authors']} ({m['year']}). *{m['title']}*. "
           f"arXiv:[{m['arxiv']}](https://arxiv.org/abs/{m['arxiv']}).", "",
           f"**Our setup:** {SETUP[paper]}. See {{doc}}`../setup`.", "", f"Verdicts: {counts(rows)}.", "",
           "| claim | what it says | figure | verdict |", "|---|---|---|---|"]
    claims = {c.id: c for c in registry.claims(paper)}
    out += [f"| {claim_link(r, '')} | {esc(r['title'])} | {esc(claims[r['id']].figure)} | {verdict_line(r)} |"
            for r in rows]
    pending = [c for c in claims.values() if c.notebook is None]
    if pending:
        out += ["", "## Pending claims", "", "No notebook implements these yet.", ""]
        for c in pending:
            out += [f"### `{c.id}`{' (optional)' if c.optional else ''}", "", f"**{esc(c.title)}.** {esc(c.statement)}",
                    "", f"*Paper value:* {esc(c.paper_value)}" + (f" ({c.figure})" if c.figure else "") + ".", ""]
    return "\n".join(out) + "\n"


def not_run_page(c: registry.Claim) -> str:
    note = (f"This claim is implemented in `{c.notebook}` but has not been executed yet. Run `grokbook run {c.id}` "
            f"(smoke profile, CPU) or `grokbook run {c.id} --profile paper` (the paper's scale), then `grokbook book`."
            if (project_root() / c.notebook).exists() else
            f"This claim's notebook, `{c.notebook}`, is registered but not in this checkout yet.")
    return (f"# {esc(c.title)} (`{c.id}`)\n\n{esc(c.statement)}\n\n*Paper value:* {esc(c.paper_value)}"
            f"{f' ({c.figure})' if c.figure else ''}.\n\n```{{note}}\n{note}\n```\n")


def executed_note(c: registry.Claim, entry: dict, paper_scale: bool) -> str:
    wall = f"{entry['wall_s'] / 60:.1f} min" if entry["wall_s"] >= 120 else f"{entry['wall_s']:.0f} s"
    if paper_scale:
        return (f"```{{note}}\nExecuted at paper scale on {entry['device_name']} ({entry['device']}), "
                f"{entry['recorded'][:10]}, wall time {wall}; seeds {entry['seeds']}.\n```")
    params = ", ".join(f"{k} = {v}" for k, v in entry["parameters"].items() if k in SCALE)
    return (f":::{{warning}}\n**CPU smoke profile, not the paper's scale.** This page shows the smoke execution "
            f"of this notebook ({params}; {entry['device_name']}, {entry['recorded'][:10]}, wall time {wall}). "
            "It checks that the code runs end to end and shows the phenomenon in small; **its numbers and its "
            "verdict are not evidence for or against the paper's claim at the paper's scale.** To produce the "
            f"paper-scale page, run `grokbook run {c.id} --profile paper` (a GPU is advisable), then "
            "`grokbook book`; see {doc}`../rerun`.\n:::")


def tidy_streams(nb) -> None:
    """Merge each cell's consecutive stream outputs and apply carriage returns as a terminal would, so a
    progress bar shows as its final line instead of one line per update."""
    for cell in nb.cells:
        outs = []
        for o in cell.get("outputs", []):
            if o.output_type == "stream" and outs and outs[-1].output_type == "stream" and outs[-1].name == o.name:
                outs[-1].text += o.text
            else:
                outs.append(o)
        for o in outs:
            if o.output_type == "stream":
                o.text = "\n".join(([s for s in ln.split("\r") if s] or [""])[-1] for ln in o.text.split("\n"))
        if cell.cell_type == "code":
            cell.outputs = outs


def claim_page(c: registry.Claim, folder: Path) -> None:
    """Write <folder>/<slug>.ipynb (executed notebook plus a note or banner) or <slug>.md (not run yet)."""
    entry, nb_path = scorecard.best_entry(c)
    if entry is None:
        (folder / f"{c.slug}.md").write_text(not_run_page(c))
        return
    nb = nbformat.read(nb_path, as_version=4)
    cell = nbformat.v4.new_markdown_cell(executed_note(c, entry, nb_path == scorecard.executed_path(c, "paper")))
    if nb.nbformat_minor < 5:
        cell.pop("id", None)
    first = next((i for i, x in enumerate(nb.cells) if x.cell_type == "markdown"), -1)
    nb.cells.insert(first + 1, cell)
    tidy_streams(nb)
    nbformat.write(nb, folder / f"{c.slug}.ipynb")


def benchmark_tables() -> list[str]:
    """One Markdown table per benchmark result file in benchmarks/results/ (written by
    benchmarks/stacked_training.py), with the device and versions it was measured on."""
    import json
    out = []
    for f in sorted((project_root() / "benchmarks" / "results").glob("stacked_training-*.json")):
        d = json.loads(f.read_text())
        env, rows = d["env"], d["rows"]
        cols = [("stacked run-steps/s", "stacked_run_steps_per_s", "{:.1f}"),
                ("sequential run-steps/s", "sequential_run_steps_per_s", "{:.1f}"),
                ("stacked vs sequential", "speedup_vs_sequential", "{:.2f}×"),
                ("papers' loop run-steps/s", "reference_run_steps_per_s", "{:.1f}"),
                ("stacked vs papers' loop", "speedup_vs_reference", "{:.2f}×"),
                ("compiled run-steps/s", "compiled_run_steps_per_s", "{:.1f}"),
                ("compiled vs stacked", "compiled_speedup_vs_stacked", "{:.2f}×"),
                ("compiled vs papers' loop", "compiled_speedup_vs_reference", "{:.2f}×"),
                ("first compile s", "compile_s", "{:.0f}")]
        cols = [c for c in cols if all(c[1] in r for r in rows)]
        out += [f"### {env['device']} · {env['scale']} model", "",
                f"{env.get('device_name') or env['device']}; torch {env['torch']}, {env['threads']} CPU threads, "
                f"model {env['model']}; {rows[0]['steps']} steps per run; file `benchmarks/results/{f.name}`.", "",
                "| R | " + " | ".join(c[0] for c in cols) + " |", "|---|" + "---|" * len(cols)]
        for r in rows:
            out.append(f"| {r['R']} | " + " | ".join(fmt.format(r[key]) for _, key, fmt in cols) + " |")
        out.append("")
    return out or ["No benchmark results in `benchmarks/results/` yet.", ""]


def plan_table(profile: str = "paper") -> list[str]:
    """The stacks the paper profile trains, from `grokbook plan --out benchmarks/results/plan-paper.json`."""
    import json
    f = project_root() / "benchmarks" / "results" / f"plan-{profile}.json"
    if not f.exists():
        return [f"No plan in `benchmarks/results/` yet (`grokbook plan --profile {profile} --out {f.name}`).", ""]
    d = json.loads(f.read_text())
    t = d["total"]
    out = [f"{t['runs']} runs in {t['stacks']} stacks, at most {t['run_steps']:,} run-steps (runs that stop on "
           f"grokking cost less), {t['snapshot_gb']} GB of parameter snapshots (an upper bound too), for "
           f"{len(d['claims'])} claims. The planning pass sees the first training call of each notebook only: runs "
           "that depend on earlier results (the gradient-deletion interventions, for example) are not counted. "
           "File `benchmarks/results/" + f.name + "`.", "",
           "| runs | p | d_model | layers | tasks | step budget | run-steps | probe every | snapshots GB | hook | "
           "first needed by |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in d["stacks"]:
        out.append(f"| {r['runs']} | {r['p']} | {r['d_model']} | {r['n_layers']} | {r['n_tasks']} | {r['steps']:,} | "
                   f"{r['run_steps']:,} | {r['probe_every'] or '-'} | {r['snapshot_gb']:.2f} | {r['hook'] or '-'} | "
                   + ", ".join(f"`{i}`" for i in r["claims"]) + " |")
    return out + [""]


def wall_table() -> list[str]:
    """Wall time of every executed claim notebook (the entry the book shows), from the ledger."""
    out = ["| claim | profile | device | wall time |", "|---|---|---|---|"]
    for c in registry.claims():
        entry, _ = scorecard.best_entry(c) if c.notebook else (None, None)
        if entry:
            out.append(f"| `{c.id}` | {entry['profile']} | {esc(entry['device_name'] or entry['device'])} | "
                       f"{entry['wall_s']:.0f} s |")
    return out


def performance_page() -> str:
    return "\n".join([
        "# Performance", "",
        "Training dominates the cost of this book. The trainer stacks R runs (seeds, weight decays, learning "
        "rates, task sets of one shape) along a leading dimension of the parameters and takes one optimiser step "
        "for all of them; runs that stop leave the stack. The benchmark `benchmarks/stacked_training.py` times R "
        "runs trained stacked, the same R runs one after another with our trainer, and (where listed) the papers' "
        "own loop structure (one `nn.TransformerEncoder` and one `torch.optim.AdamW` per run), all in one process "
        "on one device. Ratios are only compared within one table (one run of the benchmark).", "",
        "## Stacked vs one-at-a-time training", "",
        "Times are marginal (a run of 2 + n steps minus a run of 2 steps), so set-up and the evaluations at the "
        "first and last step cancel. *compiled* is the stacked trainer with `compile_step=True` (`torch.compile` "
        "of the loss and of the AdamW update; `grokbook run/reproduce --compile`); its first compilation at new "
        "shapes is listed separately (Inductor's on-disk cache makes a second process faster). CPU timings on a "
        "shared 2-core machine are noisy (repeated runs of the benchmark can differ by a factor of two): read the "
        "CPU tables for direction only.", "",
        *benchmark_tables(),
        "## What the paper profile trains", "",
        "`grokbook plan --profile paper` executes every notebook up to its first training call and lists the runs "
        "`grokbook reproduce --profile paper` would train, grouped into stacks of one shape.", "", *plan_table(),
        "## Wall time per claim", "",
        "Wall time of the executed notebook each page shows (training included when the run cache was cold; "
        "notebooks that reuse a shared grid read it from the cache).", "", *wall_table(), ""])


def stage(dest: Path) -> Path:
    """Write the whole book source into dest (emptied first); returns dest."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(project_root() / "book", dest,
                    ignore=shutil.ignore_patterns(*registry.PAPER_ORDER, "_build", "*.ledger.json"))
    (dest / "scorecard.md").write_text(scorecard_page(scorecard.rows()))
    (dest / "performance.md").write_text(performance_page())
    toc = {"format": "jb-book", "root": "intro", "parts": [
        {"caption": "Getting started", "chapters": [{"file": f} for f in ("setup", "rerun", "scorecard",
                                                                          "performance")]}]}
    for paper in registry.PAPER_ORDER:
        (dest / paper).mkdir()
        (dest / paper / "index.md").write_text(paper_index(paper))
        implemented = [c for c in registry.claims(paper) if c.notebook]
        for c in implemented:
            claim_page(c, dest / paper)
        chapter = {"file": f"{paper}/index"} | (
            {"sections": [{"file": f"{paper}/{c.slug}"} for c in implemented]} if implemented else {})
        toc["parts"].append({"caption": registry.papers()[paper]["short"], "chapters": [chapter]})
    (dest / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False, allow_unicode=True))
    return dest


def build() -> Path:
    """Stage the book and build it with `jupyter-book build -W -n --keep-going`; returns build/html/index.html.
    Raises UsageError listing the warnings if Sphinx reports any."""
    src = stage(build_root() / "book-src")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb if jb.exists() else "jupyter-book"), "build", str(src), "-W", "-n",
                           "--keep-going"], capture_output=True, text=True)
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)   # drop terminal colours
    if proc.returncode != 0 or "WARNING" in log:
        problems = [ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln] or log.splitlines()[-30:]
        raise UsageError("the book build failed (warnings are errors):\n" + "\n".join(problems))
    html = build_root() / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.copytree(src / "_build" / "html", html)
    return html / "index.html"
