"""The federation client connects only to addresses it has validated, and bounds every exchange.

The servers here are real sockets on 127.0.0.1. Requests aimed at any other address go
through a backend that records the address and never connects, so no test sends traffic
off the loopback interface even when the code under test is wrong.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Sequence

import httpcore
import httpx
import pytest

from federation.client import (
    AddressNotAllowed,
    AddressPinningBackend,
    DeadlineExceeded,
    PinnedTransport,
    ResponseTooLarge,
    UnexpectedContentEncoding,
    create_federation_client,
    non_public_reason,
    parse_ip_literal,
    send_with_deadline,
)
from tests.federation.loopback import (
    USER_AGENT,
    LoopbackServer,
    resolving_to,
    respond,
    running_server,
    stream_chunks,
)


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackServer]:
    async with running_server() as server:
        yield server


class NeverConnects(httpcore.AsyncNetworkBackend):
    """Records where a connection would have gone, and refuses to make it."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []

    async def connect_tcp(  # type: ignore[override]
        self, host: str, port: int, **kwargs: object
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append((host, port))
        raise httpcore.ConnectError("test backend: connection not made")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class DivertToLoopback(httpcore.AsyncNetworkBackend):
    """Records the address asked for, then connects to the loopback server instead."""

    def __init__(self, port: int) -> None:
        self.attempts: list[tuple[str, int]] = []
        self._port = port
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(  # type: ignore[override]
        self, host: str, port: int, **kwargs: object
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append((host, port))
        return await self._real.connect_tcp("127.0.0.1", self._port)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def client_over(backend: AddressPinningBackend) -> httpx.AsyncClient:
    return create_federation_client(
        allow_private=False, user_agent=USER_AGENT, transport=PinnedTransport(backend)
    )


# --- the address policy -----------------------------------------------------------------------

REFUSED_URLS = [
    ("http://127.0.0.1/", "loopback"),
    ("http://0x7f.0.0.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-in-IPv6 loopback"),
    ("http://[::ffff:10.0.0.1]/", "IPv4-in-IPv6 private"),
    ("http://169.254.169.254/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://10.0.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://[fd00::1]/", "private"),
    ("http://100.64.0.1/", "shared (100.64.0.0/10)"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://[64:ff9b::7f00:1]/", "IPv4-in-IPv6 loopback"),
    ("https://127.0.0.1:8443/", "loopback"),
]


class TestAddressPolicy:
    @pytest.mark.parametrize(("url", "address_class"), REFUSED_URLS)
    async def test_a_non_public_ip_literal_is_refused_before_any_connection(
        self, url: str, address_class: str
    ) -> None:
        inner = NeverConnects()
        resolved: list[str] = []

        async def resolver(host: str, port: int) -> Sequence[str]:
            resolved.append(host)
            return ["8.8.8.8"]

        backend = AddressPinningBackend(allow_private=False, resolver=resolver, inner=inner)
        async with client_over(backend) as client:
            with pytest.raises(AddressNotAllowed) as caught:
                await client.get(url)
        assert caught.value.address_class == address_class
        assert address_class in caught.value.message
        assert inner.attempts == []
        assert resolved == []  # an IP literal is never handed to DNS

    @pytest.mark.parametrize(
        ("host", "expected"),
        [
            ("0x7f.0.0.1", "127.0.0.1"),
            ("2130706433", "127.0.0.1"),
            ("017700000001", "127.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("[::1]", "::1"),
            ("::ffff:127.0.0.1", "::ffff:7f00:1"),
            ("ward12.example", None),
            ("deadbeef", None),
            ("1e100.net", None),
        ],
    )
    def test_ip_literals_are_read_as_getaddrinfo_would(
        self, host: str, expected: str | None
    ) -> None:
        parsed = parse_ip_literal(host)
        assert (None if parsed is None else str(parsed)) == expected

    @pytest.mark.parametrize(
        "address", ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
    )
    def test_a_public_address_has_no_reason_to_be_refused(self, address: str) -> None:
        assert non_public_reason(ipaddress.ip_address(address)) is None

    async def test_a_name_resolving_to_a_public_address_is_allowed(self) -> None:
        backend = AddressPinningBackend(
            allow_private=False,
            resolver=resolving_to("8.8.8.8", "2606:4700:4700::1111", "8.8.8.8"),
            inner=NeverConnects(),
        )
        addresses = await backend.allowed_addresses("ward12.example", 443)
        assert addresses == ["8.8.8.8", "2606:4700:4700::1111"]

    async def test_a_name_answering_one_private_address_among_public_ones_is_refused(
        self,
    ) -> None:
        backend = AddressPinningBackend(
            allow_private=False,
            resolver=resolving_to("8.8.8.8", "10.1.2.3"),
            inner=NeverConnects(),
        )
        with pytest.raises(AddressNotAllowed, match=r"10\.1\.2\.3"):
            await backend.allowed_addresses("ward12.example", 443)

    async def test_allow_private_lets_loopback_through(self) -> None:
        backend = AddressPinningBackend(
            allow_private=True, resolver=resolving_to("127.0.0.1"), inner=NeverConnects()
        )
        assert await backend.allowed_addresses("ward12.test", 80) == ["127.0.0.1"]
        assert await backend.allowed_addresses("0x7f.0.0.1", 80) == ["127.0.0.1"]


class TestPinnedConnections:
    async def test_a_name_resolving_to_loopback_is_refused_and_never_connected(
        self, loopback: LoopbackServer
    ) -> None:
        async with create_federation_client(
            allow_private=False, user_agent=USER_AGENT, resolver=resolving_to("127.0.0.1")
        ) as client:
            with pytest.raises(AddressNotAllowed) as caught:
                await client.get(f"http://ward12.example:{loopback.port}/")
        assert caught.value.host == "ward12.example"
        assert caught.value.address == "127.0.0.1"
        assert "loopback" in caught.value.message
        assert loopback.connections == 0

    async def test_a_policy_refusal_is_not_an_httpx_error(self) -> None:
        async with create_federation_client(
            allow_private=False, user_agent=USER_AGENT, resolver=resolving_to("10.0.0.1")
        ) as client:
            with pytest.raises(AddressNotAllowed) as caught:
                await client.get("http://ward12.example/")
        assert not isinstance(caught.value, httpx.HTTPError)

    async def test_a_failed_connection_is_an_httpx_connect_error(self) -> None:
        with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        async with create_federation_client(allow_private=True, user_agent=USER_AGENT) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get(f"http://127.0.0.1:{closed_port}/", timeout=1.0)
        assert not isinstance(caught.value, AddressNotAllowed)

    async def test_an_unresolvable_name_is_an_httpx_connect_error(self) -> None:
        async def fails(host: str, port: int) -> Sequence[str]:
            raise OSError("no such name")

        async with create_federation_client(
            allow_private=False, user_agent=USER_AGENT, resolver=fails
        ) as client:
            with pytest.raises(httpx.ConnectError, match="no such name"):
                await client.get("http://nowhere.example/")

    async def test_a_rebinding_name_connects_only_to_the_address_that_was_checked(
        self, loopback: LoopbackServer
    ) -> None:
        # Given a name that answers a public address first and loopback afterwards
        answers = iter(["8.8.8.8", "127.0.0.1"])

        async def rebinding(host: str, port: int) -> Sequence[str]:
            return [next(answers)]

        loopback.routes["/"] = respond(200, b"hello")
        inner = DivertToLoopback(loopback.port)
        backend = AddressPinningBackend(allow_private=False, resolver=rebinding, inner=inner)
        async with client_over(backend) as client:
            # When the first connection is made, it goes to the validated public address
            # (diverted to the loopback server by the test backend, so nothing leaves)
            first = await client.get("http://ward12.example/")
            # and the next connection, after the name rebinds to loopback, is refused
            with pytest.raises(AddressNotAllowed):
                await client.get("http://ward12.example/")
        assert first.text == "hello"
        assert inner.attempts == [("8.8.8.8", 80)]
        # The Host header still names the host, not the pinned address.
        assert [request.headers["host"] for request in loopback.requests] == ["ward12.example"]

    async def test_allow_private_reaches_a_loopback_server_through_the_pinned_transport(
        self, loopback: LoopbackServer
    ) -> None:
        loopback.routes["/ping"] = respond(200, b"pong")
        async with create_federation_client(allow_private=True, user_agent=USER_AGENT) as client:
            response = await client.get(f"{loopback.base_url}/ping")
        assert response.text == "pong"
        assert loopback.requests[0].headers["user-agent"] == USER_AGENT
        assert loopback.requests[0].headers["accept-encoding"] == "identity"

    async def test_proxy_settings_in_the_environment_do_not_bypass_pinning(
        self, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Fails if the factory ever lets httpx build its own transport (which reads proxies).
        async with running_server() as proxy:
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
                monkeypatch.setenv(name, proxy.base_url)
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            loopback.routes["/"] = respond(200, b"direct")
            async with create_federation_client(
                allow_private=True, user_agent=USER_AGENT
            ) as client:
                response = await client.get(f"{loopback.base_url}/")
        assert response.text == "direct"
        assert proxy.connections == 0


class TestRedirects:
    async def test_a_redirect_is_returned_not_followed(self, loopback: LoopbackServer) -> None:
        async with running_server() as target:
            loopback.routes["/"] = respond(302, headers=[("Location", f"{target.base_url}/")])
            async with create_federation_client(
                allow_private=True, user_agent=USER_AGENT
            ) as client:
                request = client.build_request("GET", f"{loopback.base_url}/")
                response = await send_with_deadline(client, request)
            assert response.status_code == 302
            assert target.connections == 0


class TestSendWithDeadline:
    async def test_the_whole_body_is_read_and_returned(self, loopback: LoopbackServer) -> None:
        loopback.routes["/doc"] = stream_chunks(loopback, chunk=b"x" * 1000, total=5000)
        async with create_federation_client(allow_private=True, user_agent=USER_AGENT) as client:
            request = client.build_request("GET", f"{loopback.base_url}/doc")
            response = await send_with_deadline(client, request, max_bytes=5000)
        assert response.status_code == 200
        assert response.content == b"x" * 5000
        assert response.headers["content-type"] == "application/json"

    async def test_a_streamed_body_over_the_cap_is_refused_without_reading_it_all(
        self, loopback: LoopbackServer
    ) -> None:
        total = 256 * 1024 * 1024
        loopback.routes["/huge"] = stream_chunks(loopback, chunk=b"x" * 16384, total=total)
        async with create_federation_client(allow_private=True, user_agent=USER_AGENT) as client:
            request = client.build_request("GET", f"{loopback.base_url}/huge")
            with pytest.raises(ResponseTooLarge, match="65536"):
                await send_with_deadline(client, request, max_bytes=64 * 1024)
        # The client hung up long before the end: only what socket buffers hold was sent.
        assert loopback.bytes_streamed < total // 8

    async def test_a_declared_length_over_the_cap_is_refused_before_reading(
        self, loopback: LoopbackServer
    ) -> None:
        loopback.routes["/big"] = respond(200, b"y" * 2000)
        async with create_federation_client(allow_private=True, user_agent=USER_AGENT) as client:
            request = client.build_request("GET", f"{loopback.base_url}/big")
            with pytest.raises(ResponseTooLarge, match="announced a 2000-byte body"):
                await send_with_deadline(client, request, max_bytes=1000)

    async def test_a_compressed_body_is_refused(self, loopback: LoopbackServer) -> None:
        loopback.routes["/gz"] = respond(200, b"\x1f\x8b", headers=[("Content-Encoding", "gzip")])
        async with create_federation_client(allow_private=True, user_agent=USER_AGENT) as client:
            request = client.build_request("GET", f"{loopback.base_url}/gz")
            with pytest.raises(UnexpectedContentEncoding):
                await send_with_deadline(client, request)

    async def test_a_trickling_server_is_cut_off_at_the_deadline(
        self, loopback: LoopbackServer
    ) -> None:
        # Each byte arrives well within the 10 s read timeout; only the total deadline stops it.
        loopback.routes["/slow"] = stream_chunks(loopback, chunk=b"x", total=1000, delay=0.05)
        async with create_federation_client(allow_private=True, user_agent=USER_AGENT) as client:
            request = client.build_request("GET", f"{loopback.base_url}/slow")
            started = asyncio.get_running_loop().time()
            with pytest.raises(DeadlineExceeded) as caught:
                await send_with_deadline(client, request, seconds=0.5)
            elapsed = asyncio.get_running_loop().time() - started
        assert 0.4 < elapsed < 3.0
        assert isinstance(caught.value, httpx.TimeoutException)
        assert loopback.bytes_streamed < 1000

    async def test_the_client_uses_the_protocol_timeouts(self) -> None:
        async with create_federation_client(allow_private=True, user_agent=USER_AGENT) as client:
            assert client.timeout == httpx.Timeout(10.0, connect=5.0)
            assert client.follow_redirects is False
            assert client.headers["user-agent"] == USER_AGENT
