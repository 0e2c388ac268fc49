"""Fresh, migrated databases for tests, on SQLite or on a real PostgreSQL server.

The backend is chosen by ``IPO_TEST_DATABASE`` (``sqlite``, the default, or ``postgresql``).
Once per run a template database is built by running every migration; each test then gets its
own copy (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so tests
never see each other's rows and multi-node tests get one database per node.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
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
        path = self.root / f"db{next(self._counter)}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite+aiosqlite:///{path}"

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresDatabases:
    def __init__(self, server_url: str) -> None:
        self.server_url = server_url.replace("postgresql+asyncpg://", "postgresql://")
        self.prefix = f"ipo_test_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_template"
        self._counter = itertools.count()
        self.created: list[str] = [self.template]

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

    def prepare(self) -> None:
        self._admin(f'CREATE DATABASE "{self.template}"')
        upgrade_to_head(self._url(self.template))

    def new(self) -> str:
        name = f"{self.prefix}_{next(self._counter)}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self._url(name)

    def cleanup(self) -> None:
        for name in reversed(self.created):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_databases(tmp_root: Path) -> SqliteDatabases | PostgresDatabases:
    if backend() == "postgresql":
        return PostgresDatabases(os.environ.get("IPO_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    return SqliteDatabases(tmp_root)
