"""An in-process network for multi-node tests: requests routed by host to each node's app.

Real apps, real signatures, real databases: only the sockets are replaced. Faults are set per
host: ``down`` (connection refused), ``black_hole`` (never answers), or ``intercept`` (a function
answering instead of the node, e.g. 429 with Retry-After). ``log`` records every request.

Where a test needs the sockets too (connection pools, limits), ``loopback_socket`` and
``serve_on`` serve a node's app on a real 127.0.0.1 port in the test's event loop
(``NodeFactory.start(over_loopback=True)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import uvicorn
from fastapi import FastAPI


class _Body(httpx.AsyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


@dataclass
class Network(httpx.AsyncBaseTransport):
    apps: dict[str, httpx.ASGITransport] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    black_hole: set[str] = field(default_factory=set)
    intercept: dict[str, Callable[[httpx.Request], httpx.Response | None]] = field(
        default_factory=dict
    )
    log: list[tuple[str, str, str]] = field(default_factory=list)

    def attach(self, host: str, app: FastAPI) -> None:
        self.apps[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.log.append((request.method, host, request.url.path))
        if host in self.down or host not in self.apps:
            raise httpx.ConnectError(f"{host} is down", request=request)
        if host in self.black_hole:
            await asyncio.Event().wait()  # never answers; the caller's deadline must cut it
        if host in self.intercept:
            answer = self.intercept[host](request)
            if answer is not None:
                # Answer as a socket would: a body still to be read.
                return httpx.Response(
                    answer.status_code, headers=answer.headers, stream=_Body(answer.content)
                )
        return await self.apps[host].handle_async_request(request)

    def posts_to(self, host: str) -> int:
        return sum(1 for method, h, path in self.log if h == host and method == "POST"
                   and path == "/federation/inbox")  # fmt: skip


def loopback_socket() -> socket.socket:
    """A socket listening on a free port of 127.0.0.1, bound now: nobody can take the port
    before the app is served on it, so the port can be part of a node id chosen earlier."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)  # connections wait in the backlog until uvicorn accepts them
    return sock


@contextlib.asynccontextmanager
async def serve_on(app: FastAPI, sock: socket.socket) -> AsyncIterator[None]:
    """Serve ``app`` (its lifespan already running) on ``sock`` for the block."""
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield
    finally:
        server.should_exit = True
        await task
        sock.close()
