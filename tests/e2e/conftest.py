"""The e2e marker, node fixtures, and node logs attached to failing tests' reports."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from tests.databases import PostgresDatabases, SqliteDatabases
from tests.e2e.realnode import LIVE, RealNode


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end tests between real ipo-node processes on loopback ports"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing test (or fixture) shows the end of every running node's log."""
    report = yield
    if report.failed:
        for node in LIVE:
            report.sections.append((f"{node.slug} log (tail)", node.log_tail()))
    return report


NodeMaker = Callable[[str, str, int], RealNode]


@contextlib.contextmanager
def _node_maker(root: Path, databases: SqliteDatabases | PostgresDatabases) -> Iterator[NodeMaker]:
    made: list[RealNode] = []

    def make(name: str, slug: str, ward: int) -> RealNode:
        node = RealNode(name=name, slug=slug, ward=ward, root=root, database_url=databases.new())
        made.append(node)
        return node

    try:
        yield make
    finally:
        for node in made:
            node.close()
            databases.release(node.database_url)


@pytest.fixture(scope="module")
def module_nodes(
    tmp_path_factory: pytest.TempPathFactory, databases: SqliteDatabases | PostgresDatabases
) -> Iterator[NodeMaker]:
    """Make nodes that live for the whole module; every process is stopped at its end."""
    with _node_maker(tmp_path_factory.mktemp("e2e"), databases) as make:
        yield make


@pytest.fixture
def fresh_nodes(
    tmp_path: Path, databases: SqliteDatabases | PostgresDatabases
) -> Iterator[NodeMaker]:
    """Make nodes for one test only; every process is stopped when it ends."""
    with _node_maker(tmp_path, databases) as make:
        yield make
