"""Talking to the demo nodes as their people do: over HTTP, with bearer tokens.

The demo drives every step through each node's public API, the one a coordinator's browser
or a partner's script uses; it never reaches into a node's database. Waiting for
federation is polling that API against a deadline: a flow either sees the state it expects
everywhere in time, or reports the last thing it saw.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
TOKENS_FILE = "demo-tokens.json"
POLL_SECONDS = 0.2


class NotConverged(Exception):
    """A flow did not reach the state it waited for (or a node refused a step)."""


class Api:
    """One account on one node: a bearer-token client that fails loudly on surprises."""

    def __init__(self, base_url: str, token: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=15
        )

    async def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = await self.client.request(method, path, **kwargs)
        if response.status_code != expect:
            raise NotConverged(
                f"{method} {self.client.base_url}{path} answered {response.status_code}, "
                f"not {expect}: {response.text[:300]}"
            )
        return response.json() if response.content else None

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, params=params or None)

    async def post(self, path: str, body: Any = None, *, expect: int = 200) -> Any:
        return await self.call("POST", path, json=body, expect=expect)

    async def aclose(self) -> None:
        await self.client.aclose()


async def new_token(base_url: str, *, email: str, password: str, label: str) -> str:
    """Log in as a browser does, then make a bearer token (``POST /api/v1/me/tokens``)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as browser:
        login = await browser.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        if login.status_code != 200:
            raise NotConverged(f"login as {email} on {base_url}: {login.status_code} {login.text}")
        made = await browser.post(
            "/api/v1/me/tokens",
            json={"name": label},
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
        )
        if made.status_code != 201:
            raise NotConverged(f"token for {email} on {base_url}: {made.status_code} {made.text}")
        token: str = made.json()["token"]
        return token


def load_tokens(data_dir: Path) -> dict[str, str]:
    """The demo's bearer tokens for this node, by account email (kept owner-only)."""
    path = data_dir / TOKENS_FILE
    if not path.exists():
        return {}
    tokens: dict[str, str] = json.loads(path.read_text())
    return tokens


def save_token(data_dir: Path, *, email: str, token: str) -> None:
    tokens = load_tokens(data_dir) | {email: token}
    path = data_dir / TOKENS_FILE
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(tokens, handle, indent=2)
    path.with_suffix(".tmp").replace(path)


async def eventually(
    fetch: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    what: str,
    seconds: float,
) -> T:
    """Poll ``fetch`` until ``until`` holds; ``NotConverged`` with the last value otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        value = await fetch()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise NotConverged(f"after {seconds:.0f} s still waiting for {what}; last: {value!r}")
        await asyncio.sleep(POLL_SECONDS)
