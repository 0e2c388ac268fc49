"""A node document is accepted only from its own base URL, as JSON, small, valid and self-named.

Every server is a real socket on 127.0.0.1 (see ``test_client.LoopbackServer``); names like
``ward12.example`` are resolved to it by an injected resolver, with private peers allowed.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from federation.client import AddressNotAllowed, create_federation_client
from federation.discovery import (
    DiscoveryFailed,
    DiscoveryRedirected,
    DocumentTooLarge,
    InvalidNodeDocument,
    InvalidNodeUrl,
    NodeIdMismatch,
    NodeUnreachable,
    UnexpectedStatus,
    WrongContentType,
    fetch_node_document,
    is_node_id_for,
    node_document_url,
)
from federation.keys import generate_key
from federation.signing import MemoryReplayCache, SignatureAuth, verify_request
from tests.federation.loopback import (
    USER_AGENT,
    LoopbackServer,
    resolving_to,
    respond,
    running_server,
    stream_chunks,
)

WELL_KNOWN = "/.well-known/coalition-node"
KEY = generate_key()


def node_document(node_id: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": node_id,
        "name": "12th Ward Independent Political Organization",
        "kind": "ipo",
        "wards": [12],
        "inbox": node_id.rstrip("/") + "/federation/inbox",
        "keys": {"keys": [KEY.public_jwk()]},
        "protocol": "1",
        "software": {"name": "ipo-node", "version": "0.1.0"},
    }
    document.update(changes)
    return document


def serve_document(document: dict[str, Any], content_type: str = "application/json") -> Any:
    return respond(200, json.dumps(document).encode(), content_type=content_type)


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    async with running_server() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with create_federation_client(
        allow_private=True, user_agent=USER_AGENT, resolver=resolving_to("127.0.0.1")
    ) as federation_client:
        yield federation_client


class TestNodeDocumentUrl:
    @pytest.mark.parametrize(
        ("base_url", "expected"),
        [
            ("https://ward12.example", "https://ward12.example/.well-known/coalition-node"),
            ("https://ward12.example/", "https://ward12.example/.well-known/coalition-node"),
        ],
    )
    def test_the_document_lives_under_the_base_url(self, base_url: str, expected: str) -> None:
        assert node_document_url(base_url) == expected

    @pytest.mark.parametrize(
        "base_url",
        [
            "ftp://ward12.example",
            "ward12.example",
            "https://",
            "https://admin@ward12.example",
            "https://ward12.example/ipo",  # a node is an origin, never under a path
            "https://ward12.example/ipo/",
            "https://ward12.example/?page=1",
            "https://ward12.example/#top",
            "https://ward12.example\\@evil.test",
            "http://0177.0.0.1:8000",  # octal: 127.0.0.1 to some parsers, a name to others
            "http://0x7f.0.0.1",
            "http://127.1",
            "http://2130706433",
        ],
    )
    async def test_anything_but_a_base_url_is_refused_before_any_request(
        self, base_url: str, client: httpx.AsyncClient
    ) -> None:
        with pytest.raises(InvalidNodeUrl):
            node_document_url(base_url)
        with pytest.raises(InvalidNodeUrl) as caught:
            await fetch_node_document(client, base_url)
        assert caught.value.status_code == 400


class TestNodeIdComparison:
    @pytest.mark.parametrize(
        ("document_id", "expected"),
        [
            ("https://ward12.example", True),
            ("https://Ward12.example.", True),
            ("https://ward12.example:443/", True),
            ("https://ward12.example.evil.test", False),
            ("https://evil.test", False),
            ("http://ward12.example", False),
            ("https://ward12.example:8443", False),
        ],
    )
    def test_ids_are_compared_by_parsed_origin_never_by_prefix(
        self, document_id: str, expected: bool
    ) -> None:
        assert is_node_id_for(document_id, "https://ward12.example") is expected


class TestAcceptedDocument:
    async def test_a_node_serving_its_own_document_is_discovered(
        self, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        server.routes[WELL_KNOWN] = serve_document(node_document(server.base_url))

        document = await fetch_node_document(client, server.base_url + "/")

        assert document.id == server.base_url
        assert document.keys.keys[0].kid == KEY.kid
        (request,) = server.requests
        assert request.method == "GET"
        assert request.headers["accept"] == "application/json"
        assert "signature" not in request.headers

    @pytest.mark.parametrize(
        "claimed_id",
        ["http://WARD12.example.:{port}", "http://ward12.example:{port}"],
    )
    async def test_the_id_is_compared_after_host_normalisation(
        self, claimed_id: str, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        node_id = claimed_id.format(port=server.port)
        server.routes[WELL_KNOWN] = serve_document(
            node_document(node_id), content_type="application/json; charset=utf-8"
        )
        document = await fetch_node_document(client, f"http://ward12.example:{server.port}")
        assert document.id == node_id

    async def test_a_signed_fetch_carries_a_signature_the_peer_can_verify(
        self, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        server.routes[WELL_KNOWN] = serve_document(node_document(server.base_url))

        await fetch_node_document(client, server.base_url, auth=SignatureAuth(KEY))

        (request,) = server.requests
        assert {"signature", "signature-input"} <= request.headers.keys()
        verdict = verify_request(
            method=request.method,
            url=server.base_url + request.target,
            headers=request.headers,
            body=b"",
            resolve_key={KEY.kid: KEY.private_key.public_key()}.get,
            replay_cache=MemoryReplayCache(),
        )
        assert verdict.keyid == KEY.kid


class TestRefusedDocument:
    async def test_a_redirect_is_refused_and_not_followed(
        self, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        async with running_server() as elsewhere:
            elsewhere.routes[WELL_KNOWN] = serve_document(node_document(elsewhere.base_url))
            server.routes[WELL_KNOWN] = respond(
                301, headers=[("Location", elsewhere.base_url + WELL_KNOWN)]
            )
            with pytest.raises(DiscoveryRedirected, match=re.escape(elsewhere.base_url)):
                await fetch_node_document(client, server.base_url)
            assert elsewhere.connections == 0

    @pytest.mark.parametrize("status", [401, 404, 500])
    async def test_a_status_other_than_2xx_is_refused(
        self, status: int, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        # Even with a valid document in the body: an error page is not a node document.
        server.routes[WELL_KNOWN] = respond(
            status,
            json.dumps(node_document(server.base_url)).encode(),
            content_type="application/json",
        )
        with pytest.raises(UnexpectedStatus, match=str(status)) as caught:
            await fetch_node_document(client, server.base_url)
        assert isinstance(caught.value, DiscoveryFailed)

    @pytest.mark.parametrize(
        "content_type", ["text/html", "application/activity+json", "application/jsonp", ""]
    )
    async def test_a_document_not_served_as_json_is_refused(
        self, content_type: str, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        server.routes[WELL_KNOWN] = serve_document(node_document(server.base_url), content_type)
        with pytest.raises(WrongContentType):
            await fetch_node_document(client, server.base_url)

    async def test_a_huge_document_is_refused_without_reading_it_all(
        self, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        total = 256 * 1024 * 1024
        server.routes[WELL_KNOWN] = stream_chunks(server, chunk=b" " * 16384, total=total)
        with pytest.raises(DocumentTooLarge, match="65536 bytes"):
            await fetch_node_document(client, server.base_url)
        assert server.bytes_streamed < total // 8

    async def test_invalid_json_is_refused(
        self, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        server.routes[WELL_KNOWN] = respond(
            200, b'{"id": "http://127.0.0.1"', content_type="application/json"
        )
        with pytest.raises(InvalidNodeDocument, match="not valid JSON"):
            await fetch_node_document(client, server.base_url)

    async def test_a_document_failing_the_schema_is_refused(
        self, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        server.routes[WELL_KNOWN] = serve_document(
            node_document(server.base_url, kind="party", keys={"keys": []})
        )
        with pytest.raises(InvalidNodeDocument, match="kind"):
            await fetch_node_document(client, server.base_url)

    @pytest.mark.parametrize(
        "claimed_id",
        [
            "http://ward12.example.evil.test:{port}",
            "http://evil.test:{port}",
            "http://ward13.example:{port}",
            "https://ward12.example:{port}",
            "http://ward12.example:{other_port}",
        ],
    )
    async def test_a_document_naming_another_node_is_refused(
        self, claimed_id: str, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        node_id = claimed_id.format(port=server.port, other_port=server.port + 1)
        server.routes[WELL_KNOWN] = serve_document(node_document(node_id))
        with pytest.raises(NodeIdMismatch, match="says it is"):
            await fetch_node_document(client, f"http://ward12.example:{server.port}")

    @pytest.mark.parametrize("path", ["/ward12", "/"])
    async def test_a_document_whose_id_has_a_path_is_refused(
        self, path: str, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        # A node id is an origin: one node per origin, so none can author under another's path
        server.routes[WELL_KNOWN] = serve_document(node_document(server.base_url + path))
        with pytest.raises(InvalidNodeDocument, match="id"):
            await fetch_node_document(client, server.base_url)


class TestUnreachableNode:
    async def test_a_closed_port_is_reported_as_unreachable(
        self, client: httpx.AsyncClient
    ) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        with pytest.raises(NodeUnreachable, match="could not be reached") as caught:
            await fetch_node_document(client, f"http://127.0.0.1:{closed_port}")
        assert isinstance(caught.value.__cause__, httpx.ConnectError)

    async def test_a_node_that_does_not_answer_in_time_is_unreachable(
        self, server: LoopbackServer, client: httpx.AsyncClient
    ) -> None:
        async def never_answers(writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(30)

        server.routes[WELL_KNOWN] = never_answers
        started = asyncio.get_running_loop().time()
        with pytest.raises(NodeUnreachable, match=r"within 0\.3 s"):
            await fetch_node_document(client, server.base_url, deadline=0.3)
        assert asyncio.get_running_loop().time() - started < 3.0

    async def test_a_private_address_is_refused_by_policy_without_connecting(
        self, server: LoopbackServer
    ) -> None:
        server.routes[WELL_KNOWN] = serve_document(node_document(server.base_url))
        async with create_federation_client(
            allow_private=False, user_agent=USER_AGENT
        ) as strict_client:
            with pytest.raises(AddressNotAllowed, match="loopback"):
                await fetch_node_document(strict_client, server.base_url)
        assert server.connections == 0
