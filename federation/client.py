"""The one outbound HTTP client factory of federation, and the address policy it enforces.

Every request a node sends another node (deliveries, node-document fetches, object fetches)
goes through a client made by :func:`create_federation_client`, one client per kind of work,
each with its own pool (``federation.runtime``): HTTP/1.1, keep-alive pooling, 5 s to
connect, 10 s per read or write, redirects never followed, proxies from the environment
ignored, ``Accept-Encoding: identity``. :func:`send_with_deadline` adds what httpx
timeouts cannot: one deadline for the whole exchange and a cap on the body, read streamed.

Where a connection goes (the SSRF defence)::

    URL host
      |-- an IP literal in any form inet_aton accepts (127.0.0.1, 0x7f.0.0.1, 2130706433,
      |   017700000001, 127.1, [::1], [::ffff:127.0.0.1]) -> that address, never resolved
      '-- a name -> resolved ONCE by the resolver (default: the event loop's getaddrinfo)
    every address private, loopback, link-local, multicast, reserved, unspecified, shared
    (100.64/10) or an IPv4 address embedded in IPv6 that is one of those?
      yes, and the node does not allow private peers -> AddressNotAllowed, nothing connected
      no  -> connect to exactly those validated addresses, in order
    https: TLS SNI and certificate verification use the URL's host name (httpcore passes it
    to ``start_tls`` itself); the Host header is the URL's host as usual.

Because the socket is opened to the address that was checked, a DNS answer that changes
between the check and the connection (DNS rebinding) cannot reach anything else.

How a caller tells the failures apart::

    AddressNotAllowed (FederationError, 400)  refused by policy; raised before any connection
                                              and NOT an httpx error: it passes through httpx
                                              unchanged, so ``except httpx.HTTPError`` does
                                              not swallow it. Retrying will not help.
    httpx.ConnectError / ConnectTimeout       the host could not be resolved or reached
    DeadlineExceeded (FederationError and     the whole exchange took longer than its deadline;
      httpx.TimeoutException, 504)            caught by ``except httpx.TransportError`` too
    ResponseTooLarge (FederationError, 502)   the body is larger than the caller's cap
    UnexpectedContentEncoding (502)           the peer compressed a body we asked to be plain
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import cache

import httpcore
import httpx

from federation.errors import FederationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves ``(host, port)`` to IP address strings; raises ``OSError`` when it cannot."""

FEDERATION_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
FEDERATION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
DEFAULT_DEADLINE = 10.0
DEFAULT_MAX_BYTES = 64 * 1024

_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_LITERAL_CHARS = frozenset("0123456789abcdefxABCDEFX.")


class AddressNotAllowed(FederationError):
    """The URL's host is, or resolves to, an address peers may not be reached at.

    Raised before any connection is made. ``host`` is the host as written in the URL,
    ``address`` the offending IP address and ``address_class`` why it is refused.
    """

    status_code = 400
    code = "address_not_allowed"
    default_message = "The peer's address is not a public internet address."

    def __init__(self, *, host: str, address: str, address_class: str) -> None:
        self.host = host
        self.address = address
        self.address_class = address_class
        super().__init__(
            f"Refusing to connect to {host!r}: it resolves to {address}, a {address_class} "
            "address. Peers must be on public addresses, unless the node is configured for "
            "local development (ALLOW_PRIVATE_PEERS)."
        )


class DeadlineExceeded(FederationError, httpx.TimeoutException):
    """The exchange with a peer did not finish within its total deadline.

    Also an ``httpx.TimeoutException``, so code that treats transport failures as
    transient handles it the same way.
    """

    status_code = 504
    code = "deadline_exceeded"
    default_message = "The peer did not answer in time."


class ResponseTooLarge(FederationError):
    """The peer's response body is larger than the caller accepts."""

    status_code = 502
    code = "response_too_large"
    default_message = "The peer's response is too large."


class UnexpectedContentEncoding(FederationError):
    """The peer compressed its response although we asked for ``identity``.

    Refused rather than decoded: a small compressed body can expand far past any cap.
    """

    status_code = 502
    code = "unexpected_content_encoding"
    default_message = "The peer sent a compressed response; federation responses are plain."


