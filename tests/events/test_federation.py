"""Events across allies: what they receive, how replicas behave, and what never leaves."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from federation.models import Delivery, DeliveryState, Peer
from federation.storage import utcnow
from node.accounts.models import Role
from tests.nodes import TestNode, ally, deliver_all
from tests.worlds import spec, star

EVENT = {
    "title": "Mayoral forum",
    "start_date": "2030-02-01T00:00:00+00:00",
    "end_date": "2030-02-01T02:00:00+00:00",
    "event_type": "FORUM",
    "visibility": "coalition",
    "wards": [33, 35],
    "location": {"venue": "Hall", "locality": "Chicago", "region": "IL"},
}


async def listed(node: TestNode, role: Role = Role.member) -> list[dict[str, object]]:
    client = await node.as_role(role)
    return (await client.get("/api/v1/events")).json()["items"]


async def create(node: TestNode, **changes: object) -> dict[str, object]:
    organizer = await node.as_role(Role.organizer)
    response = await organizer.post("/api/v1/events", json={**EVENT, **changes})
    assert response.status_code == 201, response.text
    return response.json()


async def patch(node: TestNode, event: dict[str, object], **changes: object) -> None:
    organizer = await node.as_role(Role.organizer)
    response = await organizer.patch(f"/api/v1/events/{event['id']}", json=changes)
    assert response.status_code == 200, response.text


class TestSharing:
    async def test_coalition_event_reaches_allies_marked_with_its_origin(self, nodes):
        # Given three allied wards
        ward33, ward30, ward35 = await nodes.world(star, ("ward33", "ward30", "ward35"))
        # When 33 posts a coalition event
        event = await create(ward33)
        await deliver_all(ward33, ward30, ward35)
        # Then both allies list it, with 33 as origin and the same global id
        for other in (ward30, ward35):
            [replica] = await listed(other)
            assert replica["origin"] == ward33.url
            assert replica["object_id"] == event["object_id"]
            assert replica["wards"] == [33, 35]
            assert replica["location"]["venue"] == "Hall"

    async def test_what_a_former_ally_shared_stays_marked_as_such(self, nodes):
        ward33, ward30 = await nodes.world(
            star, (spec("ward33", display_name="33rd Ward Working Families"), "ward30")
        )
        await create(ward33)
        await deliver_all(ward33, ward30)
        [replica] = await listed(ward30)
        assert (replica["origin_name"], replica["origin_relation"]) == (
            "33rd Ward Working Families",
            "ally",
        )
        [own] = await listed(ward33)
        assert own["origin_relation"] == "this_node"
        await (await ward33.as_role(Role.admin)).post(f"/api/v1/alliances/{ward30.url}/end")
        await deliver_all(ward33, ward30)
        [kept] = await listed(ward30)
        assert kept["origin_relation"] == "former_ally"

    async def test_updates_and_deletion_follow(self, nodes):
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
        event = await create(ward33)
        await patch(ward33, event, title="Mayoral forum (moved)")
        await deliver_all(ward33, ward30)
        [replica] = await listed(ward30)
        assert (replica["title"], replica["version"]) == ("Mayoral forum (moved)", 2)
        organizer = await ward33.as_role(Role.organizer)
        await organizer.delete(f"/api/v1/events/{event['id']}")
        await deliver_all(ward33, ward30)
        assert await listed(ward30) == []

    async def test_private_events_never_leave(self, nodes):
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
        await create(ward33, visibility="private")
        assert await deliver_all(ward33, ward30) == 0
        assert await listed(ward30, Role.admin) == []

    async def test_made_private_is_withdrawn_and_made_public_again_returns(self, nodes):
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
        event = await create(ward33)
        await deliver_all(ward33, ward30)
        await patch(ward33, event, visibility="private")
        await deliver_all(ward33, ward30)
        assert await listed(ward30, Role.admin) == []
        await patch(ward33, event, visibility="public", title="Open to all")
        await deliver_all(ward33, ward30)
        [replica] = await listed(ward30)
        assert (replica["title"], replica["version"]) == ("Open to all", 3)

    async def test_an_allys_event_is_read_only_here(self, nodes):
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
        await create(ward33)
        await deliver_all(ward33, ward30)
        [replica] = await listed(ward30)
        organizer = await ward30.as_role(Role.organizer)
        response = await organizer.patch(f"/api/v1/events/{replica['id']}", json={"title": "x"})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "event_not_local"

    async def test_an_alliance_without_events_shares_none(self, nodes):
        ward33, ward30 = await nodes.world(
            star,
            ("ward33", "ward30"),
            (
                "endorsements",
                "forums",
            ),
        )
        await create(ward33)
        assert await deliver_all(ward33, ward30) == 0
        assert await listed(ward30, Role.admin) == []


class TestBackfill:
    async def test_a_new_ally_receives_what_is_already_shared(self, nodes):
        ward33, ward30 = await nodes.start("ward33"), await nodes.start("ward30")
        await create(ward33, title="Before the alliance")
        await create(ward33, title="Private", visibility="private")
        await ally(ward33, ward30)
        assert [e["title"] for e in await listed(ward30, Role.admin)] == ["Before the alliance"]


class TestSuspension:
    async def test_changes_during_a_suspension_arrive_on_resume_deletions_included(self, nodes):
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
        kept, gone = await create(ward33, title="Kept"), await create(ward33, title="Gone")
        await deliver_all(ward33, ward30)
        admin = await ward33.as_role(Role.admin)
        await admin.post(f"/api/v1/alliances/{ward30.url}/suspend")
        # While suspended, 33 renames one event and deletes the other: nothing is sent
        await patch(ward33, kept, title="Kept (renamed)")
        await (await ward33.as_role(Role.organizer)).delete(f"/api/v1/events/{gone['id']}")
        # (only the notice of the suspension itself goes out: FEDERATION.md 6.5)
        assert await deliver_all(ward33, ward30) == 1
        assert "Kept (renamed)" not in [e["title"] for e in await listed(ward30)]
        # On resume, the held changes go out in order
        await admin.post(f"/api/v1/alliances/{ward30.url}/resume")
        await deliver_all(ward33, ward30)
        assert [e["title"] for e in await listed(ward30)] == ["Kept (renamed)"]

    async def test_a_suspended_ally_is_asked_to_retry_and_loses_nothing(self, nodes):
        ward33, ward30 = await nodes.world(star, ("ward33", "ward30"))
        # ward30 suspends ward33; ward33 (which does not know) posts an event
        admin30 = await ward30.as_role(Role.admin)
        await admin30.post(f"/api/v1/alliances/{ward33.url}/suspend")
        await create(ward33)
        await deliver_all(ward33, ward30)
        async with ward33.session() as session:
            delivery = (
                await session.execute(select(Delivery).order_by(Delivery.id.desc()).limit(1))
            ).scalar_one()
            peer = (await session.execute(select(Peer))).scalar_one()
        assert delivery.state is DeliveryState.pending  # kept, not failed
        assert delivery.last_status == 503
        assert peer.next_attempt_at is not None
        assert peer.next_attempt_at - utcnow() >= timedelta(minutes=59)  # Retry-After: 3600
        # When ward30 resumes and ward33's retry comes due, the event arrives
        await admin30.post(f"/api/v1/alliances/{ward33.url}/resume")
        ward33.worker.clock = lambda: utcnow() + timedelta(hours=2)
        await deliver_all(ward33, ward30)
        assert [e["title"] for e in await listed(ward30)] == [EVENT["title"]]
