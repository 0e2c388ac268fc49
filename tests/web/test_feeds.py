"""The coalition ICS feed, read back with an independent parser (vobject), and the feed
address that opens it: a secret of its own per user, which opens nothing else."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import vobject

from node.accounts import service as accounts
from node.accounts.models import Role
from node.audit.service import CLI
from tests.canvass.helpers import call_body
from tests.events import create_event, soon
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.page_client import page_client
from tests.worlds import spec, star

OLD_FEED = "/coalition/calendar.ics"
MY_FEED = "/api/v1/me/calendar-feed"


async def feed_address(node: TestNode, token: str) -> str:
    """The path of a new feed address for the token's user, made through the API."""
    made = await node.client_with(token).post(MY_FEED)
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    url = made.json()["url"]
    assert url.startswith(node.url + "/coalition/calendar/")
    return urlsplit(url).path


def secret_of(address: str) -> str:
    return address.removeprefix("/coalition/calendar/").removesuffix(".ics")


async def read_feed(node: TestNode, address: str) -> dict[str, Any]:
    """What a calendar app gets at ``address``: no cookie, no bearer token."""
    response = await node.client.get(address)
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
        member_feed = await feed_address(b, member_token)
        # and 33WF relays the canvass call to its members (until then they do not see it)
        shifts = [shift["object_id"] for shift in call["shifts"]]
        assert not set(shifts) & set(await read_feed(b, member_feed))
        replicas = (await b_org.get("/api/v1/canvass-calls")).json()
        [replica] = [c for c in replicas if c["object_id"] == call["object_id"]]
        relayed = await b_org.post(f"/api/v1/canvass-calls/{replica['id']}/relay")
        assert relayed.status_code == 200, relayed.text
        # When a 33WF member's calendar app reads the feed
        events = await read_feed(b, member_feed)
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
        assert await read_feed(node, await feed_address(node, token)) == {}

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
        events = await read_feed(b, await feed_address(b, token))
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
        address = await feed_address(b, token)
        assert set(await read_feed(b, address)) == {shared["object_id"]}
        b_admin = await b.as_role(Role.admin)
        assert (await b_admin.post(f"/api/v1/alliances/{a.url}/end")).status_code == 200
        assert await read_feed(b, address) == {}


class TestOnlyAFeedSecretOpensTheFeed:
    async def test_anonymous_and_unknown_secrets_get_401(self, node: TestNode, organizer) -> None:
        await create_event(organizer, title="Coalition call", visibility="coalition")
        made_up = "/coalition/calendar/ipofeed_" + "0" * 16 + "A" * 43 + ".ics"
        for path in (OLD_FEED, made_up, "/coalition/calendar/x.ics"):
            answer = await node.client.get(path)
            assert answer.status_code == 401, path
            assert answer.json()["error"]["code"] == "not_authenticated"
            assert "Coalition call" not in answer.text

    async def test_an_api_token_in_the_old_address_is_refused_and_revoked(
        self, node: TestNode, organizer
    ) -> None:
        # Given an admin who pasted /coalition/calendar.ics?token=<API token> into her phone,
        # and has another token for a script
        await create_event(organizer, title="Coalition call", visibility="coalition")
        user, in_the_address = await node.add_user(role=Role.admin)
        async with node.session() as session:
            _, for_a_script = await accounts.create_api_token(
                session, user=user, name="script", actor=CLI
            )
        # When her calendar app reads the old address
        answer = await node.client.get(OLD_FEED, params={"token": in_the_address})
        # Then it is refused, told why and where the new one is made
        assert answer.status_code == 401
        assert "Coalition call" not in answer.text
        message = answer.json()["error"]["message"]
        assert "revoked" in message
        assert "/calendar" in message
        # and the token that was in the address no longer opens the admin's routes
        assert (await node.client_with(in_the_address).get("/api/v1/users")).status_code == 401
        # while her other token still does, and the audit log says what happened
        script = node.client_with(for_a_script)
        assert (await script.get("/api/v1/users")).status_code == 200
        audit = await script.get("/api/v1/audit", params={"action": "token.revoke"})
        [entry] = audit.json()["items"]
        assert entry["detail"]["reason"] == "exposed in a calendar feed address"
        # and an unknown or already revoked token changes nothing and says no more
        again = await node.client.get(OLD_FEED, params={"token": in_the_address})
        assert again.status_code == 401
        assert "revoked" not in again.json()["error"]["message"]

    async def test_an_api_token_in_place_of_the_feed_secret_is_refused(
        self, node: TestNode, organizer
    ) -> None:
        await create_event(organizer, title="Coalition call", visibility="coalition")
        _, token = await node.add_user(role=Role.admin)
        answer = await node.client.get(f"/coalition/calendar/{token}.ics")
        assert answer.status_code == 401
        assert "Coalition call" not in answer.text

    async def test_a_bearer_token_or_a_login_does_not_open_the_feed(
        self, node: TestNode, organizer
    ) -> None:
        await create_event(organizer, title="Coalition call", visibility="coalition")
        member = await node.as_role(Role.member)
        browser = await page_client(node, role=Role.member)
        for answer in (await member.get(OLD_FEED), await browser.get(OLD_FEED)):
            assert answer.status_code == 401
            assert "Coalition call" not in answer.text

    async def test_the_feed_shows_what_its_owners_role_may_see_now(
        self, node: TestNode, organizer
    ) -> None:
        shared = await create_event(organizer, title="Coalition call", visibility="coalition")
        user, token = await node.add_user(role=Role.member)
        address = await feed_address(node, token)
        assert set(await read_feed(node, address)) == {shared["object_id"]}
        admin = await node.as_role(Role.admin)
        assert (await admin.patch(f"/api/v1/users/{user.id}", json={"is_active": False})).is_success
        assert (await node.client.get(address)).status_code == 401


