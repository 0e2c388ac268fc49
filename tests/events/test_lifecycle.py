"""Creating, changing, cancelling and deleting events; versions; ownership."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from node.events.models import Event, EventStatus, EventType, Visibility
from tests.events import EVENTS, create_event, event_body, list_all, soon


async def audit_actions(admin, event_id):
    response = await admin.get("/api/v1/audit", params={"limit": 200})
    assert response.status_code == 200
    entries = [e for e in response.json()["items"] if e["object_id"] == event_id]
    return [(e["action"], e["detail"].get("version")) for e in reversed(entries)]


class TestCreate:
    async def test_create_returns_the_event_owned_by_this_node(self, node, organizer):
        start = soon(days=10)
        response = await organizer.post(
            EVENTS,
            json=event_body(
                start=start,
                title="  Tenant rights forum  ",
                description="Bring your lease.\nSpanish interpretation.",
                timezone="America/Chicago",
                location={
                    "venue": "Field house",
                    "address_lines": ["4000 N Kedzie Ave"],
                    "locality": "Chicago",
                    "region": "IL",
                    "postal_code": "60618",
                    "location": {"latitude": 41.95, "longitude": -87.71},
                },
                online_url="https://meet.example.org/forum",
                event_type="FORUM",
                status="tentative",
                capacity=80,
                wards=[35, 33, 33],
                precincts=["12", "7"],
            ),
        )
        assert response.status_code == 201, response.text
        event = response.json()
        assert response.headers["location"] == f"{EVENTS}/{event['id']}"
        assert uuid.UUID(event["id"])
        assert event["object_id"] == f"http://ward33.test/events/{event['id']}"
        assert event["origin"] == "http://ward33.test"
        assert event["identifiers"] == [f"ipo-node:{event['object_id']}"]
        assert event["title"] == "Tenant rights forum"
        assert event["version"] == 1
        assert event["wards"] == [33, 35]
        assert event["precincts"] == ["12", "7"]
        assert event["location"]["location"] == {"latitude": 41.95, "longitude": -87.71}
        assert event["status"] == "tentative"
        assert datetime.fromisoformat(event["start_date"]) == start
        assert event["created_date"] == event["modified_date"]
        fetched = await node.client.get(f"{EVENTS}/{event['id']}")
        assert fetched.json() == event

    async def test_times_given_with_an_offset_are_stored_as_utc(self, organizer):
        event = await create_event(
            organizer,
            start_date="2030-07-04T18:00:00-05:00",
            end_date="2030-07-04T20:30:00-05:00",
        )
        assert datetime.fromisoformat(event["start_date"]) == datetime(
            2030, 7, 4, 23, 0, tzinfo=UTC
        )
        assert datetime.fromisoformat(event["start_date"]).utcoffset() == timedelta(0)

    async def test_create_is_audited(self, admin, organizer):
        event = await create_event(organizer)
        assert await audit_actions(admin, event["id"]) == [("event.create", 1)]


class TestUpdate:
    async def test_each_change_bumps_the_version(self, organizer):
        event = await create_event(organizer)
        first = await organizer.patch(f"{EVENTS}/{event['id']}", json={"title": "Renamed"})
        assert first.status_code == 200
        assert first.json()["version"] == 2
        assert first.json()["title"] == "Renamed"
        second = await organizer.patch(f"{EVENTS}/{event['id']}", json={"capacity": 40})
        assert second.json()["version"] == 3
        assert second.json()["title"] == "Renamed"
        assert second.json()["capacity"] == 40
        assert second.json()["modified_date"] > event["modified_date"]
        assert second.json()["created_date"] == event["created_date"]
        assert (await organizer.get(f"{EVENTS}/{event['id']}")).json() == second.json()

    async def test_unchanged_fields_do_not_bump_the_version(self, organizer):
        event = await create_event(organizer, capacity=10)
        response = await organizer.patch(
            f"{EVENTS}/{event['id']}", json={"title": event["title"], "capacity": 10}
        )
        assert response.status_code == 200
        assert response.json() == event

    async def test_null_clears_optional_fields(self, organizer):
        event = await create_event(
            organizer, capacity=10, online_url="https://x.example/", location={"venue": "Hall"}
        )
        response = await organizer.patch(
            f"{EVENTS}/{event['id']}",
            json={"capacity": None, "online_url": None, "location": None},
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["capacity"], body["online_url"], body["location"]) == (None, None, None)

    async def test_moving_the_start_past_the_end_is_refused(self, organizer):
        event = await create_event(organizer)
        later = (soon(days=30)).isoformat()
        response = await organizer.patch(f"{EVENTS}/{event['id']}", json={"start_date": later})
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["loc"] == ["body", "start_date"]
        assert (await organizer.get(f"{EVENTS}/{event['id']}")).json() == event

    async def test_moving_both_times_together_is_accepted(self, organizer):
        event = await create_event(organizer)
        start, end = soon(days=30), soon(days=30, hours=3)
        response = await organizer.patch(
            f"{EVENTS}/{event['id']}",
            json={"start_date": start.isoformat(), "end_date": end.isoformat()},
        )
        assert response.status_code == 200
        assert datetime.fromisoformat(response.json()["end_date"]) == end
        assert response.json()["version"] == 2

    async def test_changing_wards_changes_the_ward_filter(self, organizer):
        event = await create_event(organizer, wards=[33])
        await organizer.patch(f"{EVENTS}/{event['id']}", json={"wards": [1, 2]})
        assert await list_all(organizer, ward=33) == []
        assert [e["id"] for e in await list_all(organizer, ward=2)] == [event["id"]]

    async def test_update_of_a_missing_event_is_404(self, organizer):
        response = await organizer.patch(f"{EVENTS}/nope", json={"title": "x"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "event_not_found"

    async def test_update_is_audited_with_the_fields(self, admin, organizer):
        event = await create_event(organizer)
        await organizer.patch(f"{EVENTS}/{event['id']}", json={"title": "New", "capacity": 3})
        response = await admin.get("/api/v1/audit", params={"action": "event.update"})
        [entry] = response.json()["items"]
        assert entry["detail"] == {"fields": ["capacity", "title"], "version": 2}


class TestCancel:
    async def test_cancel_marks_the_event_cancelled_and_keeps_it_listed(self, node, organizer):
        event = await create_event(organizer)
        response = await organizer.post(f"{EVENTS}/{event['id']}/cancel")
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        assert response.json()["version"] == 2
        listed = await list_all(node.client)
        assert [(e["id"], e["status"]) for e in listed] == [(event["id"], "cancelled")]

    async def test_cancelling_twice_changes_nothing_more(self, organizer):
        event = await create_event(organizer)
        once = await organizer.post(f"{EVENTS}/{event['id']}/cancel")
        twice = await organizer.post(f"{EVENTS}/{event['id']}/cancel")
        assert twice.status_code == 200
        assert twice.json() == once.json()

    async def test_cancel_is_audited(self, admin, organizer):
        event = await create_event(organizer)
        await organizer.post(f"{EVENTS}/{event['id']}/cancel")
        assert await audit_actions(admin, event["id"]) == [
            ("event.create", 1),
            ("event.cancel", 2),
        ]


class TestDelete:
    async def test_a_deleted_event_is_gone(self, node, organizer, member):
        event = await create_event(organizer)
        response = await organizer.delete(f"{EVENTS}/{event['id']}")
        assert response.status_code == 204
        for client in (node.client, member, organizer):
            gone = await client.get(f"{EVENTS}/{event['id']}")
            assert gone.status_code == 410
            assert gone.json()["error"]["code"] == "event_deleted"
            assert await list_all(client) == []

    async def test_a_deleted_private_event_stays_hidden_from_members(self, organizer, member):
        event = await create_event(organizer, visibility="private")
        await organizer.delete(f"{EVENTS}/{event['id']}")
        assert (await member.get(f"{EVENTS}/{event['id']}")).status_code == 404

    async def test_the_tombstone_keeps_ids_and_a_higher_version(self, node, organizer):
        event = await create_event(organizer)
        await organizer.patch(f"{EVENTS}/{event['id']}", json={"title": "Renamed"})
        await organizer.delete(f"{EVENTS}/{event['id']}")
        async with node.session() as session:
            row = await session.get(Event, event["id"])
        assert row.deleted_at is not None
        assert row.version == 3
        assert (row.object_id, row.origin) == (event["object_id"], event["origin"])

    async def test_a_deleted_event_cannot_be_changed(self, organizer):
        event = await create_event(organizer)
        await organizer.delete(f"{EVENTS}/{event['id']}")
        for method, suffix, body in (
            ("PATCH", "", {"title": "Back"}),
            ("POST", "/cancel", None),
            ("DELETE", "", None),
        ):
            response = await organizer.request(method, f"{EVENTS}/{event['id']}{suffix}", json=body)
            assert response.status_code == 409, (method, suffix)
            assert response.json()["error"]["code"] == "event_deleted"

    async def test_delete_is_audited(self, admin, organizer):
        event = await create_event(organizer)
        await organizer.delete(f"{EVENTS}/{event['id']}")
        assert await audit_actions(admin, event["id"]) == [
            ("event.create", 1),
            ("event.delete", 2),
        ]


class TestReplicasOfAlliesEventsAreReadOnly:
    async def test_changing_an_event_owned_by_another_node_is_refused(self, node, organizer):
        ally = "http://ward1.test"
        now = datetime.now(UTC)
        async with node.session() as session:
            replica = Event(
                object_id=f"{ally}/events/abc",
                origin=ally,
                title="Ward 1 rally",
                start_date=soon(),
                end_date=soon(hours=1),
                event_type=EventType.RALLY,
                status=EventStatus.confirmed,
                visibility=Visibility.public,
                version=4,
                created_at=now,
                updated_at=now,
            )
            session.add(replica)
            await session.flush()
            replica_id = replica.id
        before = (await organizer.get(f"{EVENTS}/{replica_id}")).json()
        assert before["origin"] == ally
        for method, suffix, body in (
            ("PATCH", "", {"title": "Ours now"}),
            ("POST", "/cancel", None),
            ("DELETE", "", None),
        ):
            response = await organizer.request(method, f"{EVENTS}/{replica_id}{suffix}", json=body)
            assert response.status_code == 409, (method, suffix)
            error = response.json()["error"]
            assert error["code"] == "event_not_local"
            assert ally in error["message"]
        assert (await organizer.get(f"{EVENTS}/{replica_id}")).json() == before
