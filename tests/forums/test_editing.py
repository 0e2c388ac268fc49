"""A forum plan the organizer edits item by item: edit, move, remove; and does its own share.

Through the API (``PATCH``/``DELETE /api/v1/forums/{id}/<list>/<item>``), with the plan's
co-hosts on real nodes: each edit travels as the whole plan, so co-hosts see removals and the
new order exactly as the organizer does.
"""

from __future__ import annotations

from typing import Any

from node.accounts.models import Role
from tests.forums.test_lifecycle import everyone_sees_the_same_plan, forum_body, plan_on
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.worlds import spec, star

Nodes = tuple[TestNode, TestNode, TestNode]


async def _planned(factory: NodeFactory) -> tuple[list[TestNode], dict[str, Any]]:
    wards = (spec("ward33", wards=[33]), spec("ward30", wards=[30]), spec("ward35", wards=[35]))
    origin, ward30, ward35 = await star(factory, wards)
    organizer = await origin.as_role(Role.organizer)
    created = await organizer.post(
        "/api/v1/forums", json=forum_body([ward30.url, ward35.url], origin.url)
    )
    assert created.status_code == 201, created.text
    await deliver_all(origin, ward30, ward35)
    return [origin, ward30, ward35], created.json()


async def planned(nodes: NodeFactory) -> tuple[Nodes, dict[str, Any]]:
    """ward33 organizes the lifecycle's forum with ward30 and ward35 invited (built once)."""
    (origin, ward30, ward35), forum = await nodes.world_with(_planned)
    return (origin, ward30, ward35), forum


