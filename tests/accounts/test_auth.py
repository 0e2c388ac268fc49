"""Logging in, sessions, CSRF, bearer tokens, and who may manage users."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from node.accounts.models import Role, User, WebSession
from node.audit.models import AuditEntry

PASSWORD = "correct horse battery"


async def log_in(node, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return await node.client.post("/api/v1/auth/login", json={"email": email, "password": password})


class TestBrowserLogin:
    async def test_login_sets_a_secure_http_only_cookie(self, node) -> None:
        await node.add_user(role=Role.organizer, email="org@ward33.example")
        response = await log_in(node, "ORG@ward33.example")
        assert response.status_code == 200
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert response.json()["user"]["role"] == "organizer"
        assert (await node.client.get("/api/v1/me")).json()["email"] == "org@ward33.example"

    @pytest.mark.parametrize(
        ("email", "password"),
        [("org@ward33.example", "wrong password!"), ("nobody@ward33.example", PASSWORD)],
    )
    async def test_wrong_credentials_get_the_same_401(self, node, email, password) -> None:
        await node.add_user(role=Role.organizer, email="org@ward33.example")
        response = await log_in(node, email, password)
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Wrong email or password."
        assert "set-cookie" not in response.headers

    async def test_inactive_user_cannot_log_in(self, node, admin) -> None:
        user, _ = await node.add_user(role=Role.member, email="gone@ward33.example")
        await admin.patch(f"/api/v1/users/{user.id}", json={"is_active": False})
        assert (await log_in(node, "gone@ward33.example")).status_code == 401

    async def test_logout_ends_the_session(self, node) -> None:
        await node.add_user(role=Role.member, email="m@ward33.example")
        csrf = (await log_in(node, "m@ward33.example")).json()["csrf_token"]
        response = await node.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert response.status_code == 204
        async with node.session() as session:
            assert (
                await session.execute(select(func.count()).select_from(WebSession))
            ).scalar() == 0
        assert (await node.client.get("/api/v1/me")).status_code == 401


class TestCsrf:
    async def test_cookie_request_that_changes_state_needs_the_token(self, node) -> None:
        await node.add_user(role=Role.admin, email="a@ward33.example")
        csrf = (await log_in(node, "a@ward33.example")).json()["csrf_token"]
        new_user = {"email": "x@ward33.example", "password": PASSWORD, "role": "member"}

        refused = await node.client.post("/api/v1/users", json=new_user)
        wrong = await node.client.post(
            "/api/v1/users", json=new_user, headers={"X-CSRF-Token": "forged"}
        )
        assert (refused.status_code, wrong.status_code) == (403, 403)
        assert "CSRF" in refused.json()["error"]["message"]
        async with node.session() as session:
            assert (
                await session.scalar(select(User).where(User.email == "x@ward33.example")) is None
            )

        accepted = await node.client.post(
            "/api/v1/users", json=new_user, headers={"X-CSRF-Token": csrf}
        )
        assert accepted.status_code == 201

    async def test_bearer_requests_need_no_csrf_token(self, admin) -> None:
        response = await admin.post(
            "/api/v1/users",
            json={"email": "y@ward33.example", "password": PASSWORD, "role": "member"},
        )
        assert response.status_code == 201


class TestBearerTokens:
    async def test_malformed_and_unknown_tokens(self, node) -> None:
        for header in ("Bearer", "Basic abc", "Bearer ipo_not-a-token", "Bearer nope"):
            response = await node.client.get("/api/v1/me", headers={"Authorization": header})
            assert response.status_code == 401, header
            assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_revoked_token_stops_working_at_once(self, node) -> None:
        _, token = await node.add_user(role=Role.member)
        client = node.client_with(token)
        created = await client.post("/api/v1/me/tokens", json={"name": "script"})
        assert created.status_code == 201
        second = node.client_with(created.json()["token"])
        assert (await second.get("/api/v1/me")).status_code == 200
        await client.delete(f"/api/v1/me/tokens/{created.json()['id']}")
        assert (await second.get("/api/v1/me")).status_code == 401
        assert (await client.get("/api/v1/me")).status_code == 200

    async def test_cannot_revoke_someone_elses_token(self, node) -> None:
        _, mine = await node.add_user(role=Role.member)
        _, theirs = await node.add_user(role=Role.member)
        other = await node.client_with(theirs).post("/api/v1/me/tokens", json={})
        response = await node.client_with(mine).delete(f"/api/v1/me/tokens/{other.json()['id']}")
        assert response.status_code == 404
        assert (await node.client_with(other.json()["token"]).get("/api/v1/me")).status_code == 200

    async def test_password_change_revokes_tokens(self, node, admin) -> None:
        user, token = await node.add_user(role=Role.organizer)
        await admin.patch(f"/api/v1/users/{user.id}", json={"password": "another long one"})
        assert (await node.client_with(token).get("/api/v1/me")).status_code == 401


USER_ROUTES = [
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/1"),
    ("PATCH", "/api/v1/users/1"),
    ("GET", "/api/v1/audit"),
]


class TestUserManagementIsForAdmins:
    @pytest.mark.parametrize(("method", "path"), USER_ROUTES)
    async def test_anonymous_gets_401(self, node, method, path) -> None:
        response = await node.client.request(method, path, json={})
        assert response.status_code == 401

    @pytest.mark.parametrize("role", [Role.member, Role.organizer])
    @pytest.mark.parametrize(("method", "path"), USER_ROUTES)
    async def test_non_admins_get_403(self, node, role, method, path) -> None:
        client = await node.as_role(role)
        response = await client.request(
            method, path, json={"email": "z@ward33.example", "password": PASSWORD, "role": "admin"}
        )
        assert response.status_code == 403
        async with node.session() as session:
            assert (
                await session.scalar(select(User).where(User.email == "z@ward33.example")) is None
            )

    async def test_admin_creates_and_changes_roles(self, admin) -> None:
        created = await admin.post(
            "/api/v1/users",
            json={"email": "New@Ward33.example", "password": PASSWORD, "role": "member"},
        )
        assert created.json()["email"] == "new@ward33.example"
        changed = await admin.patch(
            f"/api/v1/users/{created.json()['id']}", json={"role": "organizer"}
        )
        assert changed.json()["role"] == "organizer"
        audit = (await admin.get("/api/v1/audit")).json()["items"]
        assert [entry["action"] for entry in audit[:2]] == ["user.update", "user.create"]
        # Actors are named by id: the log is append-only and must outlive an erasure.
        assert all("@" not in entry["actor_label"] for entry in audit)

    async def test_duplicate_email_is_409_and_changes_nothing(self, node, admin) -> None:
        body = {"email": "dup@ward33.example", "password": PASSWORD, "role": "member"}
        assert (await admin.post("/api/v1/users", json=body)).status_code == 201
        again = await admin.post("/api/v1/users", json={**body, "role": "admin"})
        assert again.status_code == 409
        assert again.json()["error"]["details"][0]["loc"] == ["body", "email"]
        async with node.session() as session:
            user = await session.scalar(select(User).where(User.email == "dup@ward33.example"))
            assert user is not None
            assert user.role == Role.member

    async def test_last_admin_cannot_be_demoted_or_deactivated(self, node, admin) -> None:
        me = (await admin.get("/api/v1/me")).json()
        for change in ({"role": "member"}, {"is_active": False}):
            response = await admin.patch(f"/api/v1/users/{me['id']}", json=change)
            assert response.status_code == 409
            assert "last admin" in response.json()["error"]["message"]
        assert (await admin.get("/api/v1/me")).json()["role"] == "admin"

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "bad", "password": PASSWORD},
            {"email": "s@ward33.example", "password": "short"},
            {"email": "r@ward33.example", "password": PASSWORD, "role": "superuser"},
            {"email": "u@ward33.example", "password": PASSWORD, "is_admin": True},
        ],
    )
    async def test_bad_input_is_422_and_writes_nothing(self, node, admin, body) -> None:
        async with node.session() as session:
            users_before = await session.scalar(select(func.count()).select_from(User))
            audit_before = await session.scalar(select(func.count()).select_from(AuditEntry))
        response = await admin.post("/api/v1/users", json=body)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "validation_failed"
        assert error["details"][0]["loc"][0] == "body"
        async with node.session() as session:
            assert await session.scalar(select(func.count()).select_from(User)) == users_before
            assert (
                await session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
            )
