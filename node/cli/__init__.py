"""The ``ipo-node`` command.

    ipo-node init     --data-dir DIR --name NAME --url URL --admin-email EMAIL [...]
    ipo-node serve    --data-dir DIR [--host H] [--port P]
    ipo-node migrate  --data-dir DIR
    ipo-node token    --data-dir DIR --email EMAIL
    ipo-node worker   --data-dir DIR
    ipo-node ally     --data-dir DIR URL [--scope S ...] [--message TEXT]
    ipo-node allies   --data-dir DIR [accept|reject|suspend|resume|end PEER]
    ipo-node deliveries --data-dir DIR [--retry [PEER]]
    ipo-node rotate-key --data-dir DIR [--grace-days N]
    ipo-node demo     [--data-dir DIR] [--port BASE] [--once]
    ipo-node verify   BUNDLE.json
    ipo-node backup   --data-dir DIR OUT
    ipo-node restore  --data-dir NEW_DIR [--database-url URL] BACKUP
    ipo-node partners --data-dir DIR add|list|revoke ...

Every command that reads a node's configuration takes ``--data-dir`` (or ``IPO_DATA_DIR``).
Errors a person can fix are printed as one plain sentence and exit with status 2.

Each command group lives in its own module (``node/cli/<group>.py``), which registers its
subcommands and is imported only when one of them runs: ``ipo-node allies`` does not load
the web app, the backup code or the demo. ``--help`` loads them all.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from node.config import ConfigError

Subcommands = Any  # argparse's sub-parser action (its class is private)

GROUPS: dict[str, tuple[str, ...]] = {
    "lifecycle": ("init", "migrate"),
    "tokens": ("token",),
    "serving": ("serve", "worker"),
    "alliances": ("ally", "allies", "deliveries", "rotate-key"),
    "backups": ("backup", "restore"),
    "verify": ("verify",),
    "partners": ("partners",),
    "demo": ("demo",),
}
"""Which module holds each command, in the order ``--help`` lists them."""


class CommandError(Exception):
    """A problem the person running the command can fix; printed without a traceback."""


def data_dir_argument(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    parser.add_argument(
        "--data-dir",
        default=default or os.environ.get("IPO_DATA_DIR"),
        required=default is None and not os.environ.get("IPO_DATA_DIR"),
        type=Path,
        help="the node's data directory (config, keys, SQLite database); or set IPO_DATA_DIR",
    )


def _group_of(command: str | None) -> str | None:
    return next((group for group, names in GROUPS.items() if command in names), None)


def _modules(groups: Sequence[str]) -> list[ModuleType]:
    return [importlib.import_module(f"node.cli.{group}") for group in groups]


def build_parser(*, groups: Sequence[str] = tuple(GROUPS)) -> argparse.ArgumentParser:
    """The ``ipo-node`` parser with the commands of ``groups`` (all of them by default)."""
    parser = argparse.ArgumentParser(prog="ipo-node", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _modules(groups):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The first word that is not an option names the command: load only its module.
    group = _group_of(next((word for word in argv if not word.startswith("-")), None))
    groups = (group,) if group else tuple(GROUPS)
    args = build_parser(groups=groups).parse_args(argv)
    fixable: tuple[type[Exception], ...] = (CommandError, ConfigError)
    for module in _modules(groups):
        fixable += module.ERRORS
    try:
        args.handler(args)
    except fixable as exc:
        print(f"ipo-node {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
