"""Every partner route against {no token, wrong scope, right scope, someone else's id}.

401 (with ``WWW-Authenticate``) / 403 / 200 / 404, every error in the same shape, and no
answer carries the personal data planted on the nodes.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from node.accounts.models import Role
from node.members.models import Member
from tests.partners.helpers import partner_client
from tests.partners.test_resources import API, World, build_world, post_event

# (path template, scope it needs, what fills {id}: a key of ``ids`` below)
ROUTES: list[tuple[str, str, str | None]] = [
    ("/organizations", "organizations:read", None),
    ("/events", "events:read", None),
    ("/events/{id}", "events:read", "event"),
    ("/forums", "forums:read", None),
    ("/forums/{id}", "forums:read", "forum"),
    ("/endorsements", "endorsements:read", None),
    ("/endorsements/{id}", "endorsements:read", "endorsement"),
    ("/endorsements/{id}/bundle", "endorsements:read", "endorsement"),
    ("/canvass_calls", "canvass:read", None),
    ("/canvass_calls/{id}", "canvass:read", "call"),
    ("/deleted", "events:read", None),
]
ERROR_KEYS = {"error"}
ERROR_BODY_KEYS = {"code", "message", "details"}
PLANTED = ("Givenplantedzq", "Familyplantedzq", "plantedzq@mail.example", "312-555-0199")


async def world_with_pii(nodes: Any) -> tuple[World, dict[str, str], dict[str, list[str]]]:
    world = await build_world(nodes)
    for node in (world.home, world.ally):
        async with node.session() as session:
            session.add(
                Member(
                    given_name=PLANTED[0], family_name=PLANTED[1], email=PLANTED[2],
                    phone=PLANTED[3], postal_code="60625", notes="home: 1 Planted Ave",
                )
            )  # fmt: skip
    ids = {
        "event": world.events["ward33 public"]["id"],
        "forum": world.forum["id"],
        "endorsement": world.endorsement["id"],
        "call": world.calls["ward33"]["id"],
    }
    hidden_event = await post_event(world.home, "private", title="Hidden")
    # Ids that exist but must not be served: private, a draft, another kind's id, made up.
    wrong = {
        "event": [hidden_event["id"], world.forum["id"], "00000000-0000-0000-0000-000000000000"],
        "forum": [world.events["ward33 coalition"]["id"], "made-up"],
        "endorsement": [world.draft["id"], world.calls["ward33"]["id"], "x"],
        "call": [world.endorsement["id"], "nope"],
    }
    return world, ids, wrong


def assert_error_shape(response: Any) -> None:
    data = response.json()
    assert set(data) == ERROR_KEYS
    assert set(data["error"]) == ERROR_BODY_KEYS


def assert_nothing_personal(text: str) -> None:
    assert not [marker for marker in PLANTED if marker.lower() in text.lower()]


@pytest.mark.parametrize(("template", "scope", "kind"), ROUTES)
async def test_access_matrix(nodes, template: str, scope: str, kind: str | None):
    world, ids, wrong = await world_with_pii(nodes)
    path = API + template.replace("{id}", ids[kind] if kind else "")
    others = [s for s in ("events:read", "forums:read", "canvass:read") if s != scope]
    right = await partner_client(world.home, [scope], name="Right scope")
    wrong_scope = await partner_client(world.home, others[:1], name="Wrong scope")
    member = await world.home.as_role(Role.member)

    anonymous = await world.home.client.get(path)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert_error_shape(anonymous)
    as_member = await member.get(path)  # a member's token is not a partner token
    assert as_member.status_code == 401
    assert_error_shape(as_member)
    if template != "/deleted":  # the feed needs any valid token; it filters by scope
        forbidden = await wrong_scope.get(path)
        assert forbidden.status_code == 403
        assert_error_shape(forbidden)
        assert_nothing_personal(forbidden.text)
    allowed = await right.get(path)
    assert allowed.status_code == 200, allowed.text
    assert_nothing_personal(allowed.text)
    for other_id in wrong.get(kind or "", []):
        missing = await right.get(API + template.replace("{id}", other_id))
        assert missing.status_code == 404, (other_id, missing.text)
        assert_error_shape(missing)
        assert other_id in missing.json()["error"]["message"]
        assert_nothing_personal(missing.text)


async def test_every_partner_route_is_in_the_matrix(nodes):
    node = await nodes.start("ward33")
    document = (await node.client.get(f"{API}/openapi.json")).json()
    served = {
        re.sub(r"\{[a-z_]+\}", "{id}", path.removeprefix(API))
        for path in document["paths"]
        if path.startswith(f"{API}/") and not path.startswith((f"{API}/webhooks", f"{API}/whoami"))
    }

    assert served == {template for template, _, _ in ROUTES}
