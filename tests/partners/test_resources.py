"""The partner read API over a real coalition: what a partner of ward33 sees, and how it syncs.

The world: ward33 (the partner's node), ward30 (an ally) and ward35 (a former ally: the
alliance ended after it shared its events). Each posted a public, a coalition and a private
meeting; ward33 also has a forum co-hosted by ward30, an endorsement ward30 signed, a draft,
and a canvass call; ward30 has a canvass call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from federation.storage import utcnow
from node.accounts.models import Role
from node.canvass.models import CanvassShift
from node.endorsements.bundle import check_bundle
from node.partners import representations as rep
from tests.canvass.helpers import call_body
from tests.endorsements import answer, body, propose
from tests.forums.test_lifecycle import forum_body
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.partners.helpers import partner_client
from tests.worlds import Spec, spec, star

API = "/api/v1/partner"
VISIBILITIES = ("public", "coalition", "private")


@dataclass
class World:
    home: TestNode
    ally: TestNode
    former: TestNode
    events: dict[str, dict[str, Any]]  # "ward30 coalition" -> the origin's event JSON
    endorsement: dict[str, Any]
    draft: dict[str, Any]
    forum: dict[str, Any]
    calls: dict[str, dict[str, Any]]


async def post_event(node: TestNode, visibility: str, **fields: Any) -> dict[str, Any]:
    organizer = await node.as_role(Role.organizer)
    start = utcnow() + timedelta(days=fields.pop("days", 5))
    response = await organizer.post(
        "/api/v1/events",
        json={
            "title": fields.pop("title", f"Meeting {node.name} {visibility}"),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(hours=1)).isoformat(),
            "event_type": "MEETING",
            "visibility": visibility,
            **fields,
        },
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def build_world(nodes: NodeFactory, **home_settings: Any) -> World:
    """The partner's view of a small coalition: built once per run, copied for each test."""
    (home, ally30, former), shared = await nodes.world_with(
        _coalition_with_everything, spec("ward33", **home_settings)
    )
    return World(home, ally30, former, **shared)


async def _coalition_with_everything(
    factory: NodeFactory, home_spec: Spec
) -> tuple[list[TestNode], dict[str, Any]]:
    """ward33 with an ally (ward30) and a former ally (ward35); events of every visibility on
    each, a forum, a ratified endorsement and a draft, a canvass call on two of them."""
    home, ally30, former = await star(factory, (home_spec, "ward30", "ward35"))
    events = {}
    for node in (home, ally30, former):
        for days, visibility in enumerate(VISIBILITIES, start=3):
            wards = [int(node.name[4:])]
            events[f"{node.name} {visibility}"] = await post_event(
                node, visibility, wards=wards, days=days
            )
    organizer = await home.as_role(Role.organizer)
    forum = await organizer.post(
        "/api/v1/forums", json=forum_body([ally30.url, former.url], home.url)
    )
    assert forum.status_code == 201, forum.text
    endorsement = await propose(home, [home.url, ally30.url])
    draft = await organizer.post("/api/v1/endorsements", json=body([home.url, ally30.url]))
    assert draft.status_code == 201
    calls = {}
    for node in (home, ally30):
        created = await (await node.as_role(Role.organizer)).post(
            "/api/v1/canvass-calls", json=call_body(shifts=2)
        )
        assert created.status_code == 201, created.text
        calls[node.name] = created.json()
    await deliver_all(home, ally30, former)
    for node in (home, ally30):
        assert (await answer(node, endorsement["object_id"])).status_code == 200
    await deliver_all(home, ally30, former)
    admin = await home.as_role(Role.admin)
    ended = await admin.post(f"/api/v1/alliances/{former.url}/end")
    assert ended.status_code == 200, ended.text
    await deliver_all(home, ally30, former)
    shared = {
        "events": events,
        "endorsement": endorsement,
        "draft": draft.json(),
        "forum": forum.json(),
        "calls": calls,
    }
    return [home, ally30, former], shared


async def post_report(node: TestNode, call: dict[str, Any]) -> None:
    """A report on the call's first shift, moved into the past so that it may be reported."""
    async with node.session() as session:
        shift = await session.get(CanvassShift, call["shifts"][0]["id"])
        assert shift is not None
        shift.start_date = utcnow() - timedelta(hours=4)
        shift.end_date = utcnow() - timedelta(hours=1)
    organizer = await node.as_role(Role.organizer)
    body = {
        "shift_id": call["shifts"][0]["id"],
        "precincts": [{"precinct": "4", "doors_knocked": 120, "conversations": 31, "signups": 9}],
    }
    response = await organizer.post(f"/api/v1/canvass-calls/{call['id']}/reports", json=body)
    assert response.status_code == 201, response.text


