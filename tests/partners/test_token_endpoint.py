"""POST /oauth/token: the client credentials grant and its RFC 6749 section 5.2 errors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import httpx
import pytest

from node.accounts.models import Role
from tests.nodes import TestNode
from tests.partners.helpers import Credentials, register_partner

TOKEN = "/oauth/token"


async def post_token(
    node: TestNode, data: dict[str, str], *, auth: tuple[str, str] | None = None
) -> httpx.Response:
    return await node.client.post(TOKEN, data=data, auth=auth)


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert body["error_description"]
    assert response.headers["cache-control"] == "no-store"


@pytest.fixture
async def credentials(node: TestNode) -> Credentials:
    return await register_partner(node, scopes=["events:read", "forums:read"])


class TestIssues:
    async def test_basic_auth_gets_every_scope_of_the_client(
        self, node: TestNode, credentials: Credentials
    ) -> None:
        response = await post_token(
            node,
            {"grant_type": "client_credentials"},
            auth=(credentials.client_id, credentials.client_secret),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 900
        assert body["scope"] == "events:read forums:read"
        assert "refresh_token" not in body
        assert response.headers["cache-control"] == "no-store"
        whoami = await node.client_with(body["access_token"]).get("/api/v1/partner/whoami")
        assert whoami.status_code == 200, whoami.text
        assert whoami.json()["scopes"] == ["events:read", "forums:read"]

    async def test_post_auth_with_a_narrower_scope(
        self, node: TestNode, credentials: Credentials
    ) -> None:
        response = await post_token(
            node,
            {
                "grant_type": "client_credentials",
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "scope": "forums:read",
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["scope"] == "forums:read"
        token = response.json()["access_token"]
        whoami = await node.client_with(token).get("/api/v1/partner/whoami")
        assert whoami.json()["scopes"] == ["forums:read"]
        expires = datetime.fromisoformat(whoami.json()["token_expires_at"])
        assert 890 <= (expires - datetime.now(UTC)).total_seconds() <= 900


class TestRefuses:
    async def test_wrong_secret_is_invalid_client(
        self, node: TestNode, credentials: Credentials
    ) -> None:
        basic = await post_token(
            node, {"grant_type": "client_credentials"}, auth=(credentials.client_id, "pcs_wrong")
        )
        assert_oauth_error(basic, 401, "invalid_client")
        assert basic.headers["www-authenticate"].startswith("Basic ")
        posted = await post_token(
            node,
            {
                "grant_type": "client_credentials",
                "client_id": credentials.client_id,
                "client_secret": "pcs_wrong",
            },
        )
        assert_oauth_error(posted, 401, "invalid_client")
        assert "access_token" not in posted.text

    async def test_unknown_client_and_no_credentials(self, node: TestNode) -> None:
        unknown = await post_token(
            node, {"grant_type": "client_credentials"}, auth=("pc_nobody", "pcs_x")
        )
        assert_oauth_error(unknown, 401, "invalid_client")
        anonymous = await post_token(node, {"grant_type": "client_credentials"})
        assert_oauth_error(anonymous, 401, "invalid_client")

    async def test_a_users_login_is_not_a_client(self, node: TestNode) -> None:
        user, _ = await node.add_user(role=Role.admin, password="correct horse battery")
        response = await post_token(
            node, {"grant_type": "client_credentials"}, auth=(user.email, "correct horse battery")
        )
        assert_oauth_error(response, 401, "invalid_client")

    async def test_other_grant_types_are_unsupported(
        self, node: TestNode, credentials: Credentials
    ) -> None:
        auth = (credentials.client_id, credentials.client_secret)
        for grant in ("password", "authorization_code", "refresh_token", ""):
            response = await post_token(node, {"grant_type": grant}, auth=auth)
            assert_oauth_error(response, 400, "unsupported_grant_type")

    async def test_a_scope_beyond_the_clients_is_invalid_scope(
        self, node: TestNode, credentials: Credentials
    ) -> None:
        auth = (credentials.client_id, credentials.client_secret)
        for scope in ("canvass:read", "events:read webhooks:manage", "admin"):
            response = await post_token(
                node, {"grant_type": "client_credentials", "scope": scope}, auth=auth
            )
            assert_oauth_error(response, 400, "invalid_scope")

    async def test_repeated_parameters_are_invalid_request(
        self, node: TestNode, credentials: Credentials
    ) -> None:
        response = await node.client.post(
            TOKEN,
            content="grant_type=client_credentials&scope=events:read&scope=forums:read",
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "authorization": "Basic "
                + base64.b64encode(
                    f"{credentials.client_id}:{credentials.client_secret}".encode()
                ).decode(),
            },
        )
        assert_oauth_error(response, 400, "invalid_request")

    async def test_a_revoked_client_gets_no_token(self, node: TestNode) -> None:
        admin = await node.as_role(Role.admin)
        revoked = await register_partner(node, scopes=["events:read"])
        assert (await admin.post(f"/api/v1/partners/{revoked.client_id}/revoke")).is_success
        response = await post_token(
            node,
            {"grant_type": "client_credentials"},
            auth=(revoked.client_id, revoked.client_secret),
        )
        assert_oauth_error(response, 401, "invalid_client")

    async def test_get_is_not_allowed(self, node: TestNode) -> None:
        response = await node.client.get(TOKEN)
        assert response.status_code == 405
