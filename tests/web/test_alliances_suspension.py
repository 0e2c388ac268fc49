"""Alliances in the browser, issue 14: this node's own fingerprint, and a suspension read by
both admins, on a 375 px phone and a 1280 px desktop (the protocol side:
``tests/federation/test_suspension_notice.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import Browser, expect

from node.accounts.models import Role
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.test_accessibility import problems_on
from tests.worlds import star

Serve = Callable[[TestNode], Awaitable[str]]


class TestInTheBrowser:
    async def test_both_admins_read_the_suspension_on_a_phone_and_a_desktop(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        a, b = await nodes.world(star, ("ward33", "ward30"))
        a_base, b_base = await serve(a), await serve(b)
        for phone, name in ((True, "phone"), (False, "desktop")):
            a_page = await logged_in_page(browser, a_base, a, role=Role.admin, phone=phone)
            await a_page.goto(f"{a_base}/alliances")
            await expect(a_page.get_by_text("Your key fingerprint")).to_be_visible()
            assert await problems_on(a_page) == []
            await screenshot(a_page, f"alliances-own-fingerprint-{name}")
            await a_page.get_by_role("button", name="Suspend alliance with Test ward30").click()
            await expect(a_page.get_by_role("status")).to_contain_text("they are told")
            await expect(a_page.locator("article.ally")).to_contain_text("What Test ward30 sees")
            await screenshot(a_page, f"alliances-suspended-{name}")
            await deliver_all(a, b)
            b_page = await logged_in_page(browser, b_base, b, role=Role.admin, phone=phone)
            await b_page.goto(f"{b_base}/alliances")
            card = b_page.locator("article.ally", has_text="Test ward33")
            await expect(card).to_contain_text("suspended by Test ward33")
            await expect(card).to_contain_text("Only their admin can resume it")
            assert await problems_on(b_page) == []
            if phone:
                assert await fits_phone_width(a_page)
                assert await fits_phone_width(b_page)
            await screenshot(b_page, f"alliances-suspended-by-peer-{name}")
            await a_page.get_by_role("button", name="Resume alliance with Test ward30").click()
            await expect(a_page.get_by_role("status")).to_contain_text("resumed")
            await deliver_all(a, b)
            await b_page.reload()
            await expect(card).not_to_contain_text("suspended by Test ward33")
