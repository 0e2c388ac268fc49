"""Nodes for tests: a real app with its own data directory, keys and database.

``NodeFactory.start(name=...)`` builds a node the way ``ipo-node init`` would (keys on disk,
migrated database) and runs its lifespan; the node's ``client`` talks to it in-process through
``httpx.ASGITransport``. Users and tokens are made through the same services the CLI uses.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import shutil
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from fastapi import FastAPI

from federation.delivery import DeliveryWorker
from federation.keys import create_keyring
from federation.runtime import FederationRuntime
from node.accounts import service as accounts
from node.accounts.models import Role, User, UserCreate
from node.audit.service import CLI
from node.config import Settings, load_settings
from node.db import session_scope
from node.main import create_app
from tests.network import Network, loopback_socket, serve_on

if TYPE_CHECKING:
    from tests.worlds import Build, BuildWith, Worlds


@dataclass
class TestNode:
    __test__ = False  # a helper, not a test class, wherever it is imported
    name: str
    settings: Settings
    app: FastAPI
    client: httpx.AsyncClient
    stack: AsyncExitStack
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.settings.public_url

    def session(self) -> Any:
        return session_scope(self.app.state.session_maker)

    async def add_user(
        self,
        *,
        role: Role,
        email: str | None = None,
        password: str = "correct horse battery",
        display_name: str = "",
    ) -> tuple[User, str]:
        """A user with this role and a bearer token for them."""
        email = email or f"{role.value}-{secrets.token_hex(3)}@{self.name}.example"
        async with self.session() as session:
            user = await accounts.create_user(
                session,
                data=UserCreate(
                    email=email, role=role, password=password, display_name=display_name
                ),
                actor=CLI,
            )
            _, token = await accounts.create_api_token(session, user=user, name="test", actor=CLI)
        return user, token

    async def as_role(self, role: Role) -> httpx.AsyncClient:
        """A client authenticated as a new user with ``role`` (one per role, cached)."""
        if role.value not in self.tokens:
            _, token = await self.add_user(role=role)
            self.tokens[role.value] = token
        return self.client_with(self.tokens[role.value])

    @property
    def runtime(self) -> FederationRuntime:
        runtime: FederationRuntime = self.app.state.federation
        return runtime

    @property
    def worker(self) -> DeliveryWorker:
        worker: DeliveryWorker = self.app.state.delivery_worker
        return worker

    def client_with(self, token: str | None = None) -> httpx.AsyncClient:
        """A new client for this node, with a bearer token if given; closed with the test."""
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )
        self.stack.push_async_callback(client.aclose)
        return client


class Databases(Protocol):
    """What ``tests.databases`` offers a node factory, on either backend."""

    def new(self) -> str: ...
    def copy(self, source_url: str) -> str: ...
    def release(self, url: str) -> None: ...


@dataclass(frozen=True)
class NodeSnapshot:
    """A stopped node, to start copies of: its data directory, database and settings."""

    name: str
    data_dir: Path
    database_url: str
    config: dict[str, Any]
    tokens: dict[str, str]


class NodeFactory:
    """Starts in-process nodes for one test; ``close`` gives their databases back."""

    def __init__(
        self,
        root: Path,
        databases: Databases,
        stack: AsyncExitStack,
        worlds: Worlds | None = None,
    ):
        self.root = root
        self.databases = databases
        self.stack = stack
        self.worlds = worlds
        self.nodes: dict[str, TestNode] = {}
        self.network = Network()
        self._configs: dict[str, dict[str, Any]] = {}
        self._databases_used: list[str] = []
        stack.callback(self._release_databases)

    async def start(
        self, name: str = "ward33", *, over_loopback: bool = False, **settings: Any
    ) -> TestNode:
        """A new node. ``over_loopback``: served on a real 127.0.0.1 port, which is then its
        id, and reaching other nodes through real sockets and its own connection pools, as in
        production (with ``allow_private_peers``); other nodes must be ``over_loopback`` too."""
        data_dir = self.root / name
        data_dir.mkdir(parents=True)
        create_keyring(data_dir / "keys")
        config = {
            "name": settings.pop("display_name", f"Test {name}"),
            "public_url": f"http://{name}.test",
            "secret_key": secrets.token_urlsafe(32),
            "embedded_worker": False,
        }
        sock = loopback_socket() if over_loopback else None
        if sock is not None:
            self.stack.callback(sock.close)  # also if the node fails to start
            config["public_url"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
            config["allow_private_peers"] = True
        config.update(settings)
        database_url = await asyncio.to_thread(self.databases.new)
        if sock is None:
            return await self._launch(name, data_dir, database_url, config)
        node = await self._launch(name, data_dir, database_url, config, real_sockets=True)
        await self.stack.enter_async_context(serve_on(node.app, sock))
        return node

    async def world(self, build: Build, *args: Any) -> list[TestNode]:
        """Running copies of the nodes ``build(factory, *args)`` makes, built once per run.

        See ``tests.worlds``; without a ``Worlds`` (a benchmark) the world is built here."""
        nodes, _ = await self.world_with(_nodes_only(build), *args)
        return nodes

    async def world_with(self, build: BuildWith, *args: Any) -> tuple[list[TestNode], Any]:
        """As ``world``, for a builder that returns ``(nodes, data)``: data about the world
        (ids, bodies) that holds for every copy of it."""
        if self.worlds is None:
            nodes, extra = await build(self, *args)
            return list(nodes), extra
        return await self.worlds.copy_into(self, build, args)

    async def restore(self, snapshot: NodeSnapshot) -> TestNode:
        """A running copy of a snapshotted node: same key, settings, data and tokens."""
        data_dir = self.root / snapshot.name
        await asyncio.to_thread(shutil.copytree, snapshot.data_dir, data_dir)
        database_url = await asyncio.to_thread(self.databases.copy, snapshot.database_url)
        node = await self._launch(snapshot.name, data_dir, database_url, dict(snapshot.config))
        node.tokens.update(snapshot.tokens)
        return node

    def snapshot(self, node: TestNode) -> NodeSnapshot:
        """What ``restore`` needs; take it once the node has stopped (its stack is closed)."""
        return NodeSnapshot(
            name=node.name,
            data_dir=node.settings.data_dir,
            database_url=node.settings.database_url,
            config=self._configs[node.name],
            tokens=dict(node.tokens),
        )

    async def _launch(
        self,
        name: str,
        data_dir: Path,
        database_url: str,
        config: dict[str, Any],
        *,
        real_sockets: bool = False,
    ) -> TestNode:
        """Start the node; its federation requests go through ``self.network``, or through
        real sockets with ``real_sockets``."""
        self._databases_used.append(database_url)
        self._configs[name] = config
        node_settings = load_settings(data_dir, database_url=database_url, **config)
        app = create_app(node_settings, federation_transport=None if real_sockets else self.network)
        self.network.attach(f"{name}.test", app)
        await self.stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=node_settings.public_url
        )
        await self.stack.enter_async_context(client)
        node = TestNode(name=name, settings=node_settings, app=app, client=client, stack=self.stack)
        self.nodes[name] = node
        return node

    def keep_databases(self) -> None:
        """Do not give the databases back on close: a snapshot will be copied from them."""
        self._databases_used.clear()

    def _release_databases(self) -> None:
        for url in self._databases_used:
            self.databases.release(url)


@cache
def _nodes_only(build: Build) -> BuildWith:
    """A ``(nodes, None)`` builder from one that returns nodes (named as ``build`` is)."""

    @functools.wraps(build)
    async def wrapped(factory: NodeFactory, *args: Any) -> tuple[Sequence[TestNode], None]:
        return await build(factory, *args), None

    return wrapped


async def deliver_all(*nodes: TestNode, rounds: int = 20) -> int:
    """Run every node's delivery worker until nothing is left to send; returns sends made."""
    total = 0
    for _ in range(rounds):
        sent = sum([await node.worker.run_once() for node in nodes])
        total += sent
        if not sent:
            return total
    raise AssertionError(f"deliveries still flowing after {rounds} rounds")


async def ally(a: TestNode, b: TestNode, *, scopes: list[str] | None = None) -> None:
    """Make ``a`` and ``b`` active allies the way their admins would, through the API."""
    a_admin = await a.as_role(Role.admin)
    b_admin = await b.as_role(Role.admin)
    body: dict[str, Any] = {"url": b.url}
    if scopes is not None:
        body["scopes"] = scopes
    offered = await a_admin.post("/api/v1/alliances", json=body)
    assert offered.status_code == 201, offered.text
    await deliver_all(a, b)
    accepted = await b_admin.post(f"/api/v1/alliances/{a.url}/accept")
    assert accepted.status_code == 200, accepted.text
    await deliver_all(a, b)
