"""Fresh, migrated databases for tests, on SQLite or on a real PostgreSQL server.

The backend is chosen by ``IPO_TEST_DATABASE`` (``sqlite``, the default, or ``postgresql``).
Once per run a template database is built by running every migration; each test then gets its
own copy (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so tests
never see each other's rows and multi-node tests get one database per node.

On PostgreSQL a background thread keeps a few copies made ahead of need and drops each
database as soon as its test gives it back (``release``), so a test never waits for a
``CREATE DATABASE`` it could have had ready, and a run never holds hundreds of databases.
``copy`` makes a database from any other (a built multi-node world, ``tests/worlds.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import queue
import shutil
import threading
import uuid
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

    AHEAD = 3  # copies of the template kept ready

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

    def _name(self) -> str:
        return f"{self.prefix}_{next(self._counter)}"

    def _url(self, database: str) -> str:
        base, _, _ = self.server_url.rpartition("/")
        return normalize_database_url(f"{base}/{database}")

    def _admin(self, sql: str) -> None:
        async def run() -> None:
            connection = await asyncpg.connect(self.server_url)
            try:
                await connection.execute(sql)
            finally:
                await connection.close()

        asyncio.run(run())

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
        self._maker = threading.Thread(target=self._run, name="test-databases", daemon=True)
        self._maker.start()
        for _ in range(self.AHEAD):
            self._work.put(("make", ""))

    def _run(self) -> None:
        """Make copies ahead of need and drop released databases, one at a time."""
        while (job := self._work.get()) is not None:
            action, name = job
            if action == "make":
                made = self._name()
                self._create(made, self.template)
                self._ready.put(made)
            else:
                self._drop(name)

    def new(self) -> str:
        """A copy of the migrated template, usually made before it was asked for."""
        name = self._ready.get(timeout=120)
        self._work.put(("make", ""))
        return self._url(name)

    def copy(self, source_url: str) -> str:
        """A new database holding what ``source_url`` holds (no connection may be open on it)."""
        name = self._name()
        self._create(name, source_url.rpartition("/")[2])
        return self._url(name)

    def empty(self) -> str:
        """A new database with no tables at all (restore and upgrade tests)."""
        name = self._name()
        self._create(name, "template0")
        return self._url(name)

    def release(self, url: str) -> None:
        """Drop this database soon (in the background); the test is done with it."""
        self._work.put(("drop", url.rpartition("/")[2]))

    def cleanup(self) -> None:
        self._work.put(None)
        if self._maker is not None:
            self._maker.join(timeout=120)
        with self._lock:
            leftover = sorted(self._live - {self.template})
        for name in [*leftover, self.template]:
            self._drop(name)


def make_databases(tmp_root: Path) -> SqliteDatabases | PostgresDatabases:
    if backend() == "postgresql":
        return PostgresDatabases(os.environ.get("IPO_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    return SqliteDatabases(tmp_root)
