"""``ipo-node backup`` and ``restore``."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.backup import backup
from node.backup_archive import BackupError
from node.cli import Subcommands, data_dir_argument
from node.db import DatabaseTooNew, DatabaseUnreachable
from node.restore import restore

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
    security = restore_.add_mutually_exclusive_group()
    security.add_argument(
        "--keep-security-settings",
        dest="security",
        action="store_const",
        const="keep",
        default="refuse",
        help="restore settings that weaken the node (allow_private_peers, ...) as they were",
    )
    security.add_argument(
        "--reset-security-settings",
        dest="security",
        action="store_const",
        const="reset",
        help="restore such settings at their defaults instead",
    )
    restore_.set_defaults(handler=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> None:
    path, manifest = backup(args.data_dir, args.out)
    print(f"Wrote {path} ({manifest.database} at revision {manifest.alembic_revision}, "
          f"keys {', '.join(manifest.key_kids)})")  # fmt: skip


def cmd_restore(args: argparse.Namespace) -> None:
    done = restore(
        args.data_dir, args.backup, database_url=args.database_url, security=args.security
    )
    if done.database_url_ignored:
        print("Not used: the database_url in the backup's node.toml; restored into the database "
              "this command names")  # fmt: skip
    for name, why in done.security_kept.items():
        print(f"Kept from the backup: {name} = {_shown(getattr(done.settings, name))} ({why})")
    for name, why in done.security_reset.items():
        print(f"WARNING: not restored: the backup's {name} ({why}); it is back at its default")
    print(f"Restored {done.settings.public_url} (backup of {done.manifest.created.isoformat()}) "
          f"into {done.settings.data_dir}")  # fmt: skip
    print(f"Start it with: ipo-node serve --data-dir {done.settings.data_dir}")


def _shown(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
