"""Member vote pages: open votes and results, casting a secret ballot with a confirmation,
admins opening and closing a vote, and what each role and a bad form get."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Browser, expect

from node.accounts.models import Role
from tests.endorsements import coalition, propose
from tests.nodes import NodeFactory, TestNode
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import PageClient, anonymous, page_client
from tests.web.test_accessibility import problems_on

Serve = Callable[[TestNode], Awaitable[str]]


async def asked_to_sign(node: TestNode) -> str:
    """An endorsement this node proposed and must sign itself; its id."""
    proposed = await propose(node, [node.url])
    return str(proposed["id"])


def vote_section(html: str) -> str:
    start = html.index('id="vote-title"')
    return html[start : html.index("</section>", start)]


async def opened(node: TestNode, endorsement: str) -> PageClient:
    admin = await page_client(node, role=Role.admin)
    answer = await admin.post(f"/votes/{endorsement}/open")
    assert answer.status_code == 303, answer.text
    return admin


class TestOpeningAVote:
    async def test_an_admin_opens_it_from_the_endorsement_page(self, node: TestNode) -> None:
        endorsement = await asked_to_sign(node)
        admin = await page_client(node, role=Role.admin)
        page = await admin.get(f"/endorsements/{endorsement}")
        assert "No member vote on this text." in page.text
        assert f'action="/votes/{endorsement}/open"' in page.text
        answer = await admin.post(
            f"/votes/{endorsement}/open",
            {"threshold_numerator": "1", "threshold_denominator": "2"},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/votes/{endorsement}"
        shown = await admin.get(answer.headers["location"])
        # everyone with an account now: the admin and the organizer who proposed it
        assert "The member vote is open: 2 people of Test ward33 may vote." in shown.text
        assert "1 in every 2 of the yes and no votes" in shown.text
        assert "Close the vote…" in shown.text
        again = await admin.get(f"/endorsements/{endorsement}")
        assert f'action="/votes/{endorsement}/open"' not in again.text
        assert "You have not voted" in again.text

    @pytest.mark.parametrize("role", [Role.member, Role.organizer])
    async def test_only_admins_open_and_close_it(self, node: TestNode, role: Role) -> None:
        endorsement = await asked_to_sign(node)
        other = await page_client(node, role=role)
        page = await other.get(f"/votes/{endorsement}")
        assert "An admin of" in page.text
        assert "/open" not in page.text
        assert (await other.post(f"/votes/{endorsement}/open")).status_code == 403
        await opened(node, endorsement)
        page = await other.get(f"/votes/{endorsement}")
        assert "Close the vote" not in page.text
        refused = await other.post(f"/votes/{endorsement}/close")
        assert refused.status_code == 403
        assert "This page is for admins" in refused.text

    @pytest.mark.parametrize(
        ("numerator", "denominator", "status", "words"),
        [
            ("abc", "3", 422, "The yes votes needed is a whole number from 1 to 1000"),
            ("2", "0", 422, "The votes counted is a whole number from 1 to 1000"),
            ("9" * 23, "3", 422, "The yes votes needed is a whole number from 1 to 1000"),
            ("5", "3", 409, "The threshold cannot be more than the whole."),
        ],
    )
    async def test_a_bad_threshold_gets_the_form_back_with_its_values(
        self, node: TestNode, numerator: str, denominator: str, status: int, words: str
    ) -> None:
        endorsement = await asked_to_sign(node)
        admin = await page_client(node, role=Role.admin)
        answer = await admin.post(
            f"/votes/{endorsement}/open",
            {"threshold_numerator": numerator, "threshold_denominator": denominator},
        )
        assert answer.status_code == status
        assert words in answer.text
        assert f'value="{numerator}"' in answer.text
        assert "Input should" not in answer.text
        assert "No member vote on this text yet." in answer.text  # nothing was opened

    async def test_the_form_needs_the_csrf_token(self, node: TestNode) -> None:
        endorsement = await asked_to_sign(node)
        admin = await page_client(node, role=Role.admin)
        assert (await admin.post(f"/votes/{endorsement}/open", csrf=False)).status_code == 403
        assert "No member vote on this text yet." in (await admin.get(f"/votes/{endorsement}")).text


class TestCastingABallot:
    async def test_she_confirms_her_choice_and_then_sees_only_that_her_ballot_is_in(
        self, node: TestNode
    ) -> None:
        endorsement = await asked_to_sign(node)
        member = await page_client(node, role=Role.member)
        await opened(node, endorsement)
        page = await member.get(f"/votes/{endorsement}")
        assert 'name="choice" value="no"' in page.text
        confirm = await member.get(f"/votes/{endorsement}/confirm?choice=no")
        assert confirm.status_code == 200
        assert "You are voting <strong>No</strong>" in confirm.text
        assert "cannot be changed" in confirm.text
        cast = await member.post(f"/votes/{endorsement}/ballot", {"choice": "no"})
        assert cast.status_code == 303
        after = await member.get(cast.headers["location"])
        assert "Your ballot is in." in after.text
        section = vote_section(after.text)
        assert "Your ballot is in." in section
        assert not re.search(r"\bNo\b", section)  # the choice is never said back
        assert 'name="choice"' not in section
        # and once only
        again = await member.post(f"/votes/{endorsement}/ballot", {"choice": "yes"})
        assert again.status_code == 409
        assert "You have already voted." in again.text
        # a confirmation page after voting only leads back
        stale = await member.get(f"/votes/{endorsement}/confirm?choice=yes")
        assert stale.status_code == 303

    @pytest.mark.parametrize("choice", ["", "maybe", "YES!", "\u0443es"])
    async def test_no_choice_or_a_made_up_one_gets_the_vote_back_saying_so(
        self, node: TestNode, choice: str
    ) -> None:
        endorsement = await asked_to_sign(node)
        member = await page_client(node, role=Role.member)
        await opened(node, endorsement)
        for answer in (
            await member.get(f"/votes/{endorsement}/confirm?choice={choice}"),
            await member.post(f"/votes/{endorsement}/ballot", {"choice": choice}),
        ):
            assert answer.status_code == 422
            assert "Choose yes, no or abstain." in answer.text
        page = await member.get(f"/votes/{endorsement}")
        assert 'name="choice" value="yes"' in page.text  # still hers to cast

    async def test_someone_who_joined_after_it_opened_may_not_vote(self, node: TestNode) -> None:
        endorsement = await asked_to_sign(node)
        await opened(node, endorsement)
        late = await page_client(node, role=Role.member)
        page = await late.get(f"/votes/{endorsement}")
        assert "it is not yours to vote" in page.text
        assert 'name="choice"' not in page.text
        refused = await late.post(f"/votes/{endorsement}/ballot", {"choice": "yes"})
        assert refused.status_code == 403
        assert "You were not a member when this vote opened." in refused.text

    async def test_a_ballot_needs_the_csrf_token_and_a_login(self, node: TestNode) -> None:
        endorsement = await asked_to_sign(node)
        member = await page_client(node, role=Role.member)
        await opened(node, endorsement)
        forged = await member.post(f"/votes/{endorsement}/ballot", {"choice": "yes"}, csrf=False)
        assert forged.status_code == 403
        assert 'name="choice" value="yes"' in (await member.get(f"/votes/{endorsement}")).text
        for path in ("/votes", f"/votes/{endorsement}"):
            visitor = await anonymous(node).get(path)
            assert visitor.status_code == 303
            assert visitor.headers["location"].startswith("/login")


class TestTheListAndTheResult:
    async def test_counts_stay_hidden_until_closed_then_everyone_sees_them(
        self, node: TestNode
    ) -> None:
        endorsement = await asked_to_sign(node)
        voters = [await page_client(node, role=Role.member) for _ in range(3)]
        admin = await opened(node, endorsement)
        for voter, choice in zip(voters, ["yes", "yes", "abstain"], strict=True):
            cast = await voter.post(f"/votes/{endorsement}/ballot", {"choice": choice})
            assert cast.status_code == 303
        listing = await voters[0].get("/votes")
        open_part = listing.text[listing.text.index("Open votes") : listing.text.index("Closed")]
        assert "Ada Organizer" in open_part
        assert "Your ballot is in" in open_part
        assert "Yes 2" not in listing.text
        assert "No vote has closed yet." in listing.text
        # When the admin closes it
        closed = await admin.post(f"/votes/{endorsement}/close")
        assert closed.status_code == 303
        shown = await admin.get(closed.headers["location"])
        assert "The member vote is closed and counted: it passed." in shown.text
        # Then the result is on the list and the vote page, for a member too
        listing = await voters[1].get("/votes")
        closed_part = listing.text[listing.text.index("Closed votes") :]
        assert "Passed" in closed_part
        assert "Yes 2 · No 0 · Abstain 1 · 3 of 5 voted" in closed_part
        assert "No vote is open now." in listing.text
        page = await voters[1].get(f"/votes/{endorsement}")
        assert re.search(r"<dt>Yes</dt><dd>2</dd>", page.text)
        assert "You voted" in page.text
        endorsement_page = await voters[1].get(f"/endorsements/{endorsement}")
        assert "Yes 2 · No 0 · Abstain 1" in endorsement_page.text
        # and it cannot be closed twice
        assert (await admin.post(f"/votes/{endorsement}/close")).status_code == 409

    async def test_members_find_votes_in_the_menu(self, node: TestNode) -> None:
        member = await page_client(node, role=Role.member)
        page = await member.get("/calendar")
        assert '<a href="/votes">Votes</a>' in page.text
        empty = await member.get("/votes")
        assert "No vote is open now." in empty.text
        assert "No vote has closed yet." in empty.text

    async def test_an_endorsement_this_node_is_not_asked_to_sign_has_no_vote(
        self, nodes: NodeFactory
    ) -> None:
        node, ally = await coalition(nodes, ("ward33", "ward30"))
        proposed = await propose(node, [ally.url])
        admin = await page_client(node, role=Role.admin)
        page = await admin.get(f"/votes/{proposed['id']}")
        assert "is not asked to sign this endorsement" in page.text
        assert "Member vote" not in (await admin.get(f"/endorsements/{proposed['id']}")).text
        assert (await admin.get("/votes/no-such-endorsement")).status_code == 404


class TestInTheBrowser:
    @pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
    async def test_an_admin_opens_a_member_votes_and_the_admin_closes_it(
        self, node: TestNode, serve: Serve, browser: Browser, phone: bool
    ) -> None:
        size = "phone" if phone else "desktop"
        endorsement = await asked_to_sign(node)
        base = await serve(node)
        member = await logged_in_page(browser, base, node, role=Role.member, phone=phone)
        admin = await logged_in_page(browser, base, node, role=Role.admin, phone=phone)
        # Given the admin on the endorsement page, she opens a member vote
        await admin.goto(f"{base}/endorsements/{endorsement}")
        await admin.get_by_text("Open a member vote…").click()
        await expect(admin.get_by_label("Yes votes")).to_have_value("2")
        assert await problems_on(admin) == []
        await screenshot(admin, f"votes-open-form-{size}")
        await admin.get_by_role("button", name="Open the member vote").click()
        await expect(admin.get_by_role("status")).to_contain_text("The member vote is open")
        # When the member finds it under Votes and votes, confirming her choice
        await member.goto(f"{base}/calendar")
        await member.get_by_role("link", name="Votes", exact=True).click()
        await expect(member.get_by_text("You have not voted")).to_be_visible()
        assert not phone or await fits_phone_width(member)
        assert await problems_on(member) == []
        await screenshot(member, f"votes-list-open-{size}")
        await member.get_by_role("link", name="Vote", exact=True).click()
        await member.get_by_label("Yes").check()
        assert not phone or await fits_phone_width(member)
        assert await problems_on(member) == []
        await screenshot(member, f"votes-ballot-{size}")
        await member.get_by_role("button", name="Review my vote").click()
        await expect(member.get_by_role("heading", level=1)).to_have_text("Vote “Yes”?")
        assert await problems_on(member) == []
        await screenshot(member, f"votes-confirm-{size}")
        await member.get_by_role("button", name="Cast my vote: Yes").click()
        # Then she is told her ballot is in, and not what it was
        await expect(member.locator(".ballot-in")).to_contain_text("Your ballot is in.")
        await expect(member.get_by_label("Yes")).to_have_count(0)
        await screenshot(member, f"votes-ballot-in-{size}")
        # When the admin closes it, confirming first
        await admin.reload()
        await admin.get_by_text("Close the vote…").click()
        await expect(admin.get_by_text("cannot vote any more")).to_be_visible()
        await screenshot(admin, f"votes-close-confirm-{size}")
        await admin.get_by_role("button", name="Close and count the vote").click()
        await expect(admin.get_by_role("status")).to_contain_text("it passed")
        # Then everyone sees the result
        await member.goto(f"{base}/votes")
        closed = member.locator("article", has_text="Ada Organizer")
        await expect(closed).to_contain_text("Passed")
        await expect(closed).to_contain_text("Yes 1 · No 0 · Abstain 0 · 1 of 3 voted")
        assert not phone or await fits_phone_width(member)
        assert await problems_on(member) == []
        await screenshot(member, f"votes-list-closed-{size}")
        await member.get_by_role("link", name="Ada Organizer").click()
        await expect(member.locator(".vote-result")).to_contain_text("Passed")
        assert await problems_on(member) == []
        await screenshot(member, f"votes-result-{size}")
