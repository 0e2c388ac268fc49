"""The co-hosted mayoral forum: 33WF organizes, the four other groups co-host.

33WF's organizer plans it (venue, roles, candidates, agenda, tasks); each co-host's admin
accepts on its own node; then the co-hosts take the open roles, submit questions and tick
off their tasks, each through its own node, which sends the action to 33WF, the plan's only
writer. 33WF records the candidates' answers and selects the questions. The flow ends when
every co-host holds the same plan, at the same version, as 33WF.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from typing import Any

from federation.storage import utcnow
from node.demo.api import NotConverged
from node.demo.coalition import NWSIDE, OTHER_GROUPS, WARD30, WARD33, WARD35, WARD39, Organization
from node.demo.story import Story

FORUMS = "/api/v1/forums"
TITLE = "Northwest Side Mayoral Forum"
PLAN_KEYS = ("version", "title", "co_hosts", "roles", "candidate_invitations",
             "agenda_items", "question_submissions", "tasks")  # fmt: skip
CANDIDATES = {"Rosa Delgado": "confirmed", "Marcus Bell": "confirmed", "Paul Kovacs": "declined"}
ROLES_TAKEN = {WARD39: "timekeeper", WARD30: "interpreter"}
QUESTIONS = {
    WARD35: "Will you fund the Bring Chicago Home homelessness plan in your first budget?",
    NWSIDE: "How will you keep the Blue Line running every seven minutes on the northwest side?",
}
TASK_DONE = (WARD35, "Childcare room")


def plan_body(story: Story) -> dict[str, Any]:
    # Three weeks on, 6:30 pm in Chicago (00:30 UTC the next day, in winter)
    start = (utcnow() + timedelta(days=22)).replace(hour=0, minute=30, second=0, microsecond=0)
    return {
        "title": TITLE,
        "description": "The five northwest-side groups ask the mayoral candidates about "
        "housing, transit and the city budget. Doors at 6 pm.",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(hours=2)).isoformat(),
        "location": {
            "venue": "Hairpin Arts Center",
            "address_lines": ["2810 N Milwaukee Ave"],
            "locality": "Chicago",
            "region": "IL",
            "postal_code": "60618",
        },
        "accessibility_notes": "Step-free entrance on Milwaukee; ASL interpreters booked",
        "languages": ["English", "Spanish", "Polish"],
        "interpretation": "Spanish and Polish simultaneous interpretation",
        "capacity": 250,
        "visibility": "coalition",
        "co_hosts": [story.url(org) for org in OTHER_GROUPS],
        "roles": [
            {"name": "moderator", "assigned_to": story.url(WARD33)},
            {"name": "timekeeper"},
            {"name": "interpreter"},
        ],
        "candidate_invitations": [{"name": name, "race": "Mayor"} for name in CANDIDATES],
        "agenda_items": [
            {"title": "Welcome and land acknowledgement", "duration_minutes": 5},
            {"title": "Opening statements", "duration_minutes": 15},
            {"title": "Questions from the wards", "duration_minutes": 60},
            {"title": "Closing statements", "duration_minutes": 10},
        ],
        "tasks": [
            {"title": "Book the room", "owner": story.url(WARD33)},
            {"title": TASK_DONE[1], "owner": story.url(TASK_DONE[0])},
            {"title": "Livestream", "owner": story.url(NWSIDE)},
            {"title": "Flyers in Spanish and Polish", "owner": story.url(WARD30)},
        ],
    }


async def held(story: Story, org: Organization, object_id: str) -> dict[str, Any] | None:
    found = [p for p in await story.admins[org].get(FORUMS) if p["object_id"] == object_id]
    return found[0] if found else None


async def _replica(story: Story, org: Organization, object_id: str) -> dict[str, Any]:
    found = await held(story, org, object_id)
    if found is None:
        raise NotConverged(f"{org.short} lost its copy of the forum plan")
    return found


async def _plan(story: Story) -> tuple[dict[str, Any], bool]:
    mine = [p for p in await story.admins[WARD33].get(FORUMS)
            if p["is_local"] and p["title"] == TITLE]  # fmt: skip
    if mine:
        return mine[0], False
    return await story.admins[WARD33].post(FORUMS, plan_body(story), expect=201), True


async def _everyone_sees(story: Story, object_id: str, until: Any, what: str) -> dict[str, Any]:
    """Wait until 33WF's plan satisfies ``until`` and every co-host holds exactly that plan."""
    mine: dict[str, Any] = await story.wait(
        lambda: held(story, WARD33, object_id),
        lambda plan: plan is not None and until(plan),
        f"33WF's forum plan to show {what}",
    )
    expected = {key: mine[key] for key in PLAN_KEYS}
    await asyncio.gather(*(
        story.wait(partial(held, story, org, object_id),
                   lambda plan: plan is not None and {k: plan[k] for k in PLAN_KEYS} == expected,
                   f"{org.short} to hold 33WF's forum plan at version {mine['version']} ({what})")
        for org in OTHER_GROUPS
    ))  # fmt: skip
    return mine


