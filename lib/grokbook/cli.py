"""grokbook: run claim notebooks, reproduce whole papers, build the book, print the scorecard.

  grokbook run <claim-id> [--profile smoke|reduced|paper] [-p NAME VALUE]... [--output PATH]
                          [--compile] [--layout auto|stacked|processes]
  grokbook reproduce [--profile smoke|reduced|paper] [--paper NAME] [--force] [--plan | --no-plan]
                     [--jobs N] [--deadline SECONDS] [--compile] [--layout auto|stacked|processes]
  grokbook plan [--profile paper|reduced|smoke] [--paper NAME] [--out FILE]
  grokbook pack OUT.tar.gz [--cache]
  grokbook unpack IN.tar.gz
  grokbook book
  grokbook publish [--remote R]
  grokbook claims [--json]

Exit status: 0 done, 2 a usage or parameter error, 3 stopped at the deadline (run again to
continue). This module only parses arguments; the work is done in grokbook.book.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grokbook.book import execute, registry
from grokbook.errors import ConfigError, UsageError
from grokbook.training.layout import SETTINGS, layout_setting


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="grokbook", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="execute one claim notebook")
    r.add_argument("claim")
    r.add_argument(
        "--profile",
        default="smoke",
        help="smoke (CPU, minutes), reduced (the paper's model on CPU, fewer grid points; "
        "hours) or paper (the papers' full grids)",
    )
    r.add_argument(
        "-p",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="override a notebook parameter (YAML literal), repeatable",
    )
    r.add_argument("--output", type=Path, help="executed notebook path (ledger written beside it)")
    compile_help = (
        "train with compile_step=True (torch.compile'd step; other rounding, so other cached runs)"
    )
    r.add_argument("--compile", action="store_true", help=compile_help)
    layout_help = (
        "how missing runs train: one stacked process, one worker process per core, or auto "
        "(measured once per model shape; default, or $GROKBOOK_LAYOUT)"
    )
    r.add_argument("--layout", choices=SETTINGS, help=layout_help)
    rp = sub.add_parser("reproduce", help="execute every implemented claim")
    rp.add_argument("--profile", default="smoke")
    rp.add_argument("--paper", help=f"only this paper: {', '.join(registry.PAPER_ORDER)}")
    rp.add_argument(
        "--force", action="store_true", help="re-run claims whose ledger entry is current too"
    )
    rp.add_argument(
        "--plan",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="first collect the runs every notebook needs and train them in shared stacks "
        "(default: on for the reduced and paper profiles)",
    )
    rp.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="claims executed at the same time (separate processes; runs they share train once)",
    )
    rp.add_argument("--compile", action="store_true", help=compile_help)
    rp.add_argument("--layout", choices=SETTINGS, help=layout_help)
    rp.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="start no claim after this many seconds (nor one whose last execution took longer "
        "than the time left); a training stack still running then checkpoints and stops",
    )
    pl = sub.add_parser(
        "plan", help="list the runs `reproduce` would train, grouped into stacks (trains nothing)"
    )
    pl.add_argument("--profile", default="paper")
    pl.add_argument("--paper", help=f"only this paper: {', '.join(registry.PAPER_ORDER)}")
    pl.add_argument(
        "--force", action="store_true", help="plan claims whose ledger entry is current too"
    )
    pl.add_argument(
        "--out",
        type=Path,
        help="also write the plan as JSON (the Performance page reads "
        "benchmarks/results/plan-<profile>.json)",
    )
    sub.add_parser("book", help="build the HTML book into build/html")
    pb = sub.add_parser(
        "publish", help="push build/html as the gh-pages branch of a remote (static pages)"
    )
    pb.add_argument(
        "--remote", default="origin", help="a remote of this repository, a URL or a path"
    )
    pk = sub.add_parser(
        "pack",
        help="archive executed notebooks, ledgers and benchmark results "
        "(and with --cache the run cache) to move them to another machine",
    )
    pk.add_argument("out", type=Path, metavar="OUT.tar.gz")
    pk.add_argument("--cache", action="store_true", help="include the run cache (.cache/runs)")
    up = sub.add_parser(
        "unpack", help="check an archive written by `grokbook pack` and put its files in place"
    )
    up.add_argument("archive", type=Path, metavar="IN.tar.gz")
    c = sub.add_parser("claims", help="print the scorecard")
    c.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "run":
            with layout_setting(args.layout):  # None: as the caller's environment says
                execute.run_claim(
                    args.claim,
                    args.profile,
                    [tuple(x) for x in args.p],
                    args.output,
                    compile_step=True if args.compile else None,
                )  # None: as the caller's runner set
        elif args.cmd == "reproduce":
            if args.jobs < 1:
                raise UsageError(f"--jobs {args.jobs} is out of range; it must be an integer >= 1")
            with layout_setting(args.layout):
                execute.reproduce(
                    args.profile,
                    args.paper,
                    args.force,
                    args.plan if args.plan is not None else args.profile != "smoke",
                    args.jobs,
                    deadline_s=args.deadline,
                    compile_step=args.compile,
                )
        elif args.cmd == "plan":
            execute.plan(args.profile, args.paper, args.force, args.out)
        elif args.cmd == "book":
            from grokbook.book.pages import build

            print(build())
        elif args.cmd == "publish":
            from grokbook.book.publish import publish

            print(f"{args.remote} gh-pages: {publish(args.remote)}")
        elif args.cmd == "claims":
            execute.print_claims(args.json)
        elif args.cmd == "pack":
            from grokbook.book import transfer

            print(f"{args.out}: {transfer.pack(args.out, args.cache)} file(s)")
        elif args.cmd == "unpack":
            from grokbook.book import transfer

            counts = transfer.unpack(args.archive)
            print(
                f"{args.archive}: {counts['written']} file(s) written, {counts['kept']} kept "
                "(complete run-cache entries already here)"
            )
    except execute.Stopped as e:  # a clean stop at the deadline: resumable, not an error
        print(e, file=sys.stderr)
        return 3
    except (UsageError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
