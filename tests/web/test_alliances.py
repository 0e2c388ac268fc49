"""The alliances page: answering an offer, steering an alliance, offering one, delivery health."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from playwright.async_api import Browser, expect

from node.accounts.models import Role
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.browser import fits_phone_width, logged_in_page, screenshot

Serve = Callable[[TestNode], Awaitable[str]]


SHARED_EVENT = {
    "title": "Joint door knock",
    "start_date": "2030-05-04T10:00:00-05:00",
    "end_date": "2030-05-04T13:00:00-05:00",
    "event_type": "CANVASS",
    "visibility": "coalition",
}


async def state_seen_by(node: TestNode, other: TestNode) -> str:
    admin = await node.as_role(Role.admin)
    listed = await admin.get("/api/v1/alliances")
    assert listed.status_code == 200, listed.text
    [peer] = [p for p in listed.json() if p["node_id"] == other.url]
    return str(peer["state"])


class TestAnsweringAnOffer:
    async def test_an_admin_accepts_an_offer_in_the_browser(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        # Given 30th United offers 33WF an alliance
        a = await nodes.start("ward30", wards=[30], display_name="30th United")
        b = await nodes.start("ward33", wards=[33], display_name="33rd Ward Working Families")
        a_admin = await a.as_role(Role.admin)
        offered = await a_admin.post(
            "/api/v1/alliances", json={"url": b.url, "message": "Let's knock doors together"}
        )
        assert offered.status_code == 201, offered.text
        await deliver_all(a, b)
        kid = (await a.client.get("/.well-known/coalition-node")).json()["keys"]["keys"][0]["kid"]
        # When 33WF's admin opens the alliances page
        base = await serve(b)
        page = await logged_in_page(browser, base, b, role=Role.admin)
        await page.goto(f"{base}/alliances")
        offer = page.locator("article", has_text="30th United")
        # Then the offer shows the other group's name, address, key fingerprint and message
        await expect(offer).to_contain_text("http://ward30.test")
        await expect(offer).to_contain_text(kid)
        await expect(offer).to_contain_text("Let's knock doors together")
        await expect(offer).to_contain_text("Pending")
        await screenshot(page, "alliances-offer")
        # When she accepts it
        await page.get_by_role("button", name="Accept offer from 30th United").click()
        # Then the page says so and shows 30th United among the active allies
        await expect(page.get_by_role("status")).to_contain_text("accepted")
        ally = page.locator("section", has_text="Allies").locator("article", has_text="30th United")
        await expect(ally).to_contain_text("Active")
        await expect(ally).to_contain_text("Waiting to send")
        await expect(page.get_by_text("No offers waiting")).to_be_visible()
        # and both nodes' APIs agree
        assert await state_seen_by(b, a) == "active"
        await deliver_all(a, b)
        assert await state_seen_by(a, b) == "active"
        await screenshot(page, "alliances")

        # When she suspends, then resumes it, and retries deliveries
        await page.get_by_role("button", name="Suspend alliance with 30th United").click()
        await expect(ally).to_contain_text("Suspended")
        assert await state_seen_by(b, a) == "suspended"
        await page.get_by_role("button", name="Resume alliance with 30th United").click()
        await expect(ally).to_contain_text("Active")
        await deliver_all(a, b)  # the notices telling 30th United of both
        await page.reload()
        # Nothing waits for 30th United, so there is nothing to retry...
        retry = page.get_by_role("button", name="Retry deliveries to 30th United")
        await expect(retry).to_have_count(0)
        # ...until 33WF shares an event that has not gone out yet
        organizer = await b.as_role(Role.organizer)
        shared = await organizer.post("/api/v1/events", json=SHARED_EVENT)
        assert shared.status_code == 201, shared.text
        await page.reload()
        await expect(ally).to_contain_text("Next try")
        await retry.click()
        await expect(page.get_by_role("status")).to_contain_text("Sending to 30th United again")
        # When she ends it (a second, explicit button confirms), it moves to the former allies
        await ally.get_by_text("End…").click()
        await page.get_by_role("button", name="End the alliance with 30th United").click()
        await expect(page.get_by_role("status")).to_contain_text("ended")
        await expect(page.locator("section", has_text="Former allies")).to_contain_text(
            "30th United"
        )
        assert await state_seen_by(b, a) == "ended"

    async def test_a_rejected_offer_is_ended(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        a = await nodes.start("ward30", display_name="30th United")
        b = await nodes.start("ward33")
        a_admin = await a.as_role(Role.admin)
        assert (await a_admin.post("/api/v1/alliances", json={"url": b.url})).status_code == 201
        await deliver_all(a, b)
        base = await serve(b)
        page = await logged_in_page(browser, base, b, role=Role.admin, phone=True)
        await page.goto(f"{base}/alliances")
        assert await fits_phone_width(page)
        await screenshot(page, "alliances-phone")
        await page.get_by_text("Reject…").click()
        await page.get_by_role("button", name="Yes, reject offer from 30th United").click()
        await expect(page.get_by_role("status")).to_contain_text("rejected")
        assert await state_seen_by(b, a) == "ended"


class TestOfferingAnAlliance:
    async def test_the_form_offers_the_scopes_ticked(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        b = await nodes.start("ward33")
        c = await nodes.start("ward35", display_name="United Neighbors of the 35th")
        base = await serve(b)
        page = await logged_in_page(browser, base, b, role=Role.admin)
        await page.goto(f"{base}/alliances")
        await expect(page.get_by_text("No allies yet")).to_be_visible()
        await page.get_by_label("The other group's node address").fill(c.url)
        await page.get_by_label("Joint endorsements").uncheck()
        await page.get_by_role("button", name="Offer alliance").click()
        await expect(page.get_by_role("status")).to_contain_text(
            "Alliance offered to United Neighbors of the 35th"
        )
        await expect(page.locator("section", has_text="Offers you sent")).to_contain_text(
            "Events, Forum plans, Canvass calls"
        )
        admin = await b.as_role(Role.admin)
        [peer] = (await admin.get("/api/v1/alliances")).json()
        assert (peer["state"], peer["scopes"]) == ("proposed", ["events", "forums", "canvass"])

    async def test_an_unreachable_address_is_explained_and_kept(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.admin)
        await page.goto(f"{base}/alliances")
        await page.get_by_label("The other group's node address").fill("http://nowhere.test")
        await page.get_by_role("button", name="Offer alliance").click()
        await expect(page.get_by_role("alert")).to_be_visible()
        await expect(page.get_by_label("The other group's node address")).to_have_value(
            "http://nowhere.test"
        )
        admin = await node.as_role(Role.admin)
        assert (await admin.get("/api/v1/alliances")).json() == []


class TestPermissions:
    async def test_an_organizer_gets_the_not_allowed_page(self, node: TestNode) -> None:
        _, token = await node.add_user(role=Role.organizer)
        response = await node.client_with(token).get("/alliances")
        assert response.status_code == 403
        assert "This page is for admins" in response.text

    async def test_an_anonymous_visitor_is_sent_to_log_in(self, node: TestNode) -> None:
        response = await node.client.get("/alliances")
        assert response.status_code == 303
        assert re.search(r"/login\?next=%2Falliances$", response.headers["location"])
