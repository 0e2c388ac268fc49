"""Repeating events: how a series expands (in its own time zone, across DST), its limits, and
changes to one occurrence or to it and the following ones; cancelling with a reason; deleting."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from node.audit.service import CLI
from node.errors import InvalidInput
from node.events import series
from node.events.models import EventUpdate, Repeat
from node.events.recurrence import rule_for
from node.events.series import Scope
from tests.events import EVENTS, list_all
from tests.nodes import TestNode

CHICAGO = ZoneInfo("America/Chicago")
SERIES = f"{EVENTS}/series"


def at(*parts: int) -> datetime:
    """A Chicago wall-clock time, as an aware datetime."""
    return datetime(*parts, tzinfo=CHICAGO)  # type: ignore[misc]


def series_body(start: datetime, end: datetime, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Tuesday doors",
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "timezone": "America/Chicago",
        "event_type": "CANVASS",
        "visibility": "coalition",
        "repeat": "weekly",
        "count": 4,
    }
    body.update(overrides)
    return body


async def make_series(client: Any, start: datetime, end: datetime, **overrides: Any) -> Any:
    response = await client.post(SERIES, json=series_body(start, end, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


def local(event: dict[str, Any]) -> tuple[str, str]:
    """An event's start and end as Chicago wall-clock text."""
    start = datetime.fromisoformat(event["start_date"]).astimezone(CHICAGO)
    end = datetime.fromisoformat(event["end_date"]).astimezone(CHICAGO)
    return f"{start:%Y-%m-%d %H:%M}", f"{end:%H:%M}"


class TestExpansion:
    async def test_weekly_keeps_six_pm_across_the_november_dst_change(self, organizer):
        made = await make_series(organizer, at(2026, 10, 20, 18, 0), at(2026, 10, 20, 20, 0))
        assert made["rule"] == "FREQ=WEEKLY;COUNT=4"
        assert made["summary"] == "Every week, 4 times"
        assert [local(event) for event in made["events"]] == [
            ("2026-10-20 18:00", "20:00"),
            ("2026-10-27 18:00", "20:00"),
            ("2026-11-03 18:00", "20:00"),
            ("2026-11-10 18:00", "20:00"),
        ]
        # the same 6 pm is 23:00 UTC in daylight time and midnight UTC after it ends
        utc = [event["start_date"] for event in made["events"]]
        assert utc[1].startswith("2026-10-27T23:00:00")
        assert utc[2].startswith("2026-11-04T00:00:00")
        assert {event["series_id"] for event in made["events"]} == {made["id"]}

    async def test_every_two_weeks(self, organizer):
        made = await make_series(
            organizer, at(2026, 12, 1, 10, 0), at(2026, 12, 1, 12, 0), repeat="every_two_weeks"
        )
        assert made["summary"] == "Every two weeks, 4 times"
        assert [local(event)[0] for event in made["events"]] == [
            "2026-12-01 10:00",
            "2026-12-15 10:00",
            "2026-12-29 10:00",
            "2027-01-12 10:00",
        ]

    async def test_monthly_on_the_second_tuesday_into_daylight_time(self, organizer):
        # 8 Dec 2026 is the 2nd Tuesday; daylight time starts on 14 Mar 2027
        made = await make_series(
            organizer, at(2026, 12, 8, 19, 0), at(2026, 12, 8, 21, 0), repeat="monthly_weekday"
        )
        assert made["rule"] == "FREQ=MONTHLY;COUNT=4;BYDAY=2TU"
        assert made["summary"] == "Every month on the 2nd Tuesday, 4 times"
        assert [local(event) for event in made["events"]] == [
            ("2026-12-08 19:00", "21:00"),
            ("2027-01-12 19:00", "21:00"),
            ("2027-02-09 19:00", "21:00"),
            ("2027-03-09 19:00", "21:00"),
        ]

    async def test_a_fifth_weekday_repeats_as_the_last_one(self, organizer):
        made = await make_series(
            organizer, at(2026, 12, 29, 19, 0), at(2026, 12, 29, 20, 0),
            repeat="monthly_weekday", count=3,
        )  # fmt: skip
        assert made["summary"] == "Every month on the last Tuesday, 3 times"
        assert [local(e)[0][:10] for e in made["events"]] == [
            "2026-12-29", "2027-01-26", "2027-02-23"
        ]  # fmt: skip

    async def test_until_a_date_includes_that_date_like_the_same_count(self, organizer):
        by_date = await make_series(
            organizer, at(2026, 10, 20, 18, 0), at(2026, 10, 20, 20, 0),
            count=None, until="2026-11-10",
        )  # fmt: skip
        by_count = await make_series(organizer, at(2026, 10, 20, 18, 0), at(2026, 10, 20, 20, 0))
        assert [local(e) for e in by_date["events"]] == [local(e) for e in by_count["events"]]
        assert by_date["rule"] == "FREQ=WEEKLY;UNTIL=20261111T055959Z"
        assert by_date["summary"] == "Every week, until Tue 10 Nov 2026"

    async def test_up_to_104_occurrences_and_no_more(self, organizer):
        made = await make_series(organizer, at(2027, 1, 5, 18, 0), at(2027, 1, 5, 19, 0), count=104)
        assert len(made["events"]) == 104
        too_many = await organizer.post(
            SERIES, json=series_body(at(2027, 1, 5, 18, 0), at(2027, 1, 5, 19, 0), count=105)
        )
        assert too_many.status_code == 422
        years = await organizer.post(
            SERIES,
            json=series_body(
                at(2027, 1, 5, 18, 0), at(2027, 1, 5, 19, 0), count=None, until="2030-01-01"
            ),
        )
        assert years.status_code == 422
        assert "at most 104 occurrences" in years.json()["error"]["message"]
        assert years.json()["error"]["details"][0]["loc"] == ["body", "until"]

    async def test_refused_without_an_end_with_both_ends_or_a_single_date(self, organizer):
        start, end = at(2027, 1, 5, 18, 0), at(2027, 1, 5, 19, 0)
        no_end, both = {"count": None}, {"until": "2027-03-01"}
        one_date = {"count": None, "until": "2027-01-10"}
        for changes in (no_end, both, one_date):
            response = await organizer.post(SERIES, json=series_body(start, end, **changes))
            assert response.status_code == 422, changes
        assert await list_all(organizer) == []

    async def test_an_occurrence_in_the_skipped_hour_is_refused_in_words(self, organizer):
        # 2:30 on 14 Mar 2027 does not exist in Chicago: clocks jump from 2:00 to 3:00
        response = await organizer.post(
            SERIES, json=series_body(at(2027, 3, 7, 2, 30), at(2027, 3, 7, 4, 0))
        )
        assert response.status_code == 422
        assert "02:30 on Sun 14 Mar 2027 in America/Chicago does not exist" in response.text
        assert await list_all(organizer) == []

    async def test_members_cannot_make_a_series(self, member):
        response = await member.post(
            SERIES, json=series_body(at(2027, 1, 5, 18, 0), at(2027, 1, 5, 19, 0))
        )
        assert response.status_code == 403

    async def test_the_series_reads_back_with_its_occurrences(self, organizer, member):
        made = await make_series(organizer, at(2027, 1, 5, 18, 0), at(2027, 1, 5, 19, 0))
        read = await member.get(f"{SERIES}/{made['id']}")
        assert read.status_code == 200
        assert [e["id"] for e in read.json()["events"]] == [e["id"] for e in made["events"]]
        assert (await member.get(f"{SERIES}/nope")).status_code == 404


