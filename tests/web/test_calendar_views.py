"""The calendar's agenda, week and month views: the range each shows, its previous and next
links, the today mark, the link of every entry to its own page, times said one way, and the
page a bad address gets."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, expect

from federation.storage import utcnow
from node.accounts.models import Role
from tests.canvass.helpers import call_body, coalition
from tests.events import create_event
from tests.forums.test_lifecycle import forum_body
from tests.nodes import NodeFactory, TestNode
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import anonymous, page_client
from tests.web.test_accessibility import problems_on

Serve = Callable[[TestNode], Awaitable[str]]
CHICAGO = ZoneInfo("America/Chicago")
DASH = "\u2013"  # an en dash, between two times


def today() -> date:
    return utcnow().astimezone(CHICAGO).date()


def at(day: date, hour: int, zone: ZoneInfo = CHICAGO) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone)


def said(day: date) -> str:
    """A day as every page says it: ``Tue, Dec 8`` (the year only outside this one)."""
    text = f"{day:%a}, {day:%b} {day.day}"
    return text + (f", {day.year}" if day.year != today().year else "")


def hrefs(html: str, text: str) -> list[str]:
    """The addresses of the links whose text starts with ``text``."""
    return [
        href.replace("&amp;", "&")
        for href, label in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]*)', html)
        if label.strip().startswith(text)
    ]


class TestTheAgenda:
    async def test_it_shows_the_days_from_to_and_steps_by_their_length(
        self, node: TestNode, organizer
    ) -> None:
        first = today() + timedelta(days=10)
        inside = await create_event(organizer, title="Inside the range", start=at(first, 18))
        await create_event(organizer, title="After the range", start=at(first + timedelta(7), 18))
        browser = await page_client(node, role=Role.member)
        last = first + timedelta(days=6)
        page = await browser.get(f"/calendar?view=agenda&from={first}&to={last}")
        assert page.status_code == 200
        assert "Inside the range" in page.text
        assert "After the range" not in page.text
        assert f"{said(first)} to {said(last)}" in page.text
        # each event opens its own page, with its description
        assert f'href="/events/{inside["id"]}"' in page.text
        # previous and next move by the range's own length
        [following] = hrefs(page.text, "Next")
        assert f"from={first + timedelta(7)}" in following
        assert f"to={last + timedelta(7)}" in following
        [previous] = hrefs(page.text, "← Previous")
        assert f"from={first - timedelta(7)}&to={last - timedelta(7)}" in previous
        later = await browser.get(following)
        assert "After the range" in later.text
        assert "Inside the range" not in later.text

    async def test_by_default_it_is_four_weeks_from_today_marked_today(
        self, node: TestNode, organizer
    ) -> None:
        now = utcnow().replace(second=0, microsecond=0)  # today's, whatever the hour
        await create_event(organizer, title="Later today", start=now)
        await create_event(organizer, title="In five weeks", start=now + timedelta(days=35))
        browser = await page_client(node, role=Role.member)
        page = await browser.get("/calendar")
        assert "In five weeks" not in page.text
        assert re.search(r'aria-current="date"><span class="today-mark">Today</span>', page.text)
        # "list", the agenda's old name, still opens it (bookmarks)
        assert "Later today" in (await browser.get("/calendar?view=list")).text

    async def test_times_are_said_one_way_in_the_events_own_zone(
        self, node: TestNode, organizer
    ) -> None:
        day = today() + timedelta(days=3)
        await create_event(organizer, title="Chicago evening", start=at(day, 18))
        await create_event(
            organizer,
            title="New York call",
            start=at(day, 11, ZoneInfo("America/New_York")),
            timezone="America/New_York",
        )
        browser = await page_client(node, role=Role.member)
        page = await browser.get("/calendar")
        central = at(day, 18).tzname()
        eastern = at(day, 11, ZoneInfo("America/New_York")).tzname()
        assert f"{said(day)}, 6:00{DASH}8:00 pm {central}" in page.text
        assert f"{said(day)}, 11:00 am{DASH}1:00 pm {eastern}" in page.text


class TestTheWeekAndTheMonth:
    async def test_the_week_holds_the_day_sunday_first_and_steps_a_week(
        self, node: TestNode, organizer
    ) -> None:
        day = today() + timedelta(days=14)
        sunday = day - timedelta(days=(day.weekday() + 1) % 7)
        await create_event(organizer, title="Mid-week meeting", start=at(day, 18))
        browser = await page_client(node, role=Role.member)
        page = await browser.get(f"/calendar?view=week&from={day}")
        assert page.status_code == 200
        assert "Mid-week meeting" in page.text
        assert f"Week of {said(sunday)}" in page.text
        [following] = hrefs(page.text, "Next")
        assert f"from={sunday + timedelta(7)}" in following
        assert "Mid-week meeting" not in (await browser.get(following)).text
        # the view switch keeps the day: the month of this week's first day
        [month] = hrefs(page.text, "Month")
        assert f"month={sunday:%Y-%m}" in month

    async def test_this_week_and_this_month_mark_today(self, node: TestNode) -> None:
        browser = await page_client(node, role=Role.member)
        for view in ("week", "month"):
            page = await browser.get(f"/calendar?view={view}")
            assert page.status_code == 200
            [cell] = re.findall(r'<div role="listitem" class="day[^"]*today"[^>]*>', page.text)
            assert 'aria-current="date"' in cell
            assert "Back to today" not in page.text
            # another week or month has no mark, and a way back
            [following] = hrefs(page.text, "Next")
            later = await browser.get(following)
            assert 'aria-current="date"' not in later.text
            assert hrefs(later.text, "Back to today")

    async def test_the_view_switch_is_links_that_say_which_is_shown(self, node: TestNode) -> None:
        browser = await page_client(node, role=Role.member)
        page = await browser.get("/calendar?view=week&ward=33")
        switch = page.text[page.text.index('aria-label="Calendar view"') :]
        switch = switch[: switch.index("</nav>")]
        assert re.search(r'href="[^"]*view=week[^"]*" aria-current="page">Week', switch)
        for view in ("agenda", "month"):
            [url] = [u for u in re.findall(r'href="([^"]+)"', switch) if f"view={view}" in u]
            assert "ward=33" in url
            assert (await browser.get(url.replace("&amp;", "&"))).status_code == 200


class TestEveryEntryOpensItsPage:
    async def test_events_forums_and_shifts_link_to_their_own_pages(
        self, nodes: NodeFactory
    ) -> None:
        host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
        organizer = await host.as_role(Role.organizer)
        event = await create_event(organizer, title="Plain meeting")
        forum = await organizer.post(
            "/api/v1/forums", json=forum_body([ward30.url, ward35.url], host.url)
        )
        assert forum.status_code == 201, forum.text
        call = await organizer.post("/api/v1/canvass-calls", json=call_body())
        assert call.status_code == 201, call.text
        browser = await page_client(host, role=Role.member)
        page = await browser.get("/calendar")
        assert f'<a href="/events/{event["id"]}">Plain meeting</a>' in page.text
        assert f'<a href="/canvass/{call.json()["id"]}">Canvass: ' in page.text
        forum_day = date(2030, 1, 31)
        later = await browser.get(f"/calendar?from={forum_day}")
        assert f'<a href="/forums/{forum.json()["id"]}">Mayoral candidate forum</a>' in later.text


class TestBadAddresses:
    @pytest.mark.parametrize(
        ("query", "words"),
        [
            ("view=year", "The calendar view is agenda, week or month."),
            ("from=12/08/2026", "Give the from date as year-month-day, e.g. 2026-12-08."),
            ("from=2026-02-30", "Give the from date as year-month-day"),
            ("view=week&from=tomorrow", "Give the from date as year-month-day"),
            ("from=2026-12-08&to=2026-12-01", "The to date is before the from date"),
            ("from=2026-01-01&to=2027-06-01", "The agenda shows a year at most"),
            ("from=3000-01-01", "The calendar shows the years 1900 to 2999."),
            ("to=0999-01-01", "The calendar shows the years 1900 to 2999."),
        ],
    )
    async def test_a_bad_view_or_date_gets_a_page_in_plain_words(
        self, node: TestNode, query: str, words: str
    ) -> None:
        browser = await page_client(node, role=Role.member)
        page = await browser.get(f"/calendar?{query}")
        assert page.status_code == 422
        assert words in page.text
        assert "Value error" not in page.text

    async def test_the_last_year_shown_has_no_next_link_past_it(self, node: TestNode) -> None:
        browser = await page_client(node, role=Role.member)
        page = await browser.get("/calendar?view=month&month=2999-12")
        assert page.status_code == 200
        assert not hrefs(page.text, "Next")
        assert hrefs(page.text, "← Previous")

    async def test_a_visitor_is_sent_to_log_in(self, node: TestNode) -> None:
        answer = await anonymous(node).get("/calendar?view=week")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")


class TestInTheBrowser:
    @pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
    async def test_she_switches_views_and_steps_through_them(
        self, node: TestNode, organizer, serve: Serve, browser: Browser, phone: bool
    ) -> None:
        now = utcnow().replace(second=0, microsecond=0)  # today's, whatever the hour
        await create_event(organizer, title="Tonight's meeting", start=now)
        await create_event(organizer, title="Next week's canvass", start=now + timedelta(days=7))
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.member, phone=phone)
        size = "phone" if phone else "desktop"
        # The agenda: four weeks from today, today marked
        await page.goto(f"{base}/calendar")
        await expect(page.get_by_text("Tonight's meeting")).to_be_visible()
        await expect(page.locator(".day-head.today").first).to_contain_text("Today")
        assert not phone or await fits_phone_width(page)
        assert await problems_on(page) == []
        await screenshot(page, f"calendar-agenda-{size}")
        # The week
        await (
            page.get_by_role("navigation", name="Calendar view")
            .get_by_role("link", name="Week")
            .click()
        )
        await expect(page).to_have_url(re.compile(r"view=week"))
        await expect(page.get_by_role("heading", name=re.compile("^Week of"))).to_be_visible()
        await expect(page.locator(".day.today")).to_contain_text("Today")
        assert not phone or await fits_phone_width(page)
        assert await problems_on(page) == []
        await screenshot(page, f"calendar-week-{size}")
        await page.get_by_role("link", name="Next week").click()
        await expect(page.get_by_text("Next week's canvass")).to_be_visible()
        await expect(page.get_by_text("Tonight's meeting")).to_have_count(0)
        await page.get_by_role("link", name="Back to today").click()
        await expect(page.get_by_text("Tonight's meeting")).to_be_visible()
        # The month
        await (
            page.get_by_role("navigation", name="Calendar view")
            .get_by_role("link", name="Month")
            .click()
        )
        await expect(page.locator(".day.today")).to_contain_text("Today")
        assert not phone or await fits_phone_width(page)
        assert await problems_on(page) == []
        await screenshot(page, f"calendar-month-today-{size}")
        # An entry opens its own page
        link = page.get_by_role("link", name="Tonight's meeting")
        assert re.fullmatch(r"/events/[0-9a-f-]+", await link.get_attribute("href") or "")
