"""``ipo-node backup`` and ``restore``."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.backup import BackupError, backup, restore
from node.cli import Subcommands, data_dir_argument
from node.db import DatabaseTooNew, DatabaseUnreachable

ERRORS: tuple[type[Exception], ...] = (BackupError, DatabaseTooNew, DatabaseUnreachable)
"""What these commands raise that a person can fix: printed, exit status 2."""


def register(commands: Subcommands) -> None:
    """Add this module's commands to ``ipo-node``."""
    backup_ = commands.add_parser("backup", help="write a backup: database, config and keys")
    data_dir_argument(backup_)
    backup_.add_argument("out", type=Path, help="the archive to write, or a directory for it")
    backup_.set_defaults(handler=cmd_backup)

    restore_ = commands.add_parser("restore", help="recreate a node from a backup")
    data_dir_argument(restore_)
    restore_.add_argument("backup", type=Path, help="the archive `ipo-node backup` wrote")
    restore_.add_argument("--database-url", help="an empty database to restore into")
    restore_.set_defaults(handler=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> None:
    path, manifest = backup(args.data_dir, args.out)
    print(f"Wrote {path} ({manifest.database} at revision {manifest.alembic_revision}, "
          f"keys {', '.join(manifest.key_kids)})")  # fmt: skip


def cmd_restore(args: argparse.Namespace) -> None:
    manifest = restore(args.data_dir, args.backup, database_url=args.database_url)
    print(f"Restored {manifest.node_id} (backup of {manifest.created}) into {args.data_dir}")
    print(f"Start it with: ipo-node serve --data-dir {args.data_dir}")
