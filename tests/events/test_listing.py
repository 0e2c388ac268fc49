"""Listing events: filters, order and cursor pagination."""

from __future__ import annotations

from datetime import datetime

from tests.events import EVENTS, create_event, list_all, soon


def titles(events):
    return [e["title"] for e in events]


class TestFilters:
    async def test_date_range_is_on_the_start(self, organizer):
        for day in (1, 5, 9):
            await create_event(organizer, title=f"day {day}", start=soon(days=day))
        events = await list_all(
            organizer,
            start_after=soon(days=5).isoformat(),
            start_before=soon(days=9).isoformat(),
        )
        assert titles(events) == ["day 5"]
        assert titles(await list_all(organizer, start_after=soon(days=2).isoformat())) == [
            "day 5",
            "day 9",
        ]

    async def test_event_type_is_repeatable(self, organizer):
        for kind in ("RALLY", "CANVASS", "FORUM"):
            await create_event(organizer, title=kind, event_type=kind)
        events = await list_all(organizer, event_type=["RALLY", "FORUM"])
        assert sorted(titles(events)) == ["FORUM", "RALLY"]

    async def test_ward_matches_events_that_include_it(self, organizer):
        await create_event(organizer, title="33 only", wards=[33])
        await create_event(organizer, title="33 and 35", wards=[35, 33])
        await create_event(organizer, title="3", wards=[3])
        await create_event(organizer, title="no wards")
        assert sorted(titles(await list_all(organizer, ward=33))) == ["33 and 35", "33 only"]
        assert titles(await list_all(organizer, ward=3)) == ["3"]
        assert await list_all(organizer, ward=50) == []

    async def test_status(self, organizer):
        await create_event(organizer, title="on")
        off = await create_event(organizer, title="off")
        await organizer.post(f"{EVENTS}/{off['id']}/cancel")
        assert titles(await list_all(organizer, status="cancelled")) == ["off"]
        assert titles(await list_all(organizer, status="confirmed")) == ["on"]

    async def test_updated_since_returns_changes_in_the_order_they_happened(self, organizer):
        first = await create_event(organizer, title="first", start=soon(days=1))
        second = await create_event(organizer, title="second", start=soon(days=2))
        untouched = await create_event(organizer, title="untouched", start=soon(days=3))
        assert untouched["modified_date"] >= first["modified_date"]
        changed = await organizer.patch(f"{EVENTS}/{second['id']}", json={"capacity": 5})
        await organizer.patch(f"{EVENTS}/{first['id']}", json={"capacity": 5})
        since = changed.json()["modified_date"]
        events = await list_all(organizer, updated_since=since)
        # Ordered by modification, not by start: "second" changed first.
        assert titles(events) == ["second", "first"]

    async def test_updated_since_is_inclusive(self, organizer):
        event = await create_event(organizer)
        events = await list_all(organizer, updated_since=event["modified_date"])
        assert [e["id"] for e in events] == [event["id"]]


class TestPagination:
    async def test_walking_the_pages_sees_every_event_once_in_order(self, organizer):
        tie = soon(days=3)
        created = [await create_event(organizer, title=f"tie {i}", start=tie) for i in range(5)]
        created += [
            await create_event(organizer, title=f"day {d}", start=soon(days=d)) for d in (1, 6)
        ]
        pages = []
        response = await organizer.get(EVENTS, params={"limit": 2})
        while True:
            page = response.json()
            pages.append(page["items"])
            if page["next"] is None:
                assert page["next_cursor"] is None
                break
            response = await organizer.get(page["next"])
        assert [len(p) for p in pages] == [2, 2, 2, 1]
        walked = [e["id"] for p in pages for e in p]
        expected = sorted(created, key=lambda e: (datetime.fromisoformat(e["start_date"]), e["id"]))
        assert walked == [e["id"] for e in expected]
        assert len(set(walked)) == 7

    async def test_an_event_added_while_paging_does_not_shift_later_pages(self, organizer):
        tie = soon(days=3)
        created = sorted([(await create_event(organizer, start=tie))["id"] for _ in range(4)])
        first = (await organizer.get(EVENTS, params={"limit": 2})).json()
        assert [e["id"] for e in first["items"]] == created[:2]
        await create_event(organizer, start=soon(days=1))  # sorts before the cursor
        second = (await organizer.get(first["next"])).json()
        assert [e["id"] for e in second["items"]] == created[2:]
        assert second["next"] is None

    async def test_updated_since_pages_by_modification_time(self, organizer):
        events = [await create_event(organizer, start=soon(days=9 - i)) for i in range(5)]
        walked = await list_all(organizer, updated_since=events[0]["modified_date"], limit=2)
        assert [e["id"] for e in walked] == [e["id"] for e in events]
