"""The coordinator's event pages: create (once or repeating), edit one or this and following,
duplicate, cancel with a reason and delete, each confirmed where it destroys; bad input kept in
the form with words beside each field; who may open them; and a series reaching an ally."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, expect

from node.accounts.models import Role
from node.events.models import Event, EventType
from tests.canvass.helpers import coalition
from tests.events import EVENTS
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import PageClient, anonymous, page_client
from tests.web.test_accessibility import problems_on

CHICAGO = ZoneInfo("America/Chicago")


def form(**overrides: str) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {
        "title": "Saturday doors", "event_type": "CANVASS", "start": "2027-04-03T10:00",
        "end": "2027-04-03T13:00", "timezone": "America/Chicago", "visibility": "coalition",
        "description": "Meet at the office.", "venue": "Ward office", "address": "3411 W Irving",
        "locality": "Chicago", "postal_code": "60618", "online_url": "", "capacity": "",
        "wards": "33", "precincts": "", "repeat": "", "count": "", "until": "",
    }  # fmt: skip
    values.update(overrides)
    return values


def event_id_from(response: Any) -> str:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/events/([0-9a-f-]{36})", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def api_event(node: TestNode, event_id: str) -> Any:
    response = await (await node.as_role(Role.organizer)).get(f"{EVENTS}/{event_id}")
    return response


async def all_events(node: TestNode) -> list[dict[str, Any]]:
    response = await (await node.as_role(Role.admin)).get(EVENTS, params={"limit": 200})
    return list(response.json()["items"])


def local(value: str) -> str:
    return f"{datetime.fromisoformat(value).astimezone(CHICAGO):%Y-%m-%d %H:%M}"


def error_beside(page: str, field: str) -> str:
    """The error shown under a field (``id="e-<field>"``), as text."""
    match = re.search(rf'<p class="error" id="e-{field}">(.*?)</p>', page, re.S)
    assert match, f"no error beside {field}"
    return html.unescape(match.group(1))


@pytest.fixture
async def organizer_pages(node: TestNode) -> PageClient:
    return await page_client(node, role=Role.organizer)


class TestCreating:
    async def test_a_one_off_event_is_made_in_its_time_zone(self, node, organizer_pages):
        page = await organizer_pages.get("/events/new")
        assert page.status_code == 200
        assert 'type="datetime-local"' in page.text
        assert '<option value="America/Chicago" selected>' in page.text
        response = await organizer_pages.post("/events/new", data=form(timezone="America/New_York"))
        event = (await api_event(node, event_id_from(response))).json()
        assert event["start_date"] == "2027-04-03T14:00:00Z"
        assert (event["title"], event["timezone"], event["series_id"]) == (
            "Saturday doors", "America/New_York", None
        )  # fmt: skip
        assert event["location"]["venue"] == "Ward office"
        assert event["location"]["address_lines"] == ["3411 W Irving"]

    async def test_a_weekly_series_is_listed_with_its_rule(self, node, organizer_pages):
        response = await organizer_pages.post(
            "/events/new", data=form(repeat="weekly", count="3", title="Tuesday doors")
        )
        first_id = event_id_from(response)
        events = [e for e in await all_events(node) if e["title"] == "Tuesday doors"]
        assert [local(e["start_date"]) for e in events] == [
            "2027-04-03 10:00", "2027-04-10 10:00", "2027-04-17 10:00"
        ]  # fmt: skip
        assert events[0]["id"] == first_id
        listing = await organizer_pages.get("/events")
        assert listing.text.count("Every week, 3 times") == 3
        assert "Sat, Apr 10, 2027, 10:00 am\u20131:00 pm CDT" in listing.text

    async def test_a_monthly_series_until_a_date(self, node, organizer_pages):
        response = await organizer_pages.post(
            "/events/new",
            data=form(repeat="monthly_weekday", until="2027-07-31", start="2027-04-13T18:00",
                      end="2027-04-13T20:00", title="Second Tuesday meeting"),
        )  # fmt: skip
        event_id_from(response)
        events = [e for e in await all_events(node) if e["title"] == "Second Tuesday meeting"]
        assert [local(e["start_date"]) for e in events] == [
            "2027-04-13 18:00", "2027-05-11 18:00", "2027-06-08 18:00", "2027-07-13 18:00"
        ]  # fmt: skip
        listing = await organizer_pages.get("/events")
        assert "Every month on the 2nd Tuesday, until Sat 31 Jul 2027" in listing.text


class TestBadInputIsKeptAndExplained:
    async def test_every_error_beside_its_field_and_the_values_kept(self, node, organizer_pages):
        response = await organizer_pages.post(
            "/events/new",
            data=form(title="", end="2027-04-03T09:00", wards="33, ninety", capacity="-1",
                      online_url="not a link", description="Keep this text"),
        )  # fmt: skip
        assert response.status_code == 422
        assert error_beside(response.text, "title").startswith("Give the event a title")
        assert error_beside(response.text, "wards").startswith("Wards are numbers from 1 to 50")
        assert "whole number (0 or more)" in error_beside(response.text, "capacity")
        assert "starting with https://" in error_beside(response.text, "online_url")
        assert "Value error" not in response.text
        assert 'value="33, ninety"' in response.text
        assert "Keep this text</textarea>" in response.text
        assert await all_events(node) == []

    async def test_an_end_before_the_start(self, organizer_pages):
        response = await organizer_pages.post("/events/new", data=form(end="2027-04-03T09:00"))
        assert response.status_code == 422
        assert error_beside(response.text, "end") == (
            "The end is before the start: choose an end at or after the start."
        )

    async def test_times_the_clocks_skip_or_repeat_are_refused_in_words(self, organizer_pages):
        skipped = await organizer_pages.post(
            "/events/new", data=form(start="2027-03-14T02:30", end="2027-03-14T04:00")
        )
        assert skipped.status_code == 422
        assert error_beside(skipped.text, "start") == (
            "02:30 on Sun 14 Mar 2027 in America/Chicago does not exist: the clocks skip that "
            "hour. Choose another time."
        )
        twice = await organizer_pages.post(
            "/events/new", data=form(start="2026-11-01T00:30", end="2026-11-01T01:30")
        )
        assert twice.status_code == 422
        assert "happens twice" in error_beside(twice.text, "end")

    async def test_an_unknown_time_zone(self, organizer_pages):
        response = await organizer_pages.post("/events/new", data=form(timezone="Mars/Olympus"))
        assert response.status_code == 422
        assert error_beside(response.text, "timezone") == "Choose a time zone from the list."
        assert "Choose the time zone the start is in" in error_beside(response.text, "start")
        assert '<option value="Mars/Olympus" selected>' in response.text

    async def test_a_missing_or_malformed_time(self, organizer_pages):
        response = await organizer_pages.post("/events/new", data=form(start="", end="tomorrow"))
        assert error_beside(response.text, "start") == "Give the start date and time."
        assert "for example 2027-04-01 18:00" in error_beside(response.text, "end")

    async def test_series_limits(self, node, organizer_pages):
        too_many = await organizer_pages.post(
            "/events/new", data=form(repeat="weekly", count="200")
        )
        assert too_many.status_code == 422
        assert "from 2 to 104" in error_beside(too_many.text, "count")
        years = await organizer_pages.post(
            "/events/new", data=form(repeat="weekly", until="2031-01-01")
        )
        assert years.status_code == 422
        assert "at most 104 occurrences" in error_beside(years.text, "until")
        neither = await organizer_pages.post("/events/new", data=form(repeat="weekly"))
        assert "not both" in error_beside(neither.text, "count")
        assert await all_events(node) == []


async def make(pages: PageClient, **overrides: str) -> str:
    return event_id_from(await pages.post("/events/new", data=form(**overrides)))


class TestEditing:
    async def test_the_form_is_filled_and_saving_changes_the_event(self, node, organizer_pages):
        event_id = await make(organizer_pages)
        page = await organizer_pages.get(f"/events/{event_id}/edit")
        assert page.status_code == 200
        assert 'value="Saturday doors"' in page.text
        assert 'value="2027-04-03T10:00"' in page.text
        assert "This event repeats" not in page.text
        response = await organizer_pages.post(
            f"/events/{event_id}/edit", data=form(title="Saturday doors (rain date)",
                                                  start="2027-04-03T11:00", status="tentative"),
        )  # fmt: skip
        assert event_id_from(response) == event_id
        event = (await api_event(node, event_id)).json()
        assert (event["title"], event["status"], event["version"]) == (
            "Saturday doors (rain date)", "tentative", 2
        )  # fmt: skip
        assert local(event["start_date"]) == "2027-04-03 11:00"

    async def test_saving_keeps_what_the_form_does_not_show(self, node, organizer_pages):
        organizer = await node.as_role(Role.organizer)
        made = await organizer.post(EVENTS, json={
            "title": "Forum", "start_date": "2027-05-01T23:00:00Z",
            "end_date": "2027-05-02T01:00:00Z", "event_type": "FORUM",
            "location": {"venue": "Hall", "region": "IL",
                         "location": {"latitude": 41.95, "longitude": -87.71}},
        })  # fmt: skip
        event_id = made.json()["id"]
        page = await organizer_pages.get(f"/events/{event_id}/edit")
        assert 'value="2027-05-01T18:00"' in page.text
        await organizer_pages.post(f"/events/{event_id}/edit", data=form(
            title="Forum", start="2027-05-01T18:00", end="2027-05-01T20:00", venue="Hall",
            address="", locality="", postal_code="", event_type="FORUM"))  # fmt: skip
        location = (await api_event(node, event_id)).json()["location"]
        assert (location["region"], location["location"]["latitude"]) == ("IL", 41.95)

    async def test_bad_input_comes_back_and_changes_nothing(self, node, organizer_pages):
        event_id = await make(organizer_pages)
        response = await organizer_pages.post(
            f"/events/{event_id}/edit", data=form(title="New title", end="2027-04-03T08:00")
        )
        assert response.status_code == 422
        assert "choose an end at or after the start" in error_beside(response.text, "end")
        assert 'value="New title"' in response.text
        event = (await api_event(node, event_id)).json()
        assert (event["title"], event["version"]) == ("Saturday doors", 1)

    async def test_this_and_following_in_a_series(self, node, organizer_pages):
        first = await make(organizer_pages, repeat="weekly", count="4")
        ids = [e["id"] for e in await all_events(node)]
        page = await organizer_pages.get(f"/events/{ids[1]}/edit")
        assert "This event repeats" in page.text
        response = await organizer_pages.post(
            f"/events/{ids[1]}/edit",
            data=form(scope="following", start="2027-04-10T10:30", end="2027-04-10T13:30",
                      title="Saturday doors, later"),
        )  # fmt: skip
        assert response.status_code == 303
        events = await all_events(node)
        assert [(local(e["start_date"]), e["title"]) for e in events] == [
            ("2027-04-03 10:00", "Saturday doors"),
            ("2027-04-10 10:30", "Saturday doors, later"),
            ("2027-04-17 10:30", "Saturday doors, later"),
            ("2027-04-24 10:30", "Saturday doors, later"),
        ]
        one = await organizer_pages.post(
            f"/events/{ids[2]}/edit", data=form(scope="this", title="Only this one",
                                                start="2027-04-17T10:30", end="2027-04-17T13:30"),
        )  # fmt: skip
        assert one.status_code == 303
        assert [e["title"] for e in await all_events(node)][2:] == [
            "Only this one", "Saturday doors, later"
        ]  # fmt: skip
        assert first == ids[0]

    async def test_an_allys_event_cannot_be_edited_here(self, node, organizer_pages):
        async with node.session() as session:
            replica = Event(
                object_id="http://ward30.test/events/1", origin="http://ward30.test",
                title="Their event", start_date=datetime(2027, 1, 1, tzinfo=UTC),
                end_date=datetime(2027, 1, 1, 2, tzinfo=UTC), event_type=EventType.RALLY,
            )  # fmt: skip
            session.add(replica)
        page = await organizer_pages.get(f"/events/{replica.id}/edit")
        assert page.status_code == 409
        assert "only that group can change it" in page.text


class TestDuplicating:
    async def test_a_copy_in_a_new_form_made_when_saved(self, node, organizer_pages):
        event_id = await make(organizer_pages)
        page = await organizer_pages.get(f"/events/{event_id}/duplicate")
        assert page.status_code == 200
        assert 'action="/events/new"' in page.text
        assert 'value="Saturday doors"' in page.text
        copy = await organizer_pages.post(
            "/events/new", data=form(start="2027-04-10T10:00", end="2027-04-10T13:00")
        )
        assert event_id_from(copy) != event_id
        assert [local(e["start_date"]) for e in await all_events(node)] == [
            "2027-04-03 10:00", "2027-04-10 10:00"
        ]  # fmt: skip


class TestCancelling:
    async def test_asks_first_then_cancels_with_the_reason(self, node, organizer_pages):
        event_id = await make(organizer_pages)
        confirm = await organizer_pages.get(f"/events/{event_id}/cancel")
        assert confirm.status_code == 200
        assert "Yes, cancel it" in confirm.text
        assert "Sat, Apr 3, 2027, 10:00 am\u20131:00 pm CDT" in confirm.text
        assert (await api_event(node, event_id)).json()["status"] == "confirmed"
        response = await organizer_pages.post(
            f"/events/{event_id}/cancel", data={"reason": "Storm warning"}
        )
        assert event_id_from(response) == event_id
        event = (await api_event(node, event_id)).json()
        assert (event["status"], event["cancellation_reason"]) == ("cancelled", "Storm warning")
        listing = await organizer_pages.get("/events")
        assert "cancelled" in listing.text
        assert "Storm warning" in listing.text
        again = await organizer_pages.get(f"/events/{event_id}/cancel")
        assert "already cancelled: Storm warning" in again.text

    async def test_editing_it_back_to_confirmed_puts_it_on_again(self, node, organizer_pages):
        event_id = await make(organizer_pages)
        await organizer_pages.post(f"/events/{event_id}/cancel", data={"reason": "Storm"})
        page = await organizer_pages.get(f"/events/{event_id}/edit")
        assert '<option value="cancelled" selected>Cancelled</option>' in page.text
        await organizer_pages.post(f"/events/{event_id}/edit", data=form(status="confirmed"))
        event = (await api_event(node, event_id)).json()
        assert (event["status"], event["cancellation_reason"]) == ("confirmed", None)

    async def test_this_and_following(self, node, organizer_pages):
        await make(organizer_pages, repeat="weekly", count="3")
        ids = [e["id"] for e in await all_events(node)]
        confirm = await organizer_pages.get(f"/events/{ids[1]}/cancel")
        assert "This event and the 1 following one" in confirm.text
        await organizer_pages.post(
            f"/events/{ids[1]}/cancel", data={"reason": "Hall closed", "scope": "following"}
        )
        assert [e["status"] for e in await all_events(node)] == [
            "confirmed", "cancelled", "cancelled"
        ]  # fmt: skip

    async def test_a_too_long_reason_comes_back(self, node, organizer_pages):
        event_id = await make(organizer_pages)
        response = await organizer_pages.post(
            f"/events/{event_id}/cancel", data={"reason": "x" * 1001}
        )
        assert response.status_code == 422
        assert error_beside(response.text, "reason") == (
            "The reason can be at most 1,000 characters."
        )
        assert (await api_event(node, event_id)).json()["status"] == "confirmed"


class TestDeleting:
    async def test_asks_first_then_leaves_a_tombstone(self, node, organizer_pages):
        event_id = await make(organizer_pages)
        confirm = await organizer_pages.get(f"/events/{event_id}/delete")
        assert "Yes, delete it" in confirm.text
        assert (await api_event(node, event_id)).status_code == 200
        response = await organizer_pages.post(f"/events/{event_id}/delete")
        assert (response.status_code, response.headers["location"]) == (303, "/events")
        assert (await api_event(node, event_id)).status_code == 410
        listing = await organizer_pages.get("/events")
        assert "“Saturday doors” deleted." in listing.text
        assert "No upcoming events" in listing.text

    async def test_this_and_following(self, node, organizer_pages):
        await make(organizer_pages, repeat="weekly", count="3")
        ids = [e["id"] for e in await all_events(node)]
        await organizer_pages.post(f"/events/{ids[1]}/delete", data={"scope": "following"})
        assert [e["id"] for e in await all_events(node)] == ids[:1]


class TestListing:
    async def test_upcoming_and_past_with_their_links(self, node, organizer_pages):
        event_id = await make(organizer_pages)
        past = await make(organizer_pages, start="2025-04-03T10:00", end="2025-04-03T13:00",
                          title="Last year's doors")  # fmt: skip
        listing = await organizer_pages.get("/events")
        upcoming, before = listing.text.split("<h2>Past</h2>")
        assert "Saturday doors" in upcoming
        assert "Last year&#39;s doors" in before
        for action in ("edit", "duplicate", "cancel", "delete"):
            assert f'href="/events/{event_id}/{action}"' in upcoming
        assert f'href="/events/{past}/edit"' in before


class TestWhoMayUseThem:
    async def test_members_are_refused_and_visitors_sent_to_log_in(self, node):
        event_id = await make(await page_client(node, role=Role.organizer))
        member = await page_client(node, role=Role.member)
        visitor = anonymous(node)
        pages = ["/events", "/events/new", f"/events/{event_id}/edit",
                 f"/events/{event_id}/duplicate", f"/events/{event_id}/cancel",
                 f"/events/{event_id}/delete"]  # fmt: skip
        for path in pages:
            assert (await member.get(path)).status_code == 403, path
            answer = await visitor.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next="), path
        for path in ("/events/new", f"/events/{event_id}/edit", f"/events/{event_id}/cancel",
                     f"/events/{event_id}/delete"):  # fmt: skip
            assert (await member.post(path, data=form())).status_code == 403, path
        assert (await api_event(node, event_id)).json()["version"] == 1

    async def test_a_form_without_its_csrf_token_is_refused(self, node):
        organizer = await page_client(node, role=Role.organizer)
        response = await organizer.post("/events/new", data=form(), csrf=False)
        assert response.status_code == 403
        assert await all_events(node) == []

    async def test_the_nav_shows_events_to_organizers_only(self, node):
        organizer = await page_client(node, role=Role.organizer)
        member = await page_client(node, role=Role.member)
        assert 'href="/events"' in (await organizer.get("/calendar")).text
        assert 'href="/events"' not in (await member.get("/calendar")).text


class TestSeriesReachAllies:
    async def test_a_weekly_series_made_on_the_page_is_listed_by_an_ally(
        self, nodes: NodeFactory
    ) -> None:
        # Given ward33 and ward30 allied
        host, ally = await coalition(nodes, "ward33", "ward30")
        organizer = await page_client(host, role=Role.organizer)
        # When ward33's organizer makes a weekly canvass, 4 times, on the page
        response = await organizer.post(
            "/events/new", data=form(repeat="weekly", count="4", title="Weekly doors")
        )
        assert response.status_code == 303
        await deliver_all(host, ally)
        # Then ward30 lists the 4 occurrences as ward33's events, at 10:00 Chicago time
        member = await ally.as_role(Role.member)
        seen = (await member.get(EVENTS)).json()["items"]
        assert [(e["title"], local(e["start_date"]), e["origin"]) for e in seen] == [
            ("Weekly doors", f"2027-04-{day:02d} 10:00", host.url) for day in (3, 10, 17, 24)
        ]
        # and a cancellation of the last two, with its reason, follows
        ids = [e["id"] for e in await all_events(host)]
        await organizer.post(f"/events/{ids[2]}/cancel",
                             data={"reason": "Hall closed", "scope": "following"})  # fmt: skip
        await deliver_all(host, ally)
        seen = (await member.get(EVENTS)).json()["items"]
        assert [e["status"] for e in seen] == ["confirmed", "confirmed", "cancelled", "cancelled"]


Serve = Callable[[TestNode], Awaitable[str]]


def next_saturday() -> date:
    today = datetime.now(CHICAGO).date() + timedelta(days=7)
    return today + timedelta(days=(5 - today.weekday()) % 7)


async def check(page: Page, name: str, *, phone: bool) -> None:
    """Every page of the story: no accessibility problems, fits a phone, a screenshot."""
    assert await problems_on(page) == [], name
    if phone:
        assert await fits_phone_width(page), name
    await screenshot(page, f"events-{name}-{'phone' if phone else 'desktop'}")


class TestInTheBrowser:
    @pytest.mark.parametrize("phone", [True, False], ids=["375px", "1280px"])
    async def test_an_organizer_makes_a_weekly_canvass_and_an_ally_sees_it(
        self, nodes: NodeFactory, serve: Serve, browser: Browser, phone: bool
    ) -> None:
        host, ally = await coalition(nodes, "ward33", "ward30")
        base = await serve(host)
        page = await logged_in_page(browser, base, host, role=Role.organizer, phone=phone)
        first = next_saturday()

        # She opens Events from the menu: nothing yet
        await page.get_by_role("link", name="Events", exact=True).click()
        await expect(page.get_by_role("heading", name="Events", level=1)).to_be_visible()
        await expect(page.get_by_text("No upcoming events of this group")).to_be_visible()
        await check(page, "list-empty", phone=phone)

        # She fills the form, forgets the title, and gets it back with the field marked
        await page.get_by_role("link", name="New event").click()
        await page.get_by_label("Kind of event").select_option("CANVASS")
        await page.get_by_label("Starts").fill(f"{first.isoformat()}T10:00")
        await page.get_by_label("Ends").fill(f"{first.isoformat()}T13:00")
        await page.get_by_label("Repeats").select_option("weekly")
        await page.get_by_label("How many times").fill("4")
        await page.get_by_label("Place", exact=True).fill("Ward office")
        await page.get_by_label("Wards").fill("33")
        await check(page, "new", phone=phone)
        await page.get_by_role("button", name="Create the event").click()
        await expect(page.locator("#e-title")).to_have_text(re.compile("Give the event a title"))
        await expect(page.get_by_label("How many times")).to_have_value("4")
        await check(page, "new-errors", phone=phone)
        await page.get_by_label("Title").fill("Saturday canvass")
        await page.get_by_role("button", name="Create the event").click()
        await page.wait_for_url(re.compile(r"/events/[0-9a-f-]{36}$"))

        # The list shows four Saturdays, each marked as repeating
        await page.goto(f"{base}/events")
        cards = page.locator(".event-list .card")
        await expect(cards).to_have_count(4)
        await expect(cards.first).to_contain_text("Every week, 4 times")
        await check(page, "list", phone=phone)

        # She moves the second and later ones half an hour later
        await cards.nth(1).get_by_role("link", name=re.compile("^Edit")).click()
        await check(page, "edit", phone=phone)
        await page.get_by_label("This event and the following ones").check()
        second = first + timedelta(days=7)
        await page.get_by_label("Starts").fill(f"{second.isoformat()}T10:30")
        await page.get_by_label("Ends").fill(f"{second.isoformat()}T13:30")
        await page.get_by_role("button", name="Save").click()
        await page.wait_for_url(re.compile(r"/events/[0-9a-f-]{36}$"))
        await page.goto(f"{base}/events")
        await expect(cards.nth(3)).to_contain_text("10:30 am\u20131:30 pm")
        await expect(cards.first).to_contain_text("10:00 am\u20131:00 pm")

        # A copy of the first as a one-off, on the duplicate form
        await cards.first.get_by_role("link", name=re.compile("^Duplicate")).click()
        await expect(page.get_by_label("Title")).to_have_value("Saturday canvass")
        await check(page, "duplicate", phone=phone)

        # She cancels the last one, with a reason, after the confirmation step
        await page.goto(f"{base}/events")
        await cards.nth(3).get_by_role("link", name=re.compile("^Cancel")).click()
        await page.get_by_label("Reason (optional)").fill("The hall is closed that day")
        await check(page, "cancel", phone=phone)
        await page.get_by_role("button", name="Yes, cancel it").click()
        await page.wait_for_url(re.compile(r"/events/[0-9a-f-]{36}$"))
        await page.goto(f"{base}/events")
        await expect(cards.nth(3)).to_contain_text("The hall is closed that day")

        # The delete step asks first too
        await cards.nth(3).get_by_role("link", name=re.compile("^Delete")).click()
        await expect(page.get_by_role("button", name="Yes, delete it")).to_be_visible()
        await check(page, "delete", phone=phone)
        await page.get_by_role("link", name="No, keep it").click()
        await expect(cards).to_have_count(4)

        # Then ward30, once delivered, shows the four Saturdays on its calendar
        await deliver_all(host, ally)
        ally_base = await serve(ally)
        other = await logged_in_page(browser, ally_base, ally, role=Role.member, phone=phone)
        today = datetime.now(UTC).date()  # (the agenda shows four weeks unless told a range)
        await other.goto(f"{ally_base}/calendar?from={today}&to={today + timedelta(days=60)}")
        await expect(other.get_by_text("Saturday canvass")).to_have_count(4)
        await screenshot(other, f"events-ally-calendar-{'phone' if phone else 'desktop'}")
