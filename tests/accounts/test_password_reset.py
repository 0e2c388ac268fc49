"""Forgotten and changed passwords over the API: the reset link works once and expires, asking
says nothing about who has an account and is rate limited, changing one's password logs out
the other sessions, and neither addresses nor links reach the logs."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from federation.storage import utcnow
from node.accounts.models import PasswordReset, Role
from tests.accounts.helpers import (
    INVITATION_LINK,
    RESET_LINK,
    link_mailed_to,
    queued,
    reset_rows,
    token_in,
)
from tests.nodes import TestNode
from tests.web.browser import PASSWORD

ANA = "ana.flores@example.org"
NEW = "a brand new passphrase"


async def forgot(node: TestNode, email: str = ANA) -> httpx.Response:
    return await node.client_with().post("/api/v1/auth/password-forgot", json={"email": email})


async def reset(node: TestNode, token: str, password: str = NEW) -> httpx.Response:
    return await node.client_with().post(
        "/api/v1/auth/password-reset", json={"token": token, "password": password}
    )


async def log_in(node: TestNode, email: str = ANA, password: str = PASSWORD) -> httpx.AsyncClient:
    """A client with a session cookie (and the CSRF header) for ``email``, or a failure."""
    client = node.client_with()
    answer = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


async def login_status(node: TestNode, password: str) -> int:
    answer = await node.client_with().post(
        "/api/v1/auth/login", json={"email": ANA, "password": password}
    )
    return answer.status_code


class TestForgotPassword:
    async def test_the_answer_is_the_same_with_or_without_an_account(self, node: TestNode) -> None:
        await node.add_user(role=Role.member, email=ANA)

        known = await forgot(node)
        unknown = await forgot(node, "nobody@example.org")

        assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
        assert known.status_code == 202
        assert [to for to, _ in await queued(node, kind="password_reset")] == [ANA]

    async def test_the_link_works_once_and_logs_out_every_session(self, node: TestNode) -> None:
        await node.add_user(role=Role.member, email=ANA)
        before = await log_in(node)
        await forgot(node)
        token = await link_mailed_to(node, ANA, RESET_LINK)

        first = await reset(node, token)
        second = await reset(node, token, password="another passphrase")

        assert first.status_code == 204, first.text
        assert second.status_code == 410
        assert second.json()["error"]["code"] == "reset_link_closed"
        assert (await before.get("/api/v1/me")).status_code == 401
        assert await login_status(node, NEW) == 200
        assert await login_status(node, PASSWORD) == 401
        [row] = await reset_rows(node)
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.used_at is not None

    async def test_a_link_used_twice_at_once_sets_one_password(self, node: TestNode) -> None:
        await node.add_user(role=Role.member, email=ANA)
        await forgot(node)
        token = await link_mailed_to(node, ANA, RESET_LINK)

        answers = await asyncio.gather(reset(node, token), reset(node, token, "the other one!"))

        assert sorted(a.status_code for a in answers) == [204, 410]
        winner = NEW if answers[0].status_code == 204 else "the other one!"
        assert await login_status(node, winner) == 200

    async def test_an_expired_or_replaced_link_is_refused(self, node: TestNode) -> None:
        await node.add_user(role=Role.member, email=ANA)
        await forgot(node)
        old = await link_mailed_to(node, ANA, RESET_LINK)
        await forgot(node)
        newer = await link_mailed_to(node, ANA, RESET_LINK)
        async with node.session() as session:
            await session.execute(
                update(PasswordReset)
                .where(PasswordReset.used_at.is_(None))  # type: ignore[union-attr]
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )

        assert (await reset(node, old)).status_code == 410
        expired = await reset(node, newer)
        assert expired.status_code == 410
        assert "expired" in expired.json()["error"]["message"]
        assert (await reset(node, "iporeset_" + "x" * 43)).status_code == 404
        assert await login_status(node, PASSWORD) == 200

    async def test_a_short_new_password_is_refused_and_leaves_the_link(
        self, node: TestNode
    ) -> None:
        await node.add_user(role=Role.member, email=ANA)
        await forgot(node)
        token = await link_mailed_to(node, ANA, RESET_LINK)

        short = await reset(node, token, password="short")

        assert short.status_code == 422
        assert short.json()["error"]["details"][0]["loc"] == ["body", "password"]
        assert (await reset(node, token)).status_code == 204

    async def test_an_address_gets_three_emails_then_waits_and_nobody_learns_why(
        self, node: TestNode
    ) -> None:
        await node.add_user(role=Role.member, email=ANA)

        answers = [await forgot(node) for _ in range(5)]
        strangers = [await forgot(node, "nobody@example.org") for _ in range(5)]

        assert {a.status_code for a in answers + strangers} == {202}
        assert len(await queued(node, kind="password_reset")) == 3

    async def test_one_client_address_asking_too_often_is_told_to_wait(
        self, node: TestNode
    ) -> None:
        answers = [await forgot(node, f"someone{n}@example.org") for n in range(11)]

        assert [a.status_code for a in answers[:10]] == [202] * 10
        assert answers[10].status_code == 429
        assert answers[10].json()["error"]["code"] == "password_reset_throttled"
        assert int(answers[10].headers["Retry-After"]) > 0


class TestAdminResetLink:
    async def test_an_admin_makes_a_link_for_someone_and_it_replaces_hers(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        user, _ = await node.add_user(role=Role.member, email=ANA)
        await forgot(node)
        hers = await link_mailed_to(node, ANA, RESET_LINK)

        made = await admin.post(f"/api/v1/users/{user.id}/password-reset")

        assert made.status_code == 201, made.text
        token = token_in(made.json()["url"], RESET_LINK)
        assert (await reset(node, hers)).status_code == 410
        assert (await reset(node, token)).status_code == 204
        assert await login_status(node, NEW) == 200

    async def test_only_admins_make_links_and_not_for_a_deactivated_account(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        user, _ = await node.add_user(role=Role.member, email=ANA)
        organizer = await node.as_role(Role.organizer)
        assert (await organizer.post(f"/api/v1/users/{user.id}/password-reset")).status_code == 403
        await admin.patch(f"/api/v1/users/{user.id}", json={"is_active": False})

        refused = await admin.post(f"/api/v1/users/{user.id}/password-reset")

        assert refused.status_code == 409
        assert (await admin.post("/api/v1/users/9999/password-reset")).status_code == 404

    async def test_a_link_made_before_deactivation_stops_working(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        user, _ = await node.add_user(role=Role.member, email=ANA)
        made = await admin.post(f"/api/v1/users/{user.id}/password-reset")
        token = token_in(made.json()["url"], RESET_LINK)

        await admin.patch(f"/api/v1/users/{user.id}", json={"is_active": False})
        await admin.patch(f"/api/v1/users/{user.id}", json={"is_active": True})

        assert (await reset(node, token)).status_code == 410


class TestChangingOnesPassword:
    async def test_the_current_password_is_needed_and_other_sessions_end(
        self, node: TestNode
    ) -> None:
        _, token = await node.add_user(role=Role.member, email=ANA)
        here, elsewhere = await log_in(node), await log_in(node)
        body = {"current_password": "not my password", "new_password": NEW}

        wrong = await here.post("/api/v1/me/password", json=body)
        right = await here.post("/api/v1/me/password", json={**body, "current_password": PASSWORD})

        assert wrong.status_code == 422
        assert wrong.json()["error"]["details"][0]["loc"] == ["body", "current_password"]
        assert right.status_code == 204, right.text
        assert (await here.get("/api/v1/me")).status_code == 200
        assert (await elsewhere.get("/api/v1/me")).status_code == 401
        assert (await node.client_with(token).get("/api/v1/me")).status_code == 200
        assert await login_status(node, NEW) == 200

    async def test_wrong_current_passwords_count_as_failed_logins(self, node: TestNode) -> None:
        await node.add_user(role=Role.member, email=ANA)
        here = await log_in(node)
        body = {"current_password": "not my password", "new_password": NEW}

        answers = [await here.post("/api/v1/me/password", json=body) for _ in range(6)]

        assert answers[-1].status_code == 429
        assert "Retry-After" in answers[-1].headers


class TestLogs:
    async def test_no_address_nor_link_is_logged(
        self, node: TestNode, admin: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)  # the level a node runs at (DEBUG shows SQL)
        invited = await admin.post("/api/v1/invitations", json={"email": ANA, "role": "member"})
        invitation = token_in(invited.json()["url"], INVITATION_LINK)
        await node.client_with().get(f"/invitations/{invitation}")
        await node.client_with().post(
            "/api/v1/auth/invitation",
            json={"token": invitation, "display_name": "Ana", "password": PASSWORD},
        )
        for _ in range(4):
            await forgot(node)
        reset_token = await link_mailed_to(node, ANA, RESET_LINK)
        await node.client_with().get(f"/password/reset/{reset_token}")
        await reset(node, reset_token)
        await node.app.state.mail.run_once()

        # What the node logs (the test's own httpx client logs the URLs it calls).
        logged = "\n".join(
            f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name != "httpx"
        )
        assert "/invitations/ipoinv_[redacted]" in logged
        assert "/password/reset/iporeset_[redacted]" in logged
        for secret in (ANA, "ana.flores", invitation, reset_token):
            assert secret not in logged
