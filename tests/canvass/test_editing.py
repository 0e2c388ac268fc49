"""Editing a canvass call: details, shift times and places, new shifts, and what allies and
waiting volunteers see afterwards (``PATCH /api/v1/canvass-calls/{id}``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import select

from federation.storage import utcnow
from node.accounts.models import Role
from node.canvass.models import CanvassShift
from tests.canvass.helpers import (
    coalition,
    my_signups,
    post_call,
    relay,
    replica,
    shift_counts,
    sign_up,
    volunteer,
)
from tests.nodes import TestNode, deliver_all


async def patch(node: TestNode, call: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    organizer = await node.as_role(Role.organizer)
    return await organizer.patch(f"/api/v1/canvass-calls/{call['id']}", json=body)


def later(days: float, hours: float = 0) -> str:
    return (utcnow() + timedelta(days=days, hours=hours)).isoformat()


class TestChangingTheDetails:
    async def test_allies_receive_the_new_version(self, nodes):
        # Given a call shared with an ally
        host, other = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, other)
        # When the host changes its title, turf and contact
        answer = await patch(
            host,
            call,
            {
                "title": "Sunday doors for the referendum",
                "turf_description": "Precincts 10 to 12",
                "contact": None,
                "materials": "Bring water",
            },
        )
        assert answer.status_code == 200, answer.text
        changed = answer.json()
        assert (changed["version"], changed["contact"]) == (2, None)
        # Then, once delivered, the ally holds the same call
        await deliver_all(host, other)
        held = await replica(other, call["object_id"])
        assert held["title"] == "Sunday doors for the referendum"
        assert held["turf_description"] == "Precincts 10 to 12"
        assert held["materials"] == "Bring water"
        assert (held["version"], held["contact"]) == (2, None)

    async def test_a_change_that_changes_nothing_sends_nothing(self, nodes):
        host, other = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, other)
        same = await patch(host, call, {"title": call["title"], "shifts": [
            {"id": call["shifts"][0]["id"], "capacity": call["shifts"][0]["capacity"]}
        ]})  # fmt: skip
        assert same.status_code == 200
        assert same.json()["version"] == 1
        assert await deliver_all(host, other) == 0

    async def test_null_for_a_required_field_is_refused(self, nodes):
        host, _ = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        answer = await patch(host, call, {"title": None})
        assert answer.status_code == 422
        assert "title cannot be null" in answer.text
        assert (await replica(host, call["object_id"]))["title"] == call["title"]


class TestChangingShifts:
    async def test_new_times_and_a_new_shift_reach_the_ally_in_order(self, nodes):
        host, other = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, capacity=4)
        await deliver_all(host, other)
        [shift] = call["shifts"]
        start, end = later(6), later(6, 4)
        answer = await patch(host, call, {
            "shifts": [{"id": shift["id"], "start_date": start, "end_date": end, "capacity": 6}],
            "new_shifts": [{"start_date": later(2), "end_date": later(2, 3), "capacity": 2}],
        })  # fmt: skip
        assert answer.status_code == 200, answer.text
        await deliver_all(host, other)
        held = await replica(other, call["object_id"])
        # The new shift comes first: shifts are in the order they start
        assert [s["capacity"] for s in held["shifts"]] == [2, 6]
        assert held["shifts"][1]["object_id"] == shift["object_id"]
        assert held["expires_at"][:16] == start[:16]

    async def test_more_places_go_to_the_waitlist_first_and_the_rest_hear_their_number(self, nodes):
        # Given a full 1-place shift with three volunteers waiting: one of the host's
        # members and two from the ally
        host, other = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, capacity=1, waitlist_limit=5, ally_share=5)
        await deliver_all(host, other)
        relayed = await relay(other, call)
        first = await volunteer(host)
        assert (await sign_up(first, call)).status_code == 201
        waiting = [await volunteer(host)]
        assert (await sign_up(waiting[0], call)).status_code == 201
        for _ in range(2):
            client = await volunteer(other)
            assert (await sign_up(client, relayed)).status_code == 201
            waiting.append(client)
        await deliver_all(host, other)
        positions = [(await my_signups(c))[0]["waitlist_position"] for c in waiting]
        assert positions == [1, 2, 3]
        # When the host gives the shift two more places
        more = {"shifts": [{"id": call["shifts"][0]["id"], "capacity": 3}]}
        answer = await patch(host, call, more)
        assert answer.status_code == 200, answer.text
        await deliver_all(host, other)
        # Then the first two waiting have a place, and the third is now number 1
        states = [(await my_signups(c))[0] for c in waiting]
        assert [s["state"] for s in states] == ["committed", "committed", "waitlisted"]
        assert states[2]["waitlist_position"] == 1
        assert await shift_counts(host, call["object_id"]) == (3, 1, 0)
        assert await shift_counts(other, call["object_id"]) == (3, 1, 0)

    async def test_no_shift_gets_fewer_places_than_volunteers_committed(self, nodes):
        host, _ = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, capacity=3)
        for _ in range(2):
            assert (await sign_up(await volunteer(host), call)).status_code == 201
        shift_id = call["shifts"][0]["id"]
        answer = await patch(host, call, {"shifts": [{"id": shift_id, "capacity": 1}]})
        assert answer.status_code == 409
        error = answer.json()["error"]
        assert error["code"] == "capacity_below_committed"
        assert "give it at least 2 places" in error["message"]
        assert error["details"][0]["loc"] == ["body", "shifts", 0, "capacity"]
        assert (await patch(host, call, {"shifts": [{"id": shift_id, "capacity": 2}]})).is_success
        assert await shift_counts(host, call["object_id"]) == (2, 0, 0)

    async def test_a_capacity_of_0_is_refused(self, nodes):
        host, other = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, other)
        shift_id = call["shifts"][0]["id"]
        for body in (
            {"shifts": [{"id": shift_id, "capacity": 0}]},
            {"new_shifts": [{"start_date": later(2), "end_date": later(2, 1), "capacity": 0}]},
        ):
            answer = await patch(host, call, body)
            assert answer.status_code == 422, body
        assert await deliver_all(host, other) == 0
        assert (await replica(other, call["object_id"]))["shifts"][0]["capacity"] == 3

    async def test_times_in_the_past_or_backwards_are_refused(self, nodes):
        host, _ = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        shift_id = call["shifts"][0]["id"]
        past = await patch(host, call, {"shifts": [{"id": shift_id, "start_date": later(-1)}]})
        assert past.status_code == 422
        assert "must start in the future" in past.text
        backwards = await patch(host, call, {"shifts": [{"id": shift_id, "end_date": later(1)}]})
        assert backwards.status_code == 422
        assert "must end after it starts" in backwards.text
        assert backwards.json()["error"]["details"][0]["loc"][-1] == "end_date"
        missing = await patch(host, call, {"shifts": [{"id": "no-such-shift", "capacity": 2}]})
        assert missing.status_code == 404

    async def test_a_shift_that_started_or_was_cancelled_keeps_its_times(self, nodes):
        host, _ = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, shifts=2)
        first, second = (s["id"] for s in call["shifts"])
        organizer = await host.as_role(Role.organizer)
        path = f"/api/v1/canvass-calls/{call['id']}/shifts/{second}/cancel"
        cancelled = await organizer.post(path)
        assert cancelled.status_code == 200
        async with host.session() as session:
            query = select(CanvassShift).where(CanvassShift.id == first)
            shift = (await session.execute(query)).scalar_one()
            shift.start_date = utcnow() - timedelta(minutes=5)
            session.add(shift)
        for shift_id, words in ((first, "has started"), (second, "is cancelled")):
            answer = await patch(host, call, {"shifts": [{"id": shift_id, "capacity": 9}]})
            assert answer.status_code == 409
            assert words in answer.json()["error"]["message"]


class TestWhoMayEdit:
    async def test_only_the_hosts_organizers_edit_an_active_call(self, nodes):
        host, other = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, other)
        member = await host.as_role(Role.member)
        answer = await member.patch(f"/api/v1/canvass-calls/{call['id']}", json={"title": "X"})
        assert answer.status_code == 403
        held = await replica(other, call["object_id"])
        not_ours = await patch(other, held, {"title": "X"})
        assert not_ours.status_code == 409
        assert not_ours.json()["error"]["code"] == "canvass_call_not_local"
        organizer = await host.as_role(Role.organizer)
        await organizer.post(f"/api/v1/canvass-calls/{call['id']}/cancel")
        after = await patch(host, call, {"title": "X"})
        assert after.status_code == 409
        assert "is cancelled, so it can no longer change" in after.json()["error"]["message"]
