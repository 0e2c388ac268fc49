"""Wrong passwords are throttled per account and per client address, in the database.

Each node here runs with small limits and short locks (settings ``login_*``); waiting for a
lock to end is a poll with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import re
import time

import httpx
from fastapi import FastAPI

from node.accounts.models import Role
from node.main import create_app
from tests.nodes import NodeFactory, TestNode

PASSWORD = "correct horse battery"
WRONG = "not the password"
DEADLINE = 30.0
LOGIN_FORM_TOKEN = re.compile(r'name="login_csrf" value="([^"]+)"')


def client_from(node: TestNode, host: str, app: FastAPI | None = None) -> httpx.AsyncClient:
    """A client whose requests come from ``host`` (as uvicorn reports the peer)."""
    transport = httpx.ASGITransport(app=app or node.app, client=(host, 50000))
    client = httpx.AsyncClient(transport=transport, base_url=node.url)
    node.stack.push_async_callback(client.aclose)
    return client


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def until_unlocked(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """Try to log in until the answer is not 429 (a refused try counts for nothing)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        response = await log_in(client, email, password)
        if response.status_code != 429:
            return response
        assert time.monotonic() < deadline, f"still locked after {DEADLINE} s: {response.text}"
        await asyncio.sleep(0.05)


def assert_throttled(response: httpx.Response, *, says: str, at_most: int) -> int:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "login_throttled"
    assert says in error["message"]
    assert "Try again in" in error["message"]
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= at_most
    return retry_after


class TestAnAccountUnderGuessing:
    async def test_wrong_passwords_lock_it_and_even_the_right_one_waits(
        self, nodes: NodeFactory
    ) -> None:
        node = await nodes.start(login_account_failures=3, login_lockout_seconds=600)
        user, _ = await node.add_user(role=Role.member)
        answers = [(await log_in(node.client, user.email, WRONG)).status_code for _ in range(3)]
        assert answers == [401, 401, 401]

        locked = await log_in(node.client, user.email, PASSWORD)
        assert_throttled(locked, says="wrong passwords for this account", at_most=600)
        assert "set-cookie" not in locked.headers

    async def test_an_unknown_email_is_throttled_the_same_way(self, nodes: NodeFactory) -> None:
        node = await nodes.start(login_account_failures=2, login_lockout_seconds=600)
        for _ in range(2):
            assert (await log_in(node.client, "nobody@ward33.example", WRONG)).status_code == 401
        refused = await log_in(node.client, "Nobody@ward33.example", WRONG)
        assert_throttled(refused, says="for this account", at_most=600)

    async def test_the_lock_doubles_with_each_failure_up_to_its_cap(
        self, nodes: NodeFactory
    ) -> None:
        node = await nodes.start(
            login_account_failures=1, login_lockout_seconds=2, login_account_lockout_max_seconds=4
        )
        user, _ = await node.add_user(role=Role.member)
        waits = []
        for _ in range(3):
            assert (await until_unlocked(node.client, user.email, WRONG)).status_code == 401
            refused = await log_in(node.client, user.email, WRONG)
            waits.append(assert_throttled(refused, says="for this account", at_most=4))
        # 2 s, then 4 s, then still 4 s (Retry-After is rounded up from what is left)
        assert waits[0] <= 2 < waits[1]
        assert waits[2] > 2

    async def test_after_the_lock_the_right_password_works_and_clears_the_count(
        self, nodes: NodeFactory
    ) -> None:
        node = await nodes.start(login_account_failures=2, login_lockout_seconds=1)
        user, _ = await node.add_user(role=Role.member)
        for _ in range(2):
            await log_in(node.client, user.email, WRONG)
        assert (await log_in(node.client, user.email, PASSWORD)).status_code == 429

        assert (await until_unlocked(node.client, user.email, PASSWORD)).status_code == 200
        # The count starts again: one more mistake is a plain 401, and the next try is let in
        assert (await log_in(node.client, user.email, WRONG)).status_code == 401
        assert (await log_in(node.client, user.email, PASSWORD)).status_code == 200

    async def test_the_lock_holds_on_every_serve_process(self, nodes: NodeFactory) -> None:
        # Given the node's second serve process: another app on the same database
        node = await nodes.start(login_account_failures=2, login_lockout_seconds=600)
        second = create_app(node.settings)
        await node.stack.enter_async_context(second.router.lifespan_context(second))
        user, _ = await node.add_user(role=Role.member)
        for _ in range(2):
            await log_in(node.client, user.email, WRONG)

        refused = await log_in(client_from(node, "127.0.0.1", second), user.email, PASSWORD)
        assert_throttled(refused, says="for this account", at_most=600)


