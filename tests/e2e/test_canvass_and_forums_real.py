"""A canvass call and a forum plan between four real ``ipo-node`` processes (issue 5, e2e case).

33rd Ward Working Families hosts; 30th United, United Neighbors of the 35th Ward and 39th Ward
Neighbors United are its allies, allied through the CLI (``ipo-node ally`` with every scope,
which includes ``canvass`` and ``forums``; ``ipo-node allies accept`` on the other side).

Canvass: the host posts a call with one shift of two places and no waitlist; each ally's
organizer relays it; a member of 30th United (sharing her contact) and a member of the 35th
Ward (sharing nothing) sign up on their own nodes and fill the shift on all four nodes; a
member of the 39th Ward is refused (``waitlist_limit`` 0: a full shift refuses, see
``node/canvass/service.py`` ``take_commitment``) and her own node tells her; the 30th Ward
volunteer withdraws and a place frees on all four nodes. The host's roster holds the
consenting volunteer's contact and none of the other's planted personal data.

Forum: the host plans a forum with the three allies as co-hosts; each co-host's admin accepts
on its own node; a co-host submits a question and takes a role; the organizer selects the
question; every node shows the same plan version and content.

Volunteers are real member accounts: the admin creates the account (``POST /api/v1/users``)
and a member record (``POST /api/v1/members``); the member logs in and makes her own bearer
token (``POST /api/v1/me/tokens``). The four nodes are started once for the module; the tests
of a class run in order on one call or one forum.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest

from node.members.models import normalized_phone
from tests.canvass.helpers import call_body
from tests.e2e.conftest import NodeMaker
from tests.e2e.realnode import (
    PASSWORD,
    RealNode,
    ally_through_api,
    eventually,
    init_nodes,
    serve_nodes,
)
from tests.forums.test_lifecycle import forum_body

pytestmark = pytest.mark.e2e

CALLS = "/api/v1/canvass-calls"
SIGNUPS = "/api/v1/canvass-signups"
FORUMS = "/api/v1/forums"
PLAN_KEYS = (
    "version",
    "title",
    "co_hosts",
    "roles",
    "candidate_invitations",
    "agenda_items",
    "question_submissions",
    "tasks",
)


@dataclass(frozen=True)
class Volunteer:
    """A member of one node, with the personal data planted in her member record."""

    node: RealNode
    client: httpx.Client
    given_name: str
    family_name: str
    email: str
    phone: str

    @property
    def stored_phone(self) -> str:
        """Her phone as her node stores a member's: E.164."""
        return normalized_phone(self.phone)

    @property
    def planted(self) -> tuple[str, ...]:
        return (self.given_name, self.family_name, self.email, self.phone, self.stored_phone)


@dataclass
class Coalition:
    ward33: RealNode
    allies: list[RealNode]
    volunteers: list[Volunteer] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    """What earlier tests of a class leave for later ones."""

    @property
    def everyone(self) -> list[RealNode]:
        return [self.ward33, *self.allies]

    def close(self) -> None:
        for volunteer in self.volunteers:
            volunteer.client.close()


def enrol(node: RealNode, tag: str, phone: str, *, shares_contact: bool) -> Volunteer:
    """``node``'s admin makes a member account and record; she makes her own bearer token."""
    marker = f"{tag}{uuid.uuid4().hex[:8]}"
    email = f"{marker.lower()}@{node.slug}.example"
    created = node.api.post(
        "/api/v1/users",
        json={"email": email, "role": "member", "password": PASSWORD, "display_name": marker},
    )
    assert created.status_code == 201, created.text
    member = node.api.post(
        "/api/v1/members",
        json={
            "given_name": f"Given{marker}",
            "family_name": f"Family{marker}",
            "email": email,
            "phone": phone,
            "postal_code": "60625",
            "share_contact_with_hosts": shares_contact,
        },
    )
    assert member.status_code == 201, member.text
    with httpx.Client(base_url=node.url, timeout=10) as browser:
        login = browser.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        assert login.json()["user"]["role"] == "member"
        made = browser.post(
            "/api/v1/me/tokens",
            json={"name": "e2e"},
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
        )
        assert made.status_code == 201, made.text
    client = httpx.Client(
        base_url=node.url,
        headers={"Authorization": f"Bearer {made.json()['token']}"},
        timeout=10,
    )
    return Volunteer(node, client, f"Given{marker}", f"Family{marker}", email, phone)


