"""Bad input gets a JSON error that says where, and writes nothing."""

from __future__ import annotations

import pytest

from tests.events import EVENTS, count_event_rows, create_event, event_body, soon

START = soon()

BAD_CREATES = {
    "unknown field": event_body(colour="red"),
    "end before start": event_body(end_date=soon(hours=-1).isoformat()),
    "naive start": event_body(start_date="2030-01-01T18:00:00", end_date="2030-01-01T20:00:00Z"),
    "naive end": event_body(end_date="2030-01-01T20:00:00"),
    "not a date": event_body(start_date="next tuesday"),
    "unknown time zone": event_body(timezone="America/Gotham"),
    "time zone path": event_body(timezone="../../etc/passwd"),
    "ward 0": event_body(wards=[0]),
    "ward 51": event_body(wards=[33, 51]),
    "negative capacity": event_body(capacity=-1),
    "unknown event type": event_body(event_type="PARTY"),
    "lowercase event type": event_body(event_type="meeting"),
    "unknown status": event_body(status="postponed"),
    "unknown visibility": event_body(visibility="secret"),
    "empty title": event_body(title="   "),
    "long title": event_body(title="x" * 201),
    "long description": event_body(description="x" * 10_001),
    "control character": event_body(description="bell \x07"),
    "missing title": {k: v for k, v in event_body().items() if k != "title"},
    "missing end": {k: v for k, v in event_body().items() if k != "end_date"},
    "not a url": event_body(online_url="javascript:alert(1)"),
    "unknown location field": event_body(location={"venue": "Hall", "floor": 2}),
    "latitude out of range": event_body(location={"location": {"latitude": 91, "longitude": 0}}),
    "precinct not a string": event_body(precincts=[{"n": 1}]),
}


class TestBadCreates:
    @pytest.mark.parametrize("body", BAD_CREATES.values(), ids=BAD_CREATES.keys())
    async def test_is_refused_and_writes_nothing(self, node, organizer, body):
        response = await organizer.post(EVENTS, json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_failed"
        assert error["details"], error
        assert await count_event_rows(node) == 0

    async def test_a_nul_is_refused_before_validation_and_writes_nothing(self, node, organizer):
        # PostgreSQL cannot store a NUL: every body is checked for one first (node.ops.limits)
        response = await organizer.post(EVENTS, json=event_body(title="a\x00b"))
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "bad_request"
        assert await count_event_rows(node) == 0

    async def test_a_body_that_is_not_json_is_refused(self, node, organizer):
        response = await organizer.post(
            EVENTS, content=b"title=x", headers={"content-type": "text/plain"}
        )
        assert response.status_code == 422
        assert await count_event_rows(node) == 0


BAD_UPDATES = {
    "unknown field": {"colour": "red"},
    "id is not writable": {"id": "mine"},
    "version is not writable": {"version": 99},
    "origin is not writable": {"origin": "http://evil.test"},
    "null title": {"title": None},
    "null start": {"start_date": None},
    "null wards": {"wards": None},
    "end before start": {"end_date": soon(days=1).isoformat()},
    "naive start": {"start_date": "2030-01-01T18:00:00"},
    "bad time zone": {"timezone": "Mars/Olympus_Mons"},
    "ward 0": {"wards": [0]},
    "negative capacity": {"capacity": -5},
    "bad event type": {"event_type": "BBQ"},
}


class TestBadUpdates:
    @pytest.mark.parametrize("body", BAD_UPDATES.values(), ids=BAD_UPDATES.keys())
    async def test_is_refused_and_changes_nothing(self, organizer, body):
        event = await create_event(organizer, start=soon(days=7))
        response = await organizer.patch(f"{EVENTS}/{event['id']}", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"]
        assert (await organizer.get(f"{EVENTS}/{event['id']}")).json() == event


BAD_QUERIES = {
    "naive start_after": {"start_after": "2030-01-01T00:00:00"},
    "ward 0": {"ward": 0},
    "unknown type": {"event_type": "PARTY"},
    "limit 0": {"limit": 0},
    "garbage cursor": {"cursor": "not-a-cursor"},
}


class TestBadListQueries:
    @pytest.mark.parametrize("params", BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
    async def test_is_refused(self, organizer, params):
        response = await organizer.get(EVENTS, params=params)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"]
