"""``ipo-node partners``, implemented in ``node.partners.cli``."""

from __future__ import annotations

from node.cli import Subcommands, data_dir_argument
from node.errors import NodeError
from node.partners import cli as partners_cli

ERRORS: tuple[type[Exception], ...] = (NodeError,)
"""What these commands raise that a person can fix: printed, exit status 2."""


def register(commands: Subcommands) -> None:
    """Add this module's commands to ``ipo-node``."""
    partners = commands.add_parser("partners", help="add, list or revoke partner API clients")
    data_dir_argument(partners)
    partners_cli.add_arguments(partners)
    partners.set_defaults(handler=partners_cli.cmd_partners)
