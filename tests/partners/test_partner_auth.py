"""Access tokens on the partner API: 401, 403 and 429 as RFC 6750 says, revocation at once."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey
from sqlalchemy import update

from node.accounts.models import Role
from node.partners.auth import PARTNER_SCOPES, require_scope
from node.partners.models import PartnerClient
from node.partners.tokens import TOKEN_TYPE
from tests.nodes import NodeFactory, TestNode
from tests.partners.helpers import fetch_token, partner_client, register_partner

WHOAMI = "/api/v1/partner/whoami"


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_token"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="ipo-node", error="invalid_token"'), challenge
    assert "error_description=" in challenge


async def expire_client(node: TestNode, client_id: str) -> None:
    """What the calendar does to a client registered with an expiry: it passes."""
    async with node.session() as session:
        await session.execute(
            update(PartnerClient)
            .where(PartnerClient.client_id == client_id)  # type: ignore[arg-type]
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


class TestUnauthenticated:
    async def test_no_token_gets_a_plain_bearer_challenge(self, node: TestNode) -> None:
        response = await node.client.get(WHOAMI)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="ipo-node"'
        assert response.json()["error"]["code"] == "not_authenticated"

    async def test_garbage_and_wrong_schemes_are_invalid_tokens(self, node: TestNode) -> None:
        for header in ("Bearer not-a-jwt", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer "):
            response = await node.client.get(WHOAMI, headers={"Authorization": header})
            assert_invalid_token(response)

    async def test_a_token_signed_by_another_key_is_refused(self, node: TestNode) -> None:
        credentials = await register_partner(node, scopes=["events:read"])
        now = int(time.time())
        claims = {
            "iss": node.url,
            "sub": credentials.client_id,
            "client_id": credentials.client_id,
            "aud": node.url + "/api/v1/partner",
            "scope": "events:read",
            "iat": now,
            "exp": now + 600,
            "jti": "forged",
        }
        stranger = OKPKey.generate_key("Ed25519")
        kid = node.app.state.keyring().active.kid  # claims to be the node's key
        forged = jwt.encode(
            {"alg": "Ed25519", "typ": TOKEN_TYPE, "kid": kid},
            claims,
            stranger,
            algorithms=["Ed25519"],
        )
        assert_invalid_token(await node.client_with(forged).get(WHOAMI))

    async def test_a_token_with_a_tampered_scope_is_refused(self, node: TestNode) -> None:
        credentials = await register_partner(node, scopes=["events:read"])
        token = (await fetch_token(node, credentials))["access_token"]
        header, _payload, signature = token.split(".")
        other = (await fetch_token(node, await register_partner(node)))["access_token"]
        spliced = ".".join([header, other.split(".")[1], signature])
        assert_invalid_token(await node.client_with(spliced).get(WHOAMI))
        assert (await node.client_with(token).get(WHOAMI)).status_code == 200

    async def test_another_nodes_token_is_refused(self, nodes: NodeFactory) -> None:
        ward33 = await nodes.start("ward33")
        ward35 = await nodes.start("ward35")
        theirs = await partner_client(ward35, ["events:read"])
        token = theirs.headers["authorization"].removeprefix("Bearer ")
        assert_invalid_token(await ward33.client_with(token).get(WHOAMI))

    async def test_an_expired_token_is_refused(self, nodes: NodeFactory) -> None:
        node = await nodes.start("ward33", partner_token_seconds=1)
        client = await partner_client(node, ["events:read"])
        first = await client.get(WHOAMI)
        expires = datetime.fromisoformat(first.json()["token_expires_at"])
        # The token's own expiry is the event waited for: at most one second away.
        await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.05)
        response = await client.get(WHOAMI)
        assert_invalid_token(response)
        assert "expired" in response.json()["error"]["message"]


class TestScopes:
    async def test_a_missing_scope_is_403_insufficient_scope(self, node: TestNode) -> None:
        client = await partner_client(node, ["events:read"])
        response = await client.get(WHOAMI, params={"scope": "canvass:read"})
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "insufficient_scope"
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith('Bearer realm="ipo-node", error="insufficient_scope"')
        assert 'scope="canvass:read"' in challenge

    async def test_a_held_scope_passes(self, node: TestNode) -> None:
        client = await partner_client(node, ["events:read", "canvass:read"])
        response = await client.get(WHOAMI, params={"scope": ["canvass:read", "events:read"]})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "SEIU Local 73"
        assert body["client_id"].startswith("pc_")
        assert body["scopes"] == ["canvass:read", "events:read"]

    async def test_a_narrowed_token_does_not_hold_the_clients_other_scopes(
        self, node: TestNode
    ) -> None:
        credentials = await register_partner(node, scopes=["events:read", "canvass:read"])
        token = await fetch_token(node, credentials, scope=["events:read"])
        client = node.client_with(token["access_token"])
        assert (await client.get(WHOAMI, params={"scope": "canvass:read"})).status_code == 403


class TestRevocationAndExpiry:
    async def test_revoking_stops_a_live_token_at_once(self, node: TestNode) -> None:
        admin = await node.as_role(Role.admin)
        credentials = await register_partner(node, scopes=["events:read"])
        client = node.client_with((await fetch_token(node, credentials))["access_token"])
        assert (await client.get(WHOAMI)).status_code == 200
        assert (await admin.post(f"/api/v1/partners/{credentials.client_id}/revoke")).is_success
        response = await client.get(WHOAMI)
        assert_invalid_token(response)
        assert "revoked" in response.json()["error"]["message"]

    async def test_an_expired_client_loses_its_token_and_gets_no_new_one(
        self, node: TestNode
    ) -> None:
        credentials = await register_partner(node, scopes=["events:read"])
        client = node.client_with((await fetch_token(node, credentials))["access_token"])
        assert (await client.get(WHOAMI)).status_code == 200
        await expire_client(node, credentials.client_id)
        assert_invalid_token(await client.get(WHOAMI))
        again = await node.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials.client_id, credentials.client_secret),
        )
        assert again.status_code == 401
        assert again.json()["error"] == "invalid_client"
        admin = await node.as_role(Role.admin)
        shown = (await admin.get(f"/api/v1/partners/{credentials.client_id}")).json()
        assert shown["is_active"] is False


class TestRateLimit:
    async def test_over_the_burst_gets_429_with_retry_after(self, nodes: NodeFactory) -> None:
        node = await nodes.start("ward33", partner_rate_burst=3, partner_rate_per_minute=6)
        client = await partner_client(node, ["events:read"])
        remaining = []
        for _ in range(3):
            response = await client.get(WHOAMI)
            assert response.status_code == 200, response.text
            remaining.append(response.headers["ratelimit-remaining"])
        assert remaining == ["2", "1", "0"]
        refused = await client.get(WHOAMI)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 10
        assert refused.headers["ratelimit-limit"] == "3"
        assert refused.headers["ratelimit-remaining"] == "0"

    async def test_each_client_has_its_own_budget(self, nodes: NodeFactory) -> None:
        node = await nodes.start("ward33", partner_rate_burst=1, partner_rate_per_minute=1)
        first = await partner_client(node, ["events:read"], name="Local 73")
        second = await partner_client(node, ["events:read"], name="Local 1")
        assert (await first.get(WHOAMI)).status_code == 200
        assert (await first.get(WHOAMI)).status_code == 429
        assert (await second.get(WHOAMI)).status_code == 200


class TestUsersAreNotPartners:
    async def test_a_members_bearer_token_is_refused_on_partner_routes(
        self, node: TestNode
    ) -> None:
        admin = await node.as_role(Role.admin)
        assert_invalid_token(await admin.get(WHOAMI))

    async def test_a_partner_token_is_refused_on_member_routes(self, node: TestNode) -> None:
        client = await partner_client(node)
        for path in ("/api/v1/me", "/api/v1/members", "/api/v1/events"):
            response = await client.get(path)
            assert response.status_code == 401, (path, response.text)
            assert response.json()["error"]["code"] == "not_authenticated"


class TestContract:
    def test_the_scopes_other_packages_code_against(self) -> None:
        assert PARTNER_SCOPES == (
            "events:read",
            "forums:read",
            "endorsements:read",
            "canvass:read",
            "organizations:read",
            "webhooks:manage",
        )

    def test_a_route_asking_for_an_unknown_scope_fails_at_start(self) -> None:
        with pytest.raises(ValueError, match="members:read"):
            require_scope("members:read")

    async def test_scoped_routes_declare_the_oauth2_scope_in_openapi(self, node: TestNode) -> None:
        spec = (await node.client.get("/openapi.json")).json()
        schemes = spec["components"]["securitySchemes"]
        flow = schemes["partnerClientCredentials"]["flows"]["clientCredentials"]
        assert flow["tokenUrl"] == "/oauth/token"
        assert set(flow["scopes"]) == set(PARTNER_SCOPES)
        whoami = spec["paths"][WHOAMI]["get"]
        assert whoami["security"] == [{"partnerClientCredentials": []}]
