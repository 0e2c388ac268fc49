"""Account pages: the admin's accounts page, accepting an invitation, "forgot password", the
reset link, and changing one's own password, as a browser without JavaScript gets them."""

from __future__ import annotations

import re

import httpx
import pytest

from node.accounts.models import Role
from tests.accounts.helpers import INVITATION_LINK, RESET_LINK, link_mailed_to, queued, token_in
from tests.nodes import TestNode
from tests.web.browser import PASSWORD
from tests.web.page_client import PageClient, anonymous, page_client

ANA = "ana.flores@example.org"
NEW = "a brand new passphrase"
_FORM_TOKEN = re.compile(r'name="form_csrf" value="([^"]+)"')


async def invite_on_page(admin: PageClient, email: str = ANA, role: str = "member") -> str:
    """Invite through the accounts page (no mail server: the answer shows the link)."""
    answer = await admin.post("/accounts/invitations", {"email": email, "role": role})
    assert answer.status_code == 200, answer.text
    match = INVITATION_LINK.search(answer.text)
    assert match, answer.text
    return match[1]


async def fill(
    client: httpx.AsyncClient, path: str, data: dict[str, str], *, token: bool = True
) -> httpx.Response:
    """Open a logged-out form and post it with its double-submit token."""
    page = await client.get(path)
    form = dict(data)
    if token:
        [form["form_csrf"]] = _FORM_TOKEN.findall(page.text)
    return await client.post(path, data=form)


def accept_form(name: str = "Ana Flores", password: str = PASSWORD) -> dict[str, str]:
    return {"display_name": name, "password": password, "password_again": password}


