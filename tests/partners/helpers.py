"""Partner clients for tests: registered by an admin through the API, tokens from /oauth/token.

    client = await partner_client(node, scopes=["events:read"])
    response = await client.get("/api/v1/partner/events")

Everything goes through the node's own HTTP routes (admin registration, the OAuth2 token
endpoint), as a partner would do it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from node.accounts.models import Role
from tests.nodes import TestNode

ALL_SCOPES = (
    "events:read",
    "forums:read",
    "endorsements:read",
    "canvass:read",
    "organizations:read",
    "webhooks:manage",
)


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str
    scopes: list[str]


async def register_partner(
    node: TestNode,
    *,
    scopes: Sequence[str] = ALL_SCOPES,
    name: str = "SEIU Local 73",
    **extra: Any,
) -> Credentials:
    """Register a partner client as the node's admin; its id and (once-shown) secret."""
    admin = await node.as_role(Role.admin)
    body = {"name": name, "contact": "it@local73.example", "scopes": list(scopes), **extra}
    response = await admin.post("/api/v1/partners", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    return Credentials(created["client_id"], created["client_secret"], created["scopes"])


async def fetch_token(
    node: TestNode, credentials: Credentials, *, scope: Sequence[str] | None = None
) -> dict[str, Any]:
    """The token endpoint's JSON answer for these credentials (HTTP Basic auth)."""
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = " ".join(scope)
    response = await node.client.post(
        "/oauth/token", data=data, auth=(credentials.client_id, credentials.client_secret)
    )
    assert response.status_code == 200, response.text
    token: dict[str, Any] = response.json()
    return token


async def partner_client(
    node: TestNode, scopes: Sequence[str] = ALL_SCOPES, *, name: str = "SEIU Local 73"
) -> httpx.AsyncClient:
    """A new partner client with ``scopes``, and an HTTP client sending its access token.

    Need the client id too (to revoke it, say)? Use ``register_partner`` and ``fetch_token``:
    ``node.client_with(token["access_token"])``.
    """
    credentials = await register_partner(node, scopes=scopes, name=name)
    token = await fetch_token(node, credentials)
    return node.client_with(token["access_token"])
