"""The accounts story in a real browser, on a phone and on a desktop: an admin invites a
volunteer, the invitation arrives on a (loopback) SMTP server, she opens the link, chooses a
password and signs up for a canvass shift; later she forgets her password and the emailed link
works once. Every new page is screenshot and checked for basic accessibility."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, expect

from node.accounts.models import Role
from tests.accounts.helpers import INVITATION_LINK, RESET_LINK, body_of
from tests.canvass.helpers import post_call
from tests.nodes import NodeFactory, TestNode
from tests.smtp import Mailbox, smtp_server
from tests.web.browser import PASSWORD, fits_phone_width, logged_in_page, new_page, screenshot
from tests.web.test_accessibility import problems_on

Serve = Callable[[TestNode], Awaitable[str]]
VERA = "vera.okafor@example.org"
NEW = "lanterns over the river"
GONE = "This link no longer works"


async def check(page: Page, name: str, *, phone: bool) -> None:
    """Screenshot the page, and fail on any accessibility problem or sideways scroll."""
    assert await problems_on(page) == [], name
    if phone:
        assert await fits_phone_width(page), name
    await screenshot(page, f"accounts-{name}-{'phone' if phone else 'desktop'}")


async def delivered_link(
    node: TestNode, mailbox: Mailbox, pattern: re.Pattern[str], base: str
) -> str:
    """The link in the last message to Vera, pointed at the served node (the node names
    itself by its public address, which the browser cannot reach)."""
    await node.app.state.mail.run_once()
    messages = mailbox.to(VERA)
    assert messages, "nothing was delivered to the volunteer"
    match = pattern.search(body_of(messages[-1]))
    assert match, body_of(messages[-1])
    url = re.search(r"https?://\S+", match[0])
    assert url
    return base + urlsplit(url[0]).path


@pytest.mark.parametrize("phone", [True, False], ids=["phone", "desktop"])
class TestTheAccountsStory:
    async def test_an_admin_invites_a_volunteer_who_signs_up_for_a_shift(
        self, nodes: NodeFactory, serve: Serve, browser: Browser, phone: bool
    ) -> None:
        with smtp_server() as mailbox:
            # Given a node with a mail server and a canvass call of its own
            node = await nodes.start("ward33", **mailbox.settings())
            call = await post_call(node, capacity=4)
            base = await serve(node)

            # When an admin invites Vera as a member
            admin = await logged_in_page(browser, base, node, role=Role.admin, phone=phone)
            await admin.get_by_role("link", name="Accounts").click()
            await expect(admin.get_by_role("heading", name="Accounts", level=1)).to_be_visible()
            await check(admin, "admin", phone=phone)
            await admin.get_by_label("Their email").fill(VERA)
            await admin.get_by_label("Their role").select_option("member")
            await admin.get_by_role("button", name="Send the invitation").click()
            await expect(admin.get_by_role("status")).to_contain_text(
                f"Invitation emailed to {VERA}"
            )
            await expect(admin.locator(".account-list").first).to_contain_text(VERA)
            await check(admin, "admin-invited", phone=phone)

            # Then the invitation arrives, and its link lets her choose a name and password
            link = await delivered_link(node, mailbox, INVITATION_LINK, base)
            [message] = mailbox.to(VERA)
            assert message["Subject"] == "You're invited to Test ward33"
            vera = await new_page(browser, phone=phone)
            await vera.goto(link)
            await expect(vera.get_by_role("heading", name="Join Test ward33")).to_be_visible()
            await check(vera, "invitation", phone=phone)
            await vera.get_by_label("Your name").fill("Vera Okafor")
            await vera.get_by_label(re.compile(r"^Password(?! again)")).fill(PASSWORD)
            await vera.get_by_label("Password again").fill(PASSWORD)
            await vera.get_by_role("button", name="Make my account").click()
            await vera.wait_for_url(re.compile(r"/calendar$"))
            await expect(vera.get_by_role("status")).to_contain_text("Welcome, Vera Okafor")

            # And, logged in as a member, she signs up for a shift of the call
            await vera.get_by_role("link", name="Canvass", exact=True).click()
            await vera.get_by_role("link", name=call["title"]).click()
            await vera.get_by_role("button", name="Sign up for this shift").first.click()
            await expect(vera.get_by_role("status").first).to_contain_text("You're signed up for")
            await check(vera, "volunteer-signed-up", phone=phone)
            await vera.get_by_role("link", name="Your account").click()
            await expect(vera.locator("dl.facts")).to_contain_text(VERA)
            await check(vera, "your-account", phone=phone)

            # And the used link now says so, and whom to ask
            await vera.goto(link)
            await expect(vera.get_by_role("heading", name=GONE)).to_be_visible()
            await check(vera, "invitation-used", phone=phone)

            # And the admin sees her as an active member, with no invitation waiting
            await admin.reload()
            await expect(admin.get_by_text("No invitation is waiting.")).to_be_visible()
            await expect(admin.get_by_text(f"{VERA} · member")).to_be_visible()

    async def test_a_forgotten_password_is_reset_by_an_emailed_link_once(
        self, nodes: NodeFactory, serve: Serve, browser: Browser, phone: bool
    ) -> None:
        with smtp_server() as mailbox:
            node = await nodes.start("ward33", **mailbox.settings())
            await node.add_user(role=Role.member, email=VERA, display_name="Vera Okafor")
            base = await serve(node)

            # When Vera asks for a link from the login page
            vera = await new_page(browser, phone=phone)
            await vera.goto(f"{base}/login")
            await vera.get_by_role("link", name="Forgot your password?").click()
            await check(vera, "forgot", phone=phone)
            await vera.get_by_label("Email").fill(VERA)
            await vera.get_by_role("button", name="Send me a link").click()
            await expect(vera.get_by_role("status")).to_contain_text("If an account on Test ward33")
            await check(vera, "forgot-sent", phone=phone)

            # Then the emailed link sets a new password and logs her in
            link = await delivered_link(node, mailbox, RESET_LINK, base)
            await vera.goto(link)
            await check(vera, "reset", phone=phone)
            await vera.get_by_label(re.compile(r"^New password(?! again)")).fill(NEW)
            await vera.get_by_label("New password again").fill(NEW)
            await vera.get_by_role("button", name="Set the new password").click()
            await vera.wait_for_url(re.compile(r"/calendar$"))
            await expect(vera.get_by_role("status")).to_contain_text("Your new password is set")

            # And the link does not work twice
            await vera.goto(link)
            await expect(vera.get_by_role("heading", name=GONE)).to_be_visible()
            await check(vera, "reset-used", phone=phone)
