"""Browser tests: a node's app served over real HTTP on loopback, driven by headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, which ``.ci/run`` installs when missing); Playwright
drives it through ``executable_path``, so nothing is downloaded. The node keeps running in the
test's event loop (its lifespan is already up), and uvicorn serves that same app object, so a test
can mix browser steps with API calls and federation rounds on the same node.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from node.accounts.models import Role
from tests.nodes import TestNode

CHROMIUM = os.environ.get("IPO_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google, which this closed
# network refuses many times a second.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(os.environ.get("IPO_TEST_ARTIFACTS", "test-artifacts")) / "screenshots"
PHONE = ViewportSize(width=375, height=812)
DESKTOP = ViewportSize(width=1280, height=900)
PASSWORD = "correct horse battery"


@asynccontextmanager
async def serve_over_http(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` (lifespan already running) on a free loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, *, phone: bool = False) -> Page:
    context = await browser.new_context(viewport=PHONE if phone else DESKTOP, locale="en-US")
    return await context.new_page()


async def logged_in_page(
    browser: Browser, base_url: str, node: TestNode, *, role: Role, phone: bool = False
) -> Page:
    """A page logged in through the login form as a new user with ``role``."""
    user, _ = await node.add_user(role=role, password=PASSWORD)
    page = await new_page(browser, phone=phone)
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r"/calendar"))
    return page


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact (under test-artifacts/screenshots/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def fits_phone_width(page: Page) -> bool:
    """True when nothing makes the page scroll sideways on a 375 px screen."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    return bool(width <= PHONE["width"])
