"""Fixtures for browser tests: a real Chromium per test, and nodes served over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
from playwright.async_api import Browser

from tests.nodes import TestNode
from tests.web.browser import chromium, serve_over_http


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[TestNode], Awaitable[str]]]:
    """``await serve(node)`` serves that node over loopback HTTP and returns its base URL."""
    async with AsyncExitStack() as stack:

        async def _serve(node: TestNode) -> str:
            return await stack.enter_async_context(serve_over_http(node.app))

        yield _serve
