"""Forum plan pages: a co-host accepts, takes a role and works in a real browser; who may act."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from playwright.async_api import Browser, expect

from federation.storage import utcnow
from node.accounts.models import Role
from tests.forums.test_lifecycle import forum_body, plan_on
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import anonymous, page_client
from tests.worlds import spec, star

Serve = Callable[[TestNode], Awaitable[str]]
TITLE = "Mayoral candidate forum"


async def planned_forum(nodes: NodeFactory) -> tuple[TestNode, TestNode, TestNode, dict]:
    """ward33 plans a forum with ward30 and ward35 as invited co-hosts."""
    origin, ward30, ward35 = await nodes.world(
        star, (spec("ward33", wards=[33]), spec("ward30", wards=[30]), spec("ward35", wards=[35]))
    )
    organizer = await origin.as_role(Role.organizer)
    created = await organizer.post(
        "/api/v1/forums", json=forum_body([ward30.url, ward35.url], origin.url)
    )
    assert created.status_code == 201, created.text
    await deliver_all(origin, ward30, ward35)
    return origin, ward30, ward35, created.json()


class TestCoHostingInTheBrowser:
    async def test_a_co_host_accepts_takes_a_role_and_the_organizer_sees_it(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        # Given ward30 is invited to co-host ward33's forum
        origin, ward30, ward35, forum = await planned_forum(nodes)
        local = await plan_on(ward30, forum["object_id"])
        base = await serve(ward30)
        admin = await logged_in_page(browser, base, ward30, role=Role.admin)

        # When its admin accepts, then (once the organizer applied it) takes the open role
        await admin.goto(f"{base}/forums")
        await screenshot(admin, "forums-list")
        await admin.get_by_role("link", name=TITLE).click()
        await expect(admin.get_by_role("button", name="Take the role timekeeper")).to_have_count(0)
        await admin.get_by_role("button", name="Accept: co-host this forum").click()
        await expect(admin.get_by_role("status").first).to_contain_text("Sent to Test ward33")
        await deliver_all(origin, ward30, ward35)
        await admin.reload()
        await expect(admin.locator("main")).to_contain_text("Test ward30 is accepted")
        await admin.get_by_role("button", name="Take the role timekeeper").click()
        await admin.get_by_label("Submit a question for the candidates").fill(
            "How will you fund the Red Line extension?"
        )
        await admin.get_by_role("button", name="Submit question").click()
        await admin.get_by_role("button", name="Mark “Childcare” done").click()
        await deliver_all(origin, ward30, ward35)
        await admin.goto(f"{base}/forums/{local['id']}")
        timekeeper = admin.get_by_role("row", name=re.compile("timekeeper"))
        await expect(timekeeper).to_contain_text("Test ward30")
        await screenshot(admin, "forum-co-host")

        # Then the organizer's page shows the acceptance, the role, the question and the task
        origin_base = await serve(origin)
        host = await logged_in_page(browser, origin_base, origin, role=Role.organizer)
        await host.goto(f"{origin_base}/forums/{forum['id']}")
        co_hosts = host.locator("ul.plain").first
        await expect(
            co_hosts.get_by_role("listitem").filter(has_text="Test ward30")
        ).to_contain_text("accepted")
        await expect(
            co_hosts.get_by_role("listitem").filter(has_text="Test ward35")
        ).to_contain_text("invited")
        await expect(host.get_by_role("row", name=re.compile("timekeeper"))).to_contain_text(
            "Test ward30"
        )
        await expect(host.get_by_role("row", name=re.compile("Childcare"))).to_contain_text("done")
        question = host.locator("li.card").filter(has_text="Red Line extension")
        await expect(question).to_contain_text("From Test ward30")
        await question.get_by_role("button", name="Select").click()
        await expect(question).to_contain_text("selected")
        await screenshot(host, "forum-organizer")
        await deliver_all(origin, ward30, ward35)
        synced = await plan_on(ward35, forum["object_id"])
        assert [q["status"] for q in synced["question_submissions"]] == ["selected"]

        phone = await logged_in_page(browser, base, ward30, role=Role.member, phone=True)
        await phone.goto(f"{base}/forums/{local['id']}")
        await expect(phone.get_by_role("heading", name=TITLE)).to_be_visible()
        await expect(phone.get_by_role("button", name="Take the role timekeeper")).to_have_count(0)
        assert await fits_phone_width(phone)
        await screenshot(phone, "forum-phone")
        await phone.goto(f"{base}/forums")
        assert await fits_phone_width(phone)


class TestPlanningAForum:
    async def test_an_organizer_plans_one_and_fills_in_the_lists(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        origin, ward30 = await nodes.world(
            star, (spec("ward33", wards=[33]), spec("ward30", wards=[30]))
        )
        base = await serve(origin)
        page = await logged_in_page(browser, base, origin, role=Role.organizer, phone=True)
        await page.goto(f"{base}/forums")
        await expect(page.get_by_text("No forum plans yet.")).to_be_visible()
        await page.get_by_role("link", name="Plan a forum").click()
        day = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
        await page.get_by_label("Title").fill("Aldermanic forum")
        await page.get_by_label("Starts (Chicago time)").fill(f"{day}T18:00")
        await page.get_by_label("Ends").fill(f"{day}T20:00")
        await page.get_by_label("Venue").fill("Hairpin Arts Center")
        await page.get_by_label("Test ward30").check()
        await page.get_by_label("Accessibility notes").press("Tab")
        await page.get_by_role("button", name="Plan the forum").click()
        await expect(page.get_by_role("status").first).to_contain_text("Forum planned")
        await page.get_by_label("New role").fill("moderator")
        await page.get_by_label("Held by").select_option(label="Test ward33")
        await page.get_by_role("button", name="Add role").click()
        await page.get_by_label("Agenda item").fill("Opening statements")
        await page.get_by_label("Minutes").fill("15")
        await page.get_by_role("button", name="Add to agenda").click()
        await page.get_by_label("Candidate to invite").fill("B. Candidate")
        await page.get_by_label("Race").fill("Alderperson, 33rd ward")
        await page.get_by_role("button", name="Invite candidate").click()
        await page.get_by_label("Answer from B. Candidate").select_option("confirmed")
        await page.get_by_role("button", name="Save answer").click()
        await page.get_by_label("New task").fill("Book interpreters")
        await page.get_by_label("Owner").select_option(label="Test ward30")
        await page.get_by_role("button", name="Add task").click()
        await expect(page.get_by_role("row", name=re.compile("moderator"))).to_contain_text(
            "Test ward33"
        )
        await expect(page.locator("ol.agenda")).to_contain_text("Opening statements · 15 min")
        await expect(page.get_by_role("row", name=re.compile("B. Candidate"))).to_contain_text(
            "confirmed"
        )
        await expect(page.get_by_role("row", name=re.compile("Book interpreters"))).to_contain_text(
            "Test ward30"
        )
        assert await fits_phone_width(page)
        await screenshot(page, "forum-edit-phone")
        await deliver_all(origin, ward30)
        [plan] = (await (await ward30.as_role(Role.member)).get("/api/v1/forums")).json()
        assert plan["title"] == "Aldermanic forum"
        assert [t["title"] for t in plan["tasks"]] == ["Book interpreters"]


class TestPermissions:
    async def test_a_co_hosts_member_sees_no_actions_and_cannot_post_them(
        self, nodes: NodeFactory
    ) -> None:
        origin, ward30, _, forum = await planned_forum(nodes)
        local = await plan_on(ward30, forum["object_id"])
        member = await page_client(ward30, role=Role.member)
        page = await member.get(f"/forums/{local['id']}")
        assert page.status_code == 200
        assert TITLE in page.text
        assert "Accept: co-host this forum" not in page.text
        refused = await member.post(f"/forums/{local['id']}/accept")
        assert refused.status_code == 403
        organizer = await page_client(ward30, role=Role.organizer)
        assert (
            "Accept: co-host this forum" not in (await organizer.get(f"/forums/{local['id']}")).text
        )
        assert (await organizer.post(f"/forums/{local['id']}/accept")).status_code == 403
        assert (await deliver_all(origin, ward30)) == 0  # nothing was sent

    async def test_a_co_host_cannot_edit_the_organizers_plan(self, nodes: NodeFactory) -> None:
        origin, ward30, _, forum = await planned_forum(nodes)
        local = await plan_on(ward30, forum["object_id"])
        organizer = await page_client(ward30, role=Role.organizer)
        page = await organizer.get(f"/forums/{local['id']}")
        assert "Edit the plan" not in page.text
        edit = {"title": "Hijacked", "start": "2030-01-31T18:00", "end": "2030-01-31T20:00"}
        refused = await organizer.post(f"/forums/{local['id']}/edit", edit)
        assert refused.status_code == 409
        assert "only that node edits the plan" in refused.text
        assert (await plan_on(origin, forum["object_id"]))["title"] == TITLE

    async def test_anonymous_visitors_are_sent_to_login(self, nodes: NodeFactory) -> None:
        origin = await nodes.start("ward33")
        answer = await anonymous(origin).get("/forums")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Fforums"

    async def test_an_accept_without_the_csrf_token_is_refused(self, nodes: NodeFactory) -> None:
        origin, ward30, _, forum = await planned_forum(nodes)
        local = await plan_on(ward30, forum["object_id"])
        admin = await page_client(ward30, role=Role.admin)
        refused = await admin.post(f"/forums/{local['id']}/accept", csrf=False)
        assert refused.status_code == 403
        assert (await deliver_all(origin, ward30)) == 0
        accepted = await admin.post(f"/forums/{local['id']}/accept")
        assert accepted.status_code == 303
        assert (await deliver_all(origin, ward30)) > 0
        statuses = [c["status"] for c in (await plan_on(origin, forum["object_id"]))["co_hosts"]]
        assert statuses == ["accepted", "invited"]
