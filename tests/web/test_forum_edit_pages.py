"""Editing a forum plan on its page: every item edited, moved and removed (asked once more),
bad input kept beside its field, the host doing its own tasks and questions, and who may.

The page posts to the same service calls as the API; each post ends on the plan's page with a
notice, and co-hosts get the edited plan whole.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from html import unescape
from typing import Any

from playwright.async_api import Browser, Page, expect

from node.accounts.models import Role
from tests.forums.test_editing import by, planned
from tests.forums.test_lifecycle import plan_on
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import PageClient, page_client
from tests.web.test_accessibility import problems_on

Serve = Callable[[TestNode], Awaitable[str]]


def text_of(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed, as a reader sees them."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


Form = dict[str, str | list[str]]


async def posted(client: PageClient, path: str, data: Form | None = None) -> str:
    """Post a form, follow its 303 and return the page's words (with the notice)."""
    answer = await client.post(path, data or {})
    assert answer.status_code == 303, (path, answer.status_code, text_of(answer.text)[:500])
    page = await client.get(answer.headers["location"])
    assert page.status_code == 200
    return text_of(page.text)


async def host(nodes: NodeFactory) -> tuple[TestNode, TestNode, PageClient, dict[str, Any]]:
    (origin, ward30, _), forum = await planned(nodes)
    return origin, ward30, await page_client(origin, role=Role.organizer), forum


class TestEditingEachList:
    async def test_agenda_items_are_edited_moved_and_removed(self, nodes: NodeFactory) -> None:
        origin, _, client, forum = await host(nodes)
        base = f"/forums/{forum['id']}/agenda"
        welcome, questions = forum["agenda_items"]
        page = await posted(
            client, f"{base}/{welcome['id']}/edit", {"title": "Welcome", "duration_minutes": "10"}
        )
        assert "Agenda item “Welcome” saved." in page
        assert "Welcome · 10 min" in page
        page = await posted(client, f"{base}/{welcome['id']}/move", {"direction": "down"})
        assert "Agenda item “Welcome” moved down." in page
        assert page.index("Questions · 60 min") < page.index("Welcome · 10 min")
        page = await posted(client, f"{base}/{questions['id']}/move", {"direction": "up"})
        assert "is already first" in page
        page = await posted(client, f"{base}/{questions['id']}/remove")
        assert "Agenda item “Questions” removed from the plan." in page
        assert "Questions · 60 min" not in page
        plan = await plan_on(origin, forum["object_id"])
        assert [(a["title"], a["position"]) for a in plan["agenda_items"]] == [("Welcome", 0)]

    async def test_roles_are_renamed_reassigned_moved_and_removed(self, nodes: NodeFactory) -> None:
        origin, ward30, client, forum = await host(nodes)
        base = f"/forums/{forum['id']}/roles"
        page = await posted(
            client, f"{base}/timekeeper/edit", {"name": "time/keeper", "assigned_to": ward30.url}
        )
        assert "Role “time/keeper” saved." in page
        page = await posted(client, f"{base}/time/keeper/move", {"direction": "up"})
        plan = await plan_on(origin, forum["object_id"])
        assert [(r["name"], r.get("assigned_to")) for r in plan["roles"]] == [
            ("time/keeper", ward30.url),
            ("moderator", origin.url),
            ("interpreter", ward30.url),
        ]
        page = await posted(client, f"{base}/moderator/remove")
        assert "Role “moderator” removed from the plan." in page
        assert [r["name"] for r in (await plan_on(origin, forum["object_id"]))["roles"]] == [
            "time/keeper",
            "interpreter",
        ]

    async def test_candidates_are_edited_moved_and_removed(self, nodes: NodeFactory) -> None:
        origin, _, client, forum = await host(nodes)
        base = f"/forums/{forum['id']}/candidates"
        await posted(client, base, {"name": "B. Candidate", "race": "Alderperson, 33rd ward"})
        first, second = (await plan_on(origin, forum["object_id"]))["candidate_invitations"]
        page = await posted(
            client, f"{base}/{first['id']}/edit", {"name": "A. Candidate", "race": "Mayor (2031)"}
        )
        assert "Candidate “A. Candidate” saved." in page
        assert "Mayor (2031)" in page
        await posted(client, f"{base}/{second['id']}/move", {"direction": "up"})
        plan = await plan_on(origin, forum["object_id"])
        assert [c["name"] for c in plan["candidate_invitations"]] == [
            "B. Candidate",
            "A. Candidate",
        ]
        page = await posted(client, f"{base}/{first['id']}/remove")
        assert "Candidate “A. Candidate” removed from the plan." in page
        plan = await plan_on(origin, forum["object_id"])
        assert [c["id"] for c in plan["candidate_invitations"]] == [second["id"]]

    async def test_tasks_are_edited_moved_and_removed(self, nodes: NodeFactory) -> None:
        origin, ward30, client, forum = await host(nodes)
        room, childcare, livestream = forum["tasks"]
        base = f"/forums/{forum['id']}/tasks"
        page = await posted(
            client,
            f"{base}/{room['id']}/edit",
            {"title": "Book the hall", "owner": ward30.url, "due_date": "2030-01-20T12:00"},
        )
        assert "Task “Book the hall” saved." in page
        assert "Book the hall · due Sun, Jan 20, 2030, 12:00 pm CST" in page
        await posted(client, f"{base}/{livestream['id']}/move", {"direction": "up"})
        await posted(client, f"{base}/{room['id']}/remove")
        plan = await plan_on(origin, forum["object_id"])
        assert [t["id"] for t in plan["tasks"]] == [livestream["id"], childcare["id"]]

    async def test_the_description_is_written_on_the_plan(self, nodes: NodeFactory) -> None:
        origin, _, client, forum = await host(nodes)
        details = {"title": forum["title"], "start": "2030-01-31T18:00", "end": "2030-01-31T20:00",
                   "description": "Five candidates answer the ward's questions.",
                   "status": "confirmed"}  # fmt: skip
        page = await posted(client, f"/forums/{forum['id']}/edit", details)
        assert "Plan saved." in page
        assert "About Five candidates answer the ward's questions." in page
        plan = await plan_on(origin, forum["object_id"])
        assert plan["description"] == "Five candidates answer the ward's questions."


