"""Fresh, migrated databases for tests, on SQLite or on a real PostgreSQL server.

The backend is chosen by ``IPO_TEST_DATABASE`` (``sqlite``, the default, or ``postgresql``).
Once per run a template database is built by running every migration; each test then gets its
own database holding what the template holds (a file copy on SQLite; on PostgreSQL, see
below), so tests never see each other's rows and multi-node tests get one database per node.

On PostgreSQL a background thread keeps a few empty databases ready ahead of need, so a test
never waits for one it could have had ready, and a run never holds hundreds of databases. A
database a test gives back (``release``) is emptied and used again when its schema is still
the template's (every row deleted, every sequence back at its start: what a new copy holds),
and dropped otherwise (a migration test changed it). ``copy`` (a built multi-node world,
``tests/worlds.py``) loads a world's rows into a ready one. Emptying or loading costs the server
some 10-30 ms of CPU; ``CREATE DATABASE ... TEMPLATE`` copies some 8 MB of system catalogs and
cost about 300 ms each, which made the server the largest cost of the PostgreSQL pass.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import queue
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from node.config import normalize_database_url
from node.migrate import upgrade_to_head

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def backend() -> str:
    value = os.environ.get("IPO_TEST_DATABASE", "sqlite")
    if value not in ("sqlite", "postgresql"):
        raise RuntimeError(f"IPO_TEST_DATABASE must be sqlite or postgresql, not {value!r}")
    return value


class SqliteDatabases:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.db"
        self._counter = itertools.count()

    def prepare(self) -> None:
        upgrade_to_head(f"sqlite+aiosqlite:///{self.template}")

    def new(self) -> str:
        return self.copy(f"sqlite+aiosqlite:///{self.template}")

    def copy(self, source_url: str) -> str:
        """A new database holding what ``source_url`` holds (no connection may be open on it)."""
        path = self.root / f"db{next(self._counter)}.db"
        shutil.copyfile(_sqlite_path(source_url), path)
        return f"sqlite+aiosqlite:///{path}"

    def release(self, url: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(_sqlite_path(url) + suffix).unlink(missing_ok=True)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _sqlite_path(url: str) -> str:
    return url.split(":///", 1)[1]


class PostgresDatabases:
    """Databases on a PostgreSQL server, named ``ipo_test_<run>_<n>`` so runs never collide."""

    AHEAD = 3  # empty databases kept ready
    SPARE = 6  # emptied given-back databases kept for reuse; more are dropped

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url.replace("postgresql+asyncpg://", "postgresql://")
        self.prefix = f"ipo_test_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_template"
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._live: set[str] = set()
        self._ready: queue.Queue[str] = queue.Queue()
        self._work: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._maker: threading.Thread | None = None
        self._template_schema = ""
        self._reusable = False  # may given-back databases be emptied and worlds loaded by COPY
        self._emptying = ""  # the statements that empty a database made from the template
        self._tables: list[str] = []
        self._sequences: list[str] = []
        self._dumps: dict[str, _Dump] = {}  # rows of databases copied from, by name

    def _name(self) -> str:
        return f"{self.prefix}_{next(self._counter)}"

    def _url(self, database: str) -> str:
        base, _, _ = self.server_url.rpartition("/")
        return normalize_database_url(f"{base}/{database}")

    async def _connect(self, database: str | None = None) -> asyncpg.Connection:
        """A connection to ``database``, or to the server's own database for admin work."""
        if database is None:
            return await asyncpg.connect(self.server_url)
        return await asyncpg.connect(self._url(database).replace("+asyncpg", "", 1))

    def _admin(self, sql: str, *, database: str | None = None) -> None:
        async def run() -> None:
            connection = await self._connect(database)
            try:
                await connection.execute(sql)
            finally:
                await connection.close()

        asyncio.run(run())

    def _fetch(self, database: str, sql: str) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            connection = await self._connect(database)
            try:
                rows: list[asyncpg.Record] = await connection.fetch(sql)
                return rows
            finally:
                await connection.close()

        return asyncio.run(run())

    def _schema_of(self, database: str) -> str:
        """What tells one schema from another: every column, index, constraint, revision."""
        return str(self._fetch(database, _SCHEMA_FINGERPRINT)[0][0])

    def _empty_again(self, name: str) -> bool:
        """Empty a given-back database for reuse; False if its schema is not the template's."""
        if not self._reusable:
            return False
        self._admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"  # noqa: S608 (our own name)
            " AND pid <> pg_backend_pid()"
        )
        try:
            if self._schema_of(name) != self._template_schema:
                return False
        except asyncpg.UndefinedTableError:  # no alembic_version: an empty() database
            return False
        self._admin(self._emptying, database=name)
        return True

    def _clone(self, source: str) -> str:
        """A whole copy of ``source`` made by the server (``CREATE DATABASE ... TEMPLATE``)."""
        name = self._name()
        self._create(name, source)
        return self._url(name)

    def _create(self, name: str, template: str) -> None:
        with self._lock:
            self._live.add(name)
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

    def _drop(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with self._lock:
            self._live.discard(name)

    def prepare(self) -> None:
        self._create(self.template, "template0")
        upgrade_to_head(self._url(self.template))
        self._template_schema = self._schema_of(self.template)
        # DELETE, not TRUNCATE: TRUNCATE makes new files for every table and index, as dear as
        # a new database (about 265 ms of server CPU against 10). Emptying and loading turn
        # triggers (the audit log's append-only guard, foreign keys) off for their session,
        # which needs a superuser; without one, databases are dropped and made whole.
        (superuser,) = self._fetch(
            self.template, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        )[0]
        self._reusable = bool(superuser)
        tables = self._fetch(
            self.template,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version' ORDER BY tablename",
        )
        sequences = self._fetch(
            self.template,
            "SELECT sequencename, start_value FROM pg_sequences WHERE schemaname = 'public'",
        )
        self._tables = [table for (table,) in tables]
        self._sequences = [sequence for sequence, _ in sequences]
        self._emptying = "".join(
            [
                "SET session_replication_role = replica;",
                *(f'DELETE FROM "{table}";' for table in self._tables),  # noqa: S608 (catalog)
                *(f"SELECT setval('\"{seq}\"', {start}, false);" for seq, start in sequences),
            ]
        )
        self._maker = threading.Thread(target=self._run, name="test-databases", daemon=True)
        self._maker.start()
        for _ in range(self.AHEAD):
            self._work.put(("make", ""))

    def _run(self) -> None:
        """Keep databases ready, emptying given-back ones or making copies, one job at a time."""
        spare: list[str] = []  # emptied, waiting for a "make"
        while (job := self._work.get()) is not None:
            action, name = job
            if action == "make":
                if spare:
                    self._ready.put(spare.pop())
                else:
                    made = self._name()
                    self._create(made, self.template)
                    self._ready.put(made)
            elif len(spare) < self.SPARE and self._empty_again(name):
                spare.append(name)
            else:
                self._drop(name)

    def new(self) -> str:
        """A copy of the migrated template, usually made before it was asked for."""
        name = self._ready.get(timeout=120)
        self._work.put(("make", ""))
        return self._url(name)

    def copy(self, source_url: str) -> str:
        """A new database holding what ``source_url`` holds (no connection may be open on it,
        and it must not change while copies are made: a built world's snapshot).

        The source's rows are read once (binary ``COPY``) and written into a ready empty
        database: a few milliseconds of server CPU, where ``CREATE DATABASE ... TEMPLATE``
        costs some 300. A source whose schema is not the template's is copied whole."""
        source = source_url.rpartition("/")[2]
        if not self._reusable:
            return self._clone(source)
        with self._lock:
            dump = self._dumps.get(source)
        if dump is None:
            if self._schema_of(source) != self._template_schema:
                return self._clone(source)
            dump = asyncio.run(self._dump(source))
            with self._lock:
                self._dumps[source] = dump
        url = self.new()
        asyncio.run(self._load(url.rpartition("/")[2], dump))
        return url

    async def _dump(self, database: str) -> _Dump:
        connection = await self._connect(database)
        try:
            rows: dict[str, bytes] = {}
            for table in self._tables:
                buffer = io.BytesIO()
                await connection.copy_from_table(table, output=buffer, format="binary")
                rows[table] = buffer.getvalue()
            positions = {
                sequence: tuple(
                    await connection.fetchrow(
                        f'SELECT last_value, is_called FROM "{sequence}"'  # noqa: S608 (catalog)
                    )
                )
                for sequence in self._sequences
            }
        finally:
            await connection.close()
        return _Dump(rows, positions)

    async def _load(self, database: str, dump: _Dump) -> None:
        connection = await self._connect(database)
        try:
            async with connection.transaction():
                await connection.execute("SET LOCAL session_replication_role = replica")
                for table, data in dump.rows.items():
                    if len(data) > _EMPTY_BINARY_COPY:
                        await connection.copy_to_table(
                            table, source=io.BytesIO(data), format="binary"
                        )
                for sequence, (value, is_called) in dump.positions.items():
                    await connection.execute(
                        "SELECT setval($1::regclass, $2, $3)", f'"{sequence}"', value, is_called
                    )
        finally:
            await connection.close()

    def empty(self) -> str:
        """A new database with no tables at all (restore and upgrade tests)."""
        return self._clone("template0")

    def release(self, url: str) -> None:
        """Empty this database for reuse, or drop it, soon (in the background): the test is
        done with it and has closed its connections."""
        name = url.rpartition("/")[2]
        with self._lock:
            self._dumps.pop(name, None)
        self._work.put(("recycle", name))

    def cleanup(self) -> None:
        self._work.put(None)
        if self._maker is not None:
            self._maker.join(timeout=120)
        with self._lock:
            leftover = sorted(self._live - {self.template})
        for name in [*leftover, self.template]:
            self._drop(name)


@dataclass(frozen=True)
class _Dump:
    """A database's rows (binary ``COPY``, by table) and its sequences' positions."""

    rows: dict[str, bytes]
    positions: dict[str, tuple[int, bool]]


_EMPTY_BINARY_COPY = 21  # header (19 bytes) and trailer (2): a table with no rows

_SCHEMA_FINGERPRINT = """
SELECT md5(
    (SELECT string_agg(format('%s.%s %s %s %s', c.relname, a.attname, a.atttypid, a.attnotnull,
                              a.attnum), ',' ORDER BY c.relname, a.attnum)
     FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
     WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped)
    || (SELECT coalesce(string_agg(pg_get_constraintdef(oid), ',' ORDER BY conname), '')
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace)
    || (SELECT coalesce(string_agg(indexdef, ',' ORDER BY indexname), '')
        FROM pg_indexes WHERE schemaname = 'public')
    || coalesce((SELECT string_agg(version_num, ',') FROM alembic_version), 'no revision')
)
"""
"""Fails (no alembic_version) or differs when a test changed the schema."""


def make_databases(tmp_root: Path) -> SqliteDatabases | PostgresDatabases:
    if backend() == "postgresql":
        return PostgresDatabases(os.environ.get("IPO_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    return SqliteDatabases(tmp_root)
