"""Nodes for tests: a real app with its own data directory, keys and database.

``NodeFactory.start(name=...)`` builds a node the way ``ipo-node init`` would (keys on disk,
migrated database) and runs its lifespan; the node's ``client`` talks to it in-process through
``httpx.ASGITransport``. Users and tokens are made through the same services the CLI uses.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from tests.network import Network


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
        self, *, role: Role, email: str | None = None, password: str = "correct horse battery"
    ) -> tuple[User, str]:
        """A user with this role and a bearer token for them."""
        email = email or f"{role.value}-{secrets.token_hex(3)}@{self.name}.example"
        async with self.session() as session:
            user = await accounts.create_user(
                session,
                data=UserCreate(email=email, role=role, password=password),
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


class NodeFactory:
    def __init__(self, root: Path, new_database: Callable[[], str], stack: AsyncExitStack):
        self.root = root
        self.new_database = new_database
        self.stack = stack
        self.nodes: dict[str, TestNode] = {}
        self.network = Network()

    async def start(self, name: str = "ward33", **settings: Any) -> TestNode:
        data_dir = self.root / name
        data_dir.mkdir(parents=True)
        create_keyring(data_dir / "keys")
        database_url = await asyncio.to_thread(self.new_database)
        config = {
            "name": settings.pop("display_name", f"Test {name}"),
            "public_url": f"http://{name}.test",
            "secret_key": secrets.token_urlsafe(32),
            "database_url": database_url,
            "embedded_worker": False,
        }
        config.update(settings)
        node_settings = load_settings(data_dir, **config)
        app = create_app(node_settings, federation_transport=self.network)
        self.network.attach(f"{name}.test", app)
        await self.stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=node_settings.public_url
        )
        await self.stack.enter_async_context(client)
        node = TestNode(name=name, settings=node_settings, app=app, client=client, stack=self.stack)
        self.nodes[name] = node
        return node


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
