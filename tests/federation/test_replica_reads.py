"""What an ally sent, once stored, can never make a read fail.

Two kinds of stored data are tried against every GET route of the receiving node, as an
organizer, as a partner and as a neighbour with no login:

- what today's wire accepts at its limits (the largest count, the longest precinct, a venue of
  spaces), sent through the real inbox with real signatures: local rules must be the wire's;
- what an older node accepted and stored (tabs and escape codes in every text an ally wrote),
  written into the replicas as an upgrade would find them.

Every answer must be below 500, and the lists must still show the ally's objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute

from node.accounts.models import Role
from node.canvass.models import CanvassCall
from node.events.models import Event
from node.forums.models import ForumPlan
from schemas.base import MAX_WIRE_INTEGER
from tests.canvass.helpers import call_body, post_call
from tests.endorsements import body as endorsement_body
from tests.federation.test_inbox_security import create_activity, send, signed
from tests.forums.test_lifecycle import forum_body
from tests.nodes import TestNode, deliver_all
from tests.partners.helpers import partner_client
from tests.web.page_client import page_client
from tests.worlds import star

HOSTILE = "\t\x1b[2J\x1b]0;owned\x07"
"""A tab and the escape codes an older wire let through: clear the screen, retitle a terminal."""

_PARAMETER = re.compile(r"\{([a-z_]+)\}")


async def every_get_route(
    node: TestNode, clients: Mapping[str, httpx.AsyncClient], ids: Mapping[str, str]
) -> dict[str, int]:
    """GET every route of ``node`` (path parameters from ``ids``, else a made-up one) with each
    client; the status of each, keyed "who path". A route that raises counts as 500."""
    answers: dict[str, int] = {}
    for route in node.app.routes:
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        path = _PARAMETER.sub(lambda m: ids.get(m.group(1), "0"), route.path)
        for who, client in clients.items():
            try:
                status = (await client.get(path)).status_code
            except Exception:  # an exception the app let out is what a 500 is made of
                status = 500
            answers[f"{who} {path}"] = status
    return answers


def failures(answers: Mapping[str, int]) -> list[str]:
    return [f"{route}: {status}" for route, status in answers.items() if status >= 500]


async def readers(node: TestNode) -> dict[str, httpx.AsyncClient]:
    web = await page_client(node, role=Role.organizer)
    return {
        "organizer": await node.as_role(Role.organizer),
        "organizer's browser": web.client,
        "partner": await partner_client(node),
        "neighbour": node.client_with(),
    }


async def titles(client: httpx.AsyncClient, path: str) -> list[str]:
    body = (await client.get(path)).json()
    items = body["items"] if isinstance(body, dict) else body
    return [item["title"] for item in items]


class TestWhatTheWireAllows:
    async def test_values_at_the_wire_limits_are_stored_and_read(self, pair) -> None:
        ward33, ward30 = pair
        # Given an ally's event at the edge of what the wire allows
        activity = create_activity(ward33, ward30, title="Edge of the wire")
        activity["object"].update(
            capacity=MAX_WIRE_INTEGER,
            precincts=["P" * 20],
            location={"venue": "   ", "address_lines": [""], "locality": "L" * 100},
        )
        response = await send(ward30, signed(ward33, ward30, activity))
        assert response.status_code == 202, response.text
        # When every route is read
        clients = await readers(ward30)
        async with ward30.session() as session:
            [event_id] = (await session.scalars(sa.select(Event.id))).all()
        answers = await every_get_route(ward30, clients, {"event_id": event_id})
        # Then none fails, and the event reads back as it was sent
        assert failures(answers) == []
        organizer = clients["organizer"]
        [read] = (await organizer.get("/api/v1/events")).json()["items"]
        assert read["capacity"] == MAX_WIRE_INTEGER
        assert read["precincts"] == ["P" * 20]
        assert read["location"]["locality"] == "L" * 100
        partner = await clients["partner"].get(f"/api/v1/partner/events/{event_id}")
        assert partner.status_code == 200, partner.text


def _tainted(value: Any) -> Any:
    """``value`` with the hostile text added to every string an ally wrote (not URLs)."""
    if isinstance(value, str):
        return value if value.startswith("http") else value + HOSTILE
    if isinstance(value, list):
        return [_tainted(item) for item in value]
    if isinstance(value, dict):
        return {key: _tainted(item) for key, item in value.items()}
    return value


_ALLY_TEXT = {
    Event: ("title", "description", "location", "precincts"),
    CanvassCall: (
        "title",
        "campaign_name",
        "turf_description",
        "staging_location",
        "languages_needed",
        "materials",
        "contact",
    ),
    ForumPlan: (
        "title",
        "description",
        "location",
        "accessibility_notes",
        "languages",
        "interpretation",
        "co_hosts",
        "roles",
        "candidate_invitations",
        "agenda_items",
        "question_submissions",
        "tasks",
    ),
}


async def taint_replicas(node: TestNode) -> dict[str, str]:
    """Write the hostile text into every ally-written field of ``node``'s replicas, as a
    node that stored them before the wire refused control characters would hold them.
    Returns the replicas' local ids by path parameter name."""
    ids: dict[str, str] = {}
    async with node.session() as session:
        for table, fields in _ALLY_TEXT.items():
            rows = (await session.scalars(sa.select(table).where(table.origin != node.url))).all()
            assert rows, f"no {table.__name__} replica to taint"
            for row in rows:
                for name in fields:
                    setattr(row, name, _tainted(getattr(row, name)))
                ids[{Event: "event_id", CanvassCall: "call_id", ForumPlan: "forum_id"}[table]] = (
                    row.id
                )
    return ids


