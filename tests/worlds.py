"""Allied coalitions built once per run and copied for each test.

Allying five nodes through the API takes seconds (offers, acceptances, backfills, all signed
and delivered), and dozens of tests start from the same coalition. ``Worlds`` builds each kind
of world the first time a test asks for it, stops its nodes, and keeps their data directories
and databases as a snapshot; every test then gets running copies (files copied, and databases
copied by ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so each test starts from the same
clean state, and tests stay independent of each other and of their order.

A world is named by its builder and the builder's arguments: ``await nodes.world(star,
("ward33", "ward30"))`` is ward33 allied with ward30, the same world for every test asking
for it. Builders use only the public helpers (``NodeFactory.start``, ``ally``), so a copied
world is exactly what the test would have built itself.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Awaitable, Callable, Hashable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.nodes import Databases, NodeFactory, NodeSnapshot, TestNode, ally

Build = Callable[..., Awaitable[Sequence[TestNode]]]
BuildWith = Callable[..., Awaitable[tuple[Sequence[TestNode], Any]]]


class Worlds:
    """Snapshots of built worlds for one test run (a session fixture)."""

    def __init__(self, root: Path, databases: Databases) -> None:
        self.root = root
        self.databases = databases
        self._snapshots: dict[Hashable, tuple[list[NodeSnapshot], Any]] = {}
        self._counter = itertools.count()

    async def copy_into(
        self, factory: NodeFactory, build: BuildWith, args: tuple[Any, ...]
    ) -> tuple[list[TestNode], Any]:
        """Running copies of the nodes ``build(factory, *args)`` makes, in its order, and
        what else it returned (ids, bodies: plain data that holds for every copy)."""
        key = (build.__module__, build.__qualname__, args)
        if key not in self._snapshots:
            self._snapshots[key] = await self._build(build, args)
        snapshots, extra = self._snapshots[key]
        return [await factory.restore(snapshot) for snapshot in snapshots], copy.deepcopy(extra)

    async def _build(
        self, build: BuildWith, args: tuple[Any, ...]
    ) -> tuple[list[NodeSnapshot], Any]:
        root = self.root / f"world{next(self._counter)}"
        async with AsyncExitStack() as stack:
            builder = NodeFactory(root, self.databases, stack)
            built, extra = await build(builder, *args)
            builder.keep_databases()
        # The nodes have stopped: their files and databases are at rest, ready to copy.
        return [builder.snapshot(node) for node in built], extra

    def cleanup(self) -> None:
        for snapshots, _ in self._snapshots.values():
            for snapshot in snapshots:
                self.databases.release(snapshot.database_url)


@dataclass(frozen=True)
class Spec:
    """A node of a world with settings of its own (hashable, so it can name the world)."""

    name: str
    settings: tuple[tuple[str, Any], ...] = ()

    async def start(self, factory: NodeFactory) -> TestNode:
        settings = {k: list(v) if isinstance(v, tuple) else v for k, v in self.settings}
        return await factory.start(self.name, **settings)


def spec(name: str, **settings: Any) -> Spec:
    """``spec("ward30", wards=[30])``: the node ``NodeFactory.start`` would make with these."""
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in settings.items()))
    return Spec(name, frozen)


Nodes = tuple[str | Spec, ...]


async def _start_all(factory: NodeFactory, nodes: Nodes) -> list[TestNode]:
    return [await (n if isinstance(n, Spec) else Spec(n)).start(factory) for n in nodes]


async def star(
    factory: NodeFactory, nodes: Nodes, scopes: tuple[str, ...] | None = None
) -> list[TestNode]:
    """The first node allied with each of the others (``scopes`` as offered, or all)."""
    started = await _start_all(factory, nodes)
    for other in started[1:]:
        await ally(started[0], other, scopes=list(scopes) if scopes is not None else None)
    return started


async def mesh(factory: NodeFactory, nodes: Nodes) -> list[TestNode]:
    """Every node allied with every other, as a real coalition is."""
    started = await _start_all(factory, nodes)
    for i, a in enumerate(started):
        for b in started[i + 1 :]:
            await ally(a, b)
    return started
