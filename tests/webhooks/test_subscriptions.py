"""Managing subscriptions: the partner's own only, https only, within its read scopes."""

from __future__ import annotations

from node.accounts.models import Role
from tests.partners.helpers import partner_client
from tests.webhooks import WEBHOOKS, subscribe

ENDORSEMENT_TYPES = ["endorsement.ratified", "endorsement.withdrawn"]


class TestCreate:
    async def test_the_secret_is_shown_once(self, dev_node, receiver):
        partner = await partner_client(dev_node)
        created = await subscribe(partner, receiver, "/hooks/a", ENDORSEMENT_TYPES)
        assert created["secret"].startswith("whsec_")
        assert created["id"].startswith("sub_")
        assert created["is_enabled"] is True
        assert created["event_types"] == ENDORSEMENT_TYPES
        fetched = await partner.get(f"{WEBHOOKS}/{created['id']}")
        assert fetched.status_code == 200, fetched.text
        assert "secret" not in fetched.json()
        assert fetched.json()["recent_deliveries"] == []
        listed = await partner.get(WEBHOOKS)
        assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
        assert "secret" not in listed.json()["items"][0]

    async def test_plain_http_is_refused_outside_local_development(self, node):
        partner = await partner_client(node)
        response = await partner.post(
            WEBHOOKS,
            json={"url": "http://hooks.local73.example/ipo", "event_types": ["event.created"]},
        )
        assert response.status_code == 422
        assert "https" in response.json()["error"]["message"]
        assert (await partner.get(WEBHOOKS)).json()["items"] == []

    async def test_a_private_address_is_refused_outside_local_development(self, node):
        partner = await partner_client(node)
        response = await partner.post(
            WEBHOOKS, json={"url": "https://127.0.0.1/hooks", "event_types": ["event.created"]}
        )
        assert response.status_code == 422
        assert "loopback" in response.json()["error"]["message"]

    async def test_https_is_accepted(self, node):
        partner = await partner_client(node)
        response = await partner.post(
            WEBHOOKS,
            json={"url": "https://hooks.local73.example/ipo", "event_types": ["event.created"]},
        )
        assert response.status_code == 201, response.text

    async def test_an_event_type_outside_the_clients_scopes_is_refused(self, node):
        partner = await partner_client(node, ["events:read", "webhooks:manage"])
        response = await partner.post(
            WEBHOOKS,
            json={
                "url": "https://hooks.local73.example/ipo",
                "event_types": ["event.created", "endorsement.ratified"],
            },
        )
        assert response.status_code == 403
        message = response.json()["error"]["message"]
        assert "endorsement.ratified" in message
        assert "endorsements:read" in message
        assert (await partner.get(WEBHOOKS)).json()["items"] == []

    async def test_an_unknown_event_type_is_refused(self, node):
        partner = await partner_client(node)
        response = await partner.post(
            WEBHOOKS,
            json={"url": "https://hooks.local73.example/ipo", "event_types": ["member.created"]},
        )
        assert response.status_code == 422

    async def test_without_webhooks_manage_nothing_is_allowed(self, node):
        partner = await partner_client(node, ["events:read"])
        response = await partner.get(WEBHOOKS)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "insufficient_scope"


class TestOwnership:
    async def test_another_clients_subscription_is_not_found(self, dev_node, receiver):
        union = await partner_client(dev_node, name="SEIU Local 73")
        other = await partner_client(dev_node, name="Working Families")
        created = await subscribe(union, receiver, "/hooks/union", ["event.created"])
        path = f"{WEBHOOKS}/{created['id']}"
        for response in (
            await other.get(path),
            await other.delete(path),
            await other.post(f"{path}/test"),
            await other.post(f"{path}/enable"),
        ):
            assert response.status_code == 404, response.text
        assert (await other.get(WEBHOOKS)).json()["items"] == []
        assert (await union.get(path)).status_code == 200

    async def test_delete_removes_it(self, dev_node, receiver):
        partner = await partner_client(dev_node)
        created = await subscribe(partner, receiver, "/hooks/a", ["event.created"])
        deleted = await partner.delete(f"{WEBHOOKS}/{created['id']}")
        assert deleted.status_code == 204
        assert (await partner.get(f"{WEBHOOKS}/{created['id']}")).status_code == 404

    async def test_an_admin_sees_every_subscription_without_secrets(self, dev_node, receiver):
        union = await partner_client(dev_node, name="SEIU Local 73")
        other = await partner_client(dev_node, name="Working Families")
        first = await subscribe(union, receiver, "/hooks/union", ["event.created"])
        second = await subscribe(other, receiver, "/hooks/wfp", ENDORSEMENT_TYPES)
        admin = await dev_node.as_role(Role.admin)
        listed = await admin.get("/api/v1/webhooks")
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert [item["id"] for item in items] == [first["id"], second["id"]]
        assert all("secret" not in item for item in items)
        member = await dev_node.as_role(Role.member)
        assert (await member.get("/api/v1/webhooks")).status_code == 403
