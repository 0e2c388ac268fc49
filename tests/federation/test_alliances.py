"""Alliances between real in-process nodes: offer, accept, reject, suspend, end."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from federation.models import AllianceState, Peer
from federation.outbox import build_activity, serialize
from node.accounts.models import Role
from tests.federation.test_inbox_security import send, signed
from tests.nodes import TestNode, deliver_all
from tests.worlds import star


async def peer_state(node, other) -> AllianceState | None:  # type: ignore[no-untyped-def]
    async with node.session() as session:
        peer = (await session.execute(select(Peer).where(Peer.node_id == other.url))).scalar()
        return peer.state if peer else None


class TestHandshake:
    async def test_offer_shows_pending_with_name_and_fingerprint_then_accept(self, nodes) -> None:
        # Given two nodes that do not know each other
        ward33 = await nodes.start("ward33", display_name="33rd Ward Working Families")
        ward30 = await nodes.start("ward30", display_name="30th United")
        admin33 = await ward33.as_role(Role.admin)
        admin30 = await ward30.as_role(Role.admin)

        # When 33WF's admin enters 30th United's address
        offered = await admin33.post(
            "/api/v1/alliances", json={"url": ward30.url, "scopes": ["events", "forums"]}
        )
        assert offered.status_code == 201, offered.text
        assert offered.json()["state"] == "proposed"
        await deliver_all(ward33, ward30)

        # Then 30th United's admin sees a pending request with 33WF's name and key fingerprint
        [pending] = (await admin30.get("/api/v1/alliances")).json()
        assert pending["state"] == "pending"
        assert pending["name"] == "33rd Ward Working Families"
        kid = ward33.runtime.keyring().active.kid
        assert pending["key_fingerprints"] == [kid]
        assert pending["scopes"] == ["events", "forums"]

        # When they accept, both sides are active
        accepted = await admin30.post(f"/api/v1/alliances/{pending['id']}/accept")
        assert accepted.json()["state"] == "active"
        await deliver_all(ward33, ward30)
        assert await peer_state(ward33, ward30) is AllianceState.active
        assert await peer_state(ward30, ward33) is AllianceState.active

        # And each side's audit log has the change, with the peer as actor where it acted
        audit30 = (await admin30.get("/api/v1/audit")).json()["items"]
        actions = [(e["action"], e["actor_kind"]) for e in audit30]
        assert ("alliance.accepted", "user") in actions
        assert ("alliance.offer_received", "peer") in actions

    async def test_reject_ends_both_sides(self, nodes) -> None:
        a, b = await nodes.start("a"), await nodes.start("b")
        await (await a.as_role(Role.admin)).post("/api/v1/alliances", json={"url": b.url})
        await deliver_all(a, b)
        rejected = await (await b.as_role(Role.admin)).post(f"/api/v1/alliances/{a.url}/reject")
        assert rejected.json()["state"] == "ended"
        await deliver_all(a, b)
        assert await peer_state(a, b) is AllianceState.ended

    async def test_crossing_offers_make_an_alliance(self, nodes) -> None:
        a, b = await nodes.start("a"), await nodes.start("b")
        await (await a.as_role(Role.admin)).post("/api/v1/alliances", json={"url": b.url})
        await (await b.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": a.url, "scopes": ["events"]}
        )
        await deliver_all(a, b)
        assert await peer_state(a, b) is AllianceState.active
        assert await peer_state(b, a) is AllianceState.active

    async def test_offering_to_an_unreachable_node_is_a_clear_502(self, nodes) -> None:
        a = await nodes.start("a")
        response = await (await a.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": "http://nowhere.test"}
        )
        assert response.status_code == 502
        assert "nowhere.test" in response.json()["error"]["message"]
        async with a.session() as session:
            assert (await session.execute(select(Peer))).first() is None


class TestAdminsOnly:
    async def test_organizers_cannot_steer_alliances(self, nodes) -> None:
        a, b = await nodes.start("a"), await nodes.start("b")
        organizer = await a.as_role(Role.organizer)
        assert (await organizer.post("/api/v1/alliances", json={"url": b.url})).status_code == 403
        assert (await organizer.get("/api/v1/alliances")).status_code == 403
        assert (await organizer.get("/api/v1/federation/deliveries")).status_code == 403


class TestEndingAndSuspending:
    async def test_ending_stops_delivery_both_ways(self, nodes) -> None:
        a, b = await nodes.world(star, ("a", "b"))
        ended = await (await a.as_role(Role.admin)).post(f"/api/v1/alliances/{b.url}/end")
        assert ended.json()["state"] == "ended"
        await deliver_all(a, b)
        assert await peer_state(b, a) is AllianceState.ended
        # A new shared event on either side goes nowhere
        for node in (a, b):
            organizer = await node.as_role(Role.organizer)
            await organizer.post("/api/v1/events", json=EVENT)
        assert await deliver_all(a, b) == 0

    async def test_suspended_peer_is_not_sent_to_until_resumed(self, nodes) -> None:
        a, b = await nodes.world(star, ("a", "b"))
        admin = await a.as_role(Role.admin)
        await admin.post(f"/api/v1/alliances/{b.url}/suspend")
        await (await a.as_role(Role.organizer)).post("/api/v1/events", json=EVENT)
        assert await deliver_all(a, b) == 1  # the notice of the suspension, not the event
        assert (await (await b.as_role(Role.member)).get("/api/v1/events")).json()["items"] == []
        await admin.post(f"/api/v1/alliances/{b.url}/resume")
        assert await deliver_all(a, b) >= 1
        listed = (await (await b.as_role(Role.member)).get("/api/v1/events")).json()["items"]
        assert [e["title"] for e in listed] == [EVENT["title"]]

    async def test_invalid_transition_is_409(self, nodes) -> None:
        a, b = await nodes.world(star, ("a", "b"))
        response = await (await a.as_role(Role.admin)).post(f"/api/v1/alliances/{b.url}/accept")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "alliance_state_conflict"


EVENT = {
    "title": "Joint canvass launch",
    "start_date": "2030-03-01T15:00:00+00:00",
    "end_date": "2030-03-01T18:00:00+00:00",
    "event_type": "CANVASS",
    "visibility": "coalition",
    "wards": [33],
}


class TestCrossingOffers:
    async def test_no_failed_deliveries_and_both_sides_agree_on_scopes(self, nodes) -> None:
        a, b = await nodes.start("a"), await nodes.start("b")
        await (await a.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": b.url, "scopes": ["events", "forums"]}
        )
        await (await b.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": a.url, "scopes": ["forums", "canvass"]}
        )
        await deliver_all(a, b)
        for node in (a, b):
            [alliance] = (await (await node.as_role(Role.admin)).get("/api/v1/alliances")).json()
            assert alliance["state"] == "active"
            assert alliance["scopes"] == ["forums"]
            assert alliance["reason"] is None
            assert alliance["delivery"]["failed"] == 0

    async def test_disjoint_crossing_offers_form_no_alliance_on_either_side(self, nodes) -> None:
        # Given two nodes offering each other at once, with no scope in common
        a, b = await nodes.start("a"), await nodes.start("b")
        admin_a, admin_b = await a.as_role(Role.admin), await b.as_role(Role.admin)
        await admin_a.post("/api/v1/alliances", json={"url": b.url, "scopes": ["events"]})
        await admin_b.post("/api/v1/alliances", json={"url": a.url, "scopes": ["canvass"]})

        # When both offers arrive
        await deliver_all(a, b)

        # Then neither side is allied, both say why, and nothing failed on the way
        for admin in (admin_a, admin_b):
            [alliance] = (await admin.get("/api/v1/alliances")).json()
            assert alliance["state"] == "ended"
            assert alliance["scopes"] == []
            assert "no scope in common" in alliance["reason"].lower()
            assert alliance["delivery"]["failed"] == 0
            audit = (await admin.get("/api/v1/audit")).json()["items"]
            [entry] = [e for e in audit if e["action"] == "alliance.no_common_scope"]
            assert entry["actor_kind"] == "peer"
        assert await shared_kinds(a, b) == await shared_kinds(b, a) == []

        # And either admin can offer again, which the other can accept as usual
        again = await admin_a.post(
            "/api/v1/alliances", json={"url": b.url, "scopes": ["events", "canvass"]}
        )
        assert again.status_code == 201, again.text
        await deliver_all(a, b)
        assert (await admin_b.post(f"/api/v1/alliances/{a.url}/accept")).status_code == 200
        await deliver_all(a, b)
        assert await shared_kinds(a, b) == await shared_kinds(b, a) == ["events", "canvass"]


async def shared_kinds(node, other) -> list[str] | None:  # type: ignore[no-untyped-def]
    """The scopes ``node`` shares with ``other`` (none unless the alliance is active)."""
    async with node.session() as session:
        peer = (await session.execute(select(Peer).where(Peer.node_id == other.url))).scalar()
    if peer is None:
        return None
    return list(peer.scopes) if peer.state is AllianceState.active else []


def alliance_answer(sender: TestNode, receiver: TestNode, scopes: list[str]) -> dict[str, Any]:
    """An ``Accept`` of an alliance from ``sender``, naming ``scopes``, as a peer could write it."""
    activity = build_activity(
        node_id=sender.url,
        type="Accept",
        object={"type": "Alliance", "scopes": scopes},  # type: ignore[arg-type]
        to=[receiver.url],
    )
    return json.loads(serialize(activity))  # type: ignore[no-any-return]


def forum_deletion(sender: TestNode, receiver: TestNode) -> dict[str, Any]:
    """A ``Delete`` of one of ``sender``'s forum plans: it needs the ``forums`` scope."""
    tombstone = {
        "type": "Tombstone",
        "id": f"{sender.url}/forums/0b7e4c5e-8a51-4c3e-9b1e-2f1f6f0f9a02",
        "former_type": "ForumPlan",
        "version": 2,
        "deleted": "2030-01-01T00:00:00+00:00",
    }
    activity = build_activity(
        node_id=sender.url,
        type="Delete",
        object=tombstone,  # type: ignore[arg-type]
        to=[receiver.url],
    )
    return json.loads(serialize(activity))  # type: ignore[no-any-return]


