"""A partner's OAuth2 library against a real ``ipo-node serve`` process.

The partner uses authlib's ``AsyncOAuth2Client`` (client credentials grant, HTTP Basic client
authentication), exactly as its own integration would; the node's admin registers and revokes
the client with ``ipo-node partners``. Access tokens first live 5 seconds
(``IPO_PARTNER_TOKEN_SECONDS``) so that expiry happens within the test, then the usual 15
minutes, so that revocation (``ipo-node partners revoke``: seconds on a loaded machine) is
seen to beat expiry.
"""

from __future__ import annotations

import asyncio
import re
import warnings
from datetime import UTC, datetime

import httpx
import pytest
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # authlib 1.9 prefers the `httpx2` package and warns on import when it finds only httpx,
    # which the node and its partners use; the client works the same on either.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

from tests.e2e.realnode import RealNode

pytestmark = pytest.mark.e2e

WHOAMI = "/api/v1/partner/whoami"
LIFETIME = 5


def registered(out: str) -> tuple[str, str]:
    client_id = re.search(r"client_id:\s+(pc_\S+)", out)
    secret = re.search(r"client_secret:\s+(pcs_\S+)", out)
    assert client_id, out
    assert secret, out
    return client_id[1], secret[1]


async def until_expired(token: dict[str, object]) -> None:
    """Wait for the moment the token's ``expires_at`` passes (at most ``LIFETIME`` s)."""
    expires_at = int(str(token["expires_at"]))
    await asyncio.sleep(max(0.0, expires_at - datetime.now(UTC).timestamp()) + 0.1)


async def test_token_calls_expiry_and_revocation(real_node: RealNode) -> None:
    # Given a running node whose admin registered a partner client on the command line
    real_node.serve(IPO_PARTNER_TOKEN_SECONDS=str(LIFETIME))
    client_id, secret = registered(
        real_node.cli(
            "partners", "add",
            "--name", "SEIU Local 73",
            "--contact", "it@local73.example",
            "--scope", "events:read",
            "--scope", "webhooks:manage",
        )
    )  # fmt: skip
    token_url = f"{real_node.url}/oauth/token"
    async with (
        AsyncOAuth2Client(
            client_id,
            secret,
            scope="events:read",
            token_endpoint=token_url,
            grant_type="client_credentials",
            leeway=0,
            base_url=real_node.url,
            timeout=10,
        ) as partner,
        httpx.AsyncClient(base_url=real_node.url, timeout=10) as raw,
    ):
        # When the partner fetches a token and calls the API with it
        first = await partner.fetch_token()
        assert first["token_type"] == "Bearer"
        assert first["scope"] == "events:read"
        assert first["expires_in"] == LIFETIME
        whoami = await partner.get(WHOAMI)
        assert whoami.status_code == 200, whoami.text
        assert whoami.json()["client_id"] == client_id
        assert whoami.json()["scopes"] == ["events:read"]
        over_scope = await partner.get(WHOAMI, params={"scope": "webhooks:manage"})
        assert over_scope.status_code == 403

        # Then the token stops working when it expires, and the library fetches a new one
        await until_expired(first)
        stale = await raw.get(WHOAMI, headers={"Authorization": f"Bearer {first['access_token']}"})
        assert stale.status_code == 401
        assert 'error="invalid_token"' in stale.headers["www-authenticate"]
        renewed = await partner.get(WHOAMI)
        assert renewed.status_code == 200, renewed.text
        assert partner.token["access_token"] != first["access_token"]

    # When the node restarts with the usual token lifetime (15 minutes) and the admin revokes
    # the client while it holds a live token
    real_node.stop_serving()
    real_node.serve()
    async with AsyncOAuth2Client(
        client_id,
        secret,
        token_endpoint=token_url,
        grant_type="client_credentials",
        base_url=real_node.url,
        timeout=10,
    ) as partner:
        live = await partner.fetch_token()
        assert live["expires_in"] == 900
        assert (await partner.get(WHOAMI)).status_code == 200
        real_node.cli("partners", "revoke", client_id)

        # Then the live token is refused at once, and no new token is issued
        refused = await partner.get(WHOAMI)
        assert refused.status_code == 401, refused.text
        assert "revoked" in refused.json()["error"]["message"]
        with pytest.raises(OAuthError) as refusal:
            await partner.fetch_token()
        assert refusal.value.error == "invalid_client"
