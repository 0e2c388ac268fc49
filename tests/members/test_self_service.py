"""A person's own data: reading it all, and erasing it."""

from __future__ import annotations

from sqlalchemy import func, select

from node.accounts.models import Role
from node.members.models import Member


async def member_emails(node) -> list[str | None]:
    async with node.session() as session:
        return [m.email for m in (await session.execute(select(Member))).scalars()]


class TestMyData:
    async def test_returns_only_the_callers_account_and_member_record(self, node, organizer):
        user, token = await node.add_user(role=Role.member, email="ana@example.org")
        await organizer.post(
            "/api/v1/members",
            json={"given_name": "Ana", "email": "Ana@Example.org", "tags": ["host"]},
        )
        await organizer.post(
            "/api/v1/members", json={"given_name": "Bo", "email": "bo@example.org"}
        )
        ana = node.client_with(token)

        response = await ana.get("/api/v1/me/data")

        assert response.status_code == 200, response.text
        data = response.json()
        assert data["account"]["email"] == "ana@example.org"
        assert data["account"]["id"] == user.id
        assert "password_hash" not in response.text
        assert [m["given_name"] for m in data["members"]] == ["Ana"]
        assert data["members"][0]["tags"] == ["host"]
        assert "bo@example.org" not in response.text

    async def test_with_no_member_record_lists_none(self, member):
        data = (await member.get("/api/v1/me/data")).json()
        assert data["members"] == []


class TestEraseMe:
    async def test_erases_member_record_and_the_login_stops_working(self, node, organizer):
        _, token = await node.add_user(role=Role.member, email="ana@example.org")
        await organizer.post(
            "/api/v1/members", json={"given_name": "Ana", "email": "ana@example.org"}
        )
        await organizer.post(
            "/api/v1/members", json={"given_name": "Bo", "email": "bo@example.org"}
        )
        ana = node.client_with(token)

        response = await ana.delete("/api/v1/me")

        assert response.status_code == 200, response.text
        assert response.json() == {
            "members_erased": 1,
            "account_closed": True,
            "canvass_signups_withdrawn": [],
        }
        assert await member_emails(node) == ["bo@example.org"]
        assert (await ana.get("/api/v1/me/data")).status_code == 401
        login = await node.client.post(
            "/api/v1/auth/login",
            json={"email": "ana@example.org", "password": "correct horse battery"},
        )
        assert login.status_code == 401

    async def test_account_keeps_no_email(self, node):
        user, token = await node.add_user(role=Role.member, email="ana@example.org")
        await node.client_with(token).delete("/api/v1/me")
        admin = await node.as_role(Role.admin)
        users = (await admin.get("/api/v1/users")).json()
        assert "ana@example.org" not in str(users)
        closed = next(u for u in users if u["id"] == user.id)
        assert closed["is_active"] is False

    async def test_last_admin_cannot_erase_themselves(self, node, admin):
        response = await admin.delete("/api/v1/me")
        assert response.status_code == 409
        assert "last admin" in response.json()["error"]["message"]
        assert (await admin.get("/api/v1/me")).status_code == 200

    async def test_an_admin_with_another_admin_can(self, node, admin):
        await node.add_user(role=Role.admin)
        assert (await admin.delete("/api/v1/me")).status_code == 200
        assert (await admin.get("/api/v1/me")).status_code == 401


class TestOrganizerExportOfOneMember:
    async def test_returns_member_and_linked_account(self, node, organizer):
        user, _ = await node.add_user(role=Role.member, email="ana@example.org")
        created = (
            await organizer.post(
                "/api/v1/members", json={"given_name": "Ana", "email": "ana@example.org"}
            )
        ).json()
        response = await organizer.get(f"/api/v1/members/{created['id']}/export")
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["member"] == created
        assert data["account"]["id"] == user.id
        assert "password_hash" not in response.text

    async def test_without_account(self, node, organizer):
        created = (await organizer.post("/api/v1/members", json={"given_name": "Bo"})).json()
        data = (await organizer.get(f"/api/v1/members/{created['id']}/export")).json()
        assert data["account"] is None
        async with node.session() as session:
            count = (await session.execute(select(func.count()).select_from(Member))).scalar_one()
        assert count == 1
