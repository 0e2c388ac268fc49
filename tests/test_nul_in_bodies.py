"""A NUL in any JSON or form body is a 400 that changes nothing (PostgreSQL cannot store one)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from node.accounts.models import Role
from node.members.models import Member
from tests.nodes import TestNode
from tests.web.page_client import page_client

BODIES = [
    ("organizer", "/api/v1/members", {"given_name": "Ana\x00", "email": "ana@ward33.example"}),
    ("organizer", "/api/v1/members", {"given_name": "Ana", "notes": "call\x00back"}),
    ("admin", "/api/v1/partners", {"name": "SEIU\x00", "contact": "it@x.example", "scopes": []}),
    ("member", "/api/v1/me/tokens", {"name": "laptop\x00"}),
    (
        "admin",
        "/api/v1/users",
        {"email": "u@ward33.example", "role": "member", "password": "correct horse battery",
         "display_name": "U\x00"},
    ),
]  # fmt: skip


async def members(node: TestNode) -> int:
    async with node.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Member)) or 0)


@pytest.mark.parametrize(("role", "path", "body"), BODIES, ids=[b[1] for b in BODIES])
async def test_a_nul_in_a_json_body_is_a_400(nodes, role, path, body) -> None:
    node = await nodes.start("ward33")
    client = await node.as_role(Role(role))
    response = await client.post(path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"
    assert "NUL" in response.json()["error"]["message"]
    assert await members(node) == 0


async def test_a_nul_split_across_chunks_is_seen(nodes) -> None:
    node = await nodes.start("ward33")
    client = await node.as_role(Role.organizer)
    text = json.dumps({"given_name": "Ana\x00", "email": "ana@ward33.example"}).encode()
    cut = text.index(b"\\u0000") + 3

    async def in_two_chunks():  # type: ignore[no-untyped-def]
        yield text[:cut]
        yield text[cut:]

    response = await client.post(
        "/api/v1/members", content=in_two_chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert await members(node) == 0


async def test_the_text_backslash_u0000_is_not_a_nul(nodes) -> None:
    node = await nodes.start("ward33")
    client = await node.as_role(Role.organizer)
    response = await client.post(
        "/api/v1/members", json={"given_name": "Ana", "notes": "type \\u0000 to test"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["notes"] == "type \\u0000 to test"


async def test_a_nul_in_a_form_is_a_400_page(nodes) -> None:
    node = await nodes.start("ward33")
    browser = await page_client(node, role=Role.organizer)
    browser.client.headers["Accept"] = "text/html"  # what a browser sends
    response = await browser.post("/members/new", {"given_name": "Ana\x00", "email": "a@b.example"})
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    assert "NUL" in response.text
    assert await members(node) == 0
