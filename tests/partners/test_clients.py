"""Admins register, list and revoke partner clients; the secret is shown once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from node.accounts.models import Role
from tests.nodes import TestNode
from tests.partners.helpers import fetch_token, register_partner

PARTNERS = "/api/v1/partners"


async def audit_actions(admin: httpx.AsyncClient, object_id: str) -> list[tuple[str, str]]:
    response = await admin.get("/api/v1/audit", params={"limit": 200})
    assert response.status_code == 200, response.text
    return [
        (entry["action"], entry["actor_label"])
        for entry in response.json()["items"]
        if entry["object_type"] == "partner_client" and entry["object_id"] == object_id
    ]


class TestRegister:
    async def test_the_secret_is_shown_once_and_works(self, node: TestNode) -> None:
        admin = await node.as_role(Role.admin)
        created = await admin.post(
            PARTNERS,
            json={
                "name": "SEIU Local 73",
                "contact": "IT@Local73.example",
                "scopes": ["events:read", "canvass:read", "events:read"],
            },
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["client_id"].startswith("pc_")
        assert body["client_secret"].startswith("pcs_")
        assert body["scopes"] == ["canvass:read", "events:read"]
        assert body["contact"] == "it@local73.example"
        assert body["is_active"] is True

        listed = (await admin.get(PARTNERS)).json()
        one = (await admin.get(f"{PARTNERS}/{body['client_id']}")).json()
        for shown in (*listed, one):
            assert "client_secret" not in shown
            assert body["client_secret"] not in str(shown)
        assert [c["client_id"] for c in listed] == [body["client_id"]]

        token = await node.client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(body["client_id"], body["client_secret"]),
        )
        assert token.status_code == 200, token.text

    async def test_records_who_registered_and_revoked_it(self, node: TestNode) -> None:
        admin = await node.as_role(Role.admin)
        credentials = await register_partner(node, scopes=["events:read"])
        revoked = await admin.post(f"{PARTNERS}/{credentials.client_id}/revoke")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["is_active"] is False
        assert revoked.json()["revoked_at"] is not None
        me = (await admin.get("/api/v1/me")).json()
        assert sorted(await audit_actions(admin, credentials.client_id)) == [
            ("partner_client.create", f"user {me['id']}"),
            ("partner_client.revoke", f"user {me['id']}"),
        ]

    async def test_revoking_twice_is_a_conflict(self, node: TestNode) -> None:
        admin = await node.as_role(Role.admin)
        credentials = await register_partner(node, scopes=["events:read"])
        assert (await admin.post(f"{PARTNERS}/{credentials.client_id}/revoke")).status_code == 200
        again = await admin.post(f"{PARTNERS}/{credentials.client_id}/revoke")
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "conflict"

    async def test_unknown_client_is_404(self, node: TestNode) -> None:
        admin = await node.as_role(Role.admin)
        for response in (
            await admin.get(f"{PARTNERS}/pc_nope"),
            await admin.post(f"{PARTNERS}/pc_nope/revoke"),
        ):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "partner_client_not_found"

    async def test_expiry_in_the_future_is_kept(self, node: TestNode) -> None:
        expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
        credentials = await register_partner(
            node, scopes=["events:read"], expires_at=expires.isoformat()
        )
        admin = await node.as_role(Role.admin)
        shown = (await admin.get(f"{PARTNERS}/{credentials.client_id}")).json()
        assert datetime.fromisoformat(shown["expires_at"]) == expires
        assert shown["is_active"] is True


class TestBadInput:
    async def test_unknown_scope_missing_scopes_bad_email_or_past_expiry(
        self, node: TestNode
    ) -> None:
        admin = await node.as_role(Role.admin)
        base = {"name": "Local 73", "contact": "it@local73.example", "scopes": ["events:read"]}
        past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        for change, status in (
            ({"scopes": ["members:read"]}, 422),
            ({"scopes": []}, 422),
            ({"contact": "not an email"}, 422),
            ({"name": ""}, 422),
            ({"expires_at": past}, 422),
        ):
            response = await admin.post(PARTNERS, json={**base, **change})
            assert response.status_code == status, (change, response.text)
            assert response.json()["error"]["message"]
        assert (await admin.get(PARTNERS)).json() == []


class TestOnlyAdmins:
    async def test_organizers_members_and_strangers_are_refused(self, node: TestNode) -> None:
        credentials = await register_partner(node, scopes=["events:read"])
        body = {"name": "X", "contact": "x@x.example", "scopes": ["events:read"]}
        organizer = await node.as_role(Role.organizer)
        member = await node.as_role(Role.member)
        for client, status in ((organizer, 403), (member, 403), (node.client, 401)):
            assert (await client.get(PARTNERS)).status_code == status
            assert (await client.post(PARTNERS, json=body)).status_code == status
            revoke = await client.post(f"{PARTNERS}/{credentials.client_id}/revoke")
            assert revoke.status_code == status
        # nothing changed: the client still gets tokens
        assert (await fetch_token(node, credentials))["access_token"]

    async def test_a_partner_token_cannot_manage_partner_clients(self, node: TestNode) -> None:
        credentials = await register_partner(node)
        token = (await fetch_token(node, credentials))["access_token"]
        partner = node.client_with(token)
        response = await partner.get(PARTNERS)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
