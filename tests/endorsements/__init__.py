"""Tests of joint endorsements, and the helpers they share.

Endorsements are made, opened and answered through the API, as organizers and admins would;
activities travel between in-process nodes with real keys and databases (``deliver_all``).
"""

from __future__ import annotations

from typing import Any

from node.accounts.models import Role
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.worlds import mesh

ENDORSEMENTS = "/api/v1/endorsements"
WARDS = ("ward33", "ward30", "ward35", "ward39", "ward45")


def body(signers: list[str], **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "race": {
            "office": "mayor",
            "district": "citywide",
            "election_date": "2031-02-25",
            "election_type": "primary",
        },
        "candidate": {"name": "Ada Organizer", "campaign_url": "https://ada.example/"},
        "statement": "We endorse Ada Organizer for mayor: housing, transit, schools.",
        "tier": "endorse",
        "required_signers": signers,
        "rule": {"kind": "all"},
    }
    data.update(overrides)
    return data


async def coalition(nodes: NodeFactory, names: tuple[str, ...] = WARDS) -> list[TestNode]:
    """Nodes all allied with each other (a full mesh), as a real coalition is; built once
    per run and copied (``tests/worlds.py``)."""
    return await nodes.world(mesh, names)


async def propose(node: TestNode, signers: list[str], **overrides: Any) -> dict[str, Any]:
    """Draft and open an endorsement on ``node``; its public view."""
    organizer = await node.as_role(Role.organizer)
    created = await organizer.post(ENDORSEMENTS, json=body(signers, **overrides))
    assert created.status_code == 201, created.text
    opened = await organizer.post(f"{ENDORSEMENTS}/{created.json()['id']}/open")
    assert opened.status_code == 200, opened.text
    return opened.json()


async def find(node: TestNode, object_id: str, role: Role = Role.admin) -> dict[str, Any]:
    """The node's copy of the endorsement with this global id."""
    client = await node.as_role(role)
    response = await client.get(ENDORSEMENTS)
    assert response.status_code == 200, response.text
    [found] = [item for item in response.json()["items"] if item["object_id"] == object_id]
    return found


async def answer(node: TestNode, object_id: str, decision: str = "sign", **extra: Any) -> Any:
    """An admin of ``node`` answers the version it holds; the raw response."""
    held = await find(node, object_id)
    admin = await node.as_role(Role.admin)
    payload = {"content_version": held["content_version"], **extra}
    return await admin.post(f"{ENDORSEMENTS}/{held['id']}/{decision}", json=payload)


async def statuses(nodes: list[TestNode], object_id: str) -> list[str]:
    return [(await find(node, object_id))["status"] for node in nodes]


async def settle(nodes: list[TestNode]) -> None:
    await deliver_all(*nodes)
