"""Canvass pages, issue 14: editing a call, its dates on the list, and the visible waitlist."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from playwright.async_api import Browser, expect

from federation.storage import utcnow
from node.accounts.models import Role
from node.web.groups import local_input, when
from tests.canvass.helpers import post_call, relay, replica, sign_up, volunteer
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import page_client
from tests.web.test_accessibility import problems_on
from tests.web.test_canvass_pages import TITLE, host_and_ally

Serve = Callable[[TestNode], Awaitable[str]]


def form_of(call: dict[str, Any], **changes: str) -> dict[str, str]:
    """The edit form as the page fills it, with ``changes``."""
    [shift] = call["shifts"]
    start = datetime.fromisoformat(shift["start_date"])
    end = datetime.fromisoformat(shift["end_date"])
    values = {
        "title": call["title"],
        "campaign_kind": call["campaign"]["kind"],
        "campaign_name": call["campaign"]["name"],
        "wards": ", ".join(str(w) for w in call["wards"]),
        "turf_description": call["turf_description"],
        "venue": call["staging_location"]["venue"],
        "address": ", ".join(call["staging_location"]["address_lines"]),
        "languages": ", ".join(call["languages_needed"]),
        "materials": call["materials"],
        "contact_name": call["contact"]["name"],
        "contact_phone": call["contact"]["phone"],
        "waitlist_limit": "0",
        f"start_{shift['id']}": local_input(start),
        f"end_{shift['id']}": local_input(end),
        f"capacity_{shift['id']}": str(shift["capacity"]),
    }
    return {**values, **changes}


class TestEditingACall:
    async def test_the_organizer_edits_and_the_ally_sees_the_new_version(
        self, nodes: NodeFactory
    ) -> None:
        host, other = await host_and_ally(nodes)
        call = await post_call(host, capacity=4)
        await deliver_all(host, other)
        organizer = await page_client(host, role=Role.organizer)
        page = await organizer.get(f"/canvass/{call['id']}")
        assert f'href="/canvass/{call["id"]}/edit"' in page.text
        form = await organizer.get(f"/canvass/{call['id']}/edit")
        assert form.status_code == 200
        assert 'value="Saturday doors for the referendum"' in form.text
        shift_id = call["shifts"][0]["id"]
        saved = await organizer.post(
            f"/canvass/{call['id']}/edit",
            form_of(call, title="Sunday doors", **{f"capacity_{shift_id}": "6"}),
        )
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"] == f"/canvass/{call['id']}"
        shown = await organizer.get(saved.headers["location"])
        assert "Saved. Allies sharing canvass calls get the new version." in shown.text
        assert "<h1>Sunday doors</h1>" in shown.text
        assert "0 of 6 committed" in shown.text
        await deliver_all(host, other)
        held = await replica(other, call["object_id"])
        assert (held["title"], held["shifts"][0]["capacity"], held["version"]) == (
            "Sunday doors", 6, 2,
        )  # fmt: skip
        # The staging location the form does not show (none here) and the contact stay
        assert held["contact"] == call["contact"]

    async def test_a_capacity_of_0_comes_back_with_the_fields_kept(
        self, nodes: NodeFactory
    ) -> None:
        host, other = await host_and_ally(nodes)
        call = await post_call(host)
        await deliver_all(host, other)
        organizer = await page_client(host, role=Role.organizer)
        shift_id = call["shifts"][0]["id"]
        answer = await organizer.post(
            f"/canvass/{call['id']}/edit",
            form_of(call, title="Kept title", **{f"capacity_{shift_id}": "0"}),
        )
        assert answer.status_code == 422
        assert 'value="Kept title"' in answer.text
        assert re.search(
            rf'id="e-capacity_{shift_id}">Give the volunteers needed as a whole number from 1',
            answer.text,
        )
        assert await deliver_all(host, other) == 0
        assert (await replica(host, call["object_id"]))["title"] == TITLE

    async def test_fewer_places_than_committed_is_explained_next_to_the_field(
        self, nodes: NodeFactory
    ) -> None:
        host, _ = await host_and_ally(nodes)
        call = await post_call(host, capacity=3)
        for _ in range(2):
            assert (await sign_up(await volunteer(host), call)).status_code == 201
        organizer = await page_client(host, role=Role.organizer)
        shift_id = call["shifts"][0]["id"]
        answer = await organizer.post(
            f"/canvass/{call['id']}/edit", form_of(call, **{f"capacity_{shift_id}": "1"})
        )
        assert answer.status_code == 422
        assert re.search(rf'id="e-capacity_{shift_id}">2 volunteers have a place', answer.text)

    async def test_a_new_shift_and_a_backwards_one(self, nodes: NodeFactory) -> None:
        host, _ = await host_and_ally(nodes)
        call = await post_call(host)
        organizer = await page_client(host, role=Role.organizer)
        day = utcnow() + timedelta(days=9)
        backwards = form_of(
            call, start_new=local_input(day), end_new=local_input(day - timedelta(hours=1)),
            capacity_new="5",
        )  # fmt: skip
        answer = await organizer.post(f"/canvass/{call['id']}/edit", backwards)
        assert answer.status_code == 422
        assert 'id="e-start_new">A shift must end after it starts' in answer.text
        good = {**backwards, "end_new": local_input(day + timedelta(hours=2))}
        assert (await organizer.post(f"/canvass/{call['id']}/edit", good)).status_code == 303
        shifts = (await replica(host, call["object_id"]))["shifts"]
        assert [s["capacity"] for s in shifts] == [3, 5]

    async def test_who_may_edit(self, nodes: NodeFactory) -> None:
        host, other = await host_and_ally(nodes)
        call = await post_call(host)
        await deliver_all(host, other)
        member = await page_client(host, role=Role.member)
        assert (await member.get(f"/canvass/{call['id']}/edit")).status_code == 403
        assert "Edit this call" not in (await member.get(f"/canvass/{call['id']}")).text
        held = await replica(other, call["object_id"])
        ally_organizer = await page_client(other, role=Role.organizer)
        theirs = await ally_organizer.get(f"/canvass/{held['id']}/edit")
        assert theirs.status_code == 409
        assert "only that node changes it" in theirs.text
        assert "Edit this call" not in (await ally_organizer.get(f"/canvass/{held['id']}")).text


class TestTheListAndTheWaitlist:
    async def test_the_list_shows_when_each_call_is(self, nodes: NodeFactory) -> None:
        host, _ = await host_and_ally(nodes)
        call = await post_call(host, shifts=2)
        listed = await (await page_client(host, role=Role.member)).get("/canvass")
        assert 'data-label="When"' in listed.text
        start = when(utcnow() + timedelta(days=3), time=False)
        end = when(utcnow() + timedelta(days=4), time=False)
        assert f"{start} to {end}" in listed.text
        assert call["title"] in listed.text

    async def test_the_host_sees_who_waits_and_a_volunteer_her_number(
        self, nodes: NodeFactory
    ) -> None:
        host, other = await host_and_ally(nodes)
        call = await post_call(host, capacity=1, waitlist_limit=3, ally_share=3)
        await deliver_all(host, other)
        relayed = await relay(other, call)
        assert (await sign_up(await volunteer(host), call)).status_code == 201
        named = await sign_up(await volunteer(host), call, share_first_name=True)
        assert named.status_code == 201
        path = f"/canvass/{relayed['id']}/shifts/{relayed['shifts'][0]['id']}/signup"
        her = await page_client(other, role=Role.member)
        assert (await her.post(path)).status_code == 303
        await deliver_all(host, other)
        page = (await her.get(f"/canvass/{relayed['id']}")).text
        assert "You are on the waitlist, number 2." in page
        assert "number 2" in (await her.get("/canvass")).text
        host_page = (await (await page_client(host, role=Role.organizer)).get(
            f"/canvass/{call['id']}"
        )).text  # fmt: skip
        waitlist = re.search(r'<ol class="waitlist">(.*?)</ol>', host_page, re.S)
        assert waitlist is not None
        items = re.findall(r"<li>(.*?)</li>", waitlist.group(1), re.S)
        assert len(items) == 2
        assert items[0].startswith("Given")  # the host's member, who shared her first name
        assert "Test ward35" in items[1]
        assert "2 of 3 waitlist places taken" in host_page


class TestInTheBrowser:
    async def test_an_organizer_edits_a_call_on_a_phone_and_a_desktop(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        host, other = await host_and_ally(nodes)
        call = await post_call(host, capacity=2, waitlist_limit=2)
        for _ in range(3):
            assert (await sign_up(await volunteer(host), call)).status_code == 201
        base = await serve(host)
        for phone, name in ((True, "phone"), (False, "desktop")):
            page = await logged_in_page(browser, base, host, role=Role.organizer, phone=phone)
            await page.goto(f"{base}/canvass/{call['id']}")
            # One waits on the phone's turn; its new place takes her off the waitlist
            await expect(page.locator("ol.waitlist li")).to_have_count(1 if phone else 0)
            await screenshot(page, f"canvass-edit-call-{name}")
            await page.get_by_role("link", name="Edit this call").click()
            assert await problems_on(page) == []
            if phone:
                assert await fits_phone_width(page)
            await page.get_by_label("Volunteers needed").first.fill("0")
            await page.get_by_role("button", name="Save the changes").click()
            await expect(page.locator(".field.has-error .error")).to_contain_text(
                "Give the volunteers needed"
            )
            await screenshot(page, f"canvass-edit-error-{name}")
            await page.get_by_label("Title").fill(f"Doors, edited on the {name}")
            places = page.get_by_label("Volunteers needed").first
            await places.fill("3" if phone else "4")
            await screenshot(page, f"canvass-edit-{name}")
            await places.press("Enter")  # a click after a fill can be lost (see test_canvass_pages)
            await expect(page.get_by_role("status").first).to_contain_text("Saved.")
            await expect(page.get_by_role("heading", level=1)).to_have_text(
                f"Doors, edited on the {name}"
            )
            assert await problems_on(page) == []
        # The waiting volunteer got the third place; then one more place went unfilled
        await expect(page.get_by_role("img", name="3 of 4 filled")).to_be_visible()
        await expect(page.locator("ol.waitlist")).to_have_count(0)
        await page.goto(f"{base}/canvass")
        await expect(page.locator('td[data-label="When"]')).to_have_count(1)
        await screenshot(page, "canvass-edit-list-desktop")
        await deliver_all(host, other)
        held = await replica(other, call["object_id"])
        assert held["title"] == "Doors, edited on the desktop"