def _all_accepted(plan: dict[str, Any]) -> bool:
    return [c["status"] for c in plan["co_hosts"]] == ["accepted"] * len(OTHER_GROUPS)


async def _co_hosts_accept(story: Story, object_id: str) -> None:
    for org in OTHER_GROUPS:
        local = await story.wait(
            partial(held, story, org, object_id),
            lambda plan: plan is not None,
            f"{org.short} to receive the forum invitation",
        )
        mine = next(c for c in local["co_hosts"] if c["node"] == story.url(org))
        if mine["status"] == "invited":
            await story.admins[org].post(f"{FORUMS}/{local['id']}/accept", expect=202)
    await _everyone_sees(story, object_id, _all_accepted, "four accepted co-hosts")


async def _co_hosts_contribute(story: Story, object_id: str) -> None:
    """Roles, questions and a task, each from the co-host's own node (skipping what is done)."""
    for org, role in ROLES_TAKEN.items():
        local = await _replica(story, org, object_id)
        holder = next(r for r in local["roles"] if r["name"] == role).get("assigned_to")
        if holder is None:
            await story.admins[org].post(f"{FORUMS}/{local['id']}/roles/{role}/take", expect=202)
    for org, text in QUESTIONS.items():
        local = await _replica(story, org, object_id)
        if not any(q["submitted_by"] == story.url(org) for q in local["question_submissions"]):
            await story.admins[org].post(
                f"{FORUMS}/{local['id']}/questions", {"text": text}, expect=202
            )
    org, title = TASK_DONE
    local = await _replica(story, org, object_id)
    task = next(t for t in local["tasks"] if t["title"] == title)
    if not task["done"]:
        await story.admins[org].post(f"{FORUMS}/{local['id']}/tasks/{task['id']}/done", expect=202)


async def _organizer_decides(story: Story, forum: dict[str, Any]) -> None:
    """33WF records the candidates' answers and selects every question it received."""
    plan = await _everyone_sees(
        story, forum["object_id"], _contributed, "the co-hosts' roles, questions and task"
    )
    answers = [{**c, "status": CANDIDATES[c["name"]]} for c in plan["candidate_invitations"]]
    if answers != plan["candidate_invitations"]:
        fields = ("id", "name", "race", "status")
        body = [{key: c[key] for key in fields} for c in answers]
        await story.admins[WARD33].call(
            "PATCH", f"{FORUMS}/{forum['id']}", json={"candidate_invitations": body}
        )
    for question in plan["question_submissions"]:
        if question["status"] == "pending":
            await story.admins[WARD33].post(
                f"{FORUMS}/{forum['id']}/questions/{question['id']}/status", {"status": "selected"}
            )


def _contributed(plan: dict[str, Any]) -> bool:
    roles = {r["name"]: r.get("assigned_to") for r in plan["roles"]}
    tasks = {t["title"]: t["done"] for t in plan["tasks"]}
    return (
        all(roles.get(role) for role in ROLES_TAKEN.values())
        and len(plan["question_submissions"]) == len(QUESTIONS)
        and tasks.get(TASK_DONE[1]) is True
    )


def _settled(plan: dict[str, Any]) -> bool:
    answered = {c["name"]: c["status"] for c in plan["candidate_invitations"]} == CANDIDATES
    selected = all(q["status"] == "selected" for q in plan["question_submissions"])
    return _all_accepted(plan) and _contributed(plan) and answered and selected


async def flow(story: Story) -> str:
    forum, planned = await _plan(story)
    object_id = forum["object_id"]
    await _co_hosts_accept(story, object_id)
    await _co_hosts_contribute(story, object_id)
    await _organizer_decides(story, forum)
    plan = await _everyone_sees(story, object_id, _settled, "the settled plan")
    roles = ", ".join(sorted(r["name"] for r in plan["roles"] if r.get("assigned_to")))
    confirmed = sum(1 for status in CANDIDATES.values() if status == "confirmed")
    return (
        f"{len(OTHER_GROUPS)} co-hosts accepted on all {len(OTHER_GROUPS) + 1} nodes; "
        f"roles held: {roles}; "
        f"{len(CANDIDATES)} candidates invited ({confirmed} confirmed); "
        f"{len(QUESTIONS)} questions selected; plan version {plan['version']} identical "
        f"everywhere ({'planned now' if planned else 'from an earlier run'})"
    )