async def change(node: TestNode, event: dict[str, Any], scope: Scope, **fields: Any) -> None:
    async with node.session() as session:
        await series.change_from(
            session, event_id=event["id"], data=EventUpdate.model_validate(fields), scope=scope,
            actor=CLI, settings=node.settings,
        )  # fmt: skip


async def occurrences(client: Any, made: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get(f"{SERIES}/{made['id']}")
    assert response.status_code == 200
    return list(response.json()["events"])


class TestChangingOccurrences:
    async def test_one_occurrence_changes_alone(self, node, organizer):
        made = await make_series(organizer, at(2026, 10, 20, 18, 0), at(2026, 10, 20, 20, 0))
        second = made["events"][1]
        await change(node, second, Scope.this, title="Tuesday doors (moved)",
                     start_date=at(2026, 10, 27, 17, 0).isoformat())  # fmt: skip
        events = await occurrences(organizer, made)
        assert [e["title"] for e in events] == ["Tuesday doors", "Tuesday doors (moved)",
                                                "Tuesday doors", "Tuesday doors"]  # fmt: skip
        assert [local(e)[0][11:] for e in events] == ["18:00", "17:00", "18:00", "18:00"]
        assert [e["version"] for e in events] == [1, 2, 1, 1]

    async def test_this_and_following_moves_later_times_by_the_same_wall_clock_change(
        self, node, organizer
    ):
        made = await make_series(organizer, at(2026, 10, 20, 18, 0), at(2026, 10, 20, 20, 0))
        # Given the fourth was already given its own title
        await change(node, made["events"][3], Scope.this, title="Last doors")
        # When the second moves half an hour later and gets a place, from then on
        await change(
            node, made["events"][1], Scope.following,
            start_date=at(2026, 10, 27, 18, 30).isoformat(),
            end_date=at(2026, 10, 27, 20, 30).isoformat(),
            location={"venue": "Field house"}, title="Tuesday doors",
        )  # fmt: skip
        events = await occurrences(organizer, made)
        # Then the first is untouched; the others start at 18:30 local, across the DST change
        assert [local(e) for e in events] == [
            ("2026-10-20 18:00", "20:00"),
            ("2026-10-27 18:30", "20:30"),
            ("2026-11-03 18:30", "20:30"),
            ("2026-11-10 18:30", "20:30"),
        ]
        assert [(e["location"] or {}).get("venue") for e in events] == [
            None, "Field house", "Field house", "Field house"
        ]  # fmt: skip
        # and only what this edit changed was applied: the title it did not change stays
        assert [e["title"] for e in events] == ["Tuesday doors"] * 3 + ["Last doors"]
        assert [e["version"] for e in events] == [1, 2, 2, 3]

    async def test_a_later_occurrence_landing_in_a_skipped_hour_changes_nothing(
        self, node, organizer
    ):
        # Sundays at 1:30; moving them an hour later puts 14 Mar 2027 at 2:30, which does not exist
        made = await make_series(organizer, at(2027, 3, 7, 1, 30), at(2027, 3, 7, 1, 45), count=2)
        with pytest.raises(InvalidInput, match=r"02:30 on Sun 14 Mar 2027 .* does not exist"):
            await change(node, made["events"][0], Scope.following,
                         start_date=at(2027, 3, 7, 2, 30).isoformat(),
                         end_date=at(2027, 3, 7, 2, 45).isoformat())  # fmt: skip
        events = await occurrences(organizer, made)
        assert [local(e)[0][11:] for e in events] == ["01:30", "01:30"]
        assert [e["version"] for e in events] == [1, 1]


class TestCancelAndDelete:
    async def test_cancel_with_a_reason_keeps_the_reason(self, organizer):
        made = await make_series(organizer, at(2027, 1, 5, 18, 0), at(2027, 1, 5, 19, 0))
        first = made["events"][0]
        response = await organizer.post(
            f"{EVENTS}/{first['id']}/cancel", json={"reason": "  Snow storm  "}
        )
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["cancellation_reason"]) == (
            "cancelled", "Snow storm"
        )  # fmt: skip
        # without a body too, as before
        second = await organizer.post(f"{EVENTS}/{made['events'][1]['id']}/cancel")
        assert (second.json()["status"], second.json()["cancellation_reason"]) == (
            "cancelled", ""
        )  # fmt: skip

    async def test_putting_it_back_on_forgets_the_reason(self, organizer):
        made = await make_series(organizer, at(2027, 1, 5, 18, 0), at(2027, 1, 5, 19, 0))
        event_id = made["events"][0]["id"]
        await organizer.post(f"{EVENTS}/{event_id}/cancel", json={"reason": "Snow"})
        back = await organizer.patch(f"{EVENTS}/{event_id}", json={"status": "confirmed"})
        assert (back.json()["status"], back.json()["cancellation_reason"]) == ("confirmed", None)

    async def test_cancel_this_and_following(self, node, organizer):
        made = await make_series(organizer, at(2027, 1, 5, 18, 0), at(2027, 1, 5, 19, 0))
        async with node.session() as session:
            cancelled = await series.cancel_from(
                session, event_id=made["events"][2]["id"], reason="Hall closed",
                scope=Scope.following, actor=CLI, settings=node.settings,
            )  # fmt: skip
        assert len(cancelled) == 2
        events = await occurrences(organizer, made)
        assert [(e["status"], e["cancellation_reason"]) for e in events] == [
            ("confirmed", None), ("confirmed", None),
            ("cancelled", "Hall closed"), ("cancelled", "Hall closed"),
        ]  # fmt: skip

    async def test_delete_one_and_then_the_following(self, node, organizer):
        made = await make_series(organizer, at(2027, 1, 5, 18, 0), at(2027, 1, 5, 19, 0))
        ids = [e["id"] for e in made["events"]]
        assert (await organizer.delete(f"{EVENTS}/{ids[0]}")).status_code == 204
        async with node.session() as session:
            await series.delete_from(session, event_id=ids[2], scope=Scope.following,
                                     actor=CLI, settings=node.settings)  # fmt: skip
        assert [e["id"] for e in await occurrences(organizer, made)] == [ids[1]]
        assert (await organizer.get(f"{EVENTS}/{ids[3]}")).status_code == 410


class TestRule:
    def test_an_until_date_is_the_end_of_that_local_day_in_utc(self):
        rule = rule_for(Repeat.weekly, first=date(2027, 6, 1), zone=CHICAGO, count=None,
                        until=date(2027, 6, 29))  # fmt: skip
        assert rule == "FREQ=WEEKLY;UNTIL=20270630T045959Z"
