"""A bad value in a page's address gets a 4xx page that says what is wrong, never a 500.

The pages with query parameters are the calendar (``view``, ``month``, ``from``, ``to``,
``ward``, ``type``, ``group``), the member list (``q``, ``ward``, ``cursor``) and the login page
(``next``); the others take ids in their path. The API answers the same values with the same
statuses, as JSON.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from node.accounts.models import Role
from node.pagination import encode_cursor
from tests.nodes import TestNode
from tests.web.page_client import page_client

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
HUGE = "9" * 23  # past any 64-bit integer
QUERY_PAGES = {
    "/calendar": ("view", "month", "from", "to", "ward", "type", "group"),
    "/members": ("q", "ward", "cursor"),
    "/login": ("next",),
}
PATH_PAGES = (
    "/members/{}/edit",
    "/canvass/{}",
    "/forums/{}",
    "/endorsements/{}",
    "/endorsements/{}/edit",
    "/endorsements/{}/bundle.json",
    "/endorsements/{}/answer/sign",
)
NASTY = (
    "",
    " ",
    "x",
    "-1",
    "0",
    HUGE,
    "1" * 5000,
    "²",
    "٣",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\t",
    "%",
    "é" * 300,
    "2026-13",
    "9999-12",
    "0000-01",
    "null",
    "[]",
    encode_cursor([int(HUGE)]),
    encode_cursor(["x"]),
)


async def admin_pages(node: TestNode) -> httpx.AsyncClient:
    client = (await page_client(node, role=Role.admin)).client
    client.headers["Accept"] = BROWSER
    return client


def assert_error_page(response: httpx.Response, status: int, says: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in response.text
    assert says in response.text


class TestEachBadValueIsNamed:
    @pytest.mark.parametrize(
        ("path", "params", "status", "says"),
        [
            ("/calendar", {"ward": "abc"}, 422, "A ward is a number from 1 to 50."),
            ("/calendar", {"ward": "51"}, 422, "A ward is a number from 1 to 50."),
            ("/calendar", {"ward": "²"}, 422, "A ward is a number from 1 to 50."),
            ("/calendar", {"ward": "1" * 5000}, 422, "A ward is a number from 1 to 50."),
            ("/calendar", {"view": "year"}, 422, "The calendar view is agenda, week or month."),
            ("/calendar", {"from": "2026-12-32"}, 422, "Give the from date as year-month-day"),
            ("/calendar", {"view": "week", "from": "9999-12-31"}, 422, "1900 to 2999"),
            ("/calendar", {"from": "2026-12-08", "to": "2026-12-07"}, 422, "before the from"),
            ("/calendar", {"view": "month", "month": "2026-13"}, 422, "year-month"),
            ("/calendar", {"view": "month", "month": "9999-12"}, 422, "1900 to 2999"),
            ("/calendar", {"type": "PICNIC"}, 422, "There is no event type"),
            ("/calendar", {"group": "a\x00b"}, 400, "NUL character"),
            ("/members", {"ward": "²"}, 422, "A ward is a number from 1 to 50."),
            ("/members", {"q": "\x00"}, 400, "NUL character"),
            ("/members", {"cursor": "not a cursor"}, 422, "This cursor is not valid"),
            ("/members", {"cursor": encode_cursor([int(HUGE)])}, 422, "This cursor is not valid"),
            ("/members", {"cursor": encode_cursor(["x"])}, 422, "This cursor is not valid"),
            ("/members", {"cursor": encode_cursor([True])}, 422, "This cursor is not valid"),
            ("/login", {"next": "/\x00"}, 400, "NUL character"),
        ],
    )
    async def test_a_query_value(
        self, node: TestNode, path: str, params: dict[str, str], status: int, says: str
    ) -> None:
        client = await admin_pages(node)
        assert_error_page(await client.get(path, params=params), status, says)

    @pytest.mark.parametrize(
        ("path", "status", "says"),
        [
            (f"/members/{HUGE}/edit", 422, "Use a number no larger than"),
            ("/members/abc/edit", 422, "Enter a whole number"),
            ("/members/0/edit", 422, "Use a number of at least 1"),
            ("/canvass/a%00b", 400, "NUL character"),
            ("/forums/%00", 400, "NUL character"),
            ("/endorsements/%00", 400, "NUL character"),
        ],
    )
    async def test_an_id_in_the_path(
        self, node: TestNode, path: str, status: int, says: str
    ) -> None:
        client = await admin_pages(node)
        assert_error_page(await client.get(path), status, says)

    async def test_a_forged_id_in_a_form_address(self, node: TestNode) -> None:
        page = await page_client(node, role=Role.admin)
        response = await page.post(f"/alliances/{HUGE}/retry")
        assert response.status_code == 422
        assert '<html lang="en">' in response.text


class TestNoValueBreaksAPage:
    @pytest.mark.parametrize(
        ("path", "name"), [(path, name) for path, names in QUERY_PAGES.items() for name in names]
    )
    async def test_every_query_parameter(self, node: TestNode, path: str, name: str) -> None:
        client = await admin_pages(node)
        broken = {}
        for value in NASTY:
            response = await client.get(path, params={name: value})
            if response.status_code >= 500 or (
                response.status_code >= 400 and '<html lang="en">' not in response.text
            ):
                broken[value[:20]] = response.status_code
        assert broken == {}

    async def test_every_id_in_a_path(self, node: TestNode) -> None:
        client = await admin_pages(node)
        broken = {}
        for pattern in PATH_PAGES:
            for value in NASTY:
                response = await client.get(pattern.format(quote(value, safe="")))
                if response.status_code >= 500:
                    broken[pattern.format(value[:20])] = response.status_code
        assert broken == {}


class TestTheApiRefusesTheSameValues:
    @pytest.mark.parametrize(
        ("params", "status", "code"),
        [
            ({"q": "\x00"}, 400, "bad_request"),
            ({"cursor": encode_cursor([int(HUGE)])}, 422, "invalid_input"),
            ({"cursor": encode_cursor(["x"])}, 422, "invalid_input"),
        ],
    )
    async def test_the_member_list(
        self, node: TestNode, params: dict[str, str], status: int, code: str
    ) -> None:
        admin = await node.as_role(Role.admin)
        response = await admin.get("/api/v1/members", params=params)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