class TestBadInputComesBack:
    async def test_each_form_keeps_what_was_typed_and_says_what_to_fix(
        self, nodes: NodeFactory
    ) -> None:
        origin, _, client, forum = await host(nodes)
        welcome = forum["agenda_items"][0]
        task = forum["tasks"][0]
        base = f"/forums/{forum['id']}"
        cases: list[tuple[str, Form, str, str | None]] = [
            (f"{base}/agenda/{welcome['id']}/edit",
             {"title": "Opening words", "duration_minutes": "0"},
             "Minutes: give a whole number from 1 to 600.", 'value="Opening words"'),
            (f"{base}/agenda", {"title": "", "duration_minutes": "5"},
             "Agenda item: give a title of 1 to 200 characters, on one line.", 'value="5"'),
            (f"{base}/roles/timekeeper/edit", {"name": "moderator", "assigned_to": ""},
             "Another role is already called moderator: give this one another name.",
             'value="moderator"'),
            (f"{base}/roles", {"name": "timekeeper", "assigned_to": ""},
             "Two roles are called timekeeper: give each role its own name.", 'value="timekeeper"'),
            (f"{base}/tasks/{task['id']}/edit",
             {"title": "Book it", "owner": origin.url, "due_date": "soon"},
             "Due: give a date and time, or leave it empty.", 'value="soon"'),
            (f"{base}/tasks", {"title": "Chairs", "owner": "http://stranger.test"},
             "A task's owner is this group or a co-host.", 'value="Chairs"'),
            (f"{base}/candidates", {"name": "C. Candidate", "race": ""},
             "Race: give the race of 1 to 200 characters, on one line.", 'value="C. Candidate"'),
            (f"{base}/edit", {"title": "Moved forum", "start": "2030-01-31T18:00",
                              "end": "2030-01-31T17:00", "status": "confirmed"},
             "Ends: give a date and time, not before the start.", 'value="Moved forum"'),
            (f"{base}/questions", {"text": " "}, "Question: write 1 to 1,000 characters.", None),
        ]  # fmt: skip
        for path, data, message, kept in cases:
            answer = await client.post(path, data)
            assert answer.status_code == 422, (path, text_of(answer.text)[:300])
            words = text_of(answer.text)
            assert "Nothing was saved." in words
            assert words.count(message) == 2, (path, message)  # at the top, and by its field
            if kept:
                assert kept in answer.text, path
            if "/edit" in path and path != f"{base}/edit":
                assert '<details class="edit" open>' in answer.text, path
        after = await plan_on(origin, forum["object_id"])
        assert after["version"] == forum["version"]
        assert after["title"] == forum["title"]
        assert (await deliver_all(origin)) == 0