class TestAnAcceptNeverWidensTheOffer:
    """ward33 offers ``events`` only; ward30 answers with an ``Accept`` of its own making."""

    async def offered_events(self, nodes) -> tuple[TestNode, TestNode]:  # type: ignore[no-untyped-def]
        ward33, ward30 = await nodes.start("ward33"), await nodes.start("ward30")
        offered = await (await ward33.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": ward30.url, "scopes": ["events"]}
        )
        assert offered.status_code == 201, offered.text
        await deliver_all(ward33, ward30)
        return ward33, ward30

    async def test_scopes_not_offered_are_ignored(self, nodes) -> None:
        ward33, ward30 = await self.offered_events(nodes)
        every_scope = ["events", "endorsements", "forums", "canvass"]

        accept = alliance_answer(ward30, ward33, every_scope)
        answered = await send(ward33, signed(ward30, ward33, accept))

        assert answered.status_code == 202, answered.text
        [alliance] = (await (await ward33.as_role(Role.admin)).get("/api/v1/alliances")).json()
        assert (alliance["state"], alliance["scopes"]) == ("active", ["events"])
        refused = await send(ward33, signed(ward30, ward33, forum_deletion(ward30, ward33)))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "out_of_scope"

    async def test_an_accept_sharing_no_scope_forms_no_alliance_on_either_side(self, nodes) -> None:
        # Given ward33's offer of events, answered with every other scope
        ward33, ward30 = await self.offered_events(nodes)
        admin33 = await ward33.as_role(Role.admin)
        others = ["endorsements", "forums", "canvass"]

        # When that Accept arrives
        accept = alliance_answer(ward30, ward33, others)
        answered = await send(ward33, signed(ward30, ward33, accept))

        # Then ward33 is allied on nothing: the alliance ended, and its admin sees why
        assert answered.status_code == 202, answered.text
        [alliance] = (await admin33.get("/api/v1/alliances")).json()
        assert (alliance["state"], alliance["scopes"]) == ("ended", [])
        assert "no scope in common" in alliance["reason"].lower()
        refused = await send(ward33, signed(ward30, ward33, forum_deletion(ward30, ward33)))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "not_an_ally"
        # And ward33 tells ward30, which ends up in the same state
        await deliver_all(ward33, ward30)
        assert await peer_state(ward30, ward33) is AllianceState.ended
        # And ward33's admin can offer again
        again = await admin33.post("/api/v1/alliances", json={"url": ward30.url})
        assert (again.status_code, again.json()["state"]) == (201, "proposed")


