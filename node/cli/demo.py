"""``ipo-node demo``: the six-node coalition on this machine."""

from __future__ import annotations

import argparse

from node.cli import CommandError, Subcommands, data_dir_argument
from node.demo import DemoError, run_demo

ERRORS: tuple[type[Exception], ...] = ()
"""What these commands raise that a person can fix: printed, exit status 2."""


def register(commands: Subcommands) -> None:
    """Add this module's commands to ``ipo-node``."""
    demo = commands.add_parser("demo", help="run the six-node northwest-side coalition locally")
    data_dir_argument(demo, default=".demo")
    demo.add_argument(
        "--port", type=int, default=8000, help="the first of six ports (default 8000..8005)"
    )
    demo.add_argument(
        "--once", action="store_true", help="run the story, print a summary, stop, and exit"
    )
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> None:
    try:
        ok = run_demo(data_dir=args.data_dir.resolve(), port=args.port, once=args.once)
    except DemoError as exc:
        raise CommandError(str(exc)) from None
    if not ok:
        raise CommandError("not every flow converged; see the summary above")
