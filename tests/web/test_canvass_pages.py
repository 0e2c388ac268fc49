"""Canvass pages: relaying an ally's call, signing up with and without consent, the fill."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from playwright.async_api import Browser, Page, expect

from federation.storage import utcnow
from node.accounts.models import Role
from tests.canvass.helpers import ally_shares, post_call, relay, replica, sign_up, volunteer
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import anonymous, page_client
from tests.worlds import spec, star

Serve = Callable[[TestNode], Awaitable[str]]
TITLE = "Saturday doors for the referendum"


async def host_and_ally(nodes: NodeFactory) -> tuple[TestNode, TestNode]:
    host, other = await nodes.world(star, (spec("ward33", wards=[33]), spec("ward35", wards=[35])))
    return host, other


async def sign_up_in_browser(page: Page, *, consent: bool) -> None:
    if consent:
        await page.get_by_label("Share my email and phone number with Test ward33").check()
    await page.get_by_role("button", name="Sign up for this shift").click()
    await expect(page.get_by_role("status").first).to_contain_text("You're signed up for")
    await expect(page.get_by_text("Withdraw from this shift…")).to_be_visible()


class TestSigningUpForAnAllysShift:
    async def test_relay_sign_up_and_the_host_sees_the_fill_move(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        # Given ward33 posted a call for 10 and one of its own members signed up
        host, other = await host_and_ally(nodes)
        call = await post_call(host, capacity=10)
        local = await volunteer(host)
        assert (await sign_up(local, call)).status_code == 201
        await deliver_all(host, other)
        call_here = await replica(other, call["object_id"])
        base = await serve(other)

        # When ward35's organizer relays it, and two of its members sign up in the browser
        organizer = await logged_in_page(browser, base, other, role=Role.organizer)
        await organizer.goto(f"{base}/canvass")
        await expect(organizer.get_by_text("not relayed")).to_be_visible()
        await organizer.get_by_role("link", name=TITLE).click()
        await organizer.get_by_role("button", name="Relay to our members").click()
        await expect(organizer.get_by_role("status").first).to_contain_text("Relayed")

        sharer = await logged_in_page(browser, base, other, role=Role.member, phone=True)
        await sharer.goto(f"{base}/canvass")
        await expect(
            sharer.get_by_text("You have not signed up for any shift yet.")
        ).to_be_visible()
        await sharer.get_by_role("link", name=TITLE).click()
        await expect(
            sharer.get_by_text("only learns that one volunteer from Test ward35")
        ).to_be_visible()
        assert await fits_phone_width(sharer)
        await screenshot(sharer, "canvass-call-phone")
        await sign_up_in_browser(sharer, consent=True)
        await expect(sharer.locator(".shift")).to_contain_text("shared your email and phone")

        private = await logged_in_page(browser, base, other, role=Role.member)
        await private.goto(f"{base}/canvass/{call_here['id']}")
        await sign_up_in_browser(private, consent=False)
        await expect(private.locator(".shift")).to_contain_text("knows you only by a code name")

        # Then, once delivered, the host's page shows 3 of 10 and only the consented contact
        await deliver_all(host, other)
        host_base = await serve(host)
        host_page = await logged_in_page(browser, host_base, host, role=Role.organizer)
        await host_page.goto(f"{host_base}/canvass/{call['id']}")
        await expect(host_page.get_by_role("img", name="3 of 10 filled")).to_be_visible()
        await expect(host_page.get_by_text("3 of 10 committed")).to_be_visible()
        roster = host_page.locator("table.roster")
        await expect(roster.get_by_role("row", name=re.compile("Test ward35"))).to_have_count(2)
        await expect(roster).to_contain_text("@ward35.example")
        await expect(roster.get_by_text("not shared")).to_have_count(2)  # ours and the other
        await screenshot(host_page, "canvass-call-host")
        await host_page.goto(f"{host_base}/canvass")
        await expect(host_page.get_by_role("img", name="3 of 10 filled")).to_be_visible()
        await screenshot(host_page, "canvass-list")

        # And the volunteer's page shows her place confirmed; she can withdraw
        await sharer.goto(f"{base}/canvass")
        await expect(sharer.locator("ul.plain")).to_contain_text("committed")
        assert await fits_phone_width(sharer)
        await screenshot(sharer, "canvass-list-phone")
        await sharer.get_by_role("link", name=TITLE).first.click()
        await sharer.get_by_text("Withdraw from this shift…").click()
        await sharer.get_by_role("button", name="Yes, withdraw from this shift").click()
        await expect(sharer.get_by_role("status").first).to_contain_text("withdrawn")
        await deliver_all(host, other)
        await host_page.goto(f"{host_base}/canvass/{call['id']}")
        await expect(host_page.get_by_role("img", name="2 of 10 filled")).to_be_visible()


class TestPostingACall:
    async def test_an_organizer_posts_a_call_with_two_shifts(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        host, other = await host_and_ally(nodes)
        base = await serve(host)
        page = await logged_in_page(browser, base, host, role=Role.organizer, phone=True)
        await page.goto(f"{base}/canvass")
        await expect(page.get_by_text("No canvass calls yet.")).to_be_visible()
        await page.get_by_role("link", name="Post a canvass call").click()
        start = (utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT10:00")
        await page.get_by_label("Title").fill("Sunday lit drop")
        await page.get_by_label("Candidate or referendum name").fill("Ada Organizer")
        await page.get_by_label("Wards").fill("33, 35")
        await page.get_by_label("Staging location").fill("33WF office")
        await page.locator("#f-start_0").fill(start)
        await page.locator("#f-end_0").fill(start.replace("T10", "T09"))
        await page.locator("#f-capacity_0").fill("8")
        await page.get_by_role("button", name="Post the call").click()
        await expect(page.get_by_role("alert")).to_contain_text("Shift 1")
        await page.locator("#f-end_0").fill(start.replace("T10", "T13"))
        await page.locator("#f-start_1").fill(start.replace("T10", "T14"))
        await page.locator("#f-end_1").fill(start.replace("T10", "T17"))
        await page.locator("#f-capacity_1").fill("4")
        await page.get_by_label("Places each ally may fill per shift").fill("3")
        assert await fits_phone_width(page)
        await screenshot(page, "canvass-new-phone")
        # Chromium's date-time field keeps the first click after a fill: press Enter instead
        await page.locator("#f-capacity_1").press("Enter")
        await expect(page.get_by_role("status").first).to_contain_text("Posted")
        await expect(page.get_by_role("img", name="0 of 8 filled")).to_be_visible()
        await expect(page.get_by_role("img", name="0 of 4 filled")).to_be_visible()
        # Cancelling asks once more: the first click only opens the question
        await page.get_by_text("Cancel this shift…").last.click()
        await expect(page.locator(".shift .badge.bad")).to_have_count(0)
        await page.get_by_role("button", name="Yes, cancel this shift").last.click()
        await expect(page.locator(".shift .badge.bad")).to_have_count(1)
        await deliver_all(host, other)
        ally_organizer = await other.as_role(Role.organizer)
        [found] = (await ally_organizer.get("/api/v1/canvass-calls")).json()
        assert found["title"] == "Sunday lit drop"
        assert [s["status"] for s in found["shifts"]] == ["open", "cancelled"]
        [posted] = (await (await host.as_role(Role.organizer)).get("/api/v1/canvass-calls")).json()
        assert (await ally_shares(host, posted))["ally_share"] == 3


class TestPermissions:
    async def test_a_member_cannot_relay_post_or_see_an_unrelayed_call(
        self, nodes: NodeFactory
    ) -> None:
        host, other = await host_and_ally(nodes)
        call = await post_call(host)
        await deliver_all(host, other)
        call_here = await replica(other, call["object_id"])
        member = await page_client(other, role=Role.member)
        assert (await member.get(f"/canvass/{call_here['id']}")).status_code == 404
        listed = await member.get("/canvass")
        assert TITLE not in listed.text
        assert "No canvass calls yet." in listed.text
        relayed = await member.post(f"/canvass/{call_here['id']}/relay")
        assert relayed.status_code == 403
        assert (await member.get("/canvass/new")).status_code == 403
        assert (await replica(other, call["object_id"]))["relayed"] is False

    async def test_a_host_member_sees_no_roster_and_cannot_cancel(self, nodes: NodeFactory) -> None:
        host, _ = await host_and_ally(nodes)
        call = await post_call(host)
        member = await page_client(host, role=Role.member)
        page = await member.get(f"/canvass/{call['id']}")
        assert page.status_code == 200
        assert "Who is coming" not in page.text
        assert "Cancel the whole call" not in page.text
        cancelled = await member.post(f"/canvass/{call['id']}/cancel")
        assert cancelled.status_code == 403
        assert (await replica(host, call["object_id"]))["status"] == "active"

    async def test_anonymous_visitors_are_sent_to_login(self, nodes: NodeFactory) -> None:
        host, _ = await host_and_ally(nodes)
        answer = await anonymous(host).get("/canvass")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fcanvass"

    async def test_a_sign_up_without_the_csrf_token_is_refused(self, nodes: NodeFactory) -> None:
        host, _ = await host_and_ally(nodes)
        call = await post_call(host, capacity=5)
        member = await page_client(host, role=Role.member)
        path = f"/canvass/{call['id']}/shifts/{call['shifts'][0]['id']}/signup"
        refused = await member.post(path, {"share_contact": "true"}, csrf=False)
        assert refused.status_code == 403
        assert (await replica(host, call["object_id"]))["shifts"][0]["committed"] == 0
        accepted = await member.post(path, {"share_contact": "true"})
        assert accepted.status_code == 303
        assert (await replica(host, call["object_id"]))["shifts"][0]["committed"] == 1
        again = await member.post(path)
        assert again.status_code == 409
        assert "already signed up" in again.text


class TestEachAllysShare:
    async def test_the_host_sees_who_filled_what_and_the_refused_volunteer_sees_why(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        # Given a 4-place shift shared with one ally (a fair share of 2), a host member signed
        # up, and two of ward35's volunteers holding its share
        host, other = await host_and_ally(nodes)
        call = await post_call(host, capacity=4)
        await deliver_all(host, other)
        call_here = await relay(other, call)
        assert (await sign_up(await volunteer(host), call)).status_code == 201
        for _ in range(2):
            assert (await sign_up(await volunteer(other), call_here)).status_code == 201
        await deliver_all(host, other)
        base = await serve(other)

        # When a third ward35 volunteer signs up in the browser
        third = await logged_in_page(browser, base, other, role=Role.member, phone=True)
        await third.goto(f"{base}/canvass/{call_here['id']}")
        await sign_up_in_browser(third, consent=False)
        await deliver_all(host, other)

        # Then her pages say the host refused her, and why
        why = "Your group has filled its share of this shift"
        await third.goto(f"{base}/canvass/{call_here['id']}")
        await expect(third.locator(".shift .alert")).to_contain_text(
            "Test ward33 refused your sign-up for this shift: " + why
        )
        assert await fits_phone_width(third)
        await screenshot(third, "canvass-share-refused-phone")
        await third.goto(f"{base}/canvass")
        await expect(third.locator("ul.plain")).to_contain_text(why)
        await third.set_viewport_size({"width": 1280, "height": 900})
        await screenshot(third, "canvass-share-refused-list")

        # And the host's organizer sees, per shift, what each group holds and its limit
        host_base = await serve(host)
        page = await logged_in_page(browser, host_base, host, role=Role.organizer)
        await page.goto(f"{host_base}/canvass/{call['id']}")
        shares = page.locator("table.shares")
        ours = shares.get_by_role("row", name=re.compile("Test ward33"))
        await expect(ours).to_contain_text("(our members)")
        await expect(ours).to_contain_text("only the capacity")
        theirs = shares.get_by_role("row", name=re.compile("Test ward35"))
        await expect(theirs.locator("td")).to_have_text(["Test ward35", "2", "0", "2 share full"])
        await screenshot(page, "canvass-share-host")

        # When she gives each ally 3 places per shift
        await page.get_by_label("Places each ally may fill per shift").fill("3")
        await page.get_by_role("button", name="Save the limit").click()
        await expect(page.get_by_role("status").first).to_contain_text(
            "Each ally may now fill 3 places per shift."
        )
        await expect(theirs.locator("td")).to_have_text(["Test ward35", "2", "0", "3"])
        await expect(page.get_by_label("Places each ally may fill per shift")).to_have_value("3")
        assert (await ally_shares(host, call))["ally_share"] == 3
        phone = await logged_in_page(browser, host_base, host, role=Role.organizer, phone=True)
        await phone.goto(f"{host_base}/canvass/{call['id']}")
        await expect(phone.locator("table.shares")).to_contain_text("Places held")
        assert await fits_phone_width(phone)
        await screenshot(phone, "canvass-share-host-phone")

    async def test_a_bad_share_is_a_422_page_and_changes_nothing(self, nodes: NodeFactory) -> None:
        host, _ = await host_and_ally(nodes)
        call = await post_call(host, ally_share=5)
        organizer = await page_client(host, role=Role.organizer)
        for bad in ("0", "-2", "2.5", "lots", "10001"):
            answer = await organizer.post(f"/canvass/{call['id']}/ally-share", {"ally_share": bad})
            assert answer.status_code == 422, bad
            assert "The limit per ally was not changed" in answer.text
            assert f'value="{bad}"' in answer.text
        assert (await ally_shares(host, call))["ally_share"] == 5
        # Blank goes back to the fair share
        answer = await organizer.post(f"/canvass/{call['id']}/ally-share", {"ally_share": ""})
        assert answer.status_code == 303
        assert (await ally_shares(host, call))["ally_share"] is None

    async def test_a_member_cannot_set_the_share(self, nodes: NodeFactory) -> None:
        host, _ = await host_and_ally(nodes)
        call = await post_call(host)
        member = await page_client(host, role=Role.member)
        page = await member.get(f"/canvass/{call['id']}")
        assert "Places by group" not in page.text
        assert "Places each ally may fill" not in page.text
        answer = await member.post(f"/canvass/{call['id']}/ally-share", {"ally_share": "1"})
        assert answer.status_code == 403
        assert (await ally_shares(host, call))["ally_share"] is None


class TestFirstNameConsent:
    async def test_the_host_roster_shows_her_first_name_only_when_she_ticked_it(
        self, nodes: NodeFactory
    ) -> None:
        # Given a host whose call an ally relayed to its members
        host, other = await host_and_ally(nodes)
        call = await post_call(host, capacity=5, ally_share=5)  # one ally, three volunteers
        await deliver_all(host, other)
        relayed = await replica(other, call["object_id"])
        organizer = await page_client(other, role=Role.organizer)
        assert (await organizer.post(f"/canvass/{relayed['id']}/relay")).status_code == 303
        path = f"/canvass/{relayed['id']}/shifts/{relayed['shifts'][0]['id']}/signup"
        # ... a volunteer with a member record, and two with only a login, whose account's
        # name is all their node knows of them
        recorded = await volunteer(other, marker="Rec")
        maria = await page_client(other, role=Role.member, display_name="Maria Lopez")
        rosa = await page_client(other, role=Role.member, display_name="Rosa Diaz")
        # When two tick "share my first name" and one does not
        assert (await sign_up(recorded, relayed, share_first_name=True)).status_code == 201
        assert (await maria.post(path, {"share_first_name": "true"})).status_code == 303
        assert (await rosa.post(path)).status_code == 303
        await deliver_all(host, other)
        # Then each one's page says what the host learned
        assert "You shared your first name" in (await maria.get(f"/canvass/{relayed['id']}")).text
        assert "knows you only by a code name" in (await rosa.get(f"/canvass/{relayed['id']}")).text
        # And the host's roster shows the first names shared, never a surname, and otherwise
        # only the handle
        roster_page = await page_client(host, role=Role.organizer)
        roster = (await roster_page.get(f"/canvass/{call['id']}")).text
        assert "GivenRec" in roster
        assert "Maria" in roster
        assert not {"Lopez", "Rosa", "Diaz", "FamilyRec"} & set(re.findall(r"\w+", roster))
        api = await host.as_role(Role.organizer)
        rows = (
            await api.get(
                f"/api/v1/canvass-calls/{call['id']}/shifts/{call['shifts'][0]['id']}/commitments"
            )
        ).json()
        assert sorted(row["given_name"] or "" for row in rows) == ["", "GivenRec", "Maria"]
        [unnamed] = [row for row in rows if row["given_name"] is None]
        assert unnamed["handle"] in roster

    async def test_with_no_name_known_her_page_does_not_claim_one_was_shared(
        self, nodes: NodeFactory
    ) -> None:
        host, other = await host_and_ally(nodes)
        call = await post_call(host, capacity=5)
        await deliver_all(host, other)
        relayed = await replica(other, call["object_id"])
        organizer = await page_client(other, role=Role.organizer)
        await organizer.post(f"/canvass/{relayed['id']}/relay")
        nameless = await page_client(other, role=Role.member)
        path = f"/canvass/{relayed['id']}/shifts/{relayed['shifts'][0]['id']}/signup"
        answer = await nameless.post(path, {"share_first_name": "true"})
        assert answer.status_code == 303
        page = await nameless.get(answer.headers["location"])
        assert "has no first name for you, so none was shared" in page.text
        assert "knows you only by a code name" in page.text
