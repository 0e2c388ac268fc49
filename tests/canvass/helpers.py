"""Helpers for canvass tests: a host ward with allies, calls, members and sign-ups."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from federation.storage import utcnow
from node.accounts.models import Role
from node.members.models import Member
from tests.nodes import NodeFactory, TestNode
from tests.worlds import star


def call_body(
    *, capacity: int = 3, waitlist_limit: int = 0, shifts: int = 1, ally_share: int | None = None
) -> dict[str, Any]:
    start = utcnow() + timedelta(days=3)
    body: dict[str, Any] = {
        "title": "Saturday doors for the referendum",
        "campaign": {"kind": "referendum", "name": "Bring Chicago Home"},
        "wards": [33],
        "turf_description": "Precincts 4 to 9, west of Kedzie",
        "staging_location": {"venue": "33WF office", "address_lines": ["3500 W Lawrence Ave"]},
        "shifts": [
            {
                "start_date": (start + timedelta(days=i)).isoformat(),
                "end_date": (start + timedelta(days=i, hours=3)).isoformat(),
                "capacity": capacity,
            }
            for i in range(shifts)
        ],
        "languages_needed": ["Spanish"],
        "materials": "Clipboards and lit at the office",
        "contact": {"name": "Field desk", "phone": "773-555-0100"},
        "waitlist_limit": waitlist_limit,
    }
    if ally_share is not None:
        body["ally_share"] = ally_share
    return body


async def coalition(
    nodes: NodeFactory, *names: str, scopes: list[str] | None = None
) -> list[TestNode]:
    """A host (the first name) allied with every other node; built once per run and copied
    (``tests/worlds.py``)."""
    return await nodes.world(star, names, tuple(scopes) if scopes is not None else None)


async def post_call(host: TestNode, **options: Any) -> dict[str, Any]:
    organizer = await host.as_role(Role.organizer)
    response = await organizer.post("/api/v1/canvass-calls", json=call_body(**options))
    assert response.status_code == 201, response.text
    return response.json()


async def replica(node: TestNode, object_id: str, role: Role = Role.organizer) -> dict[str, Any]:
    client = await node.as_role(role)
    listed = (await client.get("/api/v1/canvass-calls")).json()
    [found] = [call for call in listed if call["object_id"] == object_id]
    return found


async def relay(node: TestNode, call: dict[str, Any]) -> dict[str, Any]:
    found = await replica(node, call["object_id"])
    organizer = await node.as_role(Role.organizer)
    response = await organizer.post(f"/api/v1/canvass-calls/{found['id']}/relay")
    assert response.status_code == 200, response.text
    return response.json()


async def volunteer(
    node: TestNode, *, marker: str = "", phone: str = "", consents: bool = False
) -> httpx.AsyncClient:
    """A member of ``node`` with a login and a member record (names, phone, address)."""
    tag = marker or f"vol{len(node.tokens)}"
    email = f"{tag.lower()}@{node.name}.example"
    _, token = await node.add_user(role=Role.member, email=email)
    async with node.session() as session:
        session.add(
            Member(
                given_name=f"Given{tag}",
                family_name=f"Family{tag}",
                email=email,
                phone=phone or "773-555-0199",
                postal_code="60625",
                notes=f"lives at 123 {tag} St",
                share_contact_with_hosts=consents,
            )
        )
    node.tokens[email] = token
    return node.client_with(token)


async def sign_up(
    client: httpx.AsyncClient, call: dict[str, Any], shift: int = 0, **choices: bool
) -> httpx.Response:
    return await client.post(
        f"/api/v1/canvass-calls/{call['id']}/shifts/{call['shifts'][shift]['id']}/signups",
        json=choices,
    )


async def my_signups(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/canvass-signups")
    assert response.status_code == 200, response.text
    return response.json()


async def shift_counts(node: TestNode, object_id: str, shift: int = 0) -> tuple[int, int, int]:
    found = (await replica(node, object_id))["shifts"][shift]
    return found["committed"], found["waitlisted"], found["remaining"]


async def ally_shares(host: TestNode, call: dict[str, Any]) -> dict[str, Any]:
    """The host organizers' view of who filled what on the call's shifts."""
    organizer = await host.as_role(Role.organizer)
    response = await organizer.get(f"/api/v1/canvass-calls/{call['id']}/ally-shares")
    assert response.status_code == 200, response.text
    return response.json()


def held_by(shares: dict[str, Any], shift: int = 0) -> dict[str, tuple[int, int, int | None]]:
    """Per group node id: (committed, waitlisted, limit) on one shift."""
    return {
        group["node_id"]: (group["committed"], group["waitlisted"], group["limit"])
        for group in shares["shifts"][shift]["groups"]
    }