class TestOfferingToANodeThatOfferedUs:
    """ward33 offered; ward30's admin enters ward33's address with scopes of its own."""

    async def test_the_alliance_covers_only_what_both_offered(self, nodes) -> None:
        ward33, ward30 = await nodes.start("ward33"), await nodes.start("ward30")
        await (await ward33.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": ward30.url, "scopes": ["events", "forums"]}
        )
        await deliver_all(ward33, ward30)

        answered = await (await ward30.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": ward33.url, "scopes": ["forums", "canvass"]}
        )

        assert answered.status_code == 201, answered.text
        assert (answered.json()["state"], answered.json()["scopes"]) == ("active", ["forums"])
        await deliver_all(ward33, ward30)
        assert await shared_kinds(ward33, ward30) == await shared_kinds(ward30, ward33)
        assert await shared_kinds(ward30, ward33) == ["forums"]

    async def test_no_scope_in_common_is_a_clear_422_that_changes_nothing(self, nodes) -> None:
        ward33, ward30 = await nodes.start("ward33"), await nodes.start("ward30")
        await (await ward33.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": ward30.url, "scopes": ["events"]}
        )
        await deliver_all(ward33, ward30)
        admin30 = await ward30.as_role(Role.admin)

        answered = await admin30.post(
            "/api/v1/alliances", json={"url": ward33.url, "scopes": ["canvass"]}
        )

        assert answered.status_code == 422, answered.text
        error = answered.json()["error"]
        assert error["code"] == "no_common_scope"
        assert "events" in error["message"]
        [alliance] = (await admin30.get("/api/v1/alliances")).json()
        assert (alliance["state"], alliance["scopes"]) == ("pending", ["events"])
        assert await deliver_all(ward33, ward30) == 0


class TestThePeerAsTheAdminWritesIt:
    async def test_a_node_id_with_a_trailing_slash_or_odd_case_finds_the_peer(self, nodes):
        # Given ward30 holding ward33's pending offer
        ward33, ward30 = await nodes.start("ward33"), await nodes.start("ward30")
        admin33, admin30 = await ward33.as_role(Role.admin), await ward30.as_role(Role.admin)
        assert (
            await admin33.post("/api/v1/alliances", json={"url": ward30.url})
        ).status_code == 201
        await deliver_all(ward33, ward30)
        # When ward30's admin accepts it, pasting the address with a capital and a trailing slash
        pasted = ward33.url.replace("http://ward33", "http://Ward33") + "/"
        accepted = await admin30.post(f"/api/v1/alliances/{pasted}/accept")
        # Then it is found and accepted
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["state"] == "active"
        missing = await admin30.post("/api/v1/alliances/http://nobody.test/accept")
        assert missing.status_code == 404
        assert "nobody.test" in missing.json()["error"]["message"]