def by(items: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    [found] = [item for item in items if item[key] == value]
    return found


class TestEditingOneItem:
    async def test_an_agenda_item_is_edited_moved_and_removed_keeping_the_others_ids(
        self, nodes: NodeFactory
    ) -> None:
        (origin, _, _), forum = await planned(nodes)
        organizer = await origin.as_role(Role.organizer)
        base = f"/api/v1/forums/{forum['id']}/agenda"
        welcome, questions = forum["agenda_items"]
        edited = await organizer.patch(
            f"{base}/{welcome['id']}", json={"title": "Welcome and rules", "duration_minutes": 10}
        )
        assert edited.status_code == 200, edited.text
        moved = await organizer.patch(f"{base}/{questions['id']}", json={"position": 0})
        assert moved.status_code == 200, moved.text
        agenda = moved.json()["agenda_items"]
        assert [(a["title"], a["position"], a["duration_minutes"]) for a in agenda] == [
            ("Questions", 0, 60),
            ("Welcome and rules", 1, 10),
        ]
        assert [a["id"] for a in agenda] == [questions["id"], welcome["id"]]
        removed = await organizer.delete(f"{base}/{questions['id']}")
        assert removed.status_code == 200, removed.text
        [left] = removed.json()["agenda_items"]
        assert (left["id"], left["position"]) == (welcome["id"], 0)
        assert removed.json()["version"] == forum["version"] + 3

    async def test_a_role_is_renamed_given_to_a_co_host_opened_and_removed(
        self, nodes: NodeFactory
    ) -> None:
        (origin, ward30, _), forum = await planned(nodes)
        organizer = await origin.as_role(Role.organizer)
        base = f"/api/v1/forums/{forum['id']}/roles"
        renamed = await organizer.patch(
            f"{base}/timekeeper", json={"name": "time keeper", "assigned_to": ward30.url}
        )
        assert renamed.status_code == 200, renamed.text
        role = by(renamed.json()["roles"], "name", "time keeper")
        assert role["assigned_to"] == ward30.url
        opened = await organizer.patch(f"{base}/time keeper", json={"assigned_to": None})
        assert "assigned_to" not in by(opened.json()["roles"], "name", "time keeper")
        moved = await organizer.patch(f"{base}/interpreter", json={"position": 0})
        assert [r["name"] for r in moved.json()["roles"]] == [
            "interpreter",
            "moderator",
            "time keeper",
        ]
        removed = await organizer.delete(f"{base}/moderator")
        assert [r["name"] for r in removed.json()["roles"]] == ["interpreter", "time keeper"]

    async def test_a_candidate_keeps_changed_at_unless_the_answer_changes(
        self, nodes: NodeFactory
    ) -> None:
        (origin, _, _), forum = await planned(nodes)
        organizer = await origin.as_role(Role.organizer)
        [invited] = forum["candidate_invitations"]
        path = f"/api/v1/forums/{forum['id']}/candidates/{invited['id']}"
        renamed = (await organizer.patch(path, json={"name": "A. B. Candidate"})).json()
        [candidate] = renamed["candidate_invitations"]
        assert (candidate["name"], candidate["race"]) == ("A. B. Candidate", "Mayor")
        assert candidate["changed_at"] == invited["changed_at"]
        answered = (await organizer.patch(path, json={"status": "confirmed"})).json()
        [candidate] = answered["candidate_invitations"]
        assert candidate["status"] == "confirmed"
        assert candidate["changed_at"] > invited["changed_at"]
        assert (await organizer.delete(path)).json()["candidate_invitations"] == []

    async def test_a_task_is_edited_without_losing_done_then_moved_and_removed(
        self, nodes: NodeFactory
    ) -> None:
        (origin, ward30, ward35), forum = await planned(nodes)
        organizer = await origin.as_role(Role.organizer)
        room, childcare, livestream = forum["tasks"]
        base = f"/api/v1/forums/{forum['id']}/tasks"
        assert (await organizer.post(f"{base}/{room['id']}/done")).status_code == 200
        edited = await organizer.patch(
            f"{base}/{room['id']}",
            json={"title": "Book the hall", "due_date": "2030-01-15T18:00:00-06:00"},
        )
        assert edited.status_code == 200, edited.text
        task = by(edited.json()["tasks"], "id", room["id"])
        assert (task["title"], task["done"], task["owner"]) == ("Book the hall", True, origin.url)
        assert task["due_date"].startswith("2030-01-16T00:00:00")
        handed = await organizer.patch(f"{base}/{childcare['id']}", json={"owner": ward35.url})
        assert by(handed.json()["tasks"], "id", childcare["id"])["owner"] == ward35.url
        moved = await organizer.patch(f"{base}/{livestream['id']}", json={"position": 0})
        assert [t["id"] for t in moved.json()["tasks"]] == [
            livestream["id"],
            room["id"],
            childcare["id"],
        ]
        removed = await organizer.delete(f"{base}/{childcare['id']}")
        assert [t["id"] for t in removed.json()["tasks"]] == [livestream["id"], room["id"]]
        del ward30


class TestBadInputChangesNothing:
    async def test_each_refusal_is_a_4xx_naming_the_field_and_the_plan_stays(
        self, nodes: NodeFactory
    ) -> None:
        (origin, _, _), forum = await planned(nodes)
        organizer = await origin.as_role(Role.organizer)
        base = f"/api/v1/forums/{forum['id']}"
        task = forum["tasks"][0]["id"]
        refusals = [
            ("patch", f"{base}/roles/timekeeper", {"name": "moderator"}, 422, ["body", "name"]),
            (
                "patch",
                f"{base}/roles/timekeeper",
                {"assigned_to": "http://stranger.test"},
                422,
                ["body", "assigned_to"],
            ),
            ("patch", f"{base}/tasks/{task}", {"owner": "http://x.test"}, 422, ["body", "owner"]),
            ("patch", f"{base}/tasks/{task}", {"position": 3}, 422, ["body", "position"]),
            ("patch", f"{base}/tasks/{task}", {"title": None}, 422, ["body", "title"]),
            ("patch", f"{base}/tasks/{task}", {"title": " "}, 422, ["body", "title"]),
            ("patch", f"{base}/tasks/{task}", {"done": True, "x": 1}, 422, ["body", "x"]),
            ("patch", f"{base}/agenda/nope", {"title": "Hello"}, 404, None),
            ("delete", f"{base}/candidates/nope", None, 404, None),
            ("delete", f"{base}/roles/nobody", None, 404, None),
        ]
        for method, path, body, status, loc in refusals:
            answer = await organizer.request(method.upper(), path, json=body)
            assert answer.status_code == status, (path, body, answer.text)
            error = answer.json()["error"]
            if loc is not None:
                assert error["details"][0]["loc"] == loc, (body, error)
            else:
                assert error["code"] == "forum_item_not_found"
        after = (await organizer.get(base)).json()
        assert after["version"] == forum["version"]
        for key in ("roles", "tasks", "agenda_items", "candidate_invitations"):
            assert after[key] == forum[key]
        assert (await deliver_all(origin)) == 0

    async def test_a_two_slot_move_message_says_the_range(self, nodes: NodeFactory) -> None:
        (origin, _, _), forum = await planned(nodes)
        organizer = await origin.as_role(Role.organizer)
        item = forum["agenda_items"][0]["id"]
        answer = await organizer.patch(
            f"/api/v1/forums/{forum['id']}/agenda/{item}", json={"position": 2}
        )
        assert answer.status_code == 422
        assert answer.json()["error"]["message"] == (
            "position must be from 0 to 1: the list has 2 items."
        )


class TestWhoMayEdit:
    async def test_members_and_co_hosts_cannot_edit_remove_or_move(
        self, nodes: NodeFactory
    ) -> None:
        (origin, ward30, _), forum = await planned(nodes)
        member = await origin.as_role(Role.member)
        task = forum["tasks"][0]["id"]
        path = f"/api/v1/forums/{forum['id']}/tasks/{task}"
        assert (await member.patch(path, json={"title": "Mine"})).status_code == 403
        assert (await member.delete(path)).status_code == 403
        local = await plan_on(ward30, forum["object_id"])
        co_host = await ward30.as_role(Role.admin)
        for answer in (
            await co_host.patch(f"/api/v1/forums/{local['id']}/tasks/{task}", json={"title": "X"}),
            await co_host.delete(f"/api/v1/forums/{local['id']}/tasks/{task}"),
            await co_host.patch(
                f"/api/v1/forums/{local['id']}/roles/timekeeper", json={"position": 0}
            ),
        ):
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["code"] == "forum_not_local"
        assert (await plan_on(ward30, forum["object_id"]))["tasks"] == local["tasks"]
        assert (await plan_on(origin, forum["object_id"]))["version"] == forum["version"]
        assert (await deliver_all(origin, ward30)) == 0


class TestTheOrganizerDoesItsOwnShare:
    async def test_it_marks_its_own_task_done_submits_a_question_and_takes_a_role(
        self, nodes: NodeFactory
    ) -> None:
        (origin, ward30, ward35), forum = await planned(nodes)
        organizer = await origin.as_role(Role.organizer)
        base = f"/api/v1/forums/{forum['id']}"
        room, childcare, _ = forum["tasks"]
        done = await organizer.post(f"{base}/tasks/{room['id']}/done")
        assert done.status_code == 200, done.text
        assert by(done.json()["tasks"], "id", room["id"])["done"] is True
        asked = await organizer.post(f"{base}/questions", json={"text": "What about rents?"})
        assert asked.status_code == 200, asked.text
        [question] = asked.json()["question_submissions"]
        assert (question["submitted_by"], question["status"]) == (origin.url, "pending")
        took = await organizer.post(f"{base}/roles/timekeeper/take")
        assert by(took.json()["roles"], "name", "timekeeper")["assigned_to"] == origin.url
        # But not a co-host's task, nor a role a co-host holds, nor an invitation to itself
        refused = await organizer.post(f"{base}/tasks/{childcare['id']}/done")
        assert refused.status_code == 403
        assert (await organizer.post(f"{base}/roles/interpreter/take")).status_code == 403
        admin = await origin.as_role(Role.admin)
        own_invitation = await admin.post(f"{base}/accept")
        assert own_invitation.status_code == 409
        assert own_invitation.json()["error"]["code"] == "forum_is_local"
        member = await origin.as_role(Role.member)
        assert (await member.post(f"{base}/questions", json={"text": "Hi"})).status_code == 403
        await deliver_all(origin, ward30, ward35)
        plan = await everyone_sees_the_same_plan(origin, [ward30, ward35], forum["object_id"])
        assert plan["question_submissions"][0]["text"] == "What about rents?"
        assert by(plan["tasks"], "id", childcare["id"])["done"] is False


class TestCoHostsSeeTheEditedPlan:
    async def test_removals_edits_and_new_order_reach_every_co_host(
        self, nodes: NodeFactory
    ) -> None:
        (origin, ward30, ward35), forum = await planned(nodes)
        organizer = await origin.as_role(Role.organizer)
        base = f"/api/v1/forums/{forum['id']}"
        welcome, questions = forum["agenda_items"]
        room, childcare, livestream = forum["tasks"]
        [candidate] = forum["candidate_invitations"]
        for method, path, body in (
            ("PATCH", f"{base}", {"description": "Five candidates, one stage."}),
            ("PATCH", f"{base}/agenda/{questions['id']}", {"position": 0, "title": "Q and A"}),
            ("DELETE", f"{base}/agenda/{welcome['id']}", None),
            ("PATCH", f"{base}/roles/interpreter", {"position": 0}),
            ("DELETE", f"{base}/roles/moderator", None),
            ("PATCH", f"{base}/candidates/{candidate['id']}", {"race": "Mayor of Chicago"}),
            ("PATCH", f"{base}/tasks/{livestream['id']}", {"position": 0}),
            ("DELETE", f"{base}/tasks/{room['id']}", None),
        ):
            answer = await organizer.request(method, path, json=body)
            assert answer.status_code == 200, (path, answer.text)
        await deliver_all(origin, ward30, ward35)
        plan = await everyone_sees_the_same_plan(origin, [ward30, ward35], forum["object_id"])
        assert [(a["title"], a["position"]) for a in plan["agenda_items"]] == [("Q and A", 0)]
        assert [r["name"] for r in plan["roles"]] == ["interpreter", "timekeeper"]
        assert plan["candidate_invitations"][0]["race"] == "Mayor of Chicago"
        assert [t["id"] for t in plan["tasks"]] == [livestream["id"], childcare["id"]]
        replica = await plan_on(ward30, forum["object_id"])
        assert replica["description"] == "Five candidates, one stage."
        # And a co-host marking a task the organizer removed is refused there, changing nothing
        client = await ward30.as_role(Role.organizer)
        refused = await client.post(f"/api/v1/forums/{replica['id']}/tasks/{room['id']}/done")
        assert refused.status_code == 409
