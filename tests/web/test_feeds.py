"""The coalition ICS feed, read back with an independent parser (vobject)."""

from __future__ import annotations

from typing import Any

import pytest
import vobject

from node.accounts.models import Role
from tests.canvass.helpers import call_body
from tests.events import create_event, soon
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.worlds import spec, star

FEED = "/coalition/calendar.ics"


async def read_feed(node: TestNode, token: str) -> dict[str, Any]:
    response = await node.client.get(FEED, params={"token": token})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = vobject.readOne(response.text)
    assert calendar.version.value == "2.0"
    return {e.uid.value: e for e in calendar.contents.get("vevent", [])}


async def allies(nodes: NodeFactory, scopes: list[str] | None = None) -> tuple[TestNode, TestNode]:
    a, b = await nodes.world(
        star,
        (
            spec("ward30", wards=[30], display_name="30th United"),
            spec("ward33", wards=[33], display_name="33rd Ward Working Families"),
        ),
        tuple(scopes) if scopes is not None else None,
    )
    return a, b


class TestWhatTheFeedCarries:
    async def test_own_and_allies_shared_future_items_never_private_or_past(
        self, nodes: NodeFactory
    ) -> None:
        # Given 30th United shares events and a canvass call with 33WF
        a, b = await allies(nodes)
        a_org = await a.as_role(Role.organizer)
        public = await create_event(a_org, title="Picket", description="Bring <b>signs</b>")
        coalition = await create_event(a_org, title="Coalition call", visibility="coalition")
        await create_event(a_org, title="Board", visibility="private")
        cancelled = await create_event(a_org, title="Rained out")
        assert (await a_org.post(f"/api/v1/events/{cancelled['id']}/cancel")).status_code == 200
        call = (await a_org.post("/api/v1/canvass-calls", json=call_body(shifts=2))).json()
        b_org = await b.as_role(Role.organizer)
        own = await create_event(b_org, title="33WF meeting", visibility="private")
        own_shared = await create_event(b_org, title="33WF potluck", visibility="coalition")
        await create_event(b_org, title="Last week", start=soon(days=-7))
        await deliver_all(a, b)
        _, member_token = await b.add_user(role=Role.member)
        # and 33WF relays the canvass call to its members (until then they do not see it)
        shifts = [shift["object_id"] for shift in call["shifts"]]
        assert not set(shifts) & set(await read_feed(b, member_token))
        replicas = (await b_org.get("/api/v1/canvass-calls")).json()
        [replica] = [c for c in replicas if c["object_id"] == call["object_id"]]
        relayed = await b_org.post(f"/api/v1/canvass-calls/{replica['id']}/relay")
        assert relayed.status_code == 200, relayed.text
        # When a 33WF member's calendar app reads the feed
        events = await read_feed(b, member_token)
        # Then it holds exactly the shared, future items, UIDs equal to object ids
        expected = {public["object_id"], coalition["object_id"], cancelled["object_id"]}
        assert set(events) == expected | set(shifts) | {own_shared["object_id"]}
        assert own["object_id"] not in events
        assert events[cancelled["object_id"]].status.value == "CANCELLED"
        assert events[public["object_id"]].status.value == "CONFIRMED"
        assert events[public["object_id"]].sequence.value == "0"
        assert events[cancelled["object_id"]].sequence.value == "1"
        description = events[public["object_id"]].description.value
        assert description.startswith("Bring <b>signs</b>")
        assert "From 30th United." in description
        shift = events[shifts[0]]
        assert shift.summary.value == "Canvass: Saturday doors for the referendum"
        assert "3 of 3 places left" in shift.description.value

    async def test_an_organizers_feed_leaves_out_private_events_too(
        self, node: TestNode, organizer
    ) -> None:
        await create_event(organizer, title="Steering", visibility="private")
        _, token = await node.add_user(role=Role.organizer)
        assert await read_feed(node, token) == {}

    @pytest.mark.parametrize("scopes", [None, ["forums"]], ids=["all-scopes", "forums-only"])
    async def test_a_forum_shows_once_whatever_the_alliance_shares(
        self, nodes: NodeFactory, scopes: list[str] | None
    ) -> None:
        a, b = await allies(nodes, scopes=scopes)
        a_org = await a.as_role(Role.organizer)
        body = {
            "title": "Mayoral candidate forum",
            "start_date": soon(days=20).isoformat(),
            "end_date": soon(days=20, hours=2).isoformat(),
            "visibility": "coalition",
            "co_hosts": [b.url],
        }
        forum = await a_org.post("/api/v1/forums", json=body)
        assert forum.status_code == 201, forum.text
        await deliver_all(a, b)
        _, token = await b.add_user(role=Role.member)
        events = await read_feed(b, token)
        summaries = [e.summary.value for e in events.values()]
        assert summaries == ["Mayoral candidate forum"]
        # the forum's calendar entry when events are shared, else the plan itself
        listed = await a_org.get("/api/v1/events", params={"event_type": "FORUM"})
        [calendar_entry] = listed.json()["items"]
        expected = calendar_entry["object_id"] if scopes is None else forum.json()["object_id"]
        assert set(events) == {expected}


class TestFormerAllies:
    async def test_an_ended_alliance_takes_the_allys_items_out_of_the_feed(
        self, nodes: NodeFactory
    ) -> None:
        a, b = await allies(nodes)
        shared = await create_event(await a.as_role(Role.organizer), title="Picket")
        await deliver_all(a, b)
        _, token = await b.add_user(role=Role.member)
        assert set(await read_feed(b, token)) == {shared["object_id"]}
        b_admin = await b.as_role(Role.admin)
        assert (await b_admin.post(f"/api/v1/alliances/{a.url}/end")).status_code == 200
        assert await read_feed(b, token) == {}


class TestWhoMayRead:
    async def test_anonymous_and_unknown_tokens_get_401(self, node: TestNode, organizer) -> None:
        await create_event(organizer, title="Coalition call", visibility="coalition")
        anonymous = await node.client.get(FEED)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "not_authenticated"
        unknown = await node.client.get(FEED, params={"token": "ipo_not-a-token"})
        assert unknown.status_code == 401
        assert "Coalition call" not in unknown.text

    async def test_a_bearer_token_works_as_well(self, node: TestNode, organizer) -> None:
        event = await create_event(organizer, title="Coalition call", visibility="coalition")
        member = await node.as_role(Role.member)
        response = await member.get(FEED)
        assert response.status_code == 200
        assert event["object_id"] in response.text
