"""Fetching a node document: who is at a base URL, and with which keys.

A node's id is its base URL, and its node document is served at
``{base URL}/.well-known/coalition-node``. A fetch is accepted only when every step holds,
checked in this order::

    base URL is http(s), has a host, no user info, query or fragment   no -> InvalidNodeUrl
    (trailing slash removed)
    address policy (federation.client)                                 no -> AddressNotAllowed
    connected and answered within the deadline                         no -> NodeUnreachable
    status 2xx (a 3xx is never followed)                    3xx -> DiscoveryRedirected
                                                            other -> UnexpectedStatus
    Content-Type application/json (parameters allowed)                 no -> WrongContentType
    body within the cap                                                no -> DocumentTooLarge
    valid JSON, valid NodeDocument                                     no -> InvalidNodeDocument
    document id has the requested origin                               no -> NodeIdMismatch

Every refusal except :class:`~federation.client.AddressNotAllowed` is a
:class:`DiscoveryFailed`, whose message tells an admin what the other node got wrong.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from federation.client import (
    DEFAULT_DEADLINE,
    DeadlineExceeded,
    ResponseTooLarge,
    UnexpectedContentEncoding,
    send_with_deadline,
)
from federation.errors import FederationError
from schemas.node_document import NodeDocument
from schemas.origin import origin_of, same_origin

NODE_DOCUMENT_PATH = "/.well-known/coalition-node"
NODE_DOCUMENT_MAX_BYTES = 64 * 1024


class DiscoveryFailed(FederationError):
    """The node document at a base URL could not be fetched or is not acceptable."""

    status_code = 502
    code = "discovery_failed"
    default_message = "The other node's document could not be fetched."


class InvalidNodeUrl(DiscoveryFailed):
    """The base URL given is not a node id: not http(s), no host, or extra parts."""

    status_code = 400
    code = "invalid_node_url"
    default_message = "That is not a node's base URL."


class NodeUnreachable(DiscoveryFailed):
    """The node could not be resolved, connected to, or did not answer in time."""

    code = "node_unreachable"
    default_message = "The other node could not be reached."


class DiscoveryRedirected(DiscoveryFailed):
    """The node answered with a redirect; node documents are never fetched through one."""

    code = "discovery_redirected"
    default_message = "The other node redirected its document; redirects are not followed."


class UnexpectedStatus(DiscoveryFailed):
    """The node answered with a status other than 2xx."""

    code = "unexpected_status"
    default_message = "The other node refused to serve its document."


class WrongContentType(DiscoveryFailed):
    """The document was not served as ``application/json``."""

    code = "wrong_content_type"
    default_message = "The other node's document is not served as application/json."


class DocumentTooLarge(DiscoveryFailed):
    """The document is larger than the cap."""

    code = "document_too_large"
    default_message = "The other node's document is too large."


class InvalidNodeDocument(DiscoveryFailed):
    """The body is not JSON, or not a valid node document."""

    code = "invalid_node_document"
    default_message = "The other node's document is not a valid node document."


class NodeIdMismatch(DiscoveryFailed):
    """The document's ``id`` is not the base URL it was fetched from."""

    code = "node_id_mismatch"
    default_message = "The other node's document claims to be another node."


def normalise_base_url(base_url: str) -> str:
    """``base_url`` as a node id: checked, with any trailing slash removed.

    It must be an ``http`` or ``https`` URL with a host and no user information, query or
    fragment; otherwise :class:`InvalidNodeUrl`. The host is kept as written: comparisons go
    through :func:`schemas.origin.same_origin`.
    """
    stripped = base_url.strip()
    try:
        origin_of(stripped)
    except ValueError as exc:
        raise InvalidNodeUrl(f"{base_url!r} is not a node's base URL: {exc}.") from exc
    if "?" in stripped or "#" in stripped:
        raise InvalidNodeUrl(
            f"{base_url!r} is not a node's base URL: it must not carry a query or fragment."
        )
    stripped = stripped.removesuffix("/")
    if urlsplit(stripped).path:
        raise InvalidNodeUrl(
            f"{base_url!r} is not a node's base URL: a node is at the root of its own host "
            "(for example https://33wf.example), never under a path."
        )
    return stripped


