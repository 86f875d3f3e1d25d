"""grokbook: run claim notebooks, reproduce whole papers, build the book, print the scorecard.

  grokbook run <claim-id> [--profile smoke|paper] [-p NAME VALUE]... [--output PATH] [--compile]
  grokbook reproduce [--profile smoke|paper] [--paper NAME] [--force] [--plan | --no-plan] [--jobs N]
  grokbook plan [--profile paper] [--paper NAME] [--out FILE]
  grokbook book
  grokbook claims [--json]

This module only parses arguments; the work is done in grokbook.book.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grokbook.book import execute, registry
from grokbook.errors import ConfigError, UsageError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="grokbook", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="execute one claim notebook")
    r.add_argument("claim")
    r.add_argument("--profile", default="smoke", help="smoke (CPU, minutes) or paper (the papers' scale)")
    r.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override a notebook parameter (YAML literal), repeatable")
    r.add_argument("--output", type=Path, help="executed notebook path (ledger written beside it)")
    compile_help = "train with compile_step=True (torch.compile'd step; other rounding, so other cached runs)"
    r.add_argument("--compile", action="store_true", help=compile_help)
    rp = sub.add_parser("reproduce", help="execute every implemented claim")
    rp.add_argument("--profile", default="smoke")
    rp.add_argument("--paper", help=f"only this paper: {', '.join(registry.PAPER_ORDER)}")
    rp.add_argument("--force", action="store_true", help="re-run claims whose ledger entry is current too")
    rp.add_argument("--plan", action=argparse.BooleanOptionalAction, default=None,
                    help="first collect the runs every notebook needs and train them in shared stacks "
                         "(default: on for the paper profile)")
    rp.add_argument("--jobs", type=int, default=1,
                    help="claims executed at the same time (separate processes; runs they share train once)")
    rp.add_argument("--compile", action="store_true", help=compile_help)
    pl = sub.add_parser("plan", help="list the runs `reproduce` would train, grouped into stacks (trains nothing)")
    pl.add_argument("--profile", default="paper")
    pl.add_argument("--paper", help=f"only this paper: {', '.join(registry.PAPER_ORDER)}")
    pl.add_argument("--force", action="store_true", help="plan claims whose ledger entry is current too")
    pl.add_argument("--out", type=Path, help="also write the plan as JSON (the Performance page reads "
                                               "benchmarks/results/plan-<profile>.json)")
    sub.add_parser("book", help="build the HTML book into build/html")
    c = sub.add_parser("claims", help="print the scorecard")
    c.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if getattr(args, "compile", False):
        os.environ["GROKBOOK_COMPILE"] = "1"       # inherited by the notebook kernels (config.compile_default)
    try:
        if args.cmd == "run":
            execute.run_claim(args.claim, args.profile, [tuple(x) for x in args.p], args.output)
        elif args.cmd == "reproduce":
            if args.jobs < 1:
                raise UsageError(f"--jobs {args.jobs} is out of range; it must be an integer >= 1")
            execute.reproduce(args.profile, args.paper, args.force,
                      args.plan if args.plan is not None else args.profile == "paper", args.jobs)
        elif args.cmd == "plan":
            execute.plan(args.profile, args.paper, args.force, args.out)
        elif args.cmd == "book":
            from grokbook.book.pages import build
            print(build())
        elif args.cmd == "claims":
            execute.print_claims(args.json)
    except (UsageError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
