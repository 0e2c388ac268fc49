"""``ipo-node verify``: check an endorsement bundle offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli import CommandError, Subcommands
from node.endorsements import bundle as endorsement_bundle

ERRORS: tuple[type[Exception], ...] = (endorsement_bundle.BundleError,)
"""What these commands raise that a person can fix: printed, exit status 2."""


def register(commands: Subcommands) -> None:
    """Add this module's commands to ``ipo-node``."""
    verify = commands.add_parser("verify", help="check an endorsement bundle offline")
    verify.add_argument("bundle", type=Path, help="GET /api/v1/endorsements/ID/bundle")
    verify.set_defaults(handler=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> None:
    """Print which signatures hold; exit 2 unless all hold and the rule is met."""
    report = endorsement_bundle.check_file(args.bundle)
    print(report.render())
    if not report.ok:
        raise CommandError("the bundle does not verify")