def node_document_url(base_url: str) -> str:
    """Where the node with this base URL serves its node document."""
    return normalise_base_url(base_url) + NODE_DOCUMENT_PATH


def is_node_id_for(document_id: str, base_url: str) -> bool:
    """Whether ``document_id`` names the node at ``base_url``.

    True when both have the same origin (after host normalisation: case, trailing dot,
    IDNA, default port); node ids have no path. Never a prefix match:
    ``https://ward12.example.evil.test`` does not name ``https://ward12.example``.
    """
    return same_origin(document_id, base_url)


async def fetch_node_document(
    client: httpx.AsyncClient,
    base_url: str,
    *,
    auth: httpx.Auth | None = None,
    max_bytes: int = NODE_DOCUMENT_MAX_BYTES,
    deadline: float = DEFAULT_DEADLINE,
) -> NodeDocument:
    """Fetch and check the node document of the node at ``base_url``.

    ``client`` is the federation client (:func:`federation.client.create_federation_client`).
    The request is ``GET {base_url}/.well-known/coalition-node`` with
    ``Accept: application/json``, signed when ``auth`` is given, completed within
    ``deadline`` seconds. The document is returned only if it passes every check in this
    module's docstring, so its ``id`` is the node id to store for the peer.

    Raises a :class:`DiscoveryFailed` subclass naming what is wrong, or
    :class:`~federation.client.AddressNotAllowed` when the address policy refuses the host.
    """
    base = normalise_base_url(base_url)
    url = base + NODE_DOCUMENT_PATH
    request = client.build_request("GET", url, headers={"Accept": "application/json"})
    try:
        response = await send_with_deadline(
            client, request, seconds=deadline, max_bytes=max_bytes, auth=auth
        )
    except ResponseTooLarge as exc:
        raise DocumentTooLarge(
            f"The node document at {url} is larger than {max_bytes} bytes."
        ) from exc
    except UnexpectedContentEncoding as exc:
        raise InvalidNodeDocument(exc.message) from exc
    except DeadlineExceeded as exc:
        raise NodeUnreachable(
            f"The node at {base} did not serve its document within {deadline:g} s."
        ) from exc
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        raise NodeUnreachable(f"The node at {base} could not be reached: {reason}.") from exc

    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location", "nowhere")
        raise DiscoveryRedirected(
            f"{url} answered {status}, a redirect to {location}. A node serves its document "
            "at its own base URL; redirects are never followed. Check the URL, including "
            "http versus https and www."
        )
    if not 200 <= status < 300:
        raise UnexpectedStatus(f"{url} answered {status} instead of the node document.")
    content_type = response.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise WrongContentType(
            f"{url} was served as {content_type or 'no content type'!r}, not application/json: "
            "it is not a node document."
        )
    try:
        document = NodeDocument.model_validate_json(response.content)
    except ValidationError as exc:
        raise InvalidNodeDocument(f"{url} is not a valid node document: {_summary(exc)}") from exc
    if not is_node_id_for(document.id, base):
        raise NodeIdMismatch(
            f"The document at {url} says it is {document.id!r}, not {base!r}. A node's id "
            "must be the base URL its document is served from."
        )
    return document


def _summary(error: ValidationError, limit: int = 3) -> str:
    problems = error.errors(include_url=False, include_input=False)
    if any(problem["type"] == "json_invalid" for problem in problems):
        return "the body is not valid JSON."
    parts = [
        f"{'.'.join(str(part) for part in problem['loc']) or 'document'}: {problem['msg']}"
        for problem in problems[:limit]
    ]
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return "; ".join(parts) + more + "."