async def everything(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following ``next`` to the end."""
    items: list[dict[str, Any]] = []
    url: str | None = path
    query: dict[str, Any] | None = params
    while url:
        response = await client.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        url, query = page["next"], None
    return items


def titles(items: list[dict[str, Any]]) -> set[str]:
    return {item["title"] for item in items}


class TestWhatAPartnerSees:
    async def test_own_and_allies_shared_objects_never_private(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["events:read", "forums:read"])

        meetings = await everything(client, f"{API}/events", type="MEETING")

        assert titles(meetings) == {
            "Meeting ward33 public",
            "Meeting ward33 coalition",
            "Meeting ward30 public",
            "Meeting ward30 coalition",
            "Meeting ward35 public",  # a former ally's: public ones only
        }
        by_title = {item["title"]: item for item in meetings}
        shared = by_title["Meeting ward30 coalition"]
        origin_event = world.events["ward30 coalition"]
        assert shared["identifiers"] == [f"ipo-node:{origin_event['object_id']}"]
        assert shared["origin"] == {"id": world.ally.url, "name": "Test ward30", "relation": "ally"}
        assert by_title["Meeting ward35 public"]["origin"]["relation"] == "former_ally"
        assert shared["start_date"].endswith(("Z", "+00:00"))
        assert shared["wards"] == [30]
        forums = await everything(client, f"{API}/forums")
        [forum] = forums
        assert [c["organization"]["id"] for c in forum["co_hosts"]] == [
            world.ally.url,
            world.former.url,
        ]
        assert "question_submissions" not in forums[0]
        assert "tasks" not in forums[0]

    async def test_events_are_served_exactly_as_their_model_dumps_them(self, nodes):
        # Events are mapped straight to JSON, not through PartnerEvent: same fields, same order.
        world = await build_world(nodes)
        client = await partner_client(world.home, ["events:read"])
        organizer = await world.home.as_role(Role.organizer)
        place = {"venue": "Hall", "location": {"latitude": 41, "longitude": -87.7}}
        moved_place = {
            "venue": "Hall",
            "address_lines": [],
            "locality": None,
            "region": None,
            "postal_code": None,
            "location": {"latitude": 41.0, "longitude": -87.7},
        }
        own = world.events["ward33 public"]
        await organizer.patch(f"/api/v1/events/{own['id']}", json={"location": place})
        theirs = world.events["ward30 public"]
        allied = await world.ally.as_role(Role.organizer)
        await allied.patch(f"/api/v1/events/{theirs['id']}", json={"location": place})
        await deliver_all(world.ally, world.home)

        items = await everything(client, f"{API}/events")

        assert len(items) >= 5
        assert len([item for item in items if item["location"] == moved_place]) == 2
        for item in items:
            model = rep.PartnerEvent.model_validate(item)
            # Compared as text: key order and 41.0 against 41 count (they change the ETag).
            assert json.dumps(json.loads(model.model_dump_json())) == json.dumps(item)

    async def test_the_occurrences_of_a_repeating_event_name_their_series(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["events:read"])
        organizer = await world.home.as_role(Role.organizer)
        start = utcnow() + timedelta(days=3)
        series = await organizer.post(
            "/api/v1/events/series",
            json={"title": "Weekly doors", "start_date": start.isoformat(),
                  "end_date": (start + timedelta(hours=2)).isoformat(), "event_type": "CANVASS",
                  "visibility": "public", "repeat": "weekly", "count": 3},
        )  # fmt: skip
        assert series.status_code == 201, series.text

        items = await everything(client, f"{API}/events")

        weekly = [item["series_id"] for item in items if item["title"] == "Weekly doors"]
        assert weekly == [series.json()["id"]] * 3
        assert {item["series_id"] for item in items if item["title"] != "Weekly doors"} == {None}

    async def test_endorsements_with_signatures_and_a_bundle_that_verifies(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["endorsements:read"])

        listed = await everything(client, f"{API}/endorsements")

        [item] = listed  # the draft is never served
        assert item["status"] == "ratified"
        assert {s["signer"]["id"] for s in item["signatures"]} == {world.home.url, world.ally.url}
        assert all(s["jws"].count(".") == 2 and s["verified"] for s in item["signatures"])
        bundle = await client.get(item["bundle_url"])
        assert bundle.status_code == 200
        assert check_bundle(bundle.json()).ok
        draft = await client.get(f"{API}/endorsements/{world.draft['id']}")
        assert draft.status_code == 404

    async def test_canvass_calls_counts_and_never_the_day_contact(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["canvass:read"])

        calls = await everything(client, f"{API}/canvass_calls")

        assert {call["origin"]["id"] for call in calls} == {world.home.url, world.ally.url}
        assert all(len(call["shifts"]) == 2 for call in calls)
        assert calls[0]["shifts"][0]["remaining"] == calls[0]["shifts"][0]["capacity"]
        assert all("contact" not in call for call in calls)
        response = await client.get(f"{API}/canvass_calls", params={"ward": 33})
        assert len(response.json()["items"]) == 2
        response = await client.get(f"{API}/canvass_calls", params={"ward": 3})
        assert response.json()["items"] == []

    async def test_organizations_are_this_node_and_current_allies(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["organizations:read"])

        response = await client.get(f"{API}/organizations")

        orgs = {org["id"]: org for org in response.json()["items"]}
        assert set(orgs) == {world.home.url, world.ally.url}
        assert orgs[world.home.url]["relation"] == "self"
        assert orgs[world.ally.url]["key_ids"]


class TestPagingAndFilters:
    async def test_pages_cover_everything_once_in_a_stable_order(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["events:read"])
        full = (await client.get(f"{API}/events", params={"limit": 200})).json()["items"]

        paged = await everything(client, f"{API}/events", limit=2)

        assert len(full) > 4
        assert [item["id"] for item in paged] == [item["id"] for item in full]
        keys = [(item["modified_date"], item["id"]) for item in full]
        assert keys == sorted(keys)

    async def test_each_filter_narrows(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["events:read"])
        organizer = await world.home.as_role(Role.organizer)
        cancelled = world.events["ward33 public"]
        await organizer.post(f"/api/v1/events/{cancelled['id']}/cancel")

        async def meetings(**params: Any) -> set[str]:
            return titles(
                await everything(client, f"{API}/events", **{"type": "MEETING", **params})
            )

        assert await meetings(ward=30) == {"Meeting ward30 public", "Meeting ward30 coalition"}
        assert await meetings(origin=world.ally.url) == {
            "Meeting ward30 public",
            "Meeting ward30 coalition",
        }
        assert await meetings(status="cancelled") == {"Meeting ward33 public"}
        day4 = utcnow() + timedelta(days=3, hours=12)
        assert await meetings(start_after=day4.isoformat(), ward=33) == {"Meeting ward33 coalition"}
        assert await meetings(start_before=day4.isoformat(), ward=33) == {"Meeting ward33 public"}
        assert await meetings(type="RALLY") == set()
        bad = await client.get(f"{API}/events", params={"ward": 51})
        assert bad.status_code == 422
        assert set(bad.json()) == {"error"}

    async def test_updated_since_returns_what_changed(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["events:read"])
        last = max(item["modified_date"] for item in await everything(client, f"{API}/events"))
        organizer = await world.home.as_role(Role.organizer)
        changed = world.events["ward33 coalition"]

        await organizer.patch(f"/api/v1/events/{changed['id']}", json={"title": "Moved"})
        synced = await everything(
            client, f"{API}/events", updated_since=last.replace("Z", "+00:00")
        )

        assert "Moved" in titles(synced)
        assert len(synced) < 4

    async def test_a_new_canvass_report_brings_its_call_back_with_updated_since(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["canvass:read"])
        last = max(c["modified_date"] for c in await everything(client, f"{API}/canvass_calls"))

        for node in (world.home, world.ally):  # the home's own call, and an ally's replica
            await post_report(node, world.calls[node.name])
        await deliver_all(world.home, world.ally)
        synced = await everything(
            client, f"{API}/canvass_calls", updated_since=last.replace("Z", "+00:00")
        )

        assert {call["origin"]["id"] for call in synced} == {world.home.url, world.ally.url}
        assert all(len(call["reports"]) == 1 for call in synced)
        assert all(call["modified_date"] > last for call in synced)

    async def test_a_forged_cursor_is_a_422_not_a_crash(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["events:read"])

        for cursor in ("not-a-cursor", "WzEsMl0", "W3RydWUsW11d"):
            response = await client.get(f"{API}/events", params={"cursor": cursor})
            assert response.status_code == 422, cursor
            assert response.json()["error"]["code"] == "invalid_input"


class TestCachingAndDeletions:
    async def test_if_none_match_gets_304_until_something_changes(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["events:read"])
        first = await client.get(f"{API}/events")
        tag = first.headers["etag"]
        assert first.headers["cache-control"] == "private, max-age=0, must-revalidate"

        again = await client.get(f"{API}/events", headers={"If-None-Match": tag})
        assert (again.status_code, again.content) == (304, b"")
        organizer = await world.home.as_role(Role.organizer)
        await organizer.patch(
            f"/api/v1/events/{world.events['ward33 public']['id']}", json={"title": "New"}
        )
        changed = await client.get(f"{API}/events", headers={"If-None-Match": tag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != tag

    async def test_deleted_feed_lists_local_and_replica_deletions_never_private(self, nodes):
        world = await build_world(nodes)
        client = await partner_client(world.home, ["events:read"])
        since = utcnow().isoformat()
        for key, node in (
            ("ward33 public", world.home),
            ("ward33 private", world.home),
            ("ward30 coalition", world.ally),
        ):
            organizer = await node.as_role(Role.organizer)
            gone = await organizer.delete(f"/api/v1/events/{world.events[key]['id']}")
            assert gone.status_code in (200, 204), gone.text
        await deliver_all(world.home, world.ally)

        deleted = await everything(client, f"{API}/deleted", since=since, limit=1)

        assert {item["identifiers"][0] for item in deleted} == {
            f"ipo-node:{world.events[key]['object_id']}"
            for key in ("ward33 public", "ward30 coalition")
        }
        assert {item["object_type"] for item in deleted} == {"event"}
        remaining = titles(await everything(client, f"{API}/events", type="MEETING"))
        assert "Meeting ward30 coalition" not in remaining
        forums_only = await partner_client(world.home, ["forums:read"], name="Forums only")
        response = await forums_only.get(f"{API}/deleted")
        assert (response.status_code, response.json()["items"]) == (200, [])
