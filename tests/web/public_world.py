"""A coalition with something of every visibility, for the public face's tests.

ward33 (the home under test) is allied with ward30 and ward35; ward35's alliance then ends, so
its public event stays here as a former ally's. Each node holds a public, a coalition and a
private event; ward33 hosts a public forum co-hosted by ward30 and a coalition one; ward30
hosts a public forum that ward33 co-hosts (in New York time, to show the zone is the
event's); there are three joint endorsements, two ratified (one of them shown publicly by
ward33) and one still collecting; and ward33 keeps members and users whose names and
addresses carry a marker that must never reach a public page. Built once per run
(``tests/worlds.py``).
"""

from __future__ import annotations

from typing import Any

from node.accounts.models import Role
from tests.endorsements import ENDORSEMENTS
from tests.endorsements import body as endorsement_body
from tests.events import EVENTS, event_body, soon
from tests.nodes import NodeFactory, TestNode, ally, deliver_all

FORUMS = "/api/v1/forums"
MARKER = "Qzx"  # in every planted personal field: a hit on a public page is a leak
PUBLIC_FORUM = "Mayoral candidate forum"
COALITION_FORUM = "Coalition strategy forum"
ALLY_FORUM = "Northwest side school board forum"


def forum(title: str, *, visibility: str, co_hosts: list[str], owner: str, **extra: Any) -> dict:
    return {
        "title": title,
        "description": "Five ward groups ask the candidates about housing.\n\nDoors open at 5:30.",
        "start_date": "2030-02-01T00:00:00+00:00",
        "end_date": "2030-02-01T02:00:00+00:00",
        "location": {
            "venue": "Hairpin Arts Center",
            "address_lines": ["2810 N Milwaukee Ave"],
            "locality": "Chicago",
            "region": "IL",
        },
        "accessibility_notes": "Step-free entrance on Milwaukee",
        "languages": ["English", "Spanish"],
        "visibility": visibility,
        "co_hosts": co_hosts,
        "roles": [{"name": "moderator", "assigned_to": owner}],
        "candidate_invitations": [{"name": "A. Candidate", "race": "Mayor"}],
        "agenda_items": [
            {"title": "Welcome", "duration_minutes": 5},
            {"title": "Questions from the floor", "duration_minutes": 60},
        ],
        "tasks": [{"title": "Book the room", "owner": owner}],
        **extra,
    }


async def _post(
    node: TestNode, path: str, body: dict[str, Any], role: Role = Role.organizer
) -> Any:
    client = await node.as_role(role)
    answer = await client.post(path, json=body)
    assert answer.status_code in (200, 201, 202), answer.text
    return answer.json()


async def _events(node: TestNode, ward: str) -> dict[str, str]:
    ids = {}
    for visibility in ("public", "coalition", "private"):
        made = await _post(node, EVENTS, event_body(
            title=f"{ward} {visibility} event", visibility=visibility, event_type="RALLY",
            location={"venue": f"{ward} office", "address_lines": ["1 Main St"]},
        ))  # fmt: skip
        ids[visibility] = made["id"]
    return ids


async def _local_id(node: TestNode, path: str, object_id: str) -> str:
    client = await node.as_role(Role.admin)
    listed = (await client.get(path)).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    [found] = [item["id"] for item in items if item["object_id"] == object_id]
    return str(found)


async def _ratified(a: TestNode, b: TestNode, **overrides: Any) -> dict[str, Any]:
    created = await _post(a, ENDORSEMENTS, endorsement_body([a.url, b.url], **overrides))
    opened = await _post(a, f"{ENDORSEMENTS}/{created['id']}/open", {})
    await _post(a, f"{ENDORSEMENTS}/{opened['id']}/sign", {"content_version": 1}, Role.admin)
    await deliver_all(a, b)
    b_id = await _local_id(b, ENDORSEMENTS, opened["object_id"])
    await _post(b, f"{ENDORSEMENTS}/{b_id}/sign", {"content_version": 1}, Role.admin)
    await deliver_all(a, b)
    return opened


async def public_face_world(factory: NodeFactory) -> tuple[list[TestNode], dict[str, Any]]:
    ward33 = await factory.start("ward33", wards=[33])
    ward30 = await factory.start("ward30", wards=[30])
    ward35 = await factory.start("ward35", wards=[35])
    await ally(ward33, ward30)
    await ally(ward33, ward35)
    everyone = (ward33, ward30, ward35)
    ids: dict[str, Any] = {
        "ward33": await _events(ward33, "ward33"),
        "ward30": await _events(ward30, "ward30"),
        "ward35": await _events(ward35, "ward35"),
    }
    past = await _post(ward33, EVENTS, event_body(
        title="ward33 past public event", start=soon(days=-3), visibility="public"))  # fmt: skip
    ids["past"] = past["id"]
    ours = await _post(ward33, FORUMS, forum(
        PUBLIC_FORUM, visibility="public", co_hosts=[ward30.url], owner=ward33.url))  # fmt: skip
    hidden = await _post(ward33, FORUMS, forum(
        COALITION_FORUM, visibility="coalition", co_hosts=[ward30.url], owner=ward33.url,
    ))  # fmt: skip
    theirs = await _post(ward30, FORUMS, forum(
        ALLY_FORUM, visibility="public", co_hosts=[ward33.url], owner=ward30.url,
        timezone="America/New_York"))  # fmt: skip
    await deliver_all(*everyone)
    on30 = await _local_id(ward30, FORUMS, ours["object_id"])
    await _post(ward30, f"{FORUMS}/{on30}/accept", {}, Role.admin)
    await deliver_all(*everyone)
    await _post(ward30, f"{FORUMS}/{on30}/questions", {"text": f"Internal question {MARKER}"})
    on33 = await _local_id(ward33, FORUMS, theirs["object_id"])
    await _post(ward33, f"{FORUMS}/{on33}/accept", {}, Role.admin)
    await deliver_all(*everyone)
    ids["forums"] = {"public": ours["id"], "coalition": hidden["id"], "ally": on33}

    shown = await _ratified(ward33, ward30)
    organizer = await ward33.as_role(Role.organizer)
    put = await organizer.put(f"{ENDORSEMENTS}/{shown['id']}/public", json={"is_public": True})
    assert put.status_code == 200, put.text
    not_shown = await _ratified(ward33, ward30, candidate={"name": "Bea Quiet"})
    collecting = await _post(ward33, ENDORSEMENTS, endorsement_body(
        [ward33.url, ward30.url], candidate={"name": "Cy Pending"}))  # fmt: skip
    await _post(ward33, f"{ENDORSEMENTS}/{collecting['id']}/open", {})
    ids["endorsements"] = {
        "shown": shown["id"], "not_shown": not_shown["id"], "collecting": collecting["id"],
        "shown_object_id": shown["object_id"],
    }  # fmt: skip

    for n in range(2):
        await _post(ward33, "/api/v1/members", {
            "given_name": f"Given{MARKER}{n}", "family_name": f"Family{MARKER}{n}",
            "email": f"person{n}.{MARKER.lower()}@mail.example", "phone": "+1 312 555 0142",
            "postal_code": "60618", "ward": 33,
        })  # fmt: skip
    await ward33.add_user(
        role=Role.organizer, email=f"organizer.{MARKER.lower()}@mail.example",
        display_name=f"Organizer {MARKER}",
    )  # fmt: skip

    ended = await (await ward33.as_role(Role.admin)).post(f"/api/v1/alliances/{ward35.url}/end")
    assert ended.status_code == 200, ended.text
    await deliver_all(*everyone)
    return [ward33, ward30, ward35], ids