@pytest.fixture(scope="module")
def coalition(module_nodes: NodeMaker) -> Iterator[Coalition]:
    """Four nodes, each its own ``serve`` process and database; the host allied with three."""
    ward33 = module_nodes("33rd Ward Working Families", "ward33", 33)
    allies = [
        module_nodes("30th United", "ward30", 30),
        module_nodes("United Neighbors of the 35th Ward", "ward35", 35),
        module_nodes("39th Ward Neighbors United", "ward39", 39),
    ]
    everyone = [ward33, *allies]
    init_nodes(everyone)
    serve_nodes(everyone)
    with ThreadPoolExecutor(max_workers=len(everyone)) as pool:
        # Each admin's bearer token (``ipo-node token``), fetched side by side
        list(pool.map(lambda node: node.api, everyone))
    # Alliances through the admins' API (the CLI handshake has its own test, test_real_nodes)
    for ally in allies:
        ally_through_api(ward33, ally)
    for ally in allies:
        for one, other in ((ward33, ally), (ally, ward33)):
            alliance = one.alliances()[other.url]
            assert alliance["state"] == "active", (one.slug, alliance)
            assert {"canvass", "forums"} <= set(alliance["scopes"]), (one.slug, alliance)
    built = Coalition(ward33, allies)
    yield built
    built.close()


# ---- canvass --------------------------------------------------------------------------------


def held_call(node: RealNode, object_id: str) -> dict[str, Any] | None:
    """``node``'s copy of the call, as its organizers (here its admin) list it."""
    listed = node.api.get(CALLS)
    assert listed.status_code == 200, listed.text
    found = [call for call in listed.json() if call["object_id"] == object_id]
    return found[0] if found else None


def shift_counts(node: RealNode, object_id: str) -> tuple[int, int, int] | None:
    call = held_call(node, object_id)
    if call is None:
        return None
    shift = call["shifts"][0]
    return shift["committed"], shift["waitlisted"], shift["remaining"]


def wait_for_counts(nodes: list[RealNode], object_id: str, counts: tuple[int, int, int]) -> None:
    for node in nodes:
        eventually(
            partial(shift_counts, node, object_id),
            lambda seen: seen == counts,
            what=f"{node.slug} to show (committed, waitlisted, remaining) = {counts}",
        )


def my_signups(volunteer: Volunteer) -> list[dict[str, Any]]:
    response = volunteer.client.get(SIGNUPS)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def wait_for_signup(volunteer: Volunteer, state: str) -> dict[str, Any]:
    [found] = eventually(
        partial(my_signups, volunteer),
        lambda rows: len(rows) == 1 and rows[0]["state"] == state,
        what=f"{volunteer.node.slug}'s volunteer to be told she is {state}",
    )
    return found


def sign_up(volunteer: Volunteer, *, share: bool) -> dict[str, Any]:
    """She finds the relayed call in her own node's member list and signs up for its shift."""
    listed = volunteer.client.get(CALLS)
    assert listed.status_code == 200, listed.text
    [local] = listed.json()
    assert local["relayed"] is True
    response = volunteer.client.post(
        f"{CALLS}/{local['id']}/shifts/{local['shifts'][0]['id']}/signups",
        json={"share_first_name": share, "share_contact": share},
    )
    assert response.status_code == 201, response.text
    signup: dict[str, Any] = response.json()
    assert signup["state"] == "pending"
    return signup


