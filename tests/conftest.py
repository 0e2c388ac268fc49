"""Fixtures shared by every test: fresh databases and in-process nodes."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from node.accounts.models import Role
from tests.databases import PostgresDatabases, SqliteDatabases, backend, make_databases
from tests.nodes import NodeFactory, TestNode


def pytest_report_header() -> str:
    return f"ipo-node test database: {backend()}"


@pytest.fixture(scope="session")
def databases() -> Iterator[SqliteDatabases | PostgresDatabases]:
    root = Path(tempfile.mkdtemp(prefix="ipo-test-db-"))
    dbs = make_databases(root)
    dbs.prepare()
    yield dbs
    dbs.cleanup()


@pytest.fixture
def database_url(databases: SqliteDatabases | PostgresDatabases) -> str:
    """A fresh database migrated to head."""
    return databases.new()


@pytest.fixture
async def nodes(
    tmp_path: Path, databases: SqliteDatabases | PostgresDatabases
) -> AsyncIterator[NodeFactory]:
    async with AsyncExitStack() as stack:
        yield NodeFactory(tmp_path / "nodes", databases.new, stack)


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
