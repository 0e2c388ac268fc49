"""The coalition calendar page: an ally's shared work with its name, filters, the month grid,
and her own feed address."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
import pytest
from icalendar import Calendar
from playwright.async_api import Browser, expect

from node.accounts.models import Role
from tests.canvass.helpers import call_body
from tests.events import create_event, soon
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import anonymous, page_client
from tests.web.test_accessibility import problems_on
from tests.worlds import spec, star

Serve = Callable[[TestNode], Awaitable[str]]


async def two_allies(nodes: NodeFactory) -> tuple[TestNode, TestNode]:
    a, b = await nodes.world(
        star,
        (
            spec("ward30", wards=[30], display_name="30th United"),
            spec("ward33", wards=[33], display_name="33rd Ward Working Families"),
        ),
    )
    return a, b


class TestAlliesWorkOnTheCalendar:
    async def test_an_allys_event_and_shifts_show_with_the_allys_name(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        # Given 30th United shares an event and a canvass call with its ally 33WF
        a, b = await two_allies(nodes)
        a_organizer = await a.as_role(Role.organizer)
        await create_event(
            a_organizer, title="Strike support picket", event_type="STRIKE_SUPPORT", wards=[30]
        )
        await create_event(a_organizer, title="30th board meeting", visibility="private")
        call = await a_organizer.post("/api/v1/canvass-calls", json=call_body(capacity=4))
        assert call.status_code == 201, call.text
        b_organizer = await b.as_role(Role.organizer)
        await create_event(b_organizer, title="33WF general meeting", wards=[33])
        await deliver_all(a, b)
        # When 33WF's organizer opens the calendar
        base = await serve(b)
        page = await logged_in_page(browser, base, b, role=Role.organizer)
        await page.goto(f"{base}/calendar")
        # Then the ally's event shows with 30th United's name, next to 33WF's own
        picket = page.locator("article", has_text="Strike support picket")
        await expect(picket).to_contain_text("30th United")
        await expect(picket).to_contain_text("Strike support")
        await expect(page.locator("article", has_text="33WF general meeting")).to_contain_text(
            "this group"
        )
        shift = page.locator("article", has_text="Canvass: Saturday doors")
        await expect(shift).to_contain_text("0 of 4 places filled")
        await expect(shift).to_contain_text("30th United")
        # and the ally's private event never reached this node
        await expect(page.get_by_text("30th board meeting")).to_have_count(0)
        await screenshot(page, "calendar-list")

        # When filtering by the ally's group, only its items remain
        await page.get_by_label("Group").select_option(label="30th United")
        await page.get_by_role("button", name="Filter").click()
        await expect(page).to_have_url(re.compile(r"group="))
        await expect(page.get_by_text("Strike support picket")).to_be_visible()
        await expect(page.get_by_text("33WF general meeting")).to_have_count(0)
        # and by type, only canvass shifts
        await page.get_by_label("Type").select_option(label="Canvass shift")
        await page.get_by_role("button", name="Filter").click()
        await expect(page.get_by_text("Canvass: Saturday doors")).to_be_visible()
        await expect(page.get_by_text("Strike support picket")).to_have_count(0)

    async def test_the_ward_filter_and_an_empty_result(
        self, node: TestNode, organizer, serve: Serve, browser: Browser
    ) -> None:
        await create_event(organizer, title="Ward 33 cleanup", wards=[33])
        await create_event(organizer, title="Ward 40 potluck", wards=[40])
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.member)
        await page.goto(f"{base}/calendar")
        await page.get_by_label("Ward").fill("40")
        await page.get_by_role("button", name="Filter").click()
        await expect(page.get_by_text("Ward 40 potluck")).to_be_visible()
        await expect(page.get_by_text("Ward 33 cleanup")).to_have_count(0)
        await page.get_by_label("Ward").fill("12")
        await page.get_by_role("button", name="Filter").click()
        await expect(page.get_by_text("Nothing coming up with these filters")).to_be_visible()


class TestMonthView:
    async def test_the_month_grid_and_its_previous_and_next_links(
        self, node: TestNode, organizer, serve: Serve, browser: Browser
    ) -> None:
        event = await create_event(organizer, title="Budget town hall", start=soon(days=40))
        month = event["start_date"][:7]
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.member)
        await page.goto(f"{base}/calendar?view=month&month={month}")
        await expect(page.get_by_text("Budget town hall")).to_be_visible()
        await screenshot(page, "calendar-month")
        await page.get_by_role("link", name="Next month").click()
        await expect(page.get_by_text("Budget town hall")).to_have_count(0)
        await expect(page.get_by_text("Nothing on the calendar this month")).to_be_visible()
        await page.get_by_role("link", name="Previous month").click()
        await expect(page.get_by_text("Budget town hall")).to_be_visible()

    async def test_a_member_does_not_see_private_events(
        self, node: TestNode, organizer, serve: Serve, browser: Browser
    ) -> None:
        await create_event(organizer, title="Steering committee", visibility="private")
        await create_event(organizer, title="Open meeting", visibility="coalition")
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.member, phone=True)
        await page.goto(f"{base}/calendar")
        await expect(page.get_by_text("Open meeting")).to_be_visible()
        await expect(page.get_by_text("Steering committee")).to_have_count(0)
        assert await fits_phone_width(page)
        await screenshot(page, "calendar-phone")
        await page.goto(f"{base}/calendar?view=month")
        assert await fits_phone_width(page)


class TestBadInput:
    async def test_a_bad_month_answers_a_page_that_says_why(self, node: TestNode) -> None:
        _, token = await node.add_user(role=Role.member)
        client = node.client_with(token)
        response = await client.get("/calendar", params={"view": "month", "month": "December"})
        assert response.status_code == 422
        assert "year-month" in response.text
        response = await client.get("/calendar", params={"ward": "99"})
        assert response.status_code == 422
        assert "1 to 50" in response.text

    @pytest.mark.parametrize("month", ["9999-12", "0001-01", "1899-12", "3000-01"])
    async def test_a_month_past_the_years_it_shows_answers_a_page_not_a_500(
        self, node: TestNode, month: str
    ) -> None:
        # (9999-12 once answered 500: its "next month" link is in the year 10000)
        _, token = await node.add_user(role=Role.member)
        client = node.client_with(token)
        for view in ("month", "list"):
            response = await client.get("/calendar", params={"view": view, "month": month})
            assert response.status_code == 422, response.text
            assert "years 1900 to 2999" in response.text


class TestHerFeedAddress:
    @pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
    async def test_she_makes_it_subscribes_replaces_it_and_turns_it_off(
        self, node: TestNode, organizer, serve: Serve, browser: Browser, phone: bool
    ) -> None:
        # Given a member on the calendar page, with no feed address yet
        shared = await create_event(organizer, title="Coalition call", visibility="coalition")
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.member, phone=phone)
        size = "phone" if phone else "desktop"
        await page.goto(f"{base}/calendar")
        await expect(page.locator("section.feeds")).to_contain_text("You have none yet")
        # When she opens her feed page from the calendar
        await page.get_by_role("link", name="Your calendar feed").click()
        await expect(page).to_have_url(f"{base}/calendar/feed")
        main = page.locator("main")
        await expect(main).to_contain_text("You have no feed address yet")
        await expect(main).to_contain_text("Google Calendar")
        assert not phone or await fits_phone_width(page)
        assert await problems_on(page) == []
        await screenshot(page, f"feed-none-{size}")
        # and makes her feed address
        await page.get_by_role("button", name="Make my feed address").click()
        # Then it is shown once, ready to copy and as a webcal link
        await expect(page.get_by_role("heading", name="Copy it now")).to_be_visible()
        first = await page.get_by_label("Feed address", exact=True).input_value()
        assert first.startswith(f"{node.url}/coalition/calendar/ipofeed_")
        webcal = page.get_by_role("link", name="Open in your calendar app")
        assert await webcal.get_attribute("href") == "webcal://" + first.split("://", 1)[1]
        assert not phone or await fits_phone_width(page)
        assert await problems_on(page) == []
        await screenshot(page, f"feed-made-{size}")
        # and a calendar app subscribing to it, without a login, gets the coalition's events
        feed = Calendar.from_ical((await read(node, first)).text)
        assert shared["object_id"] in {str(event["UID"]) for event in feed.walk("VEVENT")}
        # and the page says she has one, without showing it again
        await page.goto(f"{base}/calendar/feed")
        await expect(main).to_contain_text("You have a feed address, made")
        assert first.removeprefix(node.url) not in await page.content()
        # When she replaces it, confirming first
        await page.get_by_text("Make a new address…").click()
        await expect(main).to_contain_text("stop updating until you give them the new one")
        await screenshot(page, f"feed-replace-{size}")
        await page.get_by_role("button", name="Replace my feed address").click()
        second = await page.get_by_label("Feed address", exact=True).input_value()
        # Then the old address is refused and the new one works
        assert second != first
        assert (await read(node, first)).status_code == 401
        assert (await read(node, second)).status_code == 200
        # When she turns it off, confirming first
        await page.goto(f"{base}/calendar/feed")
        await page.get_by_text("Turn off…").click()
        await expect(main).to_contain_text("stops working at once")
        assert not phone or await fits_phone_width(page)
        await screenshot(page, f"feed-turn-off-{size}")
        await page.get_by_role("button", name="Turn off my feed address").click()
        # Then the page says so, and the address is refused
        await expect(page.get_by_role("status")).to_contain_text("turned off")
        await expect(page.get_by_role("button", name="Make my feed address")).to_be_visible()
        assert (await read(node, second)).status_code == 401

    async def test_the_user_menu_leads_to_it(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.member, phone=True)
        await page.goto(f"{base}/endorsements")
        await page.get_by_role("link", name="Calendar feed", exact=True).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Your calendar feed")


async def read(node: TestNode, url: str) -> httpx.Response:
    """A calendar app reading ``url``: no login, no token."""
    return await node.client.get(url.removeprefix(node.url))


def shown_address(answer: httpx.Response) -> str:
    """The feed address on the page that answers making it."""
    [url] = re.findall(r'id="feed-url"[^>]*>([^<]+)</textarea>', answer.text)
    return url


class TestHerFeedAddressForms:
    async def test_the_address_page_is_not_cached(self, node: TestNode) -> None:
        browser = await page_client(node, role=Role.member)
        made = await browser.post("/calendar/feed")
        assert made.status_code == 201
        assert made.headers["cache-control"] == "no-store"
        url = shown_address(made)
        assert (await read(node, url)).status_code == 200

    async def test_making_another_without_confirming_changes_nothing(self, node: TestNode) -> None:
        browser = await page_client(node, role=Role.member)
        made = await browser.post("/calendar/feed")
        url = shown_address(made)
        again = await browser.post("/calendar/feed")
        assert again.status_code == 409
        assert "Make a new address" in again.text
        assert "ipofeed_" not in again.text
        assert (await read(node, url)).status_code == 200

    async def test_the_forms_need_the_csrf_token(self, node: TestNode) -> None:
        browser = await page_client(node, role=Role.member)
        refused = await browser.post("/calendar/feed", csrf=False)
        assert refused.status_code == 403
        assert "ipofeed_" not in refused.text
        page = await browser.get("/calendar/feed")
        assert "Make my feed address" in page.text
        made = await browser.post("/calendar/feed")
        url = shown_address(made)
        assert (await browser.post("/calendar/feed/revoke", csrf=False)).status_code == 403
        assert (await read(node, url)).status_code == 200

    async def test_turning_off_an_address_she_does_not_have_is_a_404_page(
        self, node: TestNode
    ) -> None:
        browser = await page_client(node, role=Role.member)
        answer = await browser.post("/calendar/feed/revoke")
        assert answer.status_code == 404
        assert "no calendar feed address" in answer.text


class TestHerFeedPage:
    async def test_it_says_whether_she_has_one_and_never_shows_it_again(
        self, node: TestNode
    ) -> None:
        browser = await page_client(node, role=Role.member)
        page = await browser.get("/calendar/feed")
        assert page.status_code == 200
        assert "You have no feed address yet." in page.text
        for app in ("Google Calendar", "Apple Calendar", "Outlook"):
            assert f"<h3>{app}</h3>" in page.text
        made = await browser.post("/calendar/feed")
        url = shown_address(made)
        assert f'href="webcal://{url.split("://", 1)[1]}"' in made.text
        page = await browser.get("/calendar/feed")
        assert "You have a feed address, made " in page.text
        assert "ipofeed_" not in page.text
        assert "Make a new address…" in page.text
        # the calendar page says so too, and links here
        calendar = await browser.get("/calendar")
        assert "You made yours " in calendar.text
        assert 'href="/calendar/feed"' in calendar.text

    async def test_replacing_after_confirming_and_turning_off_end_on_the_page(
        self, node: TestNode
    ) -> None:
        browser = await page_client(node, role=Role.member)
        first = shown_address(await browser.post("/calendar/feed"))
        replaced = await browser.post("/calendar/feed", {"replace": "yes"})
        assert replaced.status_code == 201
        second = shown_address(replaced)
        assert (await read(node, first)).status_code == 401
        off = await browser.post("/calendar/feed/revoke")
        assert off.status_code == 303
        assert off.headers["location"] == "/calendar/feed"
        page = await browser.get("/calendar/feed")
        assert "Your calendar feed address is turned off" in page.text
        assert "You have no feed address yet." in page.text
        assert (await read(node, second)).status_code == 401

    async def test_a_visitor_is_sent_to_log_in(self, node: TestNode) -> None:
        visitor = anonymous(node)
        answer = await visitor.get("/calendar/feed")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fcalendar%2Ffeed"
