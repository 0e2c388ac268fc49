"""A real ``ipo-node serve`` process for the partner API's end-to-end test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import PostgresDatabases, SqliteDatabases
from tests.e2e.realnode import RealNode, init_nodes


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end tests between real ipo-node processes on loopback ports"
    )


@pytest.fixture
def real_node(tmp_path: Path, databases: SqliteDatabases | PostgresDatabases) -> Iterator[RealNode]:
    """An initialised node (``ipo-node init``), not yet serving; stopped after the test."""
    node = RealNode(
        name="33rd Ward Working Families",
        slug="ward33",
        ward=33,
        root=tmp_path,
        database_url=databases.new(),
    )
    try:
        init_nodes([node])
        yield node
    finally:
        node.close()
        databases.release(node.database_url)
