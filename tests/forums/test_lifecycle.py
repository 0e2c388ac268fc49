"""A forum planned by one ward with three co-hosts, across five nodes."""

from __future__ import annotations

from typing import Any

from node.accounts.models import Role
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.worlds import star

WARDS = ("ward33", "ward30", "ward35", "ward40", "ward45")


def forum_body(co_hosts: list[str], owner: str, **changes: Any) -> dict[str, Any]:
    return {
        "title": "Mayoral candidate forum",
        "start_date": "2030-02-01T00:00:00+00:00",
        "end_date": "2030-02-01T02:00:00+00:00",
        "location": {"venue": "Hairpin Arts Center", "locality": "Chicago", "region": "IL"},
        "accessibility_notes": "Step-free entrance on Milwaukee; ASL on request",
        "languages": ["English", "Spanish"],
        "interpretation": "Spanish simultaneous interpretation",
        "capacity": 200,
        "visibility": "coalition",
        "co_hosts": co_hosts,
        "roles": [
            {"name": "moderator", "assigned_to": owner},
            {"name": "timekeeper"},
            {"name": "interpreter", "assigned_to": co_hosts[0]},
        ],
        "candidate_invitations": [{"name": "A. Candidate", "race": "Mayor"}],
        "agenda_items": [
            {"title": "Welcome", "duration_minutes": 5},
            {"title": "Questions", "duration_minutes": 60},
        ],
        "tasks": [
            {"title": "Book the room", "owner": owner},
            {"title": "Childcare", "owner": co_hosts[0]},
            {"title": "Livestream", "owner": co_hosts[1]},
        ],
        **changes,
    }


async def setup(nodes: NodeFactory) -> tuple[TestNode, list[TestNode], TestNode]:
    """An organizer, three co-hosts, and an ally who is not invited (built once per run)."""
    organizer, *others = await nodes.world(star, WARDS)
    return organizer, others[:3], others[3]


async def plan_on(node: TestNode, object_id: str) -> dict[str, Any]:
    client = await node.as_role(Role.organizer)
    [found] = [
        p for p in (await client.get("/api/v1/forums")).json() if p["object_id"] == object_id
    ]
    return found


async def everyone_sees_the_same_plan(
    origin: TestNode, co_hosts: list[TestNode], object_id: str
) -> dict[str, Any]:
    mine = await plan_on(origin, object_id)
    for node in co_hosts:
        theirs = await plan_on(node, object_id)
        for key in (
            "version",
            "co_hosts",
            "roles",
            "candidate_invitations",
            "agenda_items",
            "question_submissions",
            "tasks",
            "title",
        ):
            assert theirs[key] == mine[key], key
    return mine


