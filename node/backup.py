"""Backups of one node: its database, its configuration and its keys, in one archive.

    ipo-node backup --data-dir DIR OUT                         (OUT a file, or a directory)

The archive is a gzipped tar, created owner-only (``0600``) because it holds the node's private
keys and ``secret_key``::

    manifest.json        format, ipo-node version, created, database kind, alembic revision,
                         node id, key kids, the files below
    node.toml            the configuration
    keys/...             the key directory (keyring.json, one PEM per key)
    database/node.db     SQLite: a snapshot by the online backup API (consistent while serving)
    database/node.dump   PostgreSQL: ``pg_dump -Fc`` (one snapshot transaction)

``node.backup_archive`` holds the format and reads an archive as hostile; ``node.restore``
recreates a node from one.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from federation.keys import load_keyring
from node.backup_archive import (
    DATABASE_MEMBERS,
    MANIFEST,
    BackupError,
    DatabaseKind,
    Manifest,
)
from node.config import (
    CONFIG_FILE,
    load_settings,
)

# ---- backup ---------------------------------------------------------------------------------


def backup(data_dir: Path, out: Path) -> tuple[Path, Manifest]:
    """Write a backup of the node in ``data_dir`` to ``out`` (or a new file in that directory)."""
    settings = load_settings(data_dir)
    keyring = load_keyring(settings.keys_dir)
    created = datetime.now(UTC)
    if out.is_dir():
        out = out / f"ipo-node-backup-{created:%Y%m%dT%H%M%SZ}.tar.gz"
    if out.exists():
        raise BackupError(f"{out} already exists; refusing to overwrite a backup")
    with private_tempdir() as work:
        if settings.is_sqlite:
            kind: DatabaseKind = "sqlite"
            revision = _snapshot_sqlite(sqlite_path(settings.database_url), work / "db")
        else:
            kind = "postgresql"
            revision = _pg_revision(settings.database_url)
            _pg_dump(settings.database_url, work / "db")
        files = [CONFIG_FILE, *_key_files(settings.keys_dir)]
        member = DATABASE_MEMBERS[kind]
        manifest = Manifest(
            created=created,
            database=kind,
            alembic_revision=revision,
            node_id=settings.public_url,
            key_kids=[key.kid for key in keyring.keys],
            files=[*files, member],
        )
        partial = out.with_name(f".{out.name}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
                _add_bytes(tar, MANIFEST, manifest.to_json())
                for name in files:
                    _add_bytes(tar, name, (settings.data_dir / name).read_bytes())
                with (work / "db").open("rb") as dump:
                    _add_stream(tar, member, dump, size=(work / "db").stat().st_size)
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return out, manifest


def _key_files(keys_dir: Path) -> list[str]:
    return sorted(f"keys/{path.name}" for path in keys_dir.iterdir() if path.is_file())


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    _add_stream(tar, name, io.BytesIO(data), size=len(data))


def _add_stream(tar: tarfile.TarFile, name: str, stream: io.IOBase | Any, *, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, stream)


def sqlite_path(database_url: str) -> Path:
    """The file a ``sqlite:///`` URL names."""
    return Path(database_url.split(":///", 1)[1])


def _snapshot_sqlite(source: Path, target: Path) -> str | None:
    """Copy a live SQLite database page by page in one read transaction: a consistent snapshot."""
    if not source.exists():
        raise BackupError(f"no SQLite database at {source}")
    with (
        contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)  # all pages in one step, so no writer can interleave
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        return _sqlite_revision(dst)


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


# ---- PostgreSQL -----------------------------------------------------------------------------


def _libpq(database_url: str) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore, the password in the environment (not argv)."""
    url = make_url(database_url)
    args = ["--dbname", url.database or "postgres"]
    host = url.host or url.query.get("host")  # ?host=/var/run/postgresql: a Unix socket
    if isinstance(host, str):
        args += ["--host", host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    ssl = url.query.get("sslmode") or url.query.get("ssl")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = ssl
    return args, env


def _asyncpg_url(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _pg_fetch(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        try:
            connection = await asyncpg.connect(_asyncpg_url(database_url))
        except (OSError, asyncpg.PostgresError) as exc:
            raise BackupError(f"cannot reach the database: {exc}") from None
        try:
            return [tuple(row) for row in await connection.fetch(sql)]
        finally:
            await connection.close()

    return asyncio.run(run())


def _pg_revision(database_url: str) -> str | None:
    exists = _pg_fetch(database_url, "SELECT to_regclass('public.alembic_version') IS NOT NULL")
    if not exists[0][0]:
        return None
    rows = _pg_fetch(database_url, "SELECT version_num FROM alembic_version")
    return rows[0][0] if rows else None


def _run_pg_tool(tool: str, args: list[str], env: dict[str, str]) -> None:
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(
            f"{tool} is not installed; install the PostgreSQL client tools "
            "(Debian/Ubuntu: apt install postgresql-client), the same major version as the server"
        )
    done = subprocess.run(  # noqa: S603 -- fixed tool, arguments built from parsed settings
        [executable, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip() or done.returncode}")


def _pg_dump(database_url: str, target: Path) -> None:
    args, env = _libpq(database_url)
    _run_pg_tool("pg_dump", ["--format=custom", "--no-owner", "--no-acl", "--file", str(target),
                             *args], env)  # fmt: skip


def pg_restore(database_url: str, dump: Path) -> None:
    """Load a ``pg_dump -Fc`` file into the database, in one transaction."""
    args, env = _libpq(database_url)
    _run_pg_tool("pg_restore", ["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
                                *args, str(dump)], env)  # fmt: skip


def pg_is_empty(database_url: str) -> bool:
    """Whether the database has no tables at all."""
    rows = _pg_fetch(
        database_url,
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    return int(rows[0][0]) == 0


@contextlib.contextmanager
def private_tempdir() -> Iterator[Path]:
    """A working directory only this user can read, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ipo-node-backup-") as name:
        yield Path(name)  # mkdtemp makes it 0700
