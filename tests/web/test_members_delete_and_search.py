"""Members pages, issue 14: deleting with a second step, a street address, phone numbers
checked beside their field, and searching by ZIP code and by tag."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Browser, expect

from node.accounts.models import Role
from tests.nodes import TestNode
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import page_client
from tests.web.test_accessibility import problems_on

Serve = Callable[[TestNode], Awaitable[str]]


async def add(node: TestNode, **fields: Any) -> dict[str, Any]:
    organizer = await node.as_role(Role.organizer)
    response = await organizer.post("/api/v1/members", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def form(**fields: str) -> dict[str, str | list[str]]:
    blank = dict.fromkeys(("given_name", "family_name", "email", "phone", "street_address",
                           "city", "state", "postal_code", "ward", "precinct", "languages",
                           "tags", "notes"), "")  # fmt: skip
    return {**blank, **fields}


class TestDeleting:
    async def test_the_edit_page_asks_first_then_the_member_is_gone(self, node: TestNode) -> None:
        member = await add(node, given_name="Rosa", family_name="Parks")
        organizer = await page_client(node, role=Role.organizer)
        page = await organizer.get(f"/members/{member['id']}/edit")
        assert '<details class="confirm">' in page.text
        assert "Yes, delete Rosa Parks for good" in page.text
        answer = await organizer.post(f"/members/{member['id']}/delete")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/members"
        listed = await organizer.get("/members")
        assert "Deleted Rosa Parks: the record is gone for good." in listed.text
        assert "No members yet" in listed.text
        assert (await organizer.post(f"/members/{member['id']}/delete")).status_code == 404

    async def test_a_member_cannot_delete_and_the_csrf_token_is_needed(
        self, node: TestNode
    ) -> None:
        member = await add(node, given_name="Rosa")
        plain = await page_client(node, role=Role.member)
        assert (await plain.post(f"/members/{member['id']}/delete")).status_code == 403
        organizer = await page_client(node, role=Role.organizer)
        refused = await organizer.post(f"/members/{member['id']}/delete", csrf=False)
        assert refused.status_code == 403
        assert "Rosa" in (await organizer.get("/members")).text


class TestAddressAndPhone:
    async def test_a_bad_number_is_explained_beside_the_phone_field(self, node: TestNode) -> None:
        organizer = await page_client(node, role=Role.organizer)
        answer = await organizer.post(
            "/members/new", form(given_name="Sam", phone="555", street_address="1 Main St")
        )
        assert answer.status_code == 422
        assert 'id="e-phone">This is not a phone number. Check the digits' in answer.text or (
            'id="e-phone">This phone number does not exist. Check the digits' in answer.text
        )
        assert 'value="1 Main St"' in answer.text
        assert "Value error" not in answer.text

    async def test_the_address_and_a_normalized_phone_are_saved_and_shown(
        self, node: TestNode
    ) -> None:
        organizer = await page_client(node, role=Role.organizer)
        answer = await organizer.post("/members/new", form(
            given_name="Sam", phone="773.555.0100", street_address="3500 W Lawrence Ave",
            city="Chicago", state="il", postal_code="60625",
        ))  # fmt: skip
        assert answer.status_code == 303, answer.text
        listed = (await organizer.get("/members")).text
        assert "(773) 555-0100" in listed
        assert "3500 W Lawrence Ave, Chicago, IL 60625" in listed
        api = await node.as_role(Role.organizer)
        [stored] = (await api.get("/api/v1/members")).json()["items"]
        assert (stored["phone"], stored["state"]) == ("+17735550100", "IL")


class TestSearching:
    async def test_by_zip_and_by_tag(self, node: TestNode) -> None:
        await add(node, given_name="Ana", postal_code="60625", tags=["volunteer"])
        await add(node, given_name="Bo", postal_code="60625-4410", tags=["donor"])
        await add(node, given_name="Cy", postal_code="60640", tags=["Volunteer", "host"])
        organizer = await page_client(node, role=Role.organizer)

        async def shown(query: str) -> list[str]:
            page = (await organizer.get(f"/members?{query}")).text
            return [name for name in ("Ana", "Bo", "Cy") if f">{name}</td>" in page]

        assert await shown("zip=60625") == ["Ana", "Bo"]
        assert await shown("tag=volunteer") == ["Ana", "Cy"]
        assert await shown("zip=60640&tag=host") == ["Cy"]
        assert await shown("tag=nobody") == []
        bad = await organizer.get("/members?zip=6062")
        assert bad.status_code == 422
        assert "A ZIP code is 5 digits" in bad.text


class TestInTheBrowser:
    async def test_add_search_and_delete_on_a_phone_and_a_desktop(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        await add(node, given_name="Other", postal_code="60640", tags=["donor"])
        for phone, name in ((True, "phone"), (False, "desktop")):
            page = await logged_in_page(browser, base, node, role=Role.organizer, phone=phone)
            person = f"Rosa {name.capitalize()}"
            await page.goto(f"{base}/members/new")
            await page.get_by_label("First name").fill(person)
            await page.get_by_label("Phone").fill("12")
            await page.get_by_label("Street address").fill("2145 N Halsted St")
            await page.get_by_label("City").fill("Chicago")
            await page.get_by_label("State").fill("IL")
            await page.get_by_label("ZIP code").fill("60614")
            await page.get_by_label("Tags").fill("volunteer")
            await page.get_by_role("button", name="Add member").click()
            await expect(page.locator("#e-phone")).to_contain_text("a US number has 10")
            await expect(page.get_by_label("Street address")).to_have_value("2145 N Halsted St")
            assert await problems_on(page) == []
            if phone:
                assert await fits_phone_width(page)
            await screenshot(page, f"members-phone-error-{name}")
            await page.get_by_label("Phone").fill("(773) 555-0199")
            await page.get_by_role("button", name="Add member").click()
            await expect(page.get_by_role("status")).to_have_text(f"Added {person}.")
            # Search by ZIP and tag
            await page.get_by_label("ZIP code").fill("60614")
            await page.get_by_label("Tag", exact=True).fill("Volunteer")
            await page.get_by_role("button", name="Search").click()
            await expect(page.locator("tbody tr")).to_have_count(1)
            row = page.locator("tr", has_text=person)
            await expect(row).to_contain_text("(773) 555-0199")
            await expect(row).to_contain_text("2145 N Halsted St, Chicago, IL 60614")
            assert await problems_on(page) == []
            if phone:
                assert await fits_phone_width(page)
            await screenshot(page, f"members-search-{name}")
            # Delete, which asks once more
            await page.get_by_role("link", name=f"Edit {person}").click()
            await page.get_by_text(f"Delete {person}…").click()
            await expect(page.get_by_text("The record is deleted for good")).to_be_visible()
            assert await problems_on(page) == []
            await screenshot(page, f"members-delete-{name}")
            await page.get_by_role("button", name=f"Yes, delete {person} for good").click()
            await expect(page.get_by_role("status")).to_contain_text(f"Deleted {person}")
            await expect(page.locator("tr", has_text=person)).to_have_count(0)
            await expect(page.locator("tr", has_text="Other")).to_have_count(1)
            await screenshot(page, f"members-after-delete-{name}")
