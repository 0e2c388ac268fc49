"""Alliances between real in-process nodes: offer, accept, reject, suspend, end."""

from __future__ import annotations

from sqlmodel import select

from federation.models import AllianceState, Peer
from node.accounts.models import Role
from tests.nodes import deliver_all
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
        assert await deliver_all(a, b) == 0
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
            assert alliance["delivery"]["failed"] == 0

    async def test_disjoint_crossing_offers_cover_both(self, nodes) -> None:
        a, b = await nodes.start("a"), await nodes.start("b")
        await (await a.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": b.url, "scopes": ["events"]}
        )
        await (await b.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": a.url, "scopes": ["canvass"]}
        )
        await deliver_all(a, b)
        for node in (a, b):
            [alliance] = (await (await node.as_role(Role.admin)).get("/api/v1/alliances")).json()
            assert alliance["scopes"] == ["events", "canvass"]
