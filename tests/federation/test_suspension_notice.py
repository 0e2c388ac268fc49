"""A suspension seen from both sides (FEDERATION.md 6.6), and alliance refusals in plain words.

Between real nodes: the suspending node tells its peer (``Update`` of ``AllianceStatus``),
which shows "suspended by <peer>" on its page while what either sends waits; resuming tells
it too. Also: this node's own key fingerprint where admins compare it. The same story in the
browser, on a phone and a desktop: ``tests/web/test_alliances_suspension.py``.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from node.accounts.models import Role
from node.audit.models import AuditEntry
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.page_client import page_client
from tests.worlds import star

EVENT = {
    "title": "Joint canvass launch",
    "start_date": "2030-03-01T15:00:00+00:00",
    "end_date": "2030-03-01T18:00:00+00:00",
    "event_type": "CANVASS",
    "visibility": "coalition",
    "wards": [33],
}


async def alliance_on(node: TestNode, peer: TestNode) -> dict[str, Any]:
    listed = (await (await node.as_role(Role.admin)).get("/api/v1/alliances")).json()
    [found] = [a for a in listed if a["node_id"] == peer.url]
    return found


async def event_titles(node: TestNode) -> list[str]:
    listed = (await (await node.as_role(Role.member)).get("/api/v1/events")).json()["items"]
    return [event["title"] for event in listed]


class TestBothSidesSeeASuspension:
    async def test_the_peer_is_told_shows_it_and_is_told_of_the_resume(
        self, nodes: NodeFactory
    ) -> None:
        # Given ward33 and ward30, allies
        a, b = await nodes.world(star, ("ward33", "ward30"))
        # When ward33's admin suspends the alliance, and each side shares an event meanwhile
        admin = await a.as_role(Role.admin)
        assert (await admin.post(f"/api/v1/alliances/{b.url}/suspend")).status_code == 200
        await (await a.as_role(Role.organizer)).post("/api/v1/events", json=EVENT)
        theirs = {**EVENT, "title": "Ward 30 rally"}
        await (await b.as_role(Role.organizer)).post("/api/v1/events", json=theirs)
        await deliver_all(a, b)
        # Then ward30 knows ward33 suspended it; its own state stays active
        seen = await alliance_on(b, a)
        assert (seen["state"], seen["suspended_by_peer_at"] is not None) == ("active", True)
        assert (await alliance_on(a, b))["suspended_by_peer_at"] is None
        # And nothing shared crossed: ward33 held its event, and refused ward30's
        assert await event_titles(b) == ["Ward 30 rally"]
        assert await event_titles(a) == ["Joint canvass launch"]
        assert "alliance_suspended" in (seen["delivery"]["last_error"] or "")
        # And each admin's page says so, in words
        b_page = (await (await page_client(b, role=Role.admin)).get("/alliances")).text
        assert "suspended by Test ward33" in b_page
        assert "Only their admin can resume it" in b_page
        a_page = (await (await page_client(a, role=Role.admin)).get("/alliances")).text
        assert "What Test ward30 sees: their page says “suspended by Test ward33”" in a_page
        # And ward30's audit log records it
        async with b.session() as session:
            actions = [e.action for e in (await session.execute(select(AuditEntry))).scalars()]
        assert "alliance.suspended_by_peer" in actions

        # When ward33 resumes; ward30's held retry is due in an hour, so retry it now
        assert (await admin.post(f"/api/v1/alliances/{b.url}/resume")).status_code == 200
        await deliver_all(a, b)
        await (await b.as_role(Role.admin)).post("/api/v1/federation/deliveries/retry", json={})
        await deliver_all(a, b)
        # Then ward30 is told, and both events have crossed
        assert (await alliance_on(b, a))["suspended_by_peer_at"] is None
        b_page = (await (await page_client(b, role=Role.admin)).get("/alliances")).text
        assert "suspended by Test ward33" not in b_page
        assert sorted(await event_titles(b)) == ["Joint canvass launch", "Ward 30 rally"]
        assert sorted(await event_titles(a)) == ["Joint canvass launch", "Ward 30 rally"]

    async def test_ending_the_alliance_clears_what_the_peer_said(self, nodes: NodeFactory) -> None:
        a, b = await nodes.world(star, ("ward33", "ward30"))
        await (await a.as_role(Role.admin)).post(f"/api/v1/alliances/{b.url}/suspend")
        await deliver_all(a, b)
        assert (await alliance_on(b, a))["suspended_by_peer_at"] is not None
        await (await b.as_role(Role.admin)).post(f"/api/v1/alliances/{a.url}/end")
        ended = await alliance_on(b, a)
        assert (ended["state"], ended["suspended_by_peer_at"]) == ("ended", None)


class TestRefusalsInPlainWords:
    async def test_offering_to_an_ally_says_what_to_do_instead(self, nodes: NodeFactory) -> None:
        a, b = await nodes.world(star, ("ward33", "ward30"))
        again = await (await a.as_role(Role.admin)).post("/api/v1/alliances", json={"url": b.url})
        assert again.status_code == 409
        message = again.json()["error"]["message"]
        assert "Cannot do" not in message
        assert message.startswith("The alliance with that node is already active.")
        assert "end the alliance and offer a new one" in message
        page = await page_client(a, role=Role.admin)
        form = await page.post("/alliances", {"url": b.url, "scopes": ["events"]})
        assert form.status_code == 409
        assert "already active" in form.text
        assert f'value="{b.url}"' in form.text

    async def test_a_wrong_button_is_explained_by_name(self, nodes: NodeFactory) -> None:
        a, b = await nodes.world(star, ("ward33", "ward30"))
        peer_id = (await alliance_on(a, b))["id"]
        page = await page_client(a, role=Role.admin)
        answer = await page.post(f"/alliances/{peer_id}/resume")
        assert answer.status_code == 409
        assert "The alliance with Test ward30 is already active." in answer.text
        assert "Only a suspended alliance can be resumed." in answer.text
        api = await a.as_role(Role.admin)
        accepted = await api.post(f"/api/v1/alliances/{b.url}/accept")
        assert accepted.status_code == 409
        assert "There is no offer of theirs to accept." in accepted.json()["error"]["message"]

    async def test_offering_with_no_scope_ticked(self, nodes: NodeFactory) -> None:
        a = await nodes.start("ward33")
        b = await nodes.start("ward30")
        page = await page_client(a, role=Role.admin)
        answer = await page.post("/alliances", {"url": b.url})
        assert answer.status_code == 422
        assert "Choose at least one kind of object to share" in answer.text


class TestOwnFingerprint:
    async def test_each_page_shows_the_fingerprint_the_other_page_shows_for_it(
        self, nodes: NodeFactory
    ) -> None:
        a, b = await nodes.world(star, ("ward33", "ward30"))
        [b_sees_a] = (await alliance_on(b, a))["key_fingerprints"]
        a_page = (await (await page_client(a, role=Role.admin)).get("/alliances")).text
        assert "Your key fingerprint" in a_page
        own = a_page.split("Your key fingerprint", 1)[1].split("</p>", 1)[0]
        assert f'<code class="wrap">{b_sees_a}</code>' in own
