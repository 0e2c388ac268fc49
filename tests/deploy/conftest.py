"""Empty databases (no migrations run) for restore and upgrade tests, on either backend."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.databases import PostgresDatabases, SqliteDatabases

_counter = itertools.count()


@pytest.fixture
def empty_database(
    tmp_path: Path, databases: SqliteDatabases | PostgresDatabases
) -> Iterator[Callable[[], str]]:
    """Make a new database with no tables: a SQLite path not yet created, or CREATE DATABASE.

    Every one made is dropped when the test ends."""
    made: list[str] = []

    def make() -> str:
        if isinstance(databases, SqliteDatabases):
            url = f"sqlite+aiosqlite:///{tmp_path / f'empty{next(_counter)}.db'}"
        else:
            url = databases.empty()
        made.append(url)
        return url

    yield make
    for url in made:
        databases.release(url)