class TestANewPlanHasADescription:
    async def test_it_is_written_when_planning_and_a_bad_end_is_said_plainly(
        self, node: TestNode
    ) -> None:
        client = await page_client(node, role=Role.organizer)
        form: Form = {"title": "Ward night", "start": "2030-03-01T18:00", "end": "2030-03-01T17:00",
                      "description": "Meet the candidates.", "visibility": "coalition"}  # fmt: skip
        refused = await client.post("/forums/new", form)
        assert refused.status_code == 422
        assert "Ends: give a date and time, not before the start." in text_of(refused.text)
        assert "Meet the candidates.</textarea>" in refused.text
        page = await posted(client, "/forums/new", {**form, "end": "2030-03-01T20:00"})
        assert "About Meet the candidates." in page


class TestWhoMayEditOnThePage:
    async def test_a_co_host_sees_no_tools_and_cannot_post_them(self, nodes: NodeFactory) -> None:
        origin, ward30, _, forum = await host(nodes)
        local = await plan_on(ward30, forum["object_id"])
        co_host = await page_client(ward30, role=Role.admin)
        page = text_of((await co_host.get(f"/forums/{local['id']}")).text)
        for tool in ("Move up", "Move down", "Edit the", "Remove the", "Add role"):
            assert tool not in page, tool
        task = local["tasks"][0]["id"]
        base = f"/forums/{local['id']}"
        edits: tuple[tuple[str, Form], ...] = (
            (f"{base}/tasks/{task}/edit", {"title": "Ours now", "owner": ward30.url}),
            (f"{base}/tasks/{task}/remove", {}),
            (f"{base}/roles/timekeeper/move", {"direction": "up"}),
            (f"{base}/agenda/{local['agenda_items'][0]['id']}/remove", {}),
        )
        for path, data in edits:
            refused = await co_host.post(path, data)
            assert refused.status_code == 409, path
            assert "only that node edits the plan" in refused.text
        assert await plan_on(ward30, forum["object_id"]) == local
        assert (await plan_on(origin, forum["object_id"]))["version"] == forum["version"]

    async def test_a_member_of_the_organizing_node_cannot_either(self, nodes: NodeFactory) -> None:
        origin, _, _, forum = await host(nodes)
        member = await page_client(origin, role=Role.member)
        page = text_of((await member.get(f"/forums/{forum['id']}")).text)
        assert "Remove the" not in page
        assert "Submit a question" not in page
        task = forum["tasks"][0]["id"]
        refused = await member.post(f"/forums/{forum['id']}/tasks/{task}/remove")
        assert refused.status_code == 403
        assert (await plan_on(origin, forum["object_id"]))["tasks"] == forum["tasks"]


class TestTheHostDoesItsOwnShare:
    async def test_it_marks_its_task_done_and_submits_a_question(self, nodes: NodeFactory) -> None:
        origin, ward30, client, forum = await host(nodes)
        room, childcare, _ = forum["tasks"]
        page = text_of((await client.get(f"/forums/{forum['id']}")).text)
        assert "Mark “Book the room” done" in page
        assert "Mark “Childcare” done" not in page  # ward30's
        page = await posted(client, f"/forums/{forum['id']}/tasks/{room['id']}/done")
        assert "Task marked done. Co-hosts get the new plan now." in page
        page = await posted(
            client, f"/forums/{forum['id']}/questions", {"text": "Will you fund the libraries?"}
        )
        assert "Question submitted. Co-hosts get the new plan now." in page
        assert "Will you fund the libraries? From Test ward33 · pending" in page
        refused = await client.post(f"/forums/{forum['id']}/tasks/{childcare['id']}/done")
        assert refused.status_code == 403
        await deliver_all(origin, ward30)
        replica = await plan_on(ward30, forum["object_id"])
        assert by(replica["tasks"], "id", room["id"])["done"] is True
        assert [q["submitted_by"] for q in replica["question_submissions"]] == [origin.url]