class TestLifecycle:
    async def test_the_whole_forum_lifecycle(self, nodes):
        origin, co_hosts, outsider = await setup(nodes)
        ward30, ward35, ward40 = co_hosts
        everyone = (origin, *co_hosts, outsider)
        organizer = await origin.as_role(Role.organizer)
        # Given an organizer who plans a forum with three co-hosts
        created = await organizer.post(
            "/api/v1/forums", json=forum_body([n.url for n in co_hosts], origin.url)
        )
        assert created.status_code == 201, created.text
        forum = created.json()
        await deliver_all(*everyone)
        # Then every co-host holds the plan, and the ally who was not invited does not
        plan = await everyone_sees_the_same_plan(origin, co_hosts, forum["object_id"])
        assert {c["status"] for c in plan["co_hosts"]} == {"invited"}
        outsider_client = await outsider.as_role(Role.admin)
        assert (await outsider_client.get("/api/v1/forums")).json() == []
        # And the forum is an event, in this node's calendar and ICS, and in allies' events
        events = (await organizer.get("/api/v1/events")).json()["items"]
        assert [(e["event_type"], e["title"]) for e in events] == [("FORUM", forum["title"])]
        ics = await origin.client.get("/calendar.ics")
        assert "SUMMARY:Mayoral candidate forum" not in ics.text  # coalition: not public
        member = await outsider.as_role(Role.member)
        assert [e["title"] for e in (await member.get("/api/v1/events")).json()["items"]] == [
            forum["title"]
        ]
        # When two co-hosts' admins accept and one declines, each on its own node
        for node, verb in ((ward30, "accept"), (ward35, "accept"), (ward40, "decline")):
            local = await plan_on(node, forum["object_id"])
            admin = await node.as_role(Role.admin)
            response = await admin.post(f"/api/v1/forums/{local['id']}/{verb}")
            assert response.status_code == 202, response.text
        await deliver_all(*everyone)
        plan = await everyone_sees_the_same_plan(origin, co_hosts, forum["object_id"])
        assert [c["status"] for c in plan["co_hosts"]] == ["accepted", "accepted", "declined"]
        # When co-hosts submit questions, mark their own task done and take an open role
        local30 = await plan_on(ward30, forum["object_id"])
        org30 = await ward30.as_role(Role.organizer)
        childcare = next(t for t in local30["tasks"] if t["title"] == "Childcare")
        assert (
            await org30.post(
                f"/api/v1/forums/{local30['id']}/questions", json={"text": "How will you fund CTA?"}
            )
        ).status_code == 202
        assert (
            await org30.post(f"/api/v1/forums/{local30['id']}/tasks/{childcare['id']}/done")
        ).status_code == 202
        local35 = await plan_on(ward35, forum["object_id"])
        org35 = await ward35.as_role(Role.organizer)
        assert (
            await org35.post(f"/api/v1/forums/{local35['id']}/roles/timekeeper/take")
        ).status_code == 202
        await deliver_all(*everyone)
        plan = await everyone_sees_the_same_plan(origin, co_hosts, forum["object_id"])
        [question] = plan["question_submissions"]
        assert (question["submitted_by"], question["status"]) == (ward30.url, "pending")
        assert next(t for t in plan["tasks"] if t["title"] == "Childcare")["done"] is True
        assert next(r for r in plan["roles"] if r["name"] == "timekeeper")["assigned_to"] == (
            ward35.url
        )
        # When the organizer selects the question and records a candidate's answer
        await organizer.post(
            f"/api/v1/forums/{forum['id']}/questions/{question['id']}/status",
            json={"status": "selected"},
        )
        invitation = plan["candidate_invitations"][0]
        response = await organizer.patch(
            f"/api/v1/forums/{forum['id']}",
            json={
                "candidate_invitations": [
                    {**{k: invitation[k] for k in ("id", "name", "race")}, "status": "confirmed"}
                ],
                "title": "Mayoral forum (confirmed)",
            },
        )
        assert response.status_code == 200, response.text
        await deliver_all(*everyone)
        plan = await everyone_sees_the_same_plan(origin, co_hosts, forum["object_id"])
        assert plan["question_submissions"][0]["status"] == "selected"
        [confirmed] = plan["candidate_invitations"]
        assert confirmed["status"] == "confirmed"
        assert confirmed["changed_at"] > invitation["changed_at"]
        assert [a["title"] for a in plan["agenda_items"]] == ["Welcome", "Questions"]
        # And the calendar entry follows the plan's title
        events = (await member.get("/api/v1/events")).json()["items"]
        assert [e["title"] for e in events] == ["Mayoral forum (confirmed)"]

    async def test_a_public_forum_is_in_the_ics_feed(self, nodes):
        origin, co_hosts, _ = await setup(nodes)
        organizer = await origin.as_role(Role.organizer)
        body = forum_body(
            [co_hosts[0].url, co_hosts[1].url],
            origin.url,
            visibility="public",
            start_date="2031-02-01T00:00:00+00:00",
            end_date="2031-02-01T02:00:00+00:00",
        )
        assert (await organizer.post("/api/v1/forums", json=body)).status_code == 201
        ics = await origin.client.get("/calendar.ics")
        assert "SUMMARY:Mayoral candidate forum" in ics.text