def parse_ip_literal(host: str) -> IPAddress | None:
    """The IP address a URL host denotes by itself, or ``None`` when it is a name.

    Recognises every IPv4 form the C library's ``inet_aton`` accepts, which is what
    ``getaddrinfo`` would connect to: dotted quads, hexadecimal and octal parts, and
    shortened forms (``0x7f.0.0.1``, ``2130706433``, ``017700000001``, ``127.1``), and IPv6
    with or without brackets (``[::1]``, ``::ffff:127.0.0.1``, zone ids included).
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if not bare or not set(bare) <= _IPV4_LITERAL_CHARS:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


def non_public_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet address, or ``None`` when it is one.

    The answer names the address class (``loopback``, ``private``, ``link-local``,
    ``shared (100.64.0.0/10)``, ...). An IPv4 address carried inside IPv6 (mapped,
    NAT64, 6to4, Teredo) is judged as the IPv4 address it carries.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = non_public_reason(embedded)
            return None if reason is None else f"IPv4-in-IPv6 {reason}"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE:
        return "shared (100.64.0.0/10)"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non-global"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the event loop's ``getaddrinfo``: the default :data:`Resolver`."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class AddressPinningBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses it has just validated.

    ``connect_tcp`` resolves the host once, refuses it (:class:`AddressNotAllowed`) if any
    address is not public (unless ``allow_private``), then asks ``inner`` (default:
    httpcore's anyio backend, what httpx uses under asyncio) to connect to exactly those IP
    addresses. Resolution failures become ``httpcore.ConnectError`` / ``ConnectTimeout``,
    which httpx reports as ``httpx.ConnectError`` / ``httpx.ConnectTimeout``.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def allowed_addresses(self, host: str, port: int) -> list[str]:
        """The addresses a connection to ``host`` may use, resolved once and validated.

        Raises :class:`AddressNotAllowed` when any of them is refused: a name that answers
        both public and private addresses is not trusted with either.
        """
        literal = parse_ip_literal(host)
        addresses = [literal] if literal is not None else await self._resolve(host, port)
        if not self._allow_private:
            for address in addresses:
                reason = non_public_reason(address)
                if reason is not None:
                    raise AddressNotAllowed(host=host, address=str(address), address_class=reason)
        return list(dict.fromkeys(str(address) for address in addresses))

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            answers = await self._resolver(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
        addresses: list[IPAddress] = []
        for answer in answers:
            try:
                addresses.append(ipaddress.ip_address(answer))
            except ValueError as exc:
                raise httpcore.ConnectError(f"{host!r} resolved to {answer!r}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host!r} resolved to no address")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first validated address of ``host`` that accepts the connection."""
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.allowed_addresses(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
        last_error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"{host!r} has no address to connect to")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's signature
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Refused: peers are reached over TCP only."""
        raise httpcore.ConnectError("federation connects to peers over TCP only")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the inner backend does (httpcore uses it between connection retries)."""
        await self._inner.sleep(seconds)


@cache
def tls_context() -> ssl.SSLContext:
    """The TLS context (certifi's CA bundle) every outbound client of this process shares.

    Loading the bundle takes tens of milliseconds of CPU each time; a context can serve any
    number of connections and clients, so it is made once, on first use."""
    return httpx.create_ssl_context(trust_env=False)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, HTTP/1.1 only, whose connections go through ``backend``.

    httpx does not take a network backend, so the connection pool is rebuilt with one; the
    rest (request and response mapping, error translation) is httpx's.
    """

    def __init__(
        self, backend: httpcore.AsyncNetworkBackend, *, limits: httpx.Limits = FEDERATION_LIMITS
    ) -> None:
        super().__init__(
            verify=tls_context(),
            trust_env=False,
            http1=True,
            http2=False,
            limits=limits,
            retries=0,
        )
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )


def create_federation_client(
    *,
    allow_private: bool,
    user_agent: str,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
    limits: httpx.Limits = FEDERATION_LIMITS,
) -> httpx.AsyncClient:
    """An HTTP client for federation requests, with its own connection pool.

    ``allow_private`` lets peers on private and loopback addresses be reached (local
    development and tests only: ``ALLOW_PRIVATE_PEERS``). ``user_agent`` is the full
    ``User-Agent`` value, ``ipo-node/<version>``. ``transport`` replaces the address-pinning
    transport entirely (tests route requests to in-process apps with it); ``resolver``
    replaces DNS resolution for the pinning transport. ``limits`` sizes the pool: work that
    must never wait for another's connections gets a client of its own (see
    ``federation.runtime``). Close the client when done.
    """
    if transport is None:
        backend = AddressPinningBackend(
            allow_private=allow_private, resolver=resolver or system_resolver
        )
        transport = PinnedTransport(backend, limits=limits)
    return httpx.AsyncClient(
        transport=transport,
        timeout=FEDERATION_TIMEOUT,
        follow_redirects=False,
        # Proxies from the environment would bypass address pinning. httpx already ignores
        # them when it is given a transport; this keeps it so if that ever changes.
        trust_env=False,
        headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
    )


async def send_with_deadline(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    seconds: float = DEFAULT_DEADLINE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    auth: httpx.Auth | None = None,
) -> httpx.Response:
    """Send ``request`` and read its whole response within ``seconds``, at most ``max_bytes``.

    Redirects are never followed: a 3xx is returned as it is. The body is read streamed and
    refused (:class:`ResponseTooLarge`) as soon as it passes ``max_bytes``, or at once when
    ``Content-Length`` already says so; no more than the cap is ever held. ``auth`` signs
    the request (``SignatureAuth(key)``). Raises :class:`DeadlineExceeded` when time runs
    out, :class:`UnexpectedContentEncoding` for a compressed body, and lets
    :class:`AddressNotAllowed` and ``httpx.TransportError`` through unchanged.
    """
    try:
        async with asyncio.timeout(seconds):
            response = await client.send(request, auth=auth, stream=True, follow_redirects=False)
            try:
                body = await _read_capped(response, max_bytes)
            finally:
                await response.aclose()
    except TimeoutError as exc:
        raise DeadlineExceeded(
            f"{request.method} {request.url} did not complete within {seconds:g} s."
        ) from exc
    headers = response.headers.copy()
    # The body below is complete; the framing of the original message no longer applies.
    headers.pop("transfer-encoding", None)
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=request,
        extensions={"http_version": response.http_version.encode("ascii")},
    )


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    where = f"{response.request.method} {response.request.url}"
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise UnexpectedContentEncoding(
            f"{where} answered with Content-Encoding {encoding!r} although federation asks "
            "for identity."
        )
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(
            f"{where} announced a {declared}-byte body; the limit is {max_bytes} bytes."
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLarge(f"{where} sent more than the {max_bytes}-byte limit.")
        chunks.append(chunk)
    return b"".join(chunks)
