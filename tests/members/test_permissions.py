"""Who may reach the members routes, seen from the side that is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from node.accounts.models import Role
from node.members.models import Member

ORGANIZER_ROUTES = [
    ("GET", "/api/v1/members"),
    ("POST", "/api/v1/members"),
    ("GET", "/api/v1/members/1"),
    ("PATCH", "/api/v1/members/1"),
    ("DELETE", "/api/v1/members/1"),
    ("GET", "/api/v1/members/1/export"),
    ("POST", "/api/v1/members/import"),
    ("GET", "/api/v1/members/export.csv"),
]
SELF_ROUTES = [("GET", "/api/v1/me/data"), ("DELETE", "/api/v1/me")]

BODIES = {
    ("POST", "/api/v1/members"): {"json": {"given_name": "Ana"}},
    ("PATCH", "/api/v1/members/1"): {"json": {"given_name": "Bea"}},
    ("POST", "/api/v1/members/import"): {
        "content": b"first_name,email\nCy,cy@example.org\n",
        "headers": {"Content-Type": "text/csv"},
    },
}


async def _seed_member(node) -> int:
    async with node.session() as session:
        member = Member(given_name="Ana", email="ana@example.org")
        session.add(member)
        await session.flush()
        assert member.id is not None
        return member.id


async def _member_count(node) -> int:
    async with node.session() as session:
        return int((await session.execute(select(func.count()).select_from(Member))).scalar_one())


class TestUnauthenticated:
    @pytest.mark.parametrize(("method", "path"), ORGANIZER_ROUTES + SELF_ROUTES)
    async def test_gets_401_and_changes_nothing(self, node, method, path):
        await _seed_member(node)
        response = await node.client.request(method, path, **BODIES.get((method, path), {}))
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "not_authenticated"
        assert await _member_count(node) == 1


class TestMemberRole:
    @pytest.mark.parametrize(("method", "path"), ORGANIZER_ROUTES)
    async def test_gets_403_on_organizer_routes_and_changes_nothing(
        self, node, member, method, path
    ):
        await _seed_member(node)
        response = await member.request(method, path, **BODIES.get((method, path), {}))
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "permission_denied"
        assert await _member_count(node) == 1
        async with node.session() as session:
            row = await session.get(Member, 1)
            assert row is not None
            assert row.given_name == "Ana"

    async def test_may_read_own_data(self, member):
        response = await member.get("/api/v1/me/data")
        assert response.status_code == 200, response.text


class TestOrganizerAndAdmin:
    @pytest.mark.parametrize("role", [Role.organizer, Role.admin])
    @pytest.mark.parametrize(("method", "path"), ORGANIZER_ROUTES)
    async def test_are_let_in(self, node, role, method, path):
        member_id = await _seed_member(node)
        assert member_id == 1
        client = await node.as_role(role)
        response = await client.request(method, path, **BODIES.get((method, path), {}))
        assert response.status_code < 300, response.text