class TestAnAddressThatGuesses:
    async def test_failures_on_many_accounts_lock_the_address_not_the_others(
        self, nodes: NodeFactory
    ) -> None:
        node = await nodes.start(login_address_failures=3, login_lockout_seconds=600)
        user, _ = await node.add_user(role=Role.member)
        guesser = client_from(node, "198.51.100.7")
        for n in range(3):
            answer = await log_in(guesser, f"someone{n}@ward33.example", WRONG)
            assert answer.status_code == 401

        refused = await log_in(guesser, user.email, PASSWORD)
        assert_throttled(refused, says="from your network address", at_most=600)
        elsewhere = await log_in(client_from(node, "203.0.113.9"), user.email, PASSWORD)
        assert elsewhere.status_code == 200

    async def test_an_ipv6_client_counts_as_its_slash_64(self, nodes: NodeFactory) -> None:
        node = await nodes.start(login_address_failures=2, login_lockout_seconds=600)
        user, _ = await node.add_user(role=Role.member)
        await log_in(client_from(node, "2001:db8:1:2::10"), "a@ward33.example", WRONG)
        await log_in(client_from(node, "2001:db8:1:2:ffff::1"), "b@ward33.example", WRONG)

        refused = await log_in(client_from(node, "2001:db8:1:2::99"), user.email, PASSWORD)
        assert_throttled(refused, says="from your network address", at_most=600)
        other_network = await log_in(client_from(node, "2001:db8:1:3::10"), user.email, PASSWORD)
        assert other_network.status_code == 200


class TestTheOwnersBrowser:
    async def test_someone_elses_guesses_do_not_lock_out_a_browser_that_logged_in_before(
        self, nodes: NodeFactory
    ) -> None:
        # Given a member who logged in once from her browser
        node = await nodes.start(login_account_failures=3, login_lockout_seconds=600)
        user, _ = await node.add_user(role=Role.member)
        hers = client_from(node, "203.0.113.20")
        assert (await log_in(hers, user.email, PASSWORD)).status_code == 200
        assert "ipo_device" in hers.cookies
        hers.cookies.delete("ipo_session")

        # When someone elsewhere guesses her password until the account locks
        guesser = client_from(node, "198.51.100.7")
        for _ in range(3):
            await log_in(guesser, user.email, WRONG)
        assert (await log_in(guesser, user.email, PASSWORD)).status_code == 429

        # Then her browser still gets in, and a new browser of hers waits like everyone
        assert (await log_in(hers, user.email, PASSWORD)).status_code == 200
        new_browser = client_from(node, "203.0.113.20")
        assert (await log_in(new_browser, user.email, PASSWORD)).status_code == 429

    async def test_a_device_cookie_is_good_for_its_own_account_only(
        self, nodes: NodeFactory
    ) -> None:
        node = await nodes.start(login_account_failures=2, login_lockout_seconds=600)
        mine, _ = await node.add_user(role=Role.member)
        theirs, _ = await node.add_user(role=Role.member)
        guesser = client_from(node, "198.51.100.7")
        assert (await log_in(guesser, mine.email, PASSWORD)).status_code == 200
        for _ in range(2):
            await log_in(guesser, theirs.email, WRONG)
        assert (await log_in(guesser, theirs.email, PASSWORD)).status_code == 429


class TestTheLoginPage:
    async def test_it_says_when_to_try_again(self, nodes: NodeFactory) -> None:
        node = await nodes.start(login_account_failures=2, login_lockout_seconds=120)
        user, _ = await node.add_user(role=Role.member)
        browser = node.client_with()
        [token] = LOGIN_FORM_TOKEN.findall((await browser.get("/login")).text)
        form = {"email": user.email, "login_csrf": token}
        for _ in range(2):
            wrong = await browser.post("/login", data={**form, "password": WRONG})
            assert wrong.status_code == 401

        refused = await browser.post("/login", data={**form, "password": PASSWORD})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 120
        assert "Too many wrong passwords for this account. Try again in 2 minutes." in (
            refused.text
        )
        assert 'role="alert"' in refused.text
        assert "ipo_session" not in refused.cookies

    async def test_a_nul_in_the_email_is_refused_not_an_error(self, node: TestNode) -> None:
        browser = node.client_with()
        [token] = LOGIN_FORM_TOKEN.findall((await browser.get("/login")).text)
        response = await browser.post(
            "/login", data={"email": "a\x00@ward33.example", "password": WRONG, "login_csrf": token}
        )
        assert response.status_code == 400  # refused with every NUL in a body, never a 500