class TestWhatAnOlderNodeStored:
    async def test_control_characters_in_stored_replicas_fail_no_read(self, nodes) -> None:
        # Given ward30 holding ward33's event, canvass call and forum, stored with escape codes
        ward33, ward30, ward35 = await nodes.world(star, ("ward33", "ward30", "ward35"))
        organizer33 = await ward33.as_role(Role.organizer)
        for path, body in (
            ("/api/v1/events", {**_EVENT, "title": "Joint rally"}),
            ("/api/v1/forums", forum_body([ward30.url, ward35.url], ward33.url)),
        ):
            created = await organizer33.post(path, json=body)
            assert created.status_code == 201, created.text
        await post_call(ward33)
        await deliver_all(ward33, ward30)
        ids = await taint_replicas(ward30)
        clients = await readers(ward30)
        # When every route is read, while allied and after the alliance ends
        answers = await every_get_route(ward30, clients, ids)
        organizer = clients["organizer"]
        listed_allied = await titles(organizer, "/api/v1/events")
        admin = await ward30.as_role(Role.admin)
        ended = await admin.post(f"/api/v1/alliances/{ward33.url}/end")
        assert ended.status_code == 200, ended.text
        answers_after = await every_get_route(ward30, clients, ids)
        # Then no read fails, and the ally's objects are still listed, text and all
        assert failures(answers) == []
        assert failures(answers_after) == []
        for local_id in ids.values():  # each replica's own pages and API answers were read
            read = [route for route, status in answers.items() if local_id in route]
            assert [answers[route] for route in read].count(200) >= 3, read
        for path in ("/api/v1/events", "/api/v1/canvass-calls", "/api/v1/forums"):
            assert any(HOSTILE in title for title in await titles(organizer, path)), path
        assert any(HOSTILE in title for title in listed_allied)


_EVENT = {
    "title": "Joint rally",
    "start_date": "2030-02-01T00:00:00+00:00",
    "end_date": "2030-02-01T02:00:00+00:00",
    "event_type": "RALLY",
    "visibility": "public",
    "wards": [33],
    "precincts": ["12"],
    "location": {"venue": "Hall", "address_lines": ["1 Main St"], "locality": "Chicago"},
}


_NOT_TEXT = {"start_date", "end_date", "due_date", "kind", "visibility", "event_type", "status"}


def _with_in_each_text(
    control: str, body: Any, path: tuple[Any, ...] = ()
) -> list[tuple[str, Any]]:
    """Copies of ``body``, each with ``control`` added to one text a person wrote."""
    variants: list[tuple[str, Any]] = []
    items = body.items() if isinstance(body, dict) else enumerate(body)
    for key, value in items:
        if isinstance(value, dict | list):
            for where, changed in _with_in_each_text(control, value, (*path, key)):
                copy = _copied(body)
                copy[key] = changed
                variants.append((where, copy))
        elif isinstance(value, str) and key not in _NOT_TEXT and not value.startswith("http"):
            copy = _copied(body)
            copy[key] = value + control
            variants.append((".".join(map(str, (*path, key))), copy))
    return variants


def _copied(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else list(value)


class TestWhatAUserMayWriteAnAllyMayRead:
    @pytest.mark.parametrize("control", ["\x1b[2J", "\x00"], ids=["an escape code", "NUL"])
    async def test_a_control_character_in_any_text_is_refused_at_the_form(
        self, nodes, control
    ) -> None:
        # The same characters the wire refuses: a saved object must always be sendable (and
        # PostgreSQL cannot store a NUL: it was a 500)
        ward33, ward30, ward35 = await nodes.world(star, ("ward33", "ward30", "ward35"))
        organizer = await ward33.as_role(Role.organizer)
        bodies = {
            "/api/v1/events": _EVENT,
            "/api/v1/canvass-calls": call_body(),
            "/api/v1/forums": forum_body([ward30.url, ward35.url], ward33.url),
            "/api/v1/endorsements": endorsement_body([ward30.url, ward35.url]),
        }
        accepted = []
        for path, body in bodies.items():
            variants = _with_in_each_text(control, body)
            assert len(variants) >= 3, path
            for where, variant in variants:
                response = await organizer.post(path, json=variant)
                # a NUL is refused before validation, with every NUL in a body (400)
                if response.status_code != (400 if control == "\x00" else 422):
                    accepted.append(f"{path} {where}: {response.status_code}")
                elif "\\u001f" in response.json()["error"]["message"]:  # a pattern, not words
                    accepted.append(f"{path} {where}: {response.json()['error']['message']}")
            # the body as it was is taken: it is the control character that was refused
            assert (await organizer.post(path, json=body)).status_code == 201, path
        assert accepted == []
        # and nothing refused was kept: one of each, plus the forum's calendar entry
        for path, count in {**dict.fromkeys(bodies, 1), "/api/v1/events": 2}.items():
            listed = (await organizer.get(path)).json()
            assert len(listed["items"] if isinstance(listed, dict) else listed) == count, path
