"""Invitations over the API: an admin invites an address with a role, the link works once and
expires, a deactivated account is refused, and only the link's hash is kept."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import httpx
from sqlalchemy import update

from federation.storage import utcnow
from node.accounts.models import Invitation, Role
from tests.accounts.helpers import (
    INVITATION_LINK,
    invitation_rows,
    link_mailed_to,
    queued,
    token_in,
)
from tests.nodes import NodeFactory, TestNode
from tests.smtp import smtp_server
from tests.web.browser import PASSWORD

ANA = "ana.flores@example.org"


async def invite(
    admin: httpx.AsyncClient, email: str = ANA, role: str = "member"
) -> httpx.Response:
    return await admin.post("/api/v1/invitations", json={"email": email, "role": role})


async def accept(node: TestNode, token: str, **body: str) -> httpx.Response:
    return await node.client_with().post(
        "/api/v1/auth/invitation",
        json={"token": token, "display_name": "Ana Flores", "password": PASSWORD, **body},
    )


async def log_in(node: TestNode, email: str, password: str = PASSWORD) -> int:
    answer = await node.client_with().post(
        "/api/v1/auth/login", json={"email": email, "password": password}
    )
    return answer.status_code


class TestInviting:
    async def test_the_invitee_is_emailed_a_link_and_only_its_hash_is_kept(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        answer = await invite(admin, email="Ana.Flores@Example.org", role="organizer")

        assert answer.status_code == 201, answer.text
        created = answer.json()
        assert created["email"] == ANA
        assert created["role"] == "organizer"
        assert created["state"] == "pending"
        token = token_in(created["url"], INVITATION_LINK)
        assert await link_mailed_to(node, ANA, INVITATION_LINK) == token
        [(to, text)] = await queued(node, kind="invitation")
        assert to == ANA
        assert "as an organizer" in text
        assert "within 7 days" in text
        [row] = await invitation_rows(node)
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in repr(row.model_dump())
        listed = (await admin.get("/api/v1/invitations")).json()
        assert [(i["email"], i["state"]) for i in listed] == [(ANA, "pending")]

    async def test_with_a_mail_server_the_link_is_not_in_the_answer(
        self, nodes: NodeFactory
    ) -> None:
        with smtp_server() as mailbox:
            node = await nodes.start("ward33", **mailbox.settings())
            admin = await node.as_role(Role.admin)
            answer = await invite(admin)
            await node.app.state.mail.run_once()
            [received] = mailbox.to(ANA)

        assert answer.status_code == 201
        assert answer.json()["url"] is None
        assert received["Subject"] == "You're invited to Test ward33"
        assert INVITATION_LINK.search(received.get_body().get_content())  # type: ignore[union-attr]

    async def test_an_address_with_an_account_is_refused(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        await node.add_user(role=Role.member, email=ANA)

        answer = await invite(admin)

        assert answer.status_code == 409
        assert "already has an account" in answer.json()["error"]["message"]
        assert await invitation_rows(node) == []

    async def test_a_new_invitation_replaces_the_pending_one(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        first = token_in((await invite(admin)).json()["url"], INVITATION_LINK)
        second = token_in((await invite(admin)).json()["url"], INVITATION_LINK)

        assert (await accept(node, first)).status_code == 410
        assert (await accept(node, second)).status_code == 201
        assert len((await admin.get("/api/v1/invitations")).json()) == 0

    async def test_only_admins_invite_and_list(self, node: TestNode) -> None:
        for role in (Role.organizer, Role.member):
            client = await node.as_role(role)
            assert (await invite(client)).status_code == 403
            assert (await client.get("/api/v1/invitations")).status_code == 403
        assert (await invite(node.client_with())).status_code == 401

    async def test_a_bad_address_or_role_is_a_422_naming_the_field(
        self, admin: httpx.AsyncClient
    ) -> None:
        bad_email = await invite(admin, email="ana-at-example")
        bad_role = await invite(admin, role="boss")

        assert bad_email.status_code == 422
        assert bad_email.json()["error"]["details"][0]["loc"] == ["body", "email"]
        assert bad_role.status_code == 422
        assert bad_role.json()["error"]["details"][0]["loc"] == ["body", "role"]


class TestAccepting:
    async def test_the_link_makes_the_account_with_its_role_once(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        token = token_in((await invite(admin, role="organizer")).json()["url"], INVITATION_LINK)

        made = await accept(node, token)
        again = await accept(node, token, display_name="Someone Else")

        assert made.status_code == 201, made.text
        assert made.json()["email"] == ANA
        assert made.json()["role"] == "organizer"
        assert made.json()["display_name"] == "Ana Flores"
        assert await log_in(node, ANA) == 200
        assert again.status_code == 410
        assert again.json()["error"]["code"] == "invitation_closed"
        [row] = await invitation_rows(node)
        assert row.accepted_at is not None
        assert row.user_id == made.json()["id"]

    async def test_a_link_used_twice_at_once_makes_one_account(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        token = token_in((await invite(admin)).json()["url"], INVITATION_LINK)

        answers = await asyncio.gather(accept(node, token), accept(node, token))

        assert sorted(a.status_code for a in answers) == [201, 410]
        users = (await admin.get("/api/v1/users")).json()
        assert [u["email"] for u in users].count(ANA) == 1

    async def test_an_expired_link_is_refused(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        token = token_in((await invite(admin)).json()["url"], INVITATION_LINK)
        async with node.session() as session:
            await session.execute(
                update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1))
            )

        answer = await accept(node, token)

        assert answer.status_code == 410
        assert "expired" in answer.json()["error"]["message"]
        assert await log_in(node, ANA) == 401
        listed = (await admin.get("/api/v1/invitations")).json()
        assert [i["state"] for i in listed] == ["expired"]

    async def test_a_cancelled_link_is_refused_and_an_accepted_one_cannot_be_cancelled(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        cancelled = (await invite(admin)).json()
        kept = (await invite(admin, email="ben@example.org")).json()

        assert (await admin.delete(f"/api/v1/invitations/{cancelled['id']}")).status_code == 204
        assert (await accept(node, token_in(cancelled["url"], INVITATION_LINK))).status_code == 410
        assert (await accept(node, token_in(kept["url"], INVITATION_LINK))).status_code == 201
        late = await admin.delete(f"/api/v1/invitations/{kept['id']}")
        assert late.status_code == 409
        assert (await admin.delete("/api/v1/invitations/9999")).status_code == 404

    async def test_an_unknown_link_is_a_404(self, node: TestNode) -> None:
        assert (await accept(node, "ipoinv_" + "x" * 43)).status_code == 404
        assert (await accept(node, "not-even-a-token")).status_code == 404

    async def test_the_password_rules_are_the_apis_with_plain_words(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        token = token_in((await invite(admin)).json()["url"], INVITATION_LINK)

        short = await accept(node, token, password="short")
        nameless = await accept(node, token, display_name="   ")

        assert short.status_code == 422
        [detail] = short.json()["error"]["details"]
        assert detail["loc"] == ["body", "password"]
        assert detail["msg"] == (
            "Use a password of at least 10 characters; a few words make a good one."
        )
        assert nameless.status_code == 422
        assert "Write the name others here will see" in nameless.text
        assert (await accept(node, token)).status_code == 201  # the refusals used nothing up


class TestDeactivating:
    async def test_a_deactivated_account_is_refused_everywhere_until_reactivated(
        self, node: TestNode, admin: httpx.AsyncClient
    ) -> None:
        user, token = await node.add_user(role=Role.member, email=ANA)
        login = node.client_with()
        assert (
            await login.post("/api/v1/auth/login", json={"email": ANA, "password": PASSWORD})
        ).status_code == 200

        off = await admin.patch(f"/api/v1/users/{user.id}", json={"is_active": False})

        assert off.status_code == 200
        assert off.json()["is_active"] is False
        assert (await node.client_with(token).get("/api/v1/me")).status_code == 401
        assert (await login.get("/api/v1/me")).status_code == 401
        assert await log_in(node, ANA) == 401
        forgot = await node.client_with().post("/api/v1/auth/password-forgot", json={"email": ANA})
        assert forgot.status_code == 202
        assert await queued(node, kind="password_reset") == []
        on = await admin.patch(f"/api/v1/users/{user.id}", json={"is_active": True})
        assert on.json()["is_active"] is True
        assert await log_in(node, ANA) == 200

    async def test_an_admin_cannot_deactivate_herself_nor_the_last_admin_be_demoted(
        self, node: TestNode
    ) -> None:
        me, token = await node.add_user(role=Role.admin)
        other, _ = await node.add_user(role=Role.admin)
        admin = node.client_with(token)

        myself = await admin.patch(f"/api/v1/users/{me.id}", json={"is_active": False})
        them = await admin.patch(f"/api/v1/users/{other.id}", json={"is_active": False})
        demoted = await admin.patch(f"/api/v1/users/{me.id}", json={"role": "member"})

        assert myself.status_code == 409
        assert "your own account" in myself.json()["error"]["message"]
        assert them.status_code == 200
        assert demoted.status_code == 409
        assert "last admin" in demoted.json()["error"]["message"]
        assert (await admin.get("/api/v1/me")).json()["role"] == "admin"
