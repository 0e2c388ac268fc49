"""Messages from the coalition's shared work, on the proposer's node and on allies' nodes."""

from __future__ import annotations

from node.accounts.models import Role
from tests.canvass.helpers import post_call, relay, sign_up, volunteer
from tests.endorsements import ENDORSEMENTS, answer, find, propose
from tests.events import EVENTS, create_event
from tests.nodes import NodeFactory, TestNode, ally, deliver_all
from tests.partners.helpers import partner_client
from tests.webhooks import send_webhooks, subscribe
from tests.webhooks.receiver import Receiver

ENDORSEMENT_TYPES = ["endorsement.ratified", "endorsement.withdrawn"]
CANVASS_TYPES = ["canvass_call.posted", "canvass_shift.filled"]


async def allied_pair(nodes: NodeFactory) -> tuple[TestNode, TestNode]:
    """ward33 and ward30, allied, both in local development (they post to a loopback port)."""
    ward33 = await nodes.start("ward33", allow_private_peers=True)
    ward30 = await nodes.start("ward30", allow_private_peers=True)
    await ally(ward33, ward30)
    return ward33, ward30


async def received_types(node: TestNode, receiver: Receiver, path: str) -> list[str]:
    await send_webhooks(node)
    assert all(item.verified for item in receiver.at(path))
    return [item.message["type"] for item in receiver.at(path)]


class TestEndorsements:
    async def test_ratified_then_withdrawn_on_both_nodes(self, nodes, receiver):
        # Given a union subscribed on the proposer's node and on the signer's node
        ward33, ward30 = await allied_pair(nodes)
        on33 = await partner_client(ward33)
        on30 = await partner_client(ward30)
        await subscribe(on33, receiver, "/hooks/33", ENDORSEMENT_TYPES)
        await subscribe(on30, receiver, "/hooks/30", ENDORSEMENT_TYPES)
        # When ward33 proposes to ward30, nothing is announced while signatures are collected
        proposed = await propose(ward33, [ward30.url])
        oid = proposed["object_id"]
        await deliver_all(ward33, ward30)
        assert await received_types(ward33, receiver, "/hooks/33") == []
        assert await received_types(ward30, receiver, "/hooks/30") == []
        # When ward30's admin signs and the signature travels back and the result out again
        signed = await answer(ward30, oid)
        assert signed.status_code == 200, signed.text
        await deliver_all(ward33, ward30)
        assert (await find(ward30, oid))["status"] == "ratified"
        # Then both subscriptions receive endorsement.ratified about the same global object
        assert await received_types(ward33, receiver, "/hooks/33") == ["endorsement.ratified"]
        assert await received_types(ward30, receiver, "/hooks/30") == ["endorsement.ratified"]
        for partner, path in ((on33, "/hooks/33"), (on30, "/hooks/30")):
            data = receiver.at(path)[0].message["data"]
            assert (data["id"], data["object_type"], data["origin"]) == (
                oid,
                "JointEndorsement",
                ward33.url,
            )
            assert data["visibility"] == "coalition"
            # And the partner reads it where the message points, on that node's partner API
            read = await partner.get(data["api_path"])
            assert read.status_code == 200, read.text
        # When the proposer withdraws it
        organizer = await ward33.as_role(Role.organizer)
        withdrawn = await organizer.post(f"{ENDORSEMENTS}/{proposed['id']}/withdraw")
        assert withdrawn.status_code == 200, withdrawn.text
        await deliver_all(ward33, ward30)
        # Then both are told
        expected = ["endorsement.ratified", "endorsement.withdrawn"]
        assert await received_types(ward33, receiver, "/hooks/33") == expected
        assert await received_types(ward30, receiver, "/hooks/30") == expected


