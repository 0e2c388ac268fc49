"""Slow clients against a real ``ipo-node serve``: connections that send their headers or body
too slowly are closed, and the node keeps answering everyone else.

The node runs with a 1 s header and body timeout (``IPO_HTTP_*``); each slow client sends its
request a piece at a time for far longer than that and checks, between pieces, whether the
server has closed the connection. The only claim about time is that the server closed it
before the client was done.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.conftest import NodeMaker
from tests.e2e.realnode import RealNode, init_nodes

pytestmark = pytest.mark.e2e

TIMEOUT_ENV = {"IPO_HTTP_HEADER_TIMEOUT_SECONDS": "1", "IPO_HTTP_BODY_TIMEOUT_SECONDS": "1"}
PIECES = 200  # sent 0.1 s apart: 20 s for a client to finish, against a 1 s timeout
PAUSE = 0.1
DEADLINE = 60.0


@pytest.fixture(scope="module")
def node(module_nodes: NodeMaker) -> RealNode:
    ward33 = module_nodes("33rd Ward Working Families", "ward33-slow", 33)
    init_nodes([ward33])
    ward33.serve(**TIMEOUT_ENV)
    return ward33


@dataclass
class SlowClient:
    sock: socket.socket
    closed_by_server: bool = False

    def closed(self, *, wait: float = 0.0) -> bool:
        """Whether the server has closed the connection (waiting up to ``wait`` seconds)."""
        if self.closed_by_server:
            return True
        readable, _, _ = select.select([self.sock], [], [], wait)
        if readable:
            try:
                # Peek: an answer stays for read_status; only an end of stream means closed.
                self.closed_by_server = self.sock.recv(1, socket.MSG_PEEK) == b""
            except ConnectionError:
                self.closed_by_server = True
        return self.closed_by_server

    def send(self, data: bytes) -> bool:
        """Send ``data``; False once the server has closed the connection."""
        if self.closed():
            return False
        try:
            self.sock.sendall(data)
        except ConnectionError:
            self.closed_by_server = True
            return False
        return True

    def drip(self, pieces: list[bytes]) -> int:
        """Send the pieces ``PAUSE`` apart, watching for the close; how many went out."""
        for sent, piece in enumerate(pieces):
            if not self.send(piece) or self.closed(wait=PAUSE):
                return sent
        return len(pieces)


@contextlib.contextmanager
def slow_clients(node: RealNode, count: int) -> Iterator[list[SlowClient]]:
    clients = [SlowClient(socket.create_connection(("127.0.0.1", node.port))) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            client.sock.close()


def slow_headers() -> list[bytes]:
    return [b"GET /healthz HTTP/1.1\r\nHost: node\r\n"] + [
        b"X-Slow-%d: drip\r\n" % n for n in range(PIECES)
    ]


def slow_body() -> list[bytes]:
    head = (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: node\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % PIECES
    )
    return [head] + [b" "] * PIECES


def until_all_closed(clients: list[SlowClient]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not all(client.closed(wait=PAUSE) for client in clients):
        assert time.monotonic() < deadline, "slow connections still open"


class TestSlowClientsAreCutOff:
    def test_headers_sent_a_line_at_a_time(self, node: RealNode) -> None:
        with slow_clients(node, 1) as [client]:
            pieces = slow_headers()
            assert client.drip(pieces) < len(pieces)
            assert client.closed()

    def test_a_body_sent_a_byte_at_a_time(self, node: RealNode) -> None:
        with slow_clients(node, 1) as [client]:
            pieces = slow_body()
            sent = client.drip(pieces)
            assert 1 <= sent < len(pieces)  # the headers went through, the body did not
            assert client.closed()

    def test_a_connection_that_never_sends_anything(self, node: RealNode) -> None:
        with slow_clients(node, 1) as clients:
            until_all_closed(clients)

    def test_a_hundred_at_once_while_the_node_keeps_answering(self, node: RealNode) -> None:
        with slow_clients(node, 100) as clients:
            for n, client in enumerate(clients):
                client.send(slow_headers()[0] if n % 2 else slow_body()[0])
            assert httpx.get(f"{node.url}/healthz", timeout=30).status_code == 200
            until_all_closed(clients)
        assert httpx.get(f"{node.url}/healthz", timeout=30).status_code == 200


class TestClientsAtAnOrdinarySpeed:
    def test_a_body_that_keeps_coming_is_read_to_the_end(self, node: RealNode) -> None:
        # 40 kB at about 40 kB/s: longer than the 1 s timeout, well above the minimum rate
        body = b" " * 40_000 + b'{"email": "nobody@ward33.example", "password": "x"}'
        head = (
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: node\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        pieces = [head] + [body[i : i + 4000] for i in range(0, len(body), 4000)]
        with slow_clients(node, 1) as [client]:
            assert client.drip(pieces) == len(pieces)
            status = read_status(client)
        assert status == 401  # read whole and answered: wrong email or password

    def test_a_kept_alive_connection_gets_a_new_deadline_for_each_request(
        self, node: RealNode
    ) -> None:
        with slow_clients(node, 1) as [client]:
            assert client.send(b"GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n")
            assert read_status(client) == 200
            pieces = slow_headers()
            assert client.drip(pieces) < len(pieces)


def read_status(client: SlowClient) -> int:
    """The status of the answer on ``client``'s connection, and its whole body read."""
    received = b""
    deadline = time.monotonic() + DEADLINE
    while b"\r\n\r\n" not in received:
        assert time.monotonic() < deadline, f"no answer: {received!r}"
        more = client.sock.recv(65536)
        assert more, f"closed without an answer: {received!r}"
        received += more
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
    )
    while len(body) < length:
        assert time.monotonic() < deadline, "answer cut short"
        body += client.sock.recv(65536)
    return int(lines[0].split()[1])