async def check(page: Page, name: str, *, phone: bool) -> None:
    assert await problems_on(page) == [], name
    if phone:
        assert await fits_phone_width(page), name
    await screenshot(page, name)


class TestEditingInTheBrowser:
    async def test_the_host_edits_moves_and_removes_and_a_co_host_sees_it(
        self, nodes: NodeFactory, serve: Serve, browser: Browser
    ) -> None:
        (origin, ward30, ward35), forum = await planned(nodes)
        base = await serve(origin)
        for phone, size in ((False, "desktop"), (True, "phone")):
            page = await logged_in_page(browser, base, origin, role=Role.organizer, phone=phone)
            await page.goto(f"{base}/forums/{forum['id']}")
            await check(page, f"forum-edit-{size}-plan", phone=phone)
            agenda = page.locator("ol.agenda > li")
            if not phone:
                # Edit an agenda item in place, then move it below the next one
                first = agenda.first
                await first.locator("summary", has_text="Edit").click()
                await first.get_by_label("Title").fill("Welcome and ground rules")
                await first.get_by_label("Minutes").fill("10")
                await check(page, f"forum-edit-{size}-item-open", phone=phone)
                await first.get_by_role("button", name="Save").click()
                await expect(page.get_by_role("status")).to_have_text(
                    "Agenda item “Welcome and ground rules” saved."
                )
                await agenda.first.get_by_role("button", name="Move down").click()
                await expect(agenda.last).to_contain_text("Welcome and ground rules · 10 min")
                # A name another role has comes back beside its field, nothing saved
                row = page.get_by_role("row", name=re.compile("timekeeper"))
                await row.locator("summary", has_text="Edit").click()
                await row.get_by_role("textbox", name=re.compile("^Role")).fill("moderator")
                await row.get_by_role("button", name="Save").click()
                await expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
                row = page.get_by_role("row", name=re.compile("Take the role timekeeper"))
                await expect(row.locator(".error")).to_have_text(
                    "Another role is already called moderator: give this one another name."
                )
                await check(page, f"forum-edit-{size}-refused", phone=phone)
            else:
                # On a phone: remove a task, asked once more
                row = page.get_by_role("row", name=re.compile("Livestream"))
                await row.locator("summary", has_text="Remove").click()
                await check(page, f"forum-edit-{size}-confirm", phone=phone)
                await row.get_by_role("button", name="Yes, remove the task Livestream").click()
                await expect(page.get_by_role("status")).to_have_text(
                    "Task “Livestream” removed from the plan."
                )
                await expect(page.get_by_role("row", name=re.compile("Livestream"))).to_have_count(
                    0
                )
                await page.get_by_role("button", name="Mark “Book the room” done").click()
                await expect(
                    page.get_by_role("row", name=re.compile("Book the room"))
                ).to_contain_text("done")
                await check(page, f"forum-edit-{size}-done", phone=phone)

        # Then the co-host sees the new order and the removal
        await deliver_all(origin, ward30, ward35)
        local = await plan_on(ward30, forum["object_id"])
        co_base = await serve(ward30)
        co_host = await logged_in_page(browser, co_base, ward30, role=Role.organizer, phone=True)
        await co_host.goto(f"{co_base}/forums/{local['id']}")
        items = co_host.locator("ol.agenda > li")
        await expect(items).to_have_count(2)
        await expect(items.first).to_contain_text("Questions · 60 min")
        await expect(items.last).to_contain_text("Welcome and ground rules · 10 min")
        await expect(co_host.get_by_role("row", name=re.compile("Livestream"))).to_have_count(0)
        await check(co_host, "forum-edit-co-host-sees-it", phone=True)