class TestCanvass:
    async def test_a_call_and_its_full_shift_without_anyones_personal_data(self, nodes, receiver):
        # Given partners subscribed on the host's node and an ally's
        ward33, ward30 = await allied_pair(nodes)
        on33 = await partner_client(ward33)
        on30 = await partner_client(ward30)
        await subscribe(on33, receiver, "/hooks/33", CANVASS_TYPES)
        await subscribe(on30, receiver, "/hooks/30", CANVASS_TYPES)
        # When ward33 posts a one-place call and a ward30 volunteer takes the place
        call = await post_call(ward33, capacity=1)
        await deliver_all(ward33, ward30)
        relayed = await relay(ward30, call)
        client = await volunteer(ward30, marker="Zelda", phone="773-555-0142", consents=True)
        response = await sign_up(client, relayed, share_first_name=True, share_contact=True)
        assert response.status_code == 201, response.text
        await deliver_all(ward33, ward30)
        # Then both nodes announce the call and the full shift
        assert await received_types(ward33, receiver, "/hooks/33") == CANVASS_TYPES
        assert await received_types(ward30, receiver, "/hooks/30") == CANVASS_TYPES
        filled = receiver.at("/hooks/30")[1].message["data"]
        assert filled["object_type"] == "CanvassShift"
        assert filled["id"] == call["shifts"][0]["object_id"]
        assert filled["call"] == call["object_id"]
        assert (filled["capacity"], filled["committed"]) == (1, 1)
        # And no message carries the volunteer's, or the field desk's, personal data
        for item in receiver.received:
            body = item.body.decode()
            for personal in ("Zelda", "773-555-0142", "zelda@", "773-555-0100", "Field desk"):
                assert personal not in body


class TestForums:
    async def test_a_plan_change_is_announced_on_the_organizer_and_the_co_host(
        self, nodes, receiver
    ):
        ward33, ward30 = await allied_pair(nodes)
        await subscribe(await partner_client(ward33), receiver, "/hooks/33", ["forum.updated"])
        await subscribe(await partner_client(ward30), receiver, "/hooks/30", ["forum.updated"])
        organizer = await ward33.as_role(Role.organizer)
        body = {
            "title": "Mayoral candidate forum",
            "start_date": "2030-02-01T00:00:00+00:00",
            "end_date": "2030-02-01T02:00:00+00:00",
            "visibility": "coalition",
            "co_hosts": [ward30.url],
        }
        created = await organizer.post("/api/v1/forums", json=body)
        assert created.status_code == 201, created.text
        await deliver_all(ward33, ward30)
        changed = await organizer.patch(
            f"/api/v1/forums/{created.json()['id']}", json={"title": "Mayoral forum"}
        )
        assert changed.status_code == 200, changed.text
        await deliver_all(ward33, ward30)
        for node, path in ((ward33, "/hooks/33"), (ward30, "/hooks/30")):
            assert await received_types(node, receiver, path) == ["forum.updated"] * 2
            versions = [item.message["data"]["version"] for item in receiver.at(path)]
            assert versions == [1, 2]
            assert receiver.at(path)[0].message["data"]["object_type"] == "ForumPlan"

    async def test_a_private_forum_is_not_announced(self, dev_node, receiver):
        await subscribe(await partner_client(dev_node), receiver, "/hooks/f", ["forum.updated"])
        organizer = await dev_node.as_role(Role.organizer)
        body = {
            "title": "Members-only prep session",
            "start_date": "2030-02-01T00:00:00+00:00",
            "end_date": "2030-02-01T02:00:00+00:00",
            "visibility": "private",
        }
        assert (await organizer.post("/api/v1/forums", json=body)).status_code == 201
        assert await send_webhooks(dev_node) == 0
        assert receiver.received == []


class TestAlliesEvents:
    async def test_an_allys_event_is_announced_when_its_replica_changes_here(self, nodes, receiver):
        # Given a partner subscribed on ward30, allied with ward33
        ward33, ward30 = await allied_pair(nodes)
        on30 = await partner_client(ward30)
        await subscribe(on30, receiver, "/hooks/30", ["event.created", "event.cancelled"])
        # When ward33 creates a coalition event and later cancels it
        organizer = await ward33.as_role(Role.organizer)
        event = await create_event(organizer, visibility="coalition")
        await deliver_all(ward33, ward30)
        cancelled = await organizer.post(f"{EVENTS}/{event['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        await deliver_all(ward33, ward30)
        # Then ward30 announces both changes of its replica, ward33's event
        assert await received_types(ward30, receiver, "/hooks/30") == [
            "event.created",
            "event.cancelled",
        ]
        data = receiver.at("/hooks/30")[1].message["data"]
        assert (data["id"], data["origin"], data["version"]) == (
            event["object_id"],
            ward33.url,
            2,
        )
