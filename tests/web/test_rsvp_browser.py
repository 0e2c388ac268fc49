"""The RSVP story in Chromium, on a phone (375 px) and a desktop (1280 px).

A neighbour opens a public event's page, RSVPs without an account (once with a mistake, which
comes back beside its field), lands on her private RSVP page, receives the confirmation email
on a real SMTP server on loopback with the event's .ics attached, opens the link in it and
cancels. Then an organizer checks people in at the door on a phone, and adds a walk-in.
Every page is screenshotted (``rsvp-*``) and checked for accessibility, and nothing is loaded
from anywhere but the node.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from playwright.async_api import Browser, Page, expect

from node.accounts.models import Role
from tests.nodes import NodeFactory, TestNode
from tests.rsvps import LINK, public_event, rsvps_of, text_of
from tests.smtp import Mailbox, smtp_server
from tests.web.browser import fits_phone_width, logged_in_page, new_page, screenshot
from tests.web.test_accessibility import problems_on

Serve = Callable[[TestNode], Awaitable[str]]
PLACE = {"venue": "Horner Park field house", "address_lines": ["2741 W Montrose Ave"],
         "locality": "Chicago", "region": "IL", "postal_code": "60618"}  # fmt: skip


def outside_requests(page: Page, base: str) -> list[str]:
    """Every request the page makes to anywhere but ``base`` (collected as it goes)."""
    seen: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else seen.append(r.url))
    return seen


async def check(page: Page, name: str, *, phone: bool) -> None:
    await screenshot(page, name)
    assert await problems_on(page) == [], name
    if phone:
        assert await fits_phone_width(page), name


async def deliver_mail(node: TestNode, mailbox: Mailbox, address: str, count: int) -> list:  # type: ignore[type-arg]
    await node.app.state.mail.run_once()
    received = mailbox.to(address)
    assert len(received) == count, [m["Subject"] for m in received]
    return received


class TestANeighbourRsvpsAndCancels:
    async def test_on_a_phone_and_a_desktop(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        with smtp_server() as mailbox:
            node = await nodes.start("ward33", wards=[33], **mailbox.settings())
            event = await public_event(
                node,
                title="Tenant rights night",
                description="Bring your lease.",
                location=PLACE,
                capacity=25,
            )
            base = await serve(node)
            for size, phone in (("phone", True), ("desktop", False)):
                address = f"ana-{size}@example.org"
                page = await new_page(browser, phone=phone)
                outside = outside_requests(page, base)
                # Given the public page of the event
                await page.goto(f"{base}/events/{event['id']}")
                await expect(page.get_by_role("heading", level=1)).to_have_text(
                    "Tenant rights night"
                )
                await expect(page.get_by_text("25 of 25 places left")).to_be_visible()
                await check(page, f"rsvp-event-{size}", phone=phone)
                # When she RSVPs with a phone number that is too short
                await page.get_by_label("Your name").fill("Ana Diaz")
                await page.get_by_label("Email").fill(address)
                await page.get_by_label("Phone (optional)").fill("12")
                await page.get_by_label(re.compile("Text me about this event")).check()
                await page.get_by_role("button", name="RSVP").click()
                # Then the form comes back with her input and the error beside the phone
                await expect(page.locator("#e-phone")).to_contain_text("a US number has 10")
                await expect(page.get_by_label("Email")).to_have_value(address)
                await check(page, f"rsvp-form-errors-{size}", phone=phone)
                # When she fixes it
                await page.get_by_label("Phone (optional)").fill("773-555-0101")
                await page.get_by_role("button", name="RSVP").click()
                # Then she is on her private RSVP page: the confirmation
                await page.wait_for_url(re.compile(r"/rsvp/rsvp_"))
                await expect(page.get_by_role("status")).to_contain_text("You're going!")
                await check(page, f"rsvp-confirmed-{size}", phone=phone)
                # ... and the confirmation email arrives, with the event for her calendar
                [confirmation] = await deliver_mail(node, mailbox, address, 1)
                assert confirmation["Subject"] == "You're going: Tenant rights night"
                [ics] = list(confirmation.iter_attachments())
                assert ics.get_content_type() == "text/calendar"
                [path] = LINK.findall(text_of(confirmation))
                # When she opens the link in it, later, and cancels (asked once more)
                later = await new_page(browser, phone=phone)
                outside += outside_requests(later, base)
                await later.goto(base + path)
                await expect(later.get_by_text("going", exact=True)).to_be_visible()
                await check(later, f"rsvp-manage-{size}", phone=phone)
                await later.get_by_text("Cancel my RSVP…").click()
                await check(later, f"rsvp-cancel-confirm-{size}", phone=phone)
                await later.get_by_role("button", name="Yes, cancel my RSVP").click()
                # Then her RSVP is cancelled, the page says so, and an email confirms it
                await expect(later.get_by_role("status")).to_contain_text("Your RSVP is cancelled")
                await expect(later.get_by_text("not coming")).to_be_visible()
                await check(later, f"rsvp-cancelled-{size}", phone=phone)
                _, cancelled = await deliver_mail(node, mailbox, address, 2)
                assert cancelled["Subject"] == "Your RSVP was cancelled: Tenant rights night"
                assert outside == []
            assert {r.state.value for r in await rsvps_of(node, event)} == {"cancelled"}


class TestCheckInAtTheDoor:
    async def test_one_tap_per_person_on_a_phone(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        event = await public_event(node, title="Block party", capacity=2)
        neighbour = node.client_with()
        for name, email in (("Ana Diaz", "ana@example.org"), ("Bea Kowalski", "bea@example.org"),
                            ("Cy Nguyen", "cy@example.org")):  # fmt: skip
            answer = await neighbour.post(
                f"/events/{event['id']}/rsvp", data={"name": name, "email": email}
            )
            assert answer.status_code == 303
        base = await serve(node)
        for size, phone in (("phone", True), ("desktop", False)):
            page = await logged_in_page(browser, base, node, role=Role.organizer, phone=phone)
            outside = outside_requests(page, base)
            # Given the organizer at the door, from the event's page
            await page.goto(f"{base}/events/{event['id']}")
            await page.get_by_role("link", name=re.compile("Attendees and check-in")).click()
            await expect(page.get_by_role("heading", level=1)).to_have_text("Attendees")
            await check(page, f"rsvp-attendees-{size}", phone=phone)
            # When she taps Ana
            ana = page.get_by_role("button", name=re.compile("Ana Diaz"))
            was_in = await ana.get_attribute("aria-pressed") == "true"
            await ana.click()
            # Then Ana is checked in (or, the second time round, no longer), at her row
            await expect(page.get_by_role("status")).to_contain_text("Ana Diaz")
            assert re.search(r"#rsvp-\d+$", page.url)
            await expect(page.get_by_role("button", name=re.compile("Ana Diaz"))).to_have_attribute(
                "aria-pressed", "false" if was_in else "true"
            )
            await check(page, f"rsvp-checked-in-{size}", phone=phone)
            assert outside == []
        # When a walk-in arrives (the event is full: she is let in all the same)
        await page.get_by_role("textbox", name=re.compile(r"^Name")).fill("Dee Walker")
        await page.get_by_role("button", name="Add and check in").click()
        await expect(page.get_by_role("status")).to_contain_text("Dee Walker added and checked in.")
        await check(page, "rsvp-walk-in-desktop", phone=False)
        states = {
            r.name: (r.state.value, r.checked_in_at is not None)
            for r in await rsvps_of(node, event)
        }
        assert states == {
            "Ana Diaz": ("going", False),  # in on the phone, out again on the desktop
            "Bea Kowalski": ("going", False),
            "Cy Nguyen": ("waitlisted", False),
            "Dee Walker": ("going", True),
        }


class TestANeighbourFindsAForumOnTheHome:
    """The issue's story end to end: from the group's public home to a forum, to its event
    page, an RSVP without an account, the email, and a cancellation through its link."""

    async def test_from_the_home_to_a_cancelled_rsvp(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        with smtp_server() as mailbox:
            node = await nodes.start("ward33", wards=[33], **mailbox.settings())
            organizer = await node.as_role(Role.organizer)
            forum = await organizer.post("/api/v1/forums", json={
                "title": "Alderperson candidate forum", "visibility": "public",
                "start_date": "2030-02-01T00:00:00+00:00", "end_date": "2030-02-01T02:00:00+00:00",
                "location": {"venue": "Hairpin Arts Center", "locality": "Chicago"},
                "capacity": 120, "co_hosts": [],
            })  # fmt: skip
            assert forum.status_code == 201, forum.text
            base = await serve(node)
            for size, phone in (("phone", True), ("desktop", False)):
                address = f"neighbour-{size}@example.org"
                page = await new_page(browser, phone=phone)
                outside = outside_requests(page, base)
                # Given the group's public home, she finds the forum and opens it
                await page.goto(f"{base}/")
                await page.get_by_role("link", name="Alderperson candidate forum").first.click()
                await expect(page.get_by_role("heading", level=1)).to_have_text(
                    "Alderperson candidate forum"
                )
                await check(page, f"story-forum-{size}", phone=phone)
                # When she says she is coming, on its event page, without an account
                await page.get_by_role("link", name="Say you are coming").click()
                await page.wait_for_url(re.compile(r"/events/[0-9a-f-]{36}$"))
                await check(page, f"story-event-{size}", phone=phone)
                await page.get_by_label("Your name").fill("Nia Brooks")
                await page.get_by_label("Email").fill(address)
                await page.get_by_role("button", name="RSVP").click()
                await page.wait_for_url(re.compile(r"/rsvp/rsvp_"))
                await expect(page.get_by_role("status")).to_contain_text("You're going!")
                # Then the confirmation reaches her mailbox, and its link cancels the RSVP
                [confirmation] = await deliver_mail(node, mailbox, address, 1)
                assert confirmation["Subject"] == "You're going: Alderperson candidate forum"
                [path] = LINK.findall(text_of(confirmation))
                later = await new_page(browser, phone=phone)
                outside += outside_requests(later, base)
                await later.goto(base + path)
                await later.get_by_text("Cancel my RSVP…").click()
                await later.get_by_role("button", name="Yes, cancel my RSVP").click()
                await expect(later.get_by_role("status")).to_contain_text("Your RSVP is cancelled")
                await check(later, f"story-cancelled-{size}", phone=phone)
                assert outside == []
