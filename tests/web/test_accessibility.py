"""Basic accessibility on every page, checked in the browser as it renders.

For each page an admin can open (lists, forms, and the detail pages of a canvass call and a
co-hosted forum): the document has a language and a title, exactly one h1, every visible form
control has a label (or an aria-label), every button and link has an accessible name, and
the first Tab press lands on the skip link, which leads to the main content. No page asks for
anything from outside the node.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import Browser, ConsoleMessage, Page, Request

from node.accounts.models import Role
from tests.canvass.helpers import coalition, post_call
from tests.forums.test_lifecycle import forum_body
from tests.nodes import NodeFactory, TestNode
from tests.web.browser import logged_in_page

Serve = Callable[[TestNode], Awaitable[str]]

PAGES = (
    "/calendar",
    "/calendar?view=month",
    "/events",
    "/events/new",
    "/calendar?view=week",
    "/calendar/feed",
    "/votes",
    "/endorsements",
    "/endorsements/new",
    "/canvass",
    "/canvass/new",
    "/forums",
    "/forums/new",
    "/members",
    "/members/new",
    "/members/import",
    "/alliances",
    "/partners",
    "/mail",
    "/accounts",
    "/account",
)

# Everything the checks below found wrong on the page, one line each.
PROBLEMS_JS = """
() => {
  const problems = [];
  const visible = (el) => el.checkVisibility();
  if (!document.documentElement.lang) problems.push("no lang on <html>");
  if (!document.title.trim()) problems.push("no <title>");
  const h1s = document.querySelectorAll("h1").length;
  if (h1s !== 1) problems.push(`${h1s} h1 elements`);
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || !visible(el)) continue;
    const named = (el.labels && el.labels.length) || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby");
    if (!named) problems.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
  }
  for (const el of document.querySelectorAll("button, a[href], summary")) {
    if (!visible(el)) continue;
    const name = (el.getAttribute("aria-label") || el.textContent || el.title || "").trim();
    if (!name) problems.push(`nameless ${el.tagName.toLowerCase()} ${el.outerHTML.slice(0, 80)}`);
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`img without alt ${img.src}`);
  }
  return problems;
}
"""


def loads_from_elsewhere(page: Page, base: str) -> list[str]:
    """The addresses outside the node that ``page`` asks for from now on (it must ask none:
    no CDN, no web font, no third-party script)."""
    elsewhere: list[str] = []

    def check(request: Request) -> None:
        if not request.url.startswith((f"{base}/", "data:", "about:")):
            elsewhere.append(request.url)

    def refused(message: ConsoleMessage) -> None:
        # The CSP stops such a load before any request is made; Chromium says so here.
        if "Content Security Policy" in message.text:
            elsewhere.append(message.text)

    page.on("request", check)
    page.on("console", refused)
    return elsewhere


async def problems_on(page: Page) -> list[str]:
    found: list[str] = await page.evaluate(PROBLEMS_JS)
    return found


async def seed_shared_work(nodes: NodeFactory) -> tuple[TestNode, list[str]]:
    """A host allied with two wards, with its own canvass call and a co-hosted forum, so the
    detail pages have every section to check."""
    host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
    call = await post_call(host)
    organizer = await host.as_role(Role.organizer)
    forum = await organizer.post(
        "/api/v1/forums", json=forum_body([ward30.url, ward35.url], host.url)
    )
    assert forum.status_code == 201, forum.text
    return host, [f"/canvass/{call['id']}", f"/forums/{forum.json()['id']}"]


class TestEveryPage:
    async def test_labels_names_headings_and_language_on_every_page(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        node, details = await seed_shared_work(nodes)
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.admin)
        elsewhere = loads_from_elsewhere(page, base)
        found: dict[str, list[str]] = {}
        for path in (*PAGES, *details):
            response = await page.goto(f"{base}{path}")
            assert response is not None, path
            assert response.status == 200, path
            problems = await problems_on(page)
            if problems:
                found[path] = problems
        assert found == {}
        assert elsewhere == []

    async def test_the_first_tab_reaches_the_skip_link_to_the_content(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.organizer, phone=True)
        await page.goto(f"{base}/canvass")
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.textContent.trim()")
        assert focused == "Skip to content"
        await page.keyboard.press("Enter")
        assert await page.evaluate("location.hash") == "#main"
