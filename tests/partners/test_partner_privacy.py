"""The privacy scan, extended to the partner API: no partner answer carries personal data.

Members and volunteers with unique markers are planted on every node; volunteers sign up for
the host's canvass call *with consent to share their contact with the host*, so the host does
hold their names, emails and phones. Then every partner route (every list, every object, every
bundle) is read on every node with every read scope, and each body is scanned.
"""

from __future__ import annotations

from typing import Any

import httpx

from node.accounts.models import Role
from tests.canvass.helpers import relay, sign_up
from tests.nodes import TestNode, deliver_all
from tests.partners.helpers import partner_client
from tests.partners.test_resources import API, build_world
from tests.test_privacy import Leaks, plant

READ_SCOPES = [
    "events:read",
    "forums:read",
    "endorsements:read",
    "canvass:read",
    "organizations:read",
]
LISTS = ("organizations", "events", "forums", "endorsements", "canvass_calls", "deleted")


async def every_partner_answer(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    """(path, body) of every list page and of every object and bundle they name."""
    answers: list[tuple[str, str]] = []
    for kind in LISTS:
        response = await client.get(f"{API}/{kind}", params={"limit": 200})
        assert response.status_code == 200, response.text
        answers.append((kind, response.text))
        for item in response.json()["items"]:
            if kind in ("organizations", "deleted"):
                continue
            paths = [f"{API}/{kind}/{item['id']}"]
            if kind == "endorsements":
                paths.append(item["bundle_url"])
            for path in paths:
                one = await client.get(path)
                assert one.status_code == 200, one.text
                answers.append((path, one.text))
    return answers


async def test_no_partner_answer_carries_personal_data(nodes):
    world = await build_world(nodes, partner_rate_burst=100_000)
    home, ally30 = world.home, world.ally
    leaks = Leaks()
    for node in (home, ally30, world.former):
        await plant(node, leaks.person(node, "member"), login=False)
    call = world.calls["ward33"]
    relayed = await relay(ally30, call)
    volunteers: list[tuple[TestNode, Any]] = []
    for node, target in ((ally30, relayed), (home, call)):
        person = leaks.person(node, "volunteer")
        client = await plant(node, person, login=True)
        assert client is not None
        answer = await sign_up(client, target, share_first_name=True, share_contact=True)
        assert answer.status_code == 201, answer.text
        volunteers.append((node, person))
    await deliver_all(home, ally30, world.former)
    organizer = await home.as_role(Role.organizer)
    roster = await organizer.get(
        f"/api/v1/canvass-calls/{call['id']}/shifts/{call['shifts'][0]['id']}/commitments"
    )
    # Given the host does hold the consenting volunteers' contacts (the scan is not vacuous)
    assert {row["email"] for row in roster.json()} == {p.email for _, p in volunteers}

    problems: list[str] = []
    for node in (home, ally30):
        client = await partner_client(node, READ_SCOPES)
        answers = await every_partner_answer(client)
        assert len(answers) > len(LISTS)
        for path, text in answers:
            problems.extend(f"{marker} in {node.name} {path}" for _, marker in leaks.hits(text))

    assert problems == []
