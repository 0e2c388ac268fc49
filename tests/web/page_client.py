"""A logged-in browser session without a browser: an httpx client holding the session cookie.

For permission tests of pages: what a role gets when it opens a page or posts a form (with or
without the CSRF token), checked by status codes and the HTML it is answered with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from node.accounts.models import Role
from tests.nodes import TestNode
from tests.web.browser import PASSWORD

_TOKEN = re.compile(r'name="(?:csrf_token|login_csrf)" value="([^"]+)"')


@dataclass
class PageClient:
    client: httpx.AsyncClient
    csrf_token: str

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def post(
        self, path: str, data: dict[str, str | list[str]] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        form: dict[str, str | list[str]] = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf_token
        return await self.client.post(path, data=form)


async def page_client(node: TestNode, *, role: Role, display_name: str = "") -> PageClient:
    """A new user with ``role`` logged in through the login form."""
    user, _ = await node.add_user(role=role, password=PASSWORD, display_name=display_name)
    client = node.client_with()
    login = await client.get("/login")
    [login_token] = _TOKEN.findall(login.text)
    answer = await client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "login_csrf": login_token}
    )
    assert answer.status_code == 303, answer.text
    landing = await client.get("/forums")
    tokens = _TOKEN.findall(landing.text)
    assert tokens, landing.text
    return PageClient(client=client, csrf_token=tokens[0])


def anonymous(node: TestNode) -> httpx.AsyncClient:
    return node.client_with()
