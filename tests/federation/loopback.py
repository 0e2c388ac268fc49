"""A raw HTTP/1.1 server on 127.0.0.1 for federation tests, silent origins, and a fake DNS
resolver.

Shared by the client, discovery and offer tests: real sockets, loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

USER_AGENT = "ipo-node/0.1.0-test"

# --- a raw HTTP/1.1 server on 127.0.0.1 ------------------------------------------------------

Route = Callable[[asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True)
class Received:
    """One request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]


@dataclass
class LoopbackServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 that records what reaches it.

    ``routes`` maps a request target to a coroutine writing the whole response; the server
    closes the connection after each response.
    """

    routes: dict[str, Route] = field(default_factory=dict)
    connections: int = 0
    requests: list[Received] = field(default_factory=list)
    bytes_streamed: int = 0
    port: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            request_line = await reader.readline()
            if not request_line:
                return
            method, target, _ = request_line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            self.requests.append(Received(method, target, headers))
            await self.routes.get(target, respond(404, b"not here"))(writer)
            await writer.drain()
        except ConnectionError:
            pass  # the client hung up, which several tests make it do on purpose
        finally:
            writer.close()
            self._tasks.discard(task)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def respond(
    status: int,
    body: bytes = b"",
    *,
    content_type: str = "text/plain",
    headers: Iterable[tuple[str, str]] = (),
) -> Route:
    """A route answering one complete response."""

    async def route(writer: asyncio.StreamWriter) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}"]
        lines += [f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    return route


def stream_chunks(server: LoopbackServer, *, chunk: bytes, total: int, delay: float = 0.0) -> Route:
    """A route streaming ``total`` bytes, chunked, without Content-Length; counts what it sent."""

    async def route(writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        while server.bytes_streamed < total:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            server.bytes_streamed += len(chunk)
            if delay:
                await asyncio.sleep(delay)
        writer.write(b"0\r\n\r\n")

    return route


@contextlib.asynccontextmanager
async def running_server() -> AsyncIterator[LoopbackServer]:
    """A :class:`LoopbackServer` listening on a free port of 127.0.0.1 for the block."""
    server = LoopbackServer()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await server.aclose()
        await listener.wait_closed()


# --- origins that accept TCP and never answer ------------------------------------------------


@dataclass
class SilentOrigins:
    """Listeners on 127.0.0.1, one per origin, that accept every connection, read what comes,
    and never answer a byte, until ``hang_up``. ``open`` counts connections still held."""

    origins: list[str] = field(default_factory=list)
    accepted: int = 0
    open: int = 0
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self._writers.add(writer)
        try:
            while await reader.read(65536):
                pass  # the request arrives; no answer ever leaves
        except ConnectionError:
            pass
        finally:
            self.open -= 1
            self._writers.discard(writer)
            writer.close()

    def hang_up(self) -> None:
        """Close every held connection: the clients see the server disconnect, unanswered."""
        for writer in list(self._writers):
            writer.close()


@contextlib.asynccontextmanager
async def silent_origins(count: int) -> AsyncIterator[SilentOrigins]:
    """``count`` silent origins (``http://127.0.0.1:<port>``, each its own port) for the block."""
    silent = SilentOrigins()
    listeners = []
    try:
        for _ in range(count):
            listener = await asyncio.start_server(silent.handle, "127.0.0.1", 0)
            listeners.append(listener)
            silent.origins.append(f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}")
        yield silent
    finally:
        silent.hang_up()
        for listener in listeners:
            listener.close()
        for listener in listeners:
            await listener.wait_closed()


def resolving_to(*answers: str) -> Callable[[str, int], Awaitable[Sequence[str]]]:
    """A resolver that answers every name with ``answers``."""

    async def resolve(host: str, port: int) -> Sequence[str]:
        return answers

    return resolve
