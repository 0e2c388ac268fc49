"""Logging in and out in a real browser, and what an anonymous visitor gets."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from playwright.async_api import Browser, expect

from node.accounts.models import Role
from tests.nodes import TestNode
from tests.web.browser import PASSWORD, fits_phone_width, logged_in_page, new_page, screenshot

Serve = Callable[[TestNode], Awaitable[str]]


class TestLogin:
    async def test_an_anonymous_visitor_is_sent_to_login_and_back(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        user, _ = await node.add_user(role=Role.organizer, password=PASSWORD)
        page = await new_page(browser)
        await page.goto(f"{base}/members")
        await expect(page).to_have_url(re.compile(r"/login\?next=%2Fmembers"))
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await screenshot(page, "login")
        await page.get_by_label("Email").fill(user.email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await expect(page).to_have_url(re.compile(r"/members$"))
        await expect(page.get_by_text(f"{user.email} (organizer)")).to_be_visible()

    async def test_a_wrong_password_says_so_and_keeps_the_email(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        user, _ = await node.add_user(role=Role.member, password=PASSWORD)
        page = await new_page(browser)
        await page.goto(f"{base}/login")
        await page.get_by_label("Email").fill(user.email)
        await page.get_by_label("Password").fill("not it")
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("alert")).to_contain_text("do not match")
        await expect(page.get_by_label("Email")).to_have_value(user.email)

    async def test_logging_out_ends_the_session(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.member, phone=True)
        assert await fits_phone_width(page)
        await page.get_by_role("button", name="Log out").click()
        await expect(page.get_by_role("status")).to_have_text("You are logged out.")
        await page.goto(f"{base}/calendar")
        await expect(page).to_have_url(re.compile(r"/login"))