class TestCanvassCall:
    def test_a_call_reaches_every_ally_and_each_relays_it_to_its_members(
        self, coalition: Coalition
    ) -> None:
        ward33, allies = coalition.ward33, coalition.allies
        coalition.volunteers.extend(
            [
                enrol(allies[0], "Consenting", "773-555-0131", shares_contact=True),
                enrol(allies[1], "Private", "773-555-0135", shares_contact=False),
                enrol(allies[2], "Late", "773-555-0139", shares_contact=False),
            ]
        )

        # Given 33WF's organizer posts a call with one shift of 2 places, three days ahead
        created = ward33.api.post(CALLS, json=call_body(capacity=2))
        assert created.status_code == 201, created.text
        call = created.json()
        object_id = call["object_id"]

        # When it reaches each ally, whose organizer relays it to the members
        for node in allies:
            held = eventually(
                partial(held_call, node, object_id),
                lambda found: found is not None,
                what=f"{node.slug} to receive the call",
            )
            assert held is not None
            assert (held["origin"], held["is_local"], held["relayed"]) == (ward33.url, False, False)
            assert held["shifts"][0]["remaining"] == 2
            relayed = node.api.post(f"{CALLS}/{held['id']}/relay")
            assert relayed.status_code == 200, relayed.text
            assert relayed.json()["relayed"] is True

        # Then each ally's member sees it in her own node's list
        for volunteer in coalition.volunteers:
            listed = volunteer.client.get(CALLS)
            assert listed.status_code == 200, listed.text
            assert [c["object_id"] for c in listed.json()] == [object_id], volunteer.node.slug
        coalition.state["call"] = call

    def test_two_volunteers_fill_the_shift_and_a_third_is_refused(
        self, coalition: Coalition
    ) -> None:
        call = coalition.state.get("call")
        if call is None:
            pytest.skip("the call was not relayed")
        consenting, private, late = coalition.volunteers

        # When a 30th Ward member (sharing her contact) and a 35th Ward member (sharing
        # nothing) sign up on their own nodes
        sign_up(consenting, share=True)
        sign_up(private, share=False)

        # Then each is told she has a place, and all four nodes show the shift full
        wait_for_signup(consenting, "committed")
        wait_for_signup(private, "committed")
        wait_for_counts(coalition.everyone, call["object_id"], (2, 0, 0))

        # When a 39th Ward member signs up for the full shift (the call keeps no waitlist)
        sign_up(late, share=False)

        # Then the host refuses her, her own node tells her why, and no count moves
        refused = wait_for_signup(late, "refused")
        assert (refused["reason"], refused["waitlist_position"]) == ("The shift is full.", None)
        wait_for_counts(coalition.everyone, call["object_id"], (2, 0, 0))
        coalition.state["full"] = True

    def test_the_hosts_roster_has_only_the_consenting_volunteers_contact(
        self, coalition: Coalition
    ) -> None:
        call = coalition.state.get("call")
        if call is None or not coalition.state.get("full"):
            pytest.skip("the shift was not filled")
        consenting, private, late = coalition.volunteers

        # When the host's organizer reads the shift's roster
        roster = coalition.ward33.api.get(
            f"{CALLS}/{call['id']}/shifts/{call['shifts'][0]['id']}/commitments"
        )
        assert roster.status_code == 200, roster.text
        rows = {row["home_node"]: row for row in roster.json()}
        text = roster.text

        # Then it names the consenting volunteer, with her email and phone
        assert set(rows) == {consenting.node.url, private.node.url, late.node.url}
        mine = rows[consenting.node.url]
        assert (mine["state"], mine["given_name"], mine["email"], mine["phone"]) == (
            "committed",
            consenting.given_name,
            consenting.email,
            consenting.stored_phone,
        )
        assert consenting.family_name not in text
        # And of the others only a handle: none of their planted data is anywhere in it
        for other in (private, late):
            row = rows[other.node.url]
            assert row["handle"].startswith("vol-")
            assert (row["given_name"], row["email"], row["phone"]) == (None, None, None)
            for planted in other.planted:
                assert planted not in text, planted
        assert rows[late.node.url]["state"] == "refused"

    def test_a_withdrawal_frees_a_place_on_every_node(self, coalition: Coalition) -> None:
        call = coalition.state.get("call")
        if call is None or not coalition.state.get("full"):
            pytest.skip("the shift was not filled")
        consenting, private, late = coalition.volunteers

        # When the 30th Ward volunteer withdraws on her own node
        [mine] = my_signups(consenting)
        withdrawn = consenting.client.post(f"{SIGNUPS}/{mine['id']}/withdraw")
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["state"] == "withdrawn"

        # Then a place is free on all four nodes; the others' sign-ups stand as they were
        wait_for_counts(coalition.everyone, call["object_id"], (1, 0, 1))
        assert [s["state"] for s in my_signups(private)] == ["committed"]
        assert [s["state"] for s in my_signups(late)] == ["refused"]
        assert [s["state"] for s in my_signups(consenting)] == ["withdrawn"]


# ---- forums ---------------------------------------------------------------------------------


def held_plan(node: RealNode, object_id: str) -> dict[str, Any] | None:
    listed = node.api.get(FORUMS)
    assert listed.status_code == 200, listed.text
    found = [plan for plan in listed.json() if plan["object_id"] == object_id]
    return found[0] if found else None


