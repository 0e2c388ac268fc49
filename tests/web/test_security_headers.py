"""Security headers on every answer, and every page (the API docs too) working under the CSP.

The policy allows this node's own scripts and styles only: no inline script anywhere, no
inline style outside the API docs pages, no framing. Browser checks open the pages in
Chromium, at phone and desktop widths, and collect every CSP violation the console reports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from playwright.async_api import Browser, Page

from node.accounts.models import Role
from tests.canvass.helpers import post_call, sign_up, volunteer
from tests.nodes import TestNode
from tests.web.browser import ARTIFACTS, DESKTOP, PHONE, logged_in_page, new_page, screenshot
from tests.web.test_accessibility import PAGES

Serve = Callable[[TestNode], Awaitable[str]]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
DOCS_PAGES = ("/docs", "/redoc", "/api/v1/partner/docs")
# ReDoc's sidebar footer shows Redocly's logo from Redocly's CDN (hard-wired in the bundle,
# hidden by ReDoc itself when it fails to load). The policy blocks it on purpose, and the
# console says so: a page of this node makes no request to another site.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def policy(response: httpx.Response) -> dict[str, list[str]]:
    header = response.headers["content-security-policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


def assert_secure_headers(response: httpx.Response) -> None:
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"


class TestEveryAnswerCarriesTheHeaders:
    @pytest.mark.parametrize(
        ("path", "accept", "status"),
        [
            ("/login", BROWSER, 200),
            ("/calendar", BROWSER, 303),  # to the login page
            ("/no-such-page", BROWSER, 404),
            ("/healthz", "application/json", 200),
            ("/api/v1/me", "application/json", 401),
            ("/api/v1/nothing", "application/json", 404),
            ("/.well-known/coalition-node", "application/json", 200),
            ("/openapi.json", "application/json", 200),
            ("/static/app.css", "text/css", 200),
            ("/docs", BROWSER, 200),
            ("/redoc", BROWSER, 200),
            ("/api/v1/partner/docs", BROWSER, 200),
        ],
    )
    async def test_pages_api_static_and_errors(
        self, node: TestNode, path: str, accept: str, status: int
    ) -> None:
        response = await node.client.get(path, headers={"Accept": accept})
        assert response.status_code == status
        assert_secure_headers(response)

    async def test_a_body_refused_as_too_large(self, node: TestNode) -> None:
        body = b"x" * (node.settings.max_body_bytes + 1)
        response = await node.client.post(
            "/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert_secure_headers(response)

    async def test_an_unexpected_error(self, node: TestNode) -> None:
        async def broken() -> None:
            raise RuntimeError("a bug")

        node.app.add_api_route("/api/v1/broken", broken)
        transport = httpx.ASGITransport(app=node.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=node.url) as client:
            response = await client.get("/api/v1/broken")
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        assert_secure_headers(response)

    async def test_only_the_docs_pages_allow_inline_styles(self, node: TestNode) -> None:
        page = await node.client.get("/login", headers={"Accept": BROWSER})
        assert policy(page)["style-src"] == ["'self'"]
        for path in DOCS_PAGES:
            docs = await node.client.get(path)
            assert policy(docs)["style-src"] == ["'self'", "'unsafe-inline'"], path
            assert "<script>" not in docs.text, path  # every script has a src


async def open_page(page: Page, url: str) -> None:
    response = await page.goto(url)
    assert response is not None
    assert response.status == 200, url


async def screenshot_viewport(page: Page, name: str) -> None:
    """The docs pages are very long: only what the screen shows."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def watch(page: Page, base: str) -> list[str]:
    """Every console message about the policy, and every request to another origin, from
    now on."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text and REDOC_LOGO not in message.text
            else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            seen.append(f"{page.url}: request to {request.url}")
            if not request.url.startswith((base, "data:", "blob:", REDOC_LOGO))
            else None
        ),
    )
    return seen


class TestPagesWorkUnderThePolicy:
    @pytest.mark.parametrize("phone", [False, True], ids=["1280px", "375px"])
    async def test_every_page_renders_without_a_violation(
        self, node: TestNode, serve: Serve, browser: Browser, phone: bool
    ) -> None:
        # Given a canvass call with one place of three taken, so its fill bar shows
        call = await post_call(node)
        assert (await sign_up(await volunteer(node), call)).status_code == 201
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.admin, phone=phone)
        seen = watch(page, base)
        width = "375" if phone else "1280"

        for path in (*PAGES, f"/canvass/{call['id']}"):
            await open_page(page, f"{base}{path}")
        await screenshot(page, f"csp-canvass-call-{width}")

        # Then the fill bar is drawn (a third of the bar), with nothing refused on the way
        bar = page.get_by_role("img", name="1 of 3 filled").first
        outer = await bar.bounding_box()
        inner = await bar.locator("rect").bounding_box()
        assert outer is not None
        assert inner is not None
        assert 0.2 < inner["width"] / outer["width"] < 0.45
        assert seen == []

    async def test_the_api_docs_render_from_the_node_itself(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        page = await new_page(browser)
        seen = watch(page, base)
        shown = {
            "/docs": page.get_by_text("/api/v1/auth/login").first,  # Swagger UI's operations
            "/redoc": page.get_by_role("heading", name="ipo-node: Test ward33").first,
            "/api/v1/partner/docs": page.get_by_role("heading", name="partner API").first,
        }
        for path, content in shown.items():
            await page.set_viewport_size(DESKTOP)
            await open_page(page, f"{base}{path}")
            await content.wait_for()
            name = path.strip("/").replace("/", "-")
            await screenshot_viewport(page, f"csp-{name}-1280")
            await page.set_viewport_size(PHONE)
            await screenshot_viewport(page, f"csp-{name}-375")
        assert seen == []
