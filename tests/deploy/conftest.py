"""Empty databases (no migrations run) for restore and upgrade tests, on either backend."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from tests.databases import PostgresDatabases, SqliteDatabases

_counter = itertools.count()


@pytest.fixture
def empty_database(
    tmp_path: Path, databases: SqliteDatabases | PostgresDatabases
) -> Callable[[], str]:
    """Make a new database with no tables: a SQLite path not yet created, or CREATE DATABASE."""

    def make() -> str:
        number = next(_counter)
        if isinstance(databases, SqliteDatabases):
            return f"sqlite+aiosqlite:///{tmp_path / f'empty{number}.db'}"
        name = f"{databases.prefix}_empty_{number}"

        async def create() -> None:
            connection = await asyncpg.connect(databases.server_url)
            try:
                await connection.execute(f'CREATE DATABASE "{name}"')
            finally:
                await connection.close()

        asyncio.run(create())
        databases.created.append(name)  # dropped with the others at the end of the run
        base = databases.server_url.rpartition("/")[0]
        return f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"

    return make
