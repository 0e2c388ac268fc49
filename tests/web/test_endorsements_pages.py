"""Endorsement pages: an ally's admin signs in a real browser; who may answer, and CSRF."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from playwright.async_api import Browser, expect

from node.accounts.models import Role
from tests.endorsements import ENDORSEMENTS, body, propose
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import anonymous, page_client
from tests.worlds import spec, star

Serve = Callable[[TestNode], Awaitable[str]]
STATEMENT = "We endorse Ada Organizer for mayor: housing, transit, schools."


async def two_groups(nodes: NodeFactory) -> tuple[TestNode, TestNode]:
    a, b = await nodes.world(star, (spec("ward33", wards=[33]), spec("ward30", wards=[30])))
    return a, b


async def local_id(node: TestNode, object_id: str) -> str:
    admin = await node.as_role(Role.admin)
    items = (await admin.get(ENDORSEMENTS)).json()["items"]
    [found] = [item["id"] for item in items if item["object_id"] == object_id]
    return str(found)


class TestSigningInTheBrowser:
    async def test_an_allys_admin_signs_and_both_nodes_show_it_ratified(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        # Given ward33 proposed an endorsement that it and ward30 must both sign, and signed it
        a, b = await two_groups(nodes)
        proposed = await propose(a, [a.url, b.url])
        a_admin = await a.as_role(Role.admin)
        signed = await a_admin.post(
            f"{ENDORSEMENTS}/{proposed['id']}/sign", json={"content_version": 1}
        )
        assert signed.status_code == 200, signed.text
        await deliver_all(a, b)
        b_id = await local_id(b, proposed["object_id"])
        base = await serve(b)
        page = await logged_in_page(browser, base, b, role=Role.admin)

        # When ward30's admin opens it from the list, reads the text and signs
        await page.goto(f"{base}/endorsements")
        await expect(page.get_by_role("cell", name="1 of 2 signed")).to_be_visible()
        await screenshot(page, "endorsements-list")
        await page.get_by_role("link", name="Ada Organizer").click()
        await expect(page.get_by_text(STATEMENT)).to_be_visible()
        ward30_row = page.get_by_role("row", name=re.compile("Test ward30"))
        await expect(ward30_row).to_contain_text("pending")
        await expect(page.get_by_role("row", name=re.compile("Test ward33"))).to_contain_text(
            "signed at"
        )
        await screenshot(page, "endorsement-detail")
        await page.get_by_role("link", name="Sign…").click()
        await expect(page.get_by_role("heading", name="Sign for Test ward30?")).to_be_visible()
        await expect(page.locator(".statement")).to_have_text(STATEMENT)
        await screenshot(page, "endorsement-confirm-sign")
        await page.get_by_role("button", name="Sign for Test ward30").click()

        # Then the page says so; once delivered, both groups show it signed and ratified
        await expect(page.get_by_role("status").first).to_contain_text("You signed for Test ward30")
        # (before the proposer has it, the row says so, rather than a stale "pending")
        await expect(ward30_row).to_contain_text("signed here")
        await expect(ward30_row).to_contain_text("on its way to Test ward33")
        await expect(page.get_by_role("link", name="Sign…")).to_have_count(0)
        await deliver_all(a, b)
        await page.reload()
        await expect(ward30_row).to_contain_text("signed at")
        await expect(page.locator("p > .badge").first).to_have_text("ratified")
        check = page.get_by_label("Signature check")
        await expect(check).to_contain_text("Verified by this node")
        # each signer by its group's name, as the signer rows name them
        await expect(check).to_contain_text("Test ward33: signed, signature holds")
        await expect(check).to_contain_text("Test ward30: signed, signature holds")
        assert page.url.endswith(f"/endorsements/{b_id}")
        await expect(page.get_by_text("Withdraw our signature…")).to_be_visible()
        async with page.expect_download() as download:
            await page.get_by_role("link", name="Download verification bundle").click()
        assert (await download.value).suggested_filename == f"endorsement-{b_id}.json"

        a_page = await logged_in_page(browser, await serve(a), a, role=Role.member, phone=True)
        await a_page.goto(a_page.url.replace("/calendar", f"/endorsements/{proposed['id']}"))
        await expect(a_page.locator("p > .badge").first).to_have_text("ratified")
        await expect(a_page.get_by_role("row", name=re.compile("Test ward30"))).to_contain_text(
            "signed at"
        )
        assert await fits_phone_width(a_page)
        await screenshot(a_page, "endorsement-detail-phone")
        await a_page.goto(a_page.url.replace(f"/{proposed['id']}", ""))
        assert await fits_phone_width(a_page)


class TestProposing:
    async def test_an_organizer_drafts_then_sends_it(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        a, b = await two_groups(nodes)
        base = await serve(a)
        page = await logged_in_page(browser, base, a, role=Role.organizer, phone=True)
        await page.goto(f"{base}/endorsements")
        await expect(page.get_by_text("No endorsements yet.")).to_be_visible()
        await page.get_by_role("link", name="Propose an endorsement").click()
        await page.get_by_role("button", name="Save draft").click()  # the browser refuses
        await page.get_by_label("Candidate's name").fill("Ada Organizer")
        await page.get_by_label("District").fill("citywide")
        await page.get_by_label("Election day").fill("2031-02-25")
        await page.get_by_label("Statement").fill(STATEMENT)
        await page.get_by_role("button", name="Save draft").click()
        await expect(page.get_by_role("alert")).to_contain_text("Choose at least one group")
        await page.get_by_label("Test ward30").check()
        assert await fits_phone_width(page)
        await screenshot(page, "endorsement-propose-phone")
        await page.get_by_role("button", name="Save draft").click()
        await expect(page.get_by_role("status")).to_contain_text("Draft saved")
        await expect(page.locator("p > .badge").first).to_have_text("draft")
        await page.get_by_role("button", name="Send to the signers").click()
        await expect(page.locator("p > .badge").first).to_have_text("collecting")
        await deliver_all(a, b)
        b_admin = await b.as_role(Role.admin)
        [replica] = (await b_admin.get(ENDORSEMENTS)).json()["items"]
        assert replica["statement"] == STATEMENT
        assert replica["status"] == "collecting"


class TestEditingAndWithdrawing:
    async def test_an_edit_says_it_voids_the_signatures_and_does(self, nodes: NodeFactory) -> None:
        a, b = await two_groups(nodes)
        proposed = await propose(a, [a.url, b.url])
        path = f"/endorsements/{proposed['id']}"
        admin = await page_client(a, role=Role.admin)
        signed = await admin.post(f"{path}/answer/sign", {"content_version": "1"})
        assert signed.status_code == 303
        form = await admin.get(f"{path}/edit")
        assert "Saving a change voids every signature collected so far" in form.text
        assert STATEMENT in form.text
        edited = await admin.post(f"{path}/edit", {
            "candidate": "Ada Organizer", "office": "mayor", "district": "citywide",
            "election_date": "2031-02-25", "election_type": "primary", "tier": "endorse",
            "statement": "A shorter text.", "signers": [a.url, b.url], "rule": "all",
        })  # fmt: skip
        assert edited.status_code == 303
        page = await admin.get(path)
        assert "A shorter text." in page.text
        assert "text version 2" in page.text
        assert "signed at" not in page.text
        assert (await find_signed(a, proposed["id"])) == 0

    async def test_a_withdrawn_answer_shows_as_withdrawn(self, nodes: NodeFactory) -> None:
        a, b = await two_groups(nodes)
        proposed = await propose(a, [a.url, b.url])
        path = f"/endorsements/{proposed['id']}"
        admin = await page_client(a, role=Role.admin)
        await admin.post(f"{path}/answer/sign", {"content_version": "1"})
        assert "Withdraw our signature" in (await admin.get(path)).text
        withdrawn = await admin.post(f"{path}/signature/withdraw")
        assert withdrawn.status_code == 303
        page = await admin.get(path)
        assert re.search(r'data-signer="http://ward33.test">\s*<span class="badge muted">'
                         r"withdrawn</span>", page.text)  # fmt: skip
        assert "Sign…" in page.text
        assert (await find_signed(a, proposed["id"])) == 0

    async def test_declining_shows_the_text_first_then_the_decline(
        self, nodes: NodeFactory
    ) -> None:
        a, b = await two_groups(nodes)
        proposed = await propose(a, [a.url, b.url])
        path = f"/endorsements/{proposed['id']}"
        admin = await page_client(a, role=Role.admin)
        confirm = await admin.get(f"{path}/answer/decline")
        assert "Decline for Test ward33?" in confirm.text
        assert STATEMENT in confirm.text
        declined = await admin.post(f"{path}/answer/decline", {"content_version": "1"})
        assert declined.status_code == 303
        page = await admin.get(path)
        assert '<span class="badge bad">declined</span>' in page.text
        assert "Withdraw our decline" in page.text


class TestPermissions:
    async def test_a_member_sees_no_answer_buttons_and_cannot_post_one(
        self, nodes: NodeFactory
    ) -> None:
        a, b = await two_groups(nodes)
        proposed = await propose(a, [a.url, b.url])
        member = await page_client(a, role=Role.member)
        page = await member.get(f"/endorsements/{proposed['id']}")
        assert page.status_code == 200
        assert STATEMENT in page.text
        assert "Sign…" not in page.text
        assert "Decline…" not in page.text
        refused = await member.post(
            f"/endorsements/{proposed['id']}/answer/sign", {"content_version": "1"}
        )
        assert refused.status_code == 403
        assert "Not allowed" in refused.text
        confirm = await member.get(f"/endorsements/{proposed['id']}/answer/sign")
        assert confirm.status_code == 403
        assert (await find_signed(a, proposed["id"])) == 0

    async def test_an_admin_of_a_group_not_asked_to_sign_is_refused(
        self, nodes: NodeFactory
    ) -> None:
        a, b = await two_groups(nodes)
        proposed = await propose(a, [b.url])
        admin = await page_client(a, role=Role.admin)
        page = await admin.get(f"/endorsements/{proposed['id']}")
        assert "Sign…" not in page.text
        refused = await admin.post(
            f"/endorsements/{proposed['id']}/answer/sign", {"content_version": "1"}
        )
        assert refused.status_code == 403
        assert "is not among the endorsement" in refused.text

    async def test_anonymous_visitors_are_sent_to_login(self, nodes: NodeFactory) -> None:
        a, _ = await two_groups(nodes)
        answer = await anonymous(a).get("/endorsements")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fendorsements"

    async def test_a_sign_without_the_csrf_token_is_refused_and_changes_nothing(
        self, nodes: NodeFactory
    ) -> None:
        a, b = await two_groups(nodes)
        proposed = await propose(a, [a.url, b.url])
        admin = await page_client(a, role=Role.admin)
        refused = await admin.post(
            f"/endorsements/{proposed['id']}/answer/sign", {"content_version": "1"}, csrf=False
        )
        assert refused.status_code == 403
        assert "CSRF" in refused.text
        assert (await find_signed(a, proposed["id"])) == 0
        signed = await admin.post(
            f"/endorsements/{proposed['id']}/answer/sign", {"content_version": "1"}
        )
        assert signed.status_code == 303
        assert (await find_signed(a, proposed["id"])) == 1

    async def test_a_stale_text_is_refused_in_words(self, nodes: NodeFactory) -> None:
        a, b = await two_groups(nodes)
        proposed = await propose(a, [a.url, b.url])
        organizer = await a.as_role(Role.organizer)
        edited = await organizer.patch(
            f"{ENDORSEMENTS}/{proposed['id']}", json={"statement": "A new text."}
        )
        assert edited.status_code == 200, edited.text
        admin = await page_client(a, role=Role.admin)
        refused = await admin.post(
            f"/endorsements/{proposed['id']}/answer/sign", {"content_version": "1"}
        )
        assert refused.status_code == 409
        assert "Read it again before answering" in refused.text
        assert body([a.url])["statement"] not in refused.text


async def find_signed(node: TestNode, endorsement_id: str) -> int:
    admin = await node.as_role(Role.admin)
    found = (await admin.get(f"{ENDORSEMENTS}/{endorsement_id}")).json()
    return int(found["signed"])
