"""Fixtures for browser tests: one real Chromium per run, and nodes served over HTTP.

Launching Chromium (and Playwright's driver) costs a second or two, so the run shares one
browser (the whole suite runs in one event loop, see ``pyproject.toml``); each test opens
its own contexts, with their own cookies and storage, and they are closed when it ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
from playwright.async_api import Browser

from tests.nodes import TestNode
from tests.web.browser import chromium, serve_over_http


@pytest.fixture(scope="session")
async def shared_chromium() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def browser(shared_chromium: Browser) -> AsyncIterator[Browser]:
    """The run's Chromium; every context this test opened is closed when it ends."""
    assert shared_chromium.is_connected(), "the run's Chromium has exited"
    yield shared_chromium
    for context in shared_chromium.contexts:
        await context.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[TestNode], Awaitable[str]]]:
    """``await serve(node)`` serves that node over loopback HTTP and returns its base URL."""
    async with AsyncExitStack() as stack:

        async def _serve(node: TestNode) -> str:
            return await stack.enter_async_context(serve_over_http(node.app))

        yield _serve
