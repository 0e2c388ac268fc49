"""One ally tries to fill a shift by itself, between three real ``ipo-node`` processes
(issue 13, item 10).

33rd Ward Working Families hosts a 6-place shift shared with 30th United and the 35th Ward: a
fair share is 6 // 3 = 2 places per ally. Three members of 30th United sign up on their own
node; the host gives two of them a place and refuses the third, whose node tells her why. A
member of 33WF and one of the 35th Ward still get a place, and the host's organizers see how
many places each group holds and each ally's limit.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from tests.canvass.helpers import call_body
from tests.e2e.conftest import NodeMaker
from tests.e2e.realnode import RealNode, ally_through_api, eventually, init_nodes, serve_nodes
from tests.e2e.test_canvass_and_forums_real import (
    CALLS,
    Volunteer,
    enrol,
    held_call,
    my_signups,
    shift_counts,
)

pytestmark = pytest.mark.e2e


def sign_up(volunteer: Volunteer, object_id: str) -> dict[str, Any]:
    """She finds the call in her own node's list and signs up for its shift."""
    listed = volunteer.client.get(CALLS)
    assert listed.status_code == 200, listed.text
    [local] = [call for call in listed.json() if call["object_id"] == object_id]
    response = volunteer.client.post(
        f"{CALLS}/{local['id']}/shifts/{local['shifts'][0]['id']}/signups", json={}
    )
    assert response.status_code == 201, response.text
    signup: dict[str, Any] = response.json()
    return signup


def answered(volunteer: Volunteer) -> dict[str, Any]:
    """Her one sign-up, once the host has answered it."""
    [signup] = eventually(
        partial(my_signups, volunteer),
        lambda rows: len(rows) == 1 and rows[0]["state"] != "pending",
        what=f"{volunteer.node.slug}'s volunteer to hear from the host",
    )
    return signup


class TestAnAllyFillsOnlyItsShare:
    def test_an_ally_is_refused_beyond_its_share_and_the_host_member_gets_a_place(
        self, fresh_nodes: NodeMaker
    ) -> None:
        ward33 = fresh_nodes("33rd Ward Working Families", "ward33", 33)
        ward30 = fresh_nodes("30th United", "ward30", 30)
        ward35 = fresh_nodes("United Neighbors of the 35th Ward", "ward35", 35)
        everyone: list[RealNode] = [ward33, ward30, ward35]
        init_nodes(everyone)
        serve_nodes(everyone)
        for ally in (ward30, ward35):
            ally_through_api(ward33, ally)

        # Given 33WF posts a 6-place shift, and both allies relay it to their members
        created = ward33.api.post(CALLS, json=call_body(capacity=6))
        assert created.status_code == 201, created.text
        call = created.json()
        for node in (ward30, ward35):
            local = eventually(
                partial(held_call, node, call["object_id"]),
                lambda found: found is not None,
                what=f"{node.slug} to receive the call",
            )
            assert local is not None
            assert node.api.post(f"{CALLS}/{local['id']}/relay").status_code == 200

        # When three members of 30th United sign up, one after another
        flood = [enrol(ward30, f"Flood{n}", f"773-555-013{n}", shares_contact=False) for n in "123"]
        answers = []
        for volunteer in flood:
            sign_up(volunteer, call["object_id"])
            answers.append(answered(volunteer))

        # Then two have a place and the third is told the ally's share is full
        assert [a["state"] for a in answers] == ["committed", "committed", "refused"]
        assert answers[2]["reason"] == (
            "Your group has filled its share of this shift: the host gives each allied group "
            "2 places (waitlist included)."
        )

        # And a 33WF member and a 35th Ward member still get a place, on every node
        own = enrol(ward33, "Own", "773-555-0133", shares_contact=False)
        assert sign_up(own, call["object_id"])["state"] == "committed"
        other = enrol(ward35, "Other", "773-555-0135", shares_contact=False)
        sign_up(other, call["object_id"])
        assert answered(other)["state"] == "committed"
        for node in everyone:
            eventually(
                partial(shift_counts, node, call["object_id"]),
                lambda seen: seen == (4, 0, 2),
                what=f"{node.slug} to show 4 committed and 2 left",
            )

        # And the host's organizers see what each group holds, and each ally's limit
        shares = ward33.api.get(f"{CALLS}/{call['id']}/ally-shares")
        assert shares.status_code == 200, shares.text
        [shift] = shares.json()["shifts"]
        assert [
            (g["name"], g["committed"], g["waitlisted"], g["limit"]) for g in shift["groups"]
        ] == [
            ("33rd Ward Working Families", 1, 0, None),
            ("30th United", 2, 0, 2),
            ("United Neighbors of the 35th Ward", 1, 0, 2),
        ]
        for volunteer in (*flood, own, other):
            volunteer.client.close()
