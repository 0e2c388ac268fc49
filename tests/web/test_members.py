"""The members pages: add, find, edit, CSV import with a report per row; who may use them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import sqlalchemy as sa
from playwright.async_api import Browser, Page, expect

from federation.storage import UTCDateTime, utcnow
from node.accounts import service as accounts
from node.accounts.models import Role
from node.deps import SESSION_COOKIE
from tests.nodes import TestNode
from tests.web.browser import fits_phone_width, logged_in_page, screenshot

Serve = Callable[[TestNode], Awaitable[str]]
MEMBER_IMPORT = sa.table(
    "member_import",
    sa.column("status"),
    sa.column("rows_checked"),
    sa.column("updated_at", UTCDateTime()),
)

GOOD_AND_BAD = (
    "given_name,family_name,email,phone,ward\n"
    "Ana,Diaz,ana@example.org,773-555-0101,33\n"
    "Bo,Lee,not-an-email,773-555-0102,33\n"
    "Cy,Park,cy@example.org,773-555-0103,99\n"
)


def large_file(*, start: int, rows: int = 20_000) -> str:
    lines = ["given_name,family_name,email,phone,ward"]
    lines += [
        f"P{n},F{n},p{n}@example.org,773-555-{n % 10000:04d},33" for n in range(start, start + rows)
    ]
    return "\n".join(lines) + "\n"


async def upload(page: Page, text: str) -> None:
    await page.get_by_label("CSV file").set_input_files(
        files=[{"name": "members.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    await page.get_by_role("button", name="Import").click()


async def member_emails(node: TestNode) -> list[str]:
    organizer = await node.as_role(Role.organizer)
    listed = await organizer.get("/api/v1/members")
    return sorted(m["email"] or "" for m in listed.json()["items"])


class TestAddingAndEditing:
    async def test_an_organizer_adds_finds_and_edits_a_member(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.organizer)
        await page.goto(f"{base}/members")
        await expect(page.get_by_text("No members yet")).to_be_visible()
        # When she adds a member
        await page.get_by_role("link", name="Add a member").click()
        await page.get_by_label("First name").fill("Rosa")
        await page.get_by_label("Last name").fill("Parks")
        await page.get_by_label("Email").fill("rosa@example.org")
        await page.get_by_label("Ward", exact=True).fill("33")
        await page.get_by_label("Tags").fill("volunteer, captain")
        await page.get_by_role("button", name="Add member").click()
        # Then the list shows her
        await expect(page.get_by_role("status")).to_have_text("Added Rosa Parks.")
        row = page.locator("tr", has_text="Rosa Parks")
        await expect(row).to_contain_text("rosa@example.org")
        await expect(row).to_contain_text("volunteer, captain")
        await screenshot(page, "members")
        # When she searches, and edits the member
        await page.get_by_label("Name, email or phone").fill("rosa")
        await page.get_by_role("button", name="Search").click()
        await expect(page.locator("tbody tr")).to_have_count(1)
        await page.get_by_role("link", name="Edit Rosa Parks").click()
        await expect(page.get_by_label("Email")).to_have_value("rosa@example.org")
        await page.get_by_label("Phone").fill("773-555-0199")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Saved Rosa Parks.")
        await expect(page.locator("tr", has_text="Rosa Parks")).to_contain_text("(773) 555-0199")

    async def test_wrong_fields_are_explained_beside_them_and_nothing_is_added(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.organizer, phone=True)
        await page.goto(f"{base}/members/new")
        await page.get_by_label("First name").fill("Sam")
        await page.get_by_label("Phone").fill("12")
        await page.get_by_role("button", name="Add member").click()
        await expect(page.get_by_role("alert")).to_contain_text("Please fix")
        await expect(page.locator("#e-phone")).to_contain_text("digits")
        await expect(page.get_by_label("First name")).to_have_value("Sam")
        assert await fits_phone_width(page)
        await screenshot(page, "members-form-phone")
        assert await member_emails(node) == []
        for path in ("/members", "/members/import"):
            await page.goto(f"{base}{path}")
            assert await fits_phone_width(page), path

    async def test_an_email_already_taken_is_refused(self, node: TestNode, organizer) -> None:
        await organizer.post("/api/v1/members", json={"email": "ana@example.org"})
        client, csrf = await cookie_client(node, Role.organizer)
        response = await client.post(
            "/members/new", data={"csrf_token": csrf, "email": "ANA@example.org"}
        )
        assert response.status_code == 422
        assert "Another member already has this email" in response.text


class TestImport:
    async def test_a_file_with_bad_rows_is_reported_row_by_row_then_fixed(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.organizer)
        await page.goto(f"{base}/members")
        await page.get_by_role("link", name="Import a CSV file").click()
        await expect(page.get_by_text("Up to 100,000 rows and 10 MiB per file.")).to_be_visible()
        await upload(page, GOOD_AND_BAD)
        # Then the import's page lists each wrong row and why, and nothing is imported
        await expect(page.get_by_role("alert")).to_contain_text("2 rows of the file cannot")
        report = page.locator("table.import-report tbody tr")
        await expect(report).to_have_count(2)
        await expect(report.nth(0)).to_contain_text("3")
        await expect(report.nth(0)).to_contain_text("email")
        await expect(report.nth(1)).to_contain_text("ward")
        await expect(report.nth(1)).to_contain_text("1 to 50")
        await screenshot(page, "members-import-report")
        phone = await logged_in_page(browser, base, node, role=Role.organizer, phone=True)
        await phone.goto(page.url)
        await expect(phone.locator("table.import-report tbody tr")).to_have_count(2)
        assert await fits_phone_width(phone)
        await screenshot(phone, "members-import-report-phone")
        assert await member_emails(node) == []
        # When the fixed file is uploaded, with one row matching a member already there
        organizer = await node.as_role(Role.organizer)
        await organizer.post("/api/v1/members", json={"email": "cy@example.org"})
        fixed = GOOD_AND_BAD.replace("not-an-email", "bo@example.org").replace(",99", ",33")
        await upload(page, fixed)
        await expect(page.get_by_text("Imported 3 rows: 2 added, 1 updated.")).to_be_visible()
        await screenshot(page, "members-import-done")
        assert await member_emails(node) == [
            "ana@example.org",
            "bo@example.org",
            "cy@example.org",
        ]

    async def test_a_large_file_shows_its_progress_on_a_phone_and_on_a_desktop(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        for phone, name in (
            (False, "members-import-progress"),
            (True, "members-import-progress-phone"),
        ):
            page = await logged_in_page(browser, base, node, role=Role.organizer, phone=phone)
            await page.goto(f"{base}/members/import")
            await upload(page, large_file(start=30_000 if phone else 0))
            # Then the page shows the rows checked so far, while the node works
            await expect(page.get_by_role("status")).to_contain_text(
                re.compile(r"Checked [\d,]+ of 20,000 rows|Every row is fine")
            )
            await expect(page.locator("progress")).to_be_visible()
            assert await fits_phone_width(page) or not phone
            await screenshot(page, name)
            # and, reloading itself, the outcome
            await expect(
                page.get_by_text("Imported 20,000 rows: 20,000 added, 0 updated.")
            ).to_be_visible(timeout=120_000)
            assert await fits_phone_width(page) or not phone
            await screenshot(page, f"{name}-done")
            # A running import part way through, as its page shows it
            async with node.session() as session:
                await session.execute(
                    sa.update(MEMBER_IMPORT).values(
                        status="checking", rows_checked=8_000, updated_at=utcnow()
                    )
                )
            await page.reload()
            await expect(page.get_by_role("status")).to_have_text("Checked 8,000 of 20,000 rows.")
            await expect(page.locator("progress")).to_have_attribute("value", "8000")
            await screenshot(page, f"{name}-part-way")

    async def test_a_file_that_is_not_csv_says_so(self, node: TestNode) -> None:
        client, csrf = await cookie_client(node, Role.organizer)
        response = await client.post(
            "/members/import",
            data={"csrf_token": csrf},
            files={"file": ("members.csv", b"", "text/csv")},
        )
        assert response.status_code == 422
        assert "Choose a CSV file" in response.text


async def cookie_client(node: TestNode, role: Role) -> tuple[httpx.AsyncClient, str]:
    """A client logged in by session cookie, as a browser is, and its CSRF token."""
    user, _ = await node.add_user(role=role)
    async with node.session() as session:
        cookie, web_session = await accounts.start_web_session(
            session, user=user, lifetime=timedelta(hours=1)
        )
        csrf = web_session.csrf_token
    client = node.client_with()
    client.cookies.set(SESSION_COOKIE, cookie)
    return client, csrf


class TestPermissions:
    async def test_a_member_gets_the_not_allowed_page(self, node: TestNode) -> None:
        client, _ = await cookie_client(node, Role.member)
        response = await client.get("/members")
        assert response.status_code == 403
        assert "This page is for organizers" in response.text
        assert response.headers["content-type"].startswith("text/html")

    async def test_an_anonymous_visitor_is_sent_to_log_in(self, node: TestNode) -> None:
        response = await node.client.get("/members/new")
        assert response.status_code == 303
        assert re.search(r"/login\?next=%2Fmembers%2Fnew$", response.headers["location"])

    async def test_a_form_post_without_the_csrf_token_changes_nothing(self, node: TestNode) -> None:
        client, csrf = await cookie_client(node, Role.organizer)
        refused = await client.post("/members/new", data={"email": "eve@example.org"})
        assert refused.status_code == 403
        assert "CSRF" in refused.text
        assert await member_emails(node) == []
        accepted = await client.post(
            "/members/new", data={"email": "eve@example.org", "csrf_token": csrf}
        )
        assert accepted.status_code == 303
        assert await member_emails(node) == ["eve@example.org"]
