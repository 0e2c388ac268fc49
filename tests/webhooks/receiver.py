"""A partner's webhook receiver: a real HTTP server on a loopback port, and its own check.

The check is written here from the Standard Webhooks specification, independently of the
``standardwebhooks`` package the node signs with: the secret is the base64 after ``whsec_``;
the signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the signature header holds
space-separated ``v1,<base64 HMAC-SHA256>`` entries, compared in constant time; the timestamp
must be within five minutes of now. A request that fails the check is answered 401 and kept
with ``verified=False``, so a test sees it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TOLERANCE_SECONDS = 5 * 60


class SignatureRejected(Exception):
    pass


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float) -> None:
    """Raise ``SignatureRejected`` unless ``body`` and ``headers`` carry a valid signature."""
    try:
        message_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        signatures = headers["webhook-signature"]
    except KeyError as exc:
        raise SignatureRejected(f"missing header {exc}") from None
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureRejected(f"timestamp {timestamp!r} is not within five minutes")
    if not secret.startswith("whsec_"):
        raise SignatureRejected("the secret is not a whsec_ secret")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for entry in signatures.split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return
    raise SignatureRejected("no v1 signature matches")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int

    @property
    def message(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Records every request; answers ``fail_status`` to the next ``fail_next`` of them."""

    base_url: str = ""
    secrets: dict[str, str] = field(default_factory=dict)  # path -> whsec_ secret
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500
    fail_headers: dict[str, str] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set by every request

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def at(self, path: str) -> list[Received]:
        return [item for item in self.received if item.path == path]

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        path = request.url.path
        try:
            verify(self.secrets.get(path, ""), headers, body, now=time.time())
            verified = True
        except SignatureRejected:
            verified = False
        status = 204 if verified else 401
        answer_headers: dict[str, str] = {}
        if verified and self.fail_next > 0:
            self.fail_next -= 1
            status, answer_headers = self.fail_status, self.fail_headers
        self.received.append(Received(path, headers, body, verified, status))
        self.arrived.set()
        return Response(status_code=status, headers=answer_headers)


@asynccontextmanager
async def serve_receiver() -> AsyncIterator[Receiver]:
    """A receiver on 127.0.0.1, listening before this yields (its socket is bound here)."""
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections wait in the backlog until uvicorn accepts them
    receiver.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()