class TestTheAccountsPage:
    async def test_it_lists_people_with_role_and_state_and_pending_invitations(
        self, node: TestNode
    ) -> None:
        admin = await page_client(node, role=Role.admin, display_name="Rosa Admin")
        await node.add_user(role=Role.organizer, email="olga@example.org", display_name="Olga")
        gone, _ = await node.add_user(role=Role.member, email="gone@example.org")
        await (await node.as_role(Role.admin)).patch(
            f"/api/v1/users/{gone.id}", json={"is_active": False}
        )
        await invite_on_page(admin, role="organizer")

        page = await admin.get("/accounts")

        assert page.status_code == 200
        assert "Rosa Admin</strong> (you)" in page.text
        assert "olga@example.org · organizer" in page.text
        assert "deactivated" in page.text
        assert 'aria-label="Reactivate gone@example.org"' in page.text
        assert "Invitations not yet accepted" in page.text
        assert f"{ANA}</strong> · organizer" in page.text
        assert "waiting, until" in page.text
        assert "You cannot deactivate yourself" in page.text
        assert 'href="/accounts" aria-current="page"' in page.text
        assert 'href="/account"' in page.text

    async def test_without_a_mail_server_the_link_is_shown_once_and_not_cached(
        self, node: TestNode
    ) -> None:
        admin = await page_client(node, role=Role.admin)

        answer = await admin.post("/accounts/invitations", {"email": ANA, "role": "member"})

        assert answer.status_code == 200
        assert "shown only this once" in answer.text
        assert answer.headers["cache-control"] == "no-store"
        token = token_in(answer.text, INVITATION_LINK)
        assert await link_mailed_to(node, ANA, INVITATION_LINK) == token
        assert token not in (await admin.get("/accounts")).text

    async def test_bad_input_comes_back_with_the_field_kept_and_said_next_to_it(
        self, node: TestNode
    ) -> None:
        admin = await page_client(node, role=Role.admin)
        taken, _ = await node.add_user(role=Role.member, email="olga@example.org")

        bad = await admin.post(
            "/accounts/invitations", {"email": "ana-at-example", "role": "admin"}
        )
        dup = await admin.post("/accounts/invitations", {"email": taken.email, "role": "member"})

        assert bad.status_code == 422
        assert 'value="ana-at-example"' in bad.text
        assert 'id="e-email">Write a whole email address, like ana@example.org.' in bad.text
        assert re.search(r'<option value="admin"\s+selected>', bad.text)
        assert dup.status_code == 409
        assert "already has an account here" in dup.text
        assert await queued(node, kind="invitation") == []

    async def test_cancelling_an_invitation_ends_its_link(self, node: TestNode) -> None:
        admin = await page_client(node, role=Role.admin, display_name="Rosa")
        token = await invite_on_page(admin)
        [invitation] = (await (await node.as_role(Role.admin)).get("/api/v1/invitations")).json()

        done = await admin.post(f"/accounts/invitations/{invitation['id']}/cancel")

        assert done.status_code == 303
        page = await admin.get("/accounts")
        assert "is cancelled: its link no longer works" in page.text
        assert "No invitation is waiting." in page.text
        closed = await anonymous(node).get(f"/invitations/{token}")
        assert closed.status_code == 410
        assert "was cancelled" in closed.text
        assert "Ask Rosa, or another admin of Test ward33, for a new invitation." in closed.text

    async def test_roles_change_and_the_last_admin_is_kept(self, node: TestNode) -> None:
        admin = await page_client(node, role=Role.admin)
        olga, _ = await node.add_user(role=Role.member, email="olga@example.org")
        me = (await admin.client.get("/api/v1/me")).json()

        promoted = await admin.post(f"/accounts/{olga.id}/role", {"role": "organizer"})
        shown = await admin.get("/accounts")
        demote_me = await admin.post(f"/accounts/{me['id']}/role", {"role": "member"})
        nonsense = await admin.post(f"/accounts/{olga.id}/role", {"role": "boss"})

        assert promoted.status_code == 303
        assert "olga@example.org is now an organizer." in shown.text
        assert re.search(r"olga@example.org</strong>.*?organizer · since", shown.text, re.S)
        assert demote_me.status_code == 409
        assert "last admin: make someone else an admin first" in demote_me.text
        assert nonsense.status_code == 422
        assert "Choose one of the roles" in nonsense.text

    async def test_deactivating_logs_the_person_out_and_reactivating_lets_them_back(
        self, node: TestNode
    ) -> None:
        admin = await page_client(node, role=Role.admin)
        member = await page_client(node, role=Role.member)
        me = (await member.client.get("/api/v1/me")).json()
        page = await admin.get("/accounts")
        assert f'action="/accounts/{me["id"]}/deactivate"' in page.text
        assert '<details class="confirm">' in page.text  # asked once more before it happens

        off = await admin.post(f"/accounts/{me['id']}/deactivate")

        assert off.status_code == 303
        assert "is deactivated: logged out everywhere" in (await admin.get("/accounts")).text
        assert (await member.get("/canvass")).status_code == 303  # to the login page
        assert (await member.client.get("/api/v1/me")).status_code == 401
        on = await admin.post(f"/accounts/{me['id']}/reactivate")
        assert on.status_code == 303
        assert "is active again" in (await admin.get("/accounts")).text

    async def test_an_admin_cannot_deactivate_herself(self, node: TestNode) -> None:
        admin = await page_client(node, role=Role.admin)
        await node.add_user(role=Role.admin)  # not the last admin
        me = (await admin.client.get("/api/v1/me")).json()

        answer = await admin.post(f"/accounts/{me['id']}/deactivate")

        assert answer.status_code == 409
        assert "You cannot deactivate your own account" in answer.text
        assert (await admin.get("/accounts")).status_code == 200

    async def test_a_reset_link_for_someone_is_shown_once(self, node: TestNode) -> None:
        admin = await page_client(node, role=Role.admin)
        olga, _ = await node.add_user(role=Role.member, email="olga@example.org")

        answer = await admin.post(f"/accounts/{olga.id}/reset-link")

        assert answer.status_code == 200
        assert "Password reset link for olga@example.org" in answer.text
        token = token_in(answer.text, RESET_LINK)
        opened = await anonymous(node).get(f"/password/reset/{token}")
        assert opened.status_code == 200
        assert "olga@example.org" in opened.text

    async def test_the_page_and_its_forms_are_for_admins(self, node: TestNode) -> None:
        olga, _ = await node.add_user(role=Role.member, email="olga@example.org")
        for role in (Role.organizer, Role.member):
            client = await page_client(node, role=role)
            page = await client.get("/accounts")
            assert page.status_code == 403
            assert "This page is for admins" in page.text
            assert 'href="/accounts"' not in page.text  # no nav entry either
            refused = await client.post(f"/accounts/{olga.id}/role", {"role": "admin"})
            assert refused.status_code == 403
        assert (await anonymous(node).get("/accounts")).status_code == 303

    @pytest.mark.parametrize(
        "path",
        [
            "/accounts/invitations",
            "/accounts/invitations/1/cancel",
            "/accounts/{me}/role",
            "/accounts/{other}/deactivate",
            "/accounts/{other}/reactivate",
            "/accounts/{other}/reset-link",
            "/account/password",
        ],
    )
    async def test_every_form_needs_the_csrf_token(self, node: TestNode, path: str) -> None:
        admin = await page_client(node, role=Role.admin)
        await invite_on_page(admin, email="someone@example.org")
        other, _ = await node.add_user(role=Role.member, email="olga@example.org")
        me = (await admin.client.get("/api/v1/me")).json()
        form = {"email": ANA, "role": "admin", "current_password": PASSWORD,
                "new_password": NEW, "new_password_again": NEW}  # fmt: skip

        answer = await admin.post(path.format(me=me["id"], other=other.id), form, csrf=False)

        assert answer.status_code == 403
        assert "CSRF" in answer.text
        assert len(await queued(node)) == 1  # only the first invitation