def wait_for_plan(
    coalition: Coalition, object_id: str, until: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    """Wait until the origin's plan satisfies ``until`` and every co-host holds the same."""
    mine = eventually(
        lambda: held_plan(coalition.ward33, object_id),
        lambda plan: plan is not None and until(plan),
        what=f"ward33 to show {what}",
    )
    assert mine is not None
    expected = {key: mine[key] for key in PLAN_KEYS}
    for node in coalition.allies:
        eventually(
            partial(held_plan, node, object_id),
            lambda plan: plan is not None and {k: plan[k] for k in PLAN_KEYS} == expected,
            what=f"{node.slug} to show ward33's plan at version {mine['version']} ({what})",
        )
    return mine


class TestForumPlan:
    def test_the_co_hosts_accept_contribute_and_every_node_holds_the_same_plan(
        self, coalition: Coalition
    ) -> None:
        ward33, allies = coalition.ward33, coalition.allies
        ward30, ward35, _ = allies

        # Given 33WF plans a forum with the three allies as co-hosts
        created = ward33.api.post(FORUMS, json=forum_body([n.url for n in allies], ward33.url))
        assert created.status_code == 201, created.text
        forum = created.json()
        object_id = forum["object_id"]
        plan = wait_for_plan(
            coalition, object_id, lambda p: True, "the plan with three invited co-hosts"
        )
        assert [c["status"] for c in plan["co_hosts"]] == ["invited"] * 3

        # When each co-host's admin accepts on its own node
        for node in allies:
            local = held_plan(node, object_id)
            assert local is not None
            assert (local["origin"], local["is_local"]) == (ward33.url, False)
            accepted = node.api.post(f"{FORUMS}/{local['id']}/accept")
            assert accepted.status_code == 202, accepted.text

        # Then every node shows all three accepted, at one version
        accepted_plan = wait_for_plan(
            coalition,
            object_id,
            lambda p: [c["status"] for c in p["co_hosts"]] == ["accepted"] * 3,
            "three accepted co-hosts",
        )
        assert accepted_plan["version"] > plan["version"]

        # When the 35th Ward submits a question and takes the open timekeeper role
        local35 = held_plan(ward35, object_id)
        assert local35 is not None
        asked = ward35.api.post(
            f"{FORUMS}/{local35['id']}/questions", json={"text": "How will you fund the CTA?"}
        )
        assert asked.status_code == 202, asked.text
        took = ward35.api.post(f"{FORUMS}/{local35['id']}/roles/timekeeper/take")
        assert took.status_code == 202, took.text

        # Then the organizer's node applies both and every co-host sees them
        def contributed(p: dict[str, Any]) -> bool:
            timekeeper = next(r for r in p["roles"] if r["name"] == "timekeeper")
            return len(p["question_submissions"]) == 1 and timekeeper.get("assigned_to") == (
                ward35.url
            )

        plan = wait_for_plan(coalition, object_id, contributed, "the question and the role")
        [question] = plan["question_submissions"]
        assert (question["text"], question["submitted_by"], question["status"]) == (
            "How will you fund the CTA?",
            ward35.url,
            "pending",
        )

        # When the organizer selects the question
        selected = ward33.api.post(
            f"{FORUMS}/{forum['id']}/questions/{question['id']}/status",
            json={"status": "selected"},
        )
        assert selected.status_code == 200, selected.text

        # Then every node shows the same plan, at the same version, with the question selected
        final = wait_for_plan(
            coalition,
            object_id,
            lambda p: [q["status"] for q in p["question_submissions"]] == ["selected"],
            "the selected question",
        )
        assert final["version"] > plan["version"]
        assert [(c["node"], c["status"]) for c in final["co_hosts"]] == [
            (node.url, "accepted") for node in allies
        ]
        assert {r["name"]: r.get("assigned_to") for r in final["roles"]} == {
            "moderator": ward33.url,
            "timekeeper": ward35.url,
            "interpreter": ward30.url,
        }
        assert [a["title"] for a in final["agenda_items"]] == ["Welcome", "Questions"]
        for node in allies:
            theirs = held_plan(node, object_id)
            assert theirs is not None
            assert theirs["version"] == final["version"], node.slug
            assert (theirs["title"], theirs["accessibility_notes"], theirs["languages"]) == (
                final["title"],
                final["accessibility_notes"],
                final["languages"],
            ), node.slug