ROUTES = [
    "/api/v1/me",
    "/api/v1/users",
    "/api/v1/members",
    "/api/v1/me/data",
    "/api/v1/endorsements",
    "/api/v1/federation/deliveries",
    "/api/v1/audit",
    "/api/v1/alliances",
    "/api/v1/partner/whoami",
    MY_FEED,
]


class TestAFeedSecretOpensNothingElse:
    @pytest.mark.parametrize("path", ROUTES)
    async def test_an_admins_feed_secret_is_401_on_every_other_route(
        self, node: TestNode, path: str
    ) -> None:
        # Given an admin's feed address, leaked from her calendar app
        _, token = await node.add_user(role=Role.admin)
        secret = secret_of(await feed_address(node, token))
        # When someone sends its secret as a bearer token, a cookie, or a token parameter
        as_bearer = await node.client_with(secret).get(path)
        cookie_jar = node.client_with()
        cookie_jar.cookies.set("ipo_session", secret)
        as_cookie = await cookie_jar.get(path)
        as_query = await node.client.get(path, params={"token": secret})
        # Then every route refuses it
        for answer in (as_bearer, as_cookie, as_query):
            assert answer.status_code == 401, (path, answer.text)

    async def test_nor_does_it_make_another_feed_address_or_a_token(self, node: TestNode) -> None:
        _, token = await node.add_user(role=Role.member)
        secret = secret_of(await feed_address(node, token))
        stranger = node.client_with(secret)
        assert (await stranger.post(MY_FEED)).status_code == 401
        assert (await stranger.delete(MY_FEED)).status_code == 401
        assert (await stranger.post("/api/v1/me/tokens", json={})).status_code == 401
        assert (await node.client.get(OLD_FEED, params={"token": secret})).status_code == 401
        page = await stranger.get("/calendar")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login")
        assert (await stranger.post("/calendar/feed")).headers["location"].startswith("/login")


class TestReplacingAndTurningOff:
    async def test_a_new_address_stops_the_old_one(self, node: TestNode) -> None:
        _, token = await node.add_user(role=Role.member)
        old = await feed_address(node, token)
        new = await feed_address(node, token)
        assert new != old
        assert (await node.client.get(old)).status_code == 401
        await read_feed(node, new)

    async def test_turning_it_off_makes_the_address_401_and_a_new_one_works(
        self, node: TestNode
    ) -> None:
        _, token = await node.add_user(role=Role.member)
        me = node.client_with(token)
        address = await feed_address(node, token)
        made_at = (await me.get(MY_FEED)).json()["created_at"]
        assert (await me.delete(MY_FEED)).status_code == 204
        assert (await node.client.get(address)).status_code == 401
        assert (await me.get(MY_FEED)).status_code == 404
        assert (await me.delete(MY_FEED)).status_code == 404
        again = await feed_address(node, token)
        await read_feed(node, again)
        assert (await me.get(MY_FEED)).json()["created_at"] > made_at

    async def test_a_password_change_turns_it_off(self, node: TestNode) -> None:
        user, token = await node.add_user(role=Role.member)
        address = await feed_address(node, token)
        admin = await node.as_role(Role.admin)
        changed = await admin.patch(f"/api/v1/users/{user.id}", json={"password": "x" * 12})
        assert changed.status_code == 200
        assert (await node.client.get(address)).status_code == 401

    async def test_each_users_address_is_her_own(self, node: TestNode) -> None:
        _, mine = await node.add_user(role=Role.member)
        _, theirs = await node.add_user(role=Role.member)
        my_address = await feed_address(node, mine)
        their_address = await feed_address(node, theirs)
        assert (await node.client_with(theirs).delete(MY_FEED)).status_code == 204
        await read_feed(node, my_address)
        assert (await node.client.get(their_address)).status_code == 401


class TestTheSecretIsNotKept:
    async def test_the_database_holds_no_usable_address(self, node: TestNode) -> None:
        user, token = await node.add_user(role=Role.member)
        secret = secret_of(await feed_address(node, token))
        async with node.session() as session:
            rows = (
                await session.execute(
                    sa.text("SELECT * FROM calendar_feed_secret WHERE user_id = :u"),
                    {"u": user.id},
                )
            ).all()
        [row] = rows
        stored = " ".join(str(value) for value in row)
        verifier = secret[-43:]
        assert verifier not in stored
        assert secret not in stored

    async def test_the_request_log_redacts_it(
        self, node: TestNode, caplog: pytest.LogCaptureFixture
    ) -> None:
        _, token = await node.add_user(role=Role.member)
        address = await feed_address(node, token)
        secret = secret_of(address)
        caplog.set_level(logging.INFO, logger="ipo_node.request")
        await read_feed(node, address)
        await node.client.get(f"/no/such/page/{secret}")
        lines = [record.getMessage() for record in caplog.records]
        assert lines
        assert not [line for line in lines if secret[8:] in line]
        assert any("/coalition/calendar/ipofeed_[redacted]" in line for line in lines)