class TestAcceptingAnInvitation:
    async def test_she_chooses_a_name_and_password_and_is_logged_in(self, node: TestNode) -> None:
        admin = await page_client(node, role=Role.admin, display_name="Rosa")
        token = await invite_on_page(admin)
        visitor = anonymous(node)

        page = await visitor.get(f"/invitations/{token}")
        answer = await fill(visitor, f"/invitations/{token}", accept_form())

        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "You are invited as <strong>member</strong>" in page.text
        assert answer.status_code == 303
        assert answer.headers["location"] == "/calendar"
        landing = await visitor.get("/calendar")
        assert "Welcome, Ana Flores. Your account is ready" in landing.text
        assert f"{ANA} (member)" in landing.text
        again = await visitor.get(f"/invitations/{token}")
        assert again.status_code == 410
        assert "already used" in again.text
        assert "Forgot the password? Ask for a reset link" in again.text

    async def test_bad_input_keeps_the_name_and_says_what_to_fix(self, node: TestNode) -> None:
        admin = await page_client(node, role=Role.admin)
        token = await invite_on_page(admin)
        visitor = anonymous(node)

        short = await fill(visitor, f"/invitations/{token}", accept_form(password="short"))
        differ = await fill(
            visitor,
            f"/invitations/{token}",
            {**accept_form(), "password_again": "something else entirely"},
        )
        nameless = await fill(visitor, f"/invitations/{token}", accept_form(name=" "))

        assert short.status_code == 422
        assert 'value="Ana Flores"' in short.text
        assert 'id="e-password">Use a password of at least 10 characters' in short.text
        assert differ.status_code == 422
        assert 'id="e-password_again">The two passwords are not the same' in differ.text
        assert nameless.status_code == 422
        assert 'id="e-display_name">Write the name others here will see' in nameless.text
        assert (await visitor.get(f"/invitations/{token}")).status_code == 200  # still usable

    async def test_the_form_needs_its_token(self, node: TestNode) -> None:
        admin = await page_client(node, role=Role.admin)
        token = await invite_on_page(admin)

        answer = await fill(anonymous(node), f"/invitations/{token}", accept_form(), token=False)

        assert answer.status_code == 403
        assert "The form expired" in answer.text
        assert (await anonymous(node).get(f"/invitations/{token}")).status_code == 200

    async def test_an_unknown_link_gets_a_plain_page(self, node: TestNode) -> None:
        page = await anonymous(node).get("/invitations/ipoinv_nothing-like-it")

        assert page.status_code == 404
        assert "This link does not work" in page.text
        assert "Ask an admin of Test ward33 for a new invitation." in page.text


