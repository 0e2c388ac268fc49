"""Fixtures shared by every test: fresh databases and in-process nodes."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from node.accounts.models import Role
from tests.costs import TEST_COSTS
from tests.databases import PostgresDatabases, SqliteDatabases, backend, make_databases
from tests.nodes import NodeFactory, TestNode
from tests.worlds import Worlds


def pytest_configure(config: pytest.Config) -> None:
    # Before any node, in-process or child process, reads its settings (tests/costs.py).
    os.environ.update(TEST_COSTS)


def pytest_report_header() -> str:
    return f"ipo-node test database: {backend()}"


@pytest.fixture(scope="session")
def databases() -> Iterator[SqliteDatabases | PostgresDatabases]:
    root = Path(tempfile.mkdtemp(prefix="ipo-test-db-"))
    dbs = make_databases(root)
    dbs.prepare()
    yield dbs
    dbs.cleanup()


@pytest.fixture(scope="session")
def worlds(databases: SqliteDatabases | PostgresDatabases) -> Iterator[Worlds]:
    """Allied coalitions built once per run, copied for each test (``tests/worlds.py``)."""
    root = Path(tempfile.mkdtemp(prefix="ipo-test-worlds-"))
    built = Worlds(root, databases)
    yield built
    built.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database_url(databases: SqliteDatabases | PostgresDatabases) -> Iterator[str]:
    """A fresh database migrated to head, dropped when the test ends."""
    url = databases.new()
    yield url
    databases.release(url)


@pytest.fixture
def new_database(databases: SqliteDatabases | PostgresDatabases) -> Iterator[Callable[[], str]]:
    """``new_database()`` makes a fresh migrated database; each is dropped when the test ends."""
    made: list[str] = []

    def make() -> str:
        made.append(databases.new())
        return made[-1]

    yield make
    for url in made:
        databases.release(url)


@pytest.fixture
async def nodes(
    tmp_path: Path, databases: SqliteDatabases | PostgresDatabases, worlds: Worlds
) -> AsyncIterator[NodeFactory]:
    async with AsyncExitStack() as stack:
        yield NodeFactory(tmp_path / "nodes", databases, stack, worlds)


@pytest.fixture
async def node(nodes: NodeFactory) -> TestNode:
    """One node, ward33, with no users yet."""
    return await nodes.start("ward33", wards=[33])


@pytest.fixture
async def admin(node: TestNode):  # type: ignore[no-untyped-def]
    return await node.as_role(Role.admin)


@pytest.fixture
async def organizer(node: TestNode):  # type: ignore[no-untyped-def]
    return await node.as_role(Role.organizer)


@pytest.fixture
async def member(node: TestNode):  # type: ignore[no-untyped-def]
    return await node.as_role(Role.member)
