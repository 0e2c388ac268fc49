"""Backups of one node: its database, its configuration and its keys, in one archive.

    ipo-node backup  --data-dir DIR OUT                        (OUT a file, or a directory)
    ipo-node restore --data-dir NEW_DIR [--database-url URL] BACKUP

The archive is a gzipped tar, created owner-only (``0600``) because it holds the node's private
keys and ``secret_key``::

    manifest.json        format, ipo-node version, created, database kind, alembic revision,
                         node id, key kids, the files below
    node.toml            the configuration
    keys/...             the key directory (keyring.json, one PEM per key)
    database/node.db     SQLite: a snapshot by the online backup API (consistent while serving)
    database/node.dump   PostgreSQL: ``pg_dump -Fc`` (one snapshot transaction)

``restore`` only ever fills an empty data directory and an empty database, as ``init`` refuses
to overwrite a node: restoring over a live node would silently fork its identity. It does not
migrate: ``serve`` (or ``migrate``) upgrades an older database at start, and an archive written
by a newer release is refused before anything is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from federation.keys import load_keyring
from node import __version__
from node.config import CONFIG_FILE, load_settings, normalize_database_url, write_config_file
from node.migrate import known_revisions

FORMAT = "ipo-node-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/node.db"
POSTGRES_MEMBER = "database/node.dump"


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    created: str
    database: str  # "sqlite" or "postgresql"
    alembic_revision: str | None
    node_id: str
    key_kids: list[str]
    files: list[str]
    ipo_node_version: str = __version__
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise BackupError("not an ipo-node backup (its manifest has another format)")
            if raw.get("format_version") != FORMAT_VERSION:
                raise BackupError(
                    f"backup format version {raw.get('format_version')} is not supported by this "
                    f"ipo-node (it reads version {FORMAT_VERSION}); restore it with a newer release"
                )
            return cls(**raw)
        except (ValueError, TypeError) as exc:
            raise BackupError(f"the backup's manifest is damaged: {exc}") from None


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
    with _private_tempdir() as work:
        if settings.is_sqlite:
            kind, member = "sqlite", SQLITE_MEMBER
            revision = _snapshot_sqlite(_sqlite_path(settings.database_url), work / "db")
        else:
            kind, member = "postgresql", POSTGRES_MEMBER
            revision = _pg_revision(settings.database_url)
            _pg_dump(settings.database_url, work / "db")
        files = [CONFIG_FILE, *_key_files(settings.keys_dir)]
        manifest = Manifest(
            created=created.isoformat(),
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


def _sqlite_path(database_url: str) -> Path:
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


def _pg_restore(database_url: str, dump: Path) -> None:
    args, env = _libpq(database_url)
    _run_pg_tool("pg_restore", ["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
                                *args, str(dump)], env)  # fmt: skip


def _pg_is_empty(database_url: str) -> bool:
    rows = _pg_fetch(
        database_url,
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    return int(rows[0][0]) == 0


# ---- restore --------------------------------------------------------------------------------


def restore(data_dir: Path, archive: Path, *, database_url: str | None = None) -> Manifest:
    """Recreate the node from ``archive`` in the empty ``data_dir`` and an empty database.

    The database is the one named by ``database_url`` if given (then written into the restored
    ``node.toml``), else by ``IPO_DATABASE_URL``/``DATABASE_URL``, else by the restored config,
    else SQLite in ``data_dir``.
    """
    data_dir = data_dir.resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} is not empty; restore only into a new, empty data directory")
    with _private_tempdir() as work:
        manifest = _unpack(archive, work)
        if manifest.alembic_revision and manifest.alembic_revision not in known_revisions():
            raise BackupError(
                f"the backup's database is at revision {manifest.alembic_revision}, which this "
                "version of ipo-node does not know: restore it with the release that made it"
            )
        config = tomllib.loads((work / CONFIG_FILE).read_text())
        if database_url:
            config["database_url"] = database_url
        target = _target_database_url(data_dir, config)
        target_kind = "sqlite" if target.startswith("sqlite") else "postgresql"
        if target_kind != manifest.database:
            raise BackupError(
                f"the backup holds a {manifest.database} database but the target is "
                f"{target_kind}; pass --database-url for a {manifest.database} database"
            )
        if target_kind == "sqlite":
            sqlite_target = _sqlite_path(target)
            if sqlite_target.exists() and sqlite_target.stat().st_size > 0:
                raise BackupError(f"{sqlite_target} already exists; refusing to overwrite it")
        elif not _pg_is_empty(target):
            raise BackupError(
                "the target database already has tables; restore into a new, empty database"
            )

        created_dir = not data_dir.exists()
        made_sqlite: Path | None = None
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        try:
            if database_url:
                write_config_file(data_dir, config)
            else:
                _copy_private(work / CONFIG_FILE, data_dir / CONFIG_FILE)
            (data_dir / "keys").mkdir(mode=0o700)
            for name in manifest.files:
                if name.startswith("keys/"):
                    _copy_private(work / name, data_dir / name)
            if target_kind == "sqlite":
                sqlite_target = _sqlite_path(target)
                sqlite_target.parent.mkdir(parents=True, exist_ok=True)
                sqlite_target.unlink(missing_ok=True)  # an empty file, checked above
                _copy_private(work / SQLITE_MEMBER, sqlite_target)
                made_sqlite = sqlite_target
            else:
                _pg_restore(target, work / POSTGRES_MEMBER)
            settings = load_settings(data_dir)
            kids = [key.kid for key in load_keyring(settings.keys_dir).keys]
            if kids != manifest.key_kids:
                raise BackupError(f"restored keys {kids} differ from the manifest's")
        except BaseException:
            _remove_restored(data_dir, created_dir=created_dir)
            if made_sqlite is not None:
                made_sqlite.unlink(missing_ok=True)
            raise
    return manifest


def _target_database_url(data_dir: Path, config: dict[str, Any]) -> str:
    url = (
        os.environ.get("IPO_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or config.get("database_url")
    )
    if not url:
        return f"sqlite+aiosqlite:///{data_dir / 'node.db'}"
    try:
        return normalize_database_url(str(url))
    except ValueError as exc:
        raise BackupError(f"database_url {exc}") from None


def _unpack(archive: Path, work: Path) -> Manifest:
    """Extract the manifest's files into ``work``; nothing outside it, every file owner-only."""
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            manifest_member = tar.extractfile(MANIFEST)
            if manifest_member is None:
                raise BackupError("the backup has no manifest")
            manifest = Manifest.from_json(manifest_member.read())
            for name in manifest.files:
                path = PurePosixPath(name)
                if path.is_absolute() or ".." in path.parts:
                    raise BackupError(f"the backup names an unsafe path: {name}")
                member = tar.extractfile(name)
                if member is None:
                    raise BackupError(f"{name} in the backup is not a file")
                target = work.joinpath(*path.parts)
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    shutil.copyfileobj(member, handle)
    except FileNotFoundError:
        raise BackupError(f"no backup at {archive}") from None
    except KeyError as exc:
        raise BackupError(f"the backup is incomplete: {exc}") from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"cannot read the backup {archive}: {exc}") from None
    if CONFIG_FILE not in manifest.files:
        raise BackupError("the backup holds no node.toml")
    return manifest


def _copy_private(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle, source.open("rb") as src:
        shutil.copyfileobj(src, handle)


def _remove_restored(data_dir: Path, *, created_dir: bool) -> None:
    """Undo a failed restore: the data directory goes back to empty."""
    for child in data_dir.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    if created_dir:
        data_dir.rmdir()


@contextlib.contextmanager
def _private_tempdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ipo-node-backup-") as name:
        yield Path(name)  # mkdtemp makes it 0700
