"""The public ICS feed, read back with an independent parser (vobject)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import vobject

from tests.events import EVENTS, create_event, soon

FEED = "/calendar.ics"


async def read_feed(client):
    response = await client.get(FEED)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = vobject.readOne(response.text)
    return calendar, {e.uid.value: e for e in calendar.contents.get("vevent", [])}


class TestWhatTheFeedShows:
    async def test_only_public_upcoming_events_of_this_node(self, node, organizer):
        public = await create_event(organizer, title="Public")
        await create_event(organizer, title="Coalition", visibility="coalition")
        await create_event(organizer, title="Private", visibility="private")
        await create_event(organizer, title="Past", start=soon(days=-3))
        ongoing = await create_event(
            organizer, title="Ongoing", start=soon(days=-1), end_date=soon(days=1).isoformat()
        )
        deleted = await create_event(organizer, title="Deleted")
        await organizer.delete(f"{EVENTS}/{deleted['id']}")
        calendar, events = await read_feed(node.client)
        assert set(events) == {public["object_id"], ongoing["object_id"]}
        assert calendar.prodid.value == "-//ipo-node//EN"
        assert calendar.version.value == "2.0"
        assert calendar.contents["x-wr-calname"][0].value == "Test ward33"

    async def test_logging_in_does_not_widen_the_feed(self, organizer):
        await create_event(organizer, title="Private", visibility="private")
        _, events = await read_feed(organizer)
        assert events == {}

    async def test_an_empty_calendar_is_still_valid(self, node):
        calendar, events = await read_feed(node.client)
        assert events == {}
        assert calendar.prodid.value == "-//ipo-node//EN"


class TestEventsInTheFeed:
    async def test_times_are_utc(self, node, organizer):
        event = await create_event(
            organizer,
            start_date="2031-03-09T18:30:00-05:00",
            end_date="2031-03-09T21:00:00-05:00",
        )
        _, events = await read_feed(node.client)
        vevent = events[event["object_id"]]
        assert vevent.dtstart.value == datetime(2031, 3, 9, 23, 30, tzinfo=UTC)
        assert vevent.dtend.value == datetime(2031, 3, 10, 2, 0, tzinfo=UTC)
        assert vevent.dtstart.value.utcoffset() == timedelta(0)

    async def test_the_uid_is_stable_and_the_sequence_follows_the_version(self, node, organizer):
        event = await create_event(organizer, title="Before")
        _, before = await read_feed(node.client)
        assert before[event["object_id"]].sequence.value == "0"
        await organizer.patch(f"{EVENTS}/{event['id']}", json={"title": "After"})
        _, after = await read_feed(node.client)
        assert list(after) == [event["object_id"]]
        vevent = after[event["object_id"]]
        assert vevent.summary.value == "After"
        assert vevent.sequence.value == "1"

    async def test_stamps_are_the_modification_time(self, node, organizer):
        event = await create_event(organizer)
        changed = (await organizer.post(f"{EVENTS}/{event['id']}/cancel")).json()
        _, events = await read_feed(node.client)
        vevent = events[event["object_id"]]
        modified = datetime.fromisoformat(changed["modified_date"]).replace(microsecond=0)
        assert vevent.dtstamp.value == modified
        assert vevent.contents["last-modified"][0].value == modified

    async def test_a_cancelled_event_stays_with_status_cancelled(self, node, organizer):
        event = await create_event(organizer)
        tentative = await create_event(organizer, status="tentative")
        await organizer.post(f"{EVENTS}/{event['id']}/cancel")
        _, events = await read_feed(node.client)
        assert events[event["object_id"]].status.value == "CANCELLED"
        assert events[tentative["object_id"]].status.value == "TENTATIVE"

    async def test_special_characters_survive(self, node, organizer):
        title = "Café, pupusas; and a long title that needs folding " + "é" * 60
        description = "Line one, with comma;\nline two: naïve \\ backslash\n\nÚltima línea"
        event = await create_event(
            organizer,
            title=title,
            description=description,
            location={
                "venue": "Casa del Barrio; Sala 2",
                "address_lines": ["1234 W. Peñasco St, Unit 3"],
                "locality": "Chicago",
                "region": "IL",
                "postal_code": "60647",
                "location": {"latitude": 41.92, "longitude": -87.7},
            },
            online_url="https://meet.example.org/café?x=1&y=2",
        )
        _, events = await read_feed(node.client)
        vevent = events[event["object_id"]]
        assert vevent.summary.value == title
        assert vevent.description.value == description
        assert vevent.location.value == (
            "Casa del Barrio; Sala 2, 1234 W. Peñasco St, Unit 3, Chicago, IL 60647"
        )
        assert vevent.url.value == event["online_url"]

    async def test_an_event_without_location_or_description_has_neither(self, node, organizer):
        event = await create_event(organizer)
        _, events = await read_feed(node.client)
        vevent = events[event["object_id"]]
        assert "location" not in vevent.contents
        assert "description" not in vevent.contents
        assert "url" not in vevent.contents