class TestForgotPassword:
    async def test_the_same_page_answers_with_or_without_an_account(self, node: TestNode) -> None:
        await node.add_user(role=Role.member, email=ANA)
        login = await anonymous(node).get("/login")
        assert 'href="/password/forgot"' in login.text

        known = await fill(anonymous(node), "/password/forgot", {"email": ANA})
        unknown = await fill(anonymous(node), "/password/forgot", {"email": "nobody@example.org"})

        assert known.status_code == unknown.status_code == 303
        assert known.headers["location"] == unknown.headers["location"] == "/password/forgot/sent"
        sent = await anonymous(node).get("/password/forgot/sent")
        assert "If an account on Test ward33 has that email, we sent it a link" in sent.text
        assert ANA not in sent.text
        assert [to for to, _ in await queued(node, kind="password_reset")] == [ANA]

    async def test_the_link_works_once_and_logs_out_other_browsers(self, node: TestNode) -> None:
        await node.add_user(role=Role.member, email=ANA)
        elsewhere = await _logged_in_as(node, ANA)
        await fill(anonymous(node), "/password/forgot", {"email": ANA})
        token = await link_mailed_to(node, ANA, RESET_LINK)
        visitor = anonymous(node)
        form = {"password": NEW, "password_again": NEW}

        done = await fill(visitor, f"/password/reset/{token}", form)
        landing = await visitor.get("/calendar")
        again = await visitor.get(f"/password/reset/{token}")

        assert done.status_code == 303
        assert "Your new password is set and you are logged in" in landing.text
        assert again.status_code == 410
        assert "already used" in again.text
        assert (await elsewhere.get("/calendar")).status_code == 303  # logged out
        assert (await _logged_in_as(node, ANA, NEW)) is not None

    async def test_a_bad_address_is_said_next_to_the_field(self, node: TestNode) -> None:
        answer = await fill(anonymous(node), "/password/forgot", {"email": "ana@"})

        assert answer.status_code == 422
        assert 'value="ana@"' in answer.text
        assert "Write a whole email address" in answer.text

    async def test_too_many_requests_from_one_address_get_a_wait(self, node: TestNode) -> None:
        visitor = anonymous(node)
        for n in range(10):
            await fill(visitor, "/password/forgot", {"email": f"someone{n}@example.org"})

        answer = await fill(visitor, "/password/forgot", {"email": ANA})

        assert answer.status_code == 429
        assert "Too many password reset requests from your network address" in answer.text
        assert "Retry-After" in answer.headers

    async def test_the_forms_need_their_token(self, node: TestNode) -> None:
        await node.add_user(role=Role.member, email=ANA)
        answer = await fill(anonymous(node), "/password/forgot", {"email": ANA}, token=False)

        assert answer.status_code == 403
        assert await queued(node, kind="password_reset") == []


class TestYourAccount:
    async def test_changing_the_password_keeps_this_browser_and_logs_out_the_others(
        self, node: TestNode
    ) -> None:
        here = await page_client(node, role=Role.member)
        me = (await here.client.get("/api/v1/me")).json()
        elsewhere = await _logged_in_as(node, me["email"])
        page = await here.get("/account")
        assert page.status_code == 200
        assert "Change your password" in page.text

        wrong = await here.post(
            "/account/password",
            {"current_password": "nope nope nope", "new_password": NEW, "new_password_again": NEW},
        )
        short = await here.post(
            "/account/password",
            {"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
        )
        done = await here.post(
            "/account/password",
            {"current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW},
        )

        assert wrong.status_code == 422
        assert 'id="e-current_password">That is not your current password' in wrong.text
        assert short.status_code == 422
        assert 'id="e-new_password">Use a password of at least 10 characters' in short.text
        assert done.status_code == 303
        after = await here.get("/account")
        assert "Your password is changed. You were logged out of 1 other browser." in after.text
        assert (await elsewhere.get("/calendar")).status_code == 303

    async def test_anonymous_visitors_are_sent_to_log_in(self, node: TestNode) -> None:
        answer = await anonymous(node).get("/account")

        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")


async def _logged_in_as(node: TestNode, email: str, password: str = PASSWORD) -> httpx.AsyncClient:
    client = anonymous(node)
    login = await client.get("/login")
    [token] = re.findall(r'name="login_csrf" value="([^"]+)"', login.text)
    answer = await client.post(
        "/login", data={"email": email, "password": password, "login_csrf": token}
    )
    assert answer.status_code == 303, answer.text
    return client
