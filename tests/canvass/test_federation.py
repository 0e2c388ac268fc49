"""Canvass calls across four wards: relay, sign-ups, capacity, each ally's share, withdrawal,
cancellation, expiry and reports."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from federation.models import Delivery, DeliveryState, OutboxActivity
from federation.storage import utcnow
from node.accounts.models import Role
from node.canvass.models import CanvassCommitment, CanvassShift
from tests.canvass.helpers import (
    ally_shares,
    coalition,
    held_by,
    my_signups,
    post_call,
    relay,
    replica,
    shift_counts,
    sign_up,
    volunteer,
)
from tests.nodes import ally, deliver_all

WARDS = ("ward33", "ward30", "ward35", "ward40")


class TestPostingAndRelaying:
    async def test_a_call_reaches_every_ally_and_members_see_it_once_relayed(self, nodes):
        # Given a host allied with three wards
        host, *allies = await coalition(nodes, *WARDS)
        # When the host posts a call
        call = await post_call(host)
        await deliver_all(host, *allies)
        # Then every ally's organizers hold it, with the host as origin
        for node in allies:
            held = await replica(node, call["object_id"])
            assert (held["origin"], held["is_local"]) == (host.url, False)
            assert held["shifts"][0]["remaining"] == 3
            assert held["contact"] == {"name": "Field desk", "phone": "773-555-0100"}
        # And members see it only where their organizers relayed it
        ward30, ward35, _ = allies
        await relay(ward30, call)
        member30 = await ward30.as_role(Role.member)
        member35 = await ward35.as_role(Role.member)
        assert [c["title"] for c in (await member30.get("/api/v1/canvass-calls")).json()] == [
            call["title"]
        ]
        assert (await member35.get("/api/v1/canvass-calls")).json() == []

    async def test_an_alliance_without_canvass_receives_nothing(self, nodes):
        host, other = await coalition(nodes, "ward33", "ward30", scopes=["events", "forums"])
        await post_call(host)
        assert await deliver_all(host, other) == 0
        organizer = await other.as_role(Role.organizer)
        assert (await organizer.get("/api/v1/canvass-calls")).json() == []

    async def test_a_new_ally_receives_open_calls(self, nodes):
        host = await nodes.start("ward33")
        call = await post_call(host)
        ward30 = await nodes.start("ward30")
        await ally(host, ward30)
        assert (await replica(ward30, call["object_id"]))["version"] == 1


class TestSignups:
    async def test_three_wards_fill_a_shift_then_waitlist_then_refusal(self, nodes):
        # Given a call with 3 places and 1 waitlist place, relayed by three allies, each of
        # which may hold 2 (more than its fair share of 1: the shift's limits decide here)
        host, *allies = await coalition(nodes, *WARDS)
        call = await post_call(host, capacity=3, waitlist_limit=1, ally_share=2)
        await deliver_all(host, *allies)
        relayed = [await relay(node, call) for node in allies]
        # When one volunteer from each ward signs up on her own node
        volunteers = [await volunteer(node) for node in allies]
        for client, local in zip(volunteers, relayed, strict=True):
            response = await sign_up(client, local)
            assert response.status_code == 201, response.text
            assert response.json()["state"] == "pending"
        await deliver_all(host, *allies)
        # Then the shift is full on every node and each volunteer is told she has a place
        for node in (host, *allies):
            assert await shift_counts(node, call["object_id"]) == (3, 0, 0)
        for client in volunteers:
            [signup] = await my_signups(client)
            assert signup["state"] == "committed"
        # When two more sign up: the first gets the waitlist place, the second a refusal
        fourth, fifth = await volunteer(allies[0]), await volunteer(allies[1])
        await sign_up(fourth, relayed[0])
        await deliver_all(host, *allies)
        await sign_up(fifth, relayed[1])
        await deliver_all(host, *allies)
        [waiting] = await my_signups(fourth)
        assert (waiting["state"], waiting["waitlist_position"]) == ("waitlisted", 1)
        [refused] = await my_signups(fifth)
        assert (refused["state"], refused["reason"]) == ("refused", "The shift is full.")
        for node in (host, *allies):
            assert await shift_counts(node, call["object_id"]) == (3, 1, 0)

    async def test_a_withdrawal_frees_a_place_for_the_first_waiting(self, nodes):
        host, ward30, ward35, ward40 = await coalition(nodes, *WARDS)
        call = await post_call(host, capacity=1, waitlist_limit=2)
        await deliver_all(host, ward30, ward35, ward40)
        first, second, third = [await volunteer(n) for n in (ward30, ward35, ward40)]
        for client, node in ((first, ward30), (second, ward35), (third, ward40)):
            await sign_up(client, await relay(node, call))
            await deliver_all(host, ward30, ward35, ward40)
        assert [(s["state"], s["waitlist_position"]) for s in await my_signups(third)] == [
            ("waitlisted", 2)
        ]
        # When the first withdraws on her node
        [mine] = await my_signups(first)
        response = await first.post(f"/api/v1/canvass-signups/{mine['id']}/withdraw")
        assert (response.status_code, response.json()["state"]) == (200, "withdrawn")
        await deliver_all(host, ward30, ward35, ward40)
        # Then the first waiting has the place, the next moves up, and every node shows it
        assert [s["state"] for s in await my_signups(second)] == ["committed"]
        assert [(s["state"], s["waitlist_position"]) for s in await my_signups(third)] == [
            ("waitlisted", 1)
        ]
        for node in (host, ward30, ward35, ward40):
            assert await shift_counts(node, call["object_id"]) == (1, 1, 0)

    async def test_a_host_member_signs_up_on_the_host_itself(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, capacity=2)
        local = await volunteer(host)
        response = await sign_up(local, call)
        assert response.json()["state"] == "committed"
        await deliver_all(host, ward30)
        assert await shift_counts(ward30, call["object_id"]) == (1, 0, 1)

    async def test_signing_up_twice_for_a_shift_is_refused(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, ward30)
        local = await relay(ward30, call)
        client = await volunteer(ward30)
        assert (await sign_up(client, local)).status_code == 201
        second = await sign_up(client, local)
        assert (second.status_code, second.json()["error"]["code"]) == (409, "already_signed_up")
        assert len(await my_signups(client)) == 1


class TestCancellation:
    async def test_cancelling_a_shift_reaches_every_volunteer(self, nodes):
        host, *allies = await coalition(nodes, *WARDS)
        call = await post_call(host, capacity=2, waitlist_limit=5, shifts=2)
        await deliver_all(host, *allies)
        clients = []
        for node in allies:
            client = await volunteer(node)
            await sign_up(client, await relay(node, call))
            clients.append(client)
        await deliver_all(host, *allies)
        organizer = await host.as_role(Role.organizer)
        shift_id = call["shifts"][0]["id"]
        response = await organizer.post(
            f"/api/v1/canvass-calls/{call['id']}/shifts/{shift_id}/cancel"
        )
        assert response.status_code == 200, response.text
        await deliver_all(host, *allies)
        for client in clients:
            [signup] = await my_signups(client)
            assert (signup["state"], signup["reason"]) == (
                "cancelled",
                "The host cancelled the shift.",
            )
        for node in allies:
            held = await replica(node, call["object_id"])
            assert [s["status"] for s in held["shifts"]] == ["cancelled", "open"]
            assert held["shifts"][0]["committed"] == 0

    async def test_cancelling_the_call_cancels_every_signup(self, nodes):
        host, ward30, ward35, ward40 = await coalition(nodes, *WARDS)
        call = await post_call(host, shifts=2)
        await deliver_all(host, ward30, ward35, ward40)
        client = await volunteer(ward35)
        local = await relay(ward35, call)
        await sign_up(client, local, shift=1)
        await deliver_all(host, ward30, ward35, ward40)
        organizer = await host.as_role(Role.organizer)
        assert (
            await organizer.post(f"/api/v1/canvass-calls/{call['id']}/cancel")
        ).status_code == 200
        await deliver_all(host, ward30, ward35, ward40)
        assert [s["state"] for s in await my_signups(client)] == ["cancelled"]
        assert (await replica(ward40, call["object_id"]))["status"] == "cancelled"
        # And a cancelled call takes no more sign-ups
        late = await sign_up(await volunteer(ward35), local)
        assert (late.status_code, late.json()["error"]["code"]) == (409, "shift_closed")


class TestExpiry:
    async def test_deliveries_of_a_call_expire_at_the_shift_start(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        # Given the host could not deliver until after the shift started
        start = call["shifts"][0]["start_date"]
        host.worker.clock = lambda: utcnow() + timedelta(days=4)
        await deliver_all(host, ward30)
        # Then the call never arrives late, and the delivery is marked expired
        organizer = await ward30.as_role(Role.organizer)
        assert (await organizer.get("/api/v1/canvass-calls")).json() == []
        async with host.session() as session:
            [delivery] = (
                (
                    await session.execute(
                        select(Delivery)
                        .join(OutboxActivity, OutboxActivity.id == Delivery.activity_pk)
                        .where(OutboxActivity.object_type == "CanvassCall")
                    )
                )
                .scalars()
                .all()
            )
        assert delivery.state is DeliveryState.expired
        assert delivery.expires_at.isoformat().startswith(start[:16])


class TestReports:
    async def test_counts_under_five_never_leave_the_host(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, ward30)
        organizer = await host.as_role(Role.organizer)
        body = {
            "shift_id": call["shifts"][0]["id"],
            "precincts": [
                {"precinct": "4", "doors_knocked": 120, "conversations": 31, "signups": 3},
                {"precinct": "5", "doors_knocked": 4, "conversations": 0, "signups": 5},
            ],
        }
        # Before the shift: too early
        early = await organizer.post(f"/api/v1/canvass-calls/{call['id']}/reports", json=body)
        assert early.status_code == 409
        async with host.session() as session:
            shift = (await session.execute(select(CanvassShift))).scalar_one()
            shift.start_date = utcnow() - timedelta(hours=4)
            shift.end_date = utcnow() - timedelta(hours=1)
        response = await organizer.post(f"/api/v1/canvass-calls/{call['id']}/reports", json=body)
        assert response.status_code == 201, response.text
        await deliver_all(host, ward30)
        [raw] = (await organizer.get(f"/api/v1/canvass-calls/{call['id']}/reports")).json()
        assert raw["precincts"][1]["doors_knocked"] == 4  # the host keeps its own raw counts
        local = await replica(ward30, call["object_id"])
        client = await ward30.as_role(Role.organizer)
        [shared] = (await client.get(f"/api/v1/canvass-calls/{local['id']}/reports")).json()
        assert shared["precincts"] == [
            {"precinct": "4", "doors_knocked": 120, "conversations": 31, "signups": None},
            {"precinct": "5", "doors_knocked": None, "conversations": None, "signups": 5},
        ]
        async with host.session() as session:
            bodies = [row.body for row in (await session.execute(select(OutboxActivity))).scalars()]
        [report_body] = [b for b in bodies if '"CanvassReport"' in b]
        assert '"doors_knocked":4' not in report_body
        assert '"signups":3' not in report_body


class TestTheHostKeepsOnlyWhatItNeeds:
    async def test_refused_and_withdrawn_volunteers_details_are_not_kept(self, nodes):
        host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
        call = await post_call(host, capacity=1)
        await deliver_all(host, ward30, ward35)
        # Both consent to share their contact; only one place
        kept = await volunteer(ward30, marker="Kept", phone="773-555-0101", consents=True)
        refused = await volunteer(ward35, marker="Refused", phone="773-555-0102", consents=True)
        choices = {"share_first_name": True, "share_contact": True}
        await sign_up(kept, await relay(ward30, call), **choices)
        await deliver_all(host, ward30, ward35)
        await sign_up(refused, await relay(ward35, call), **choices)
        await deliver_all(host, ward30, ward35)
        assert [s["state"] for s in await my_signups(refused)] == ["refused"]

        async def held_contacts() -> set[str]:
            async with host.session() as session:
                rows = (await session.execute(select(CanvassCommitment))).scalars().all()
            return {f"{r.given_name}|{r.email}|{r.phone}" for r in rows}

        # The refused volunteer's name and contact were never kept
        assert not any("Refused" in held or "0102" in held for held in await held_contacts())
        assert any("0101" in held for held in await held_contacts())
        # And once the other withdraws, hers are forgotten too
        [mine] = await my_signups(kept)
        await kept.post(f"/api/v1/canvass-signups/{mine['id']}/withdraw")
        await deliver_all(host, ward30, ward35)
        assert await held_contacts() == {"None|None|None"}

    async def test_a_cancelled_shift_keeps_no_volunteers_details(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, capacity=2)
        await deliver_all(host, ward30)
        client = await volunteer(ward30, marker="Cancelled", phone="773-555-0103")
        await sign_up(client, await relay(ward30, call), share_first_name=True, share_contact=True)
        await deliver_all(host, ward30)
        organizer = await host.as_role(Role.organizer)
        [held] = (await organizer.get(roster_path(call))).json()
        assert (held["given_name"], held["phone"]) == ("GivenCancelled", "773-555-0103")
        # When the host cancels the shift
        shift_id = call["shifts"][0]["id"]
        await organizer.post(f"/api/v1/canvass-calls/{call['id']}/shifts/{shift_id}/cancel")
        await deliver_all(host, ward30)
        # Then she is told, and the host no longer holds her name or contact
        assert [s["state"] for s in await my_signups(client)] == ["cancelled"]
        [row] = (await organizer.get(roster_path(call))).json()
        assert (row["state"], row["given_name"], row["email"], row["phone"]) == (
            "cancelled",
            None,
            None,
            None,
        )


def roster_path(call: dict, shift: int = 0) -> str:
    return f"/api/v1/canvass-calls/{call['id']}/shifts/{call['shifts'][shift]['id']}/commitments"


class TestWaitlistPositions:
    async def test_when_someone_waiting_leaves_those_behind_move_up(self, nodes):
        host, ward30, ward35, ward40 = await coalition(nodes, *WARDS)
        call = await post_call(host, capacity=1, waitlist_limit=2)
        await deliver_all(host, ward30, ward35, ward40)
        first, second, third = [await volunteer(n) for n in (ward30, ward35, ward40)]
        for client, node in ((first, ward30), (second, ward35), (third, ward40)):
            await sign_up(client, await relay(node, call))
            await deliver_all(host, ward30, ward35, ward40)
        # When the first one waiting withdraws
        [waiting] = await my_signups(second)
        await second.post(f"/api/v1/canvass-signups/{waiting['id']}/withdraw")
        await deliver_all(host, ward30, ward35, ward40)
        # Then the one behind her is told she is now first in line; the place is unchanged
        assert [(s["state"], s["waitlist_position"]) for s in await my_signups(third)] == [
            ("waitlisted", 1)
        ]
        assert [s["state"] for s in await my_signups(first)] == ["committed"]
        assert await shift_counts(host, call["object_id"]) == (1, 1, 0)


SHARE_FULL = (
    "Your group has filled its share of this shift: the host gives each allied group "
    "{} (waitlist included)."
)


class TestEachAllyFillsOnlyItsShare:
    async def test_an_ally_flooding_a_shift_gets_its_fair_share_and_the_host_member_a_place(
        self, nodes
    ):
        # Given a 6-place shift shared with two allies: a fair share is 6 // 3 = 2 each
        host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
        call = await post_call(host, capacity=6)
        await deliver_all(host, ward30, ward35)
        local30 = await relay(ward30, call)
        # When ward30's volunteers try to take every place
        flood = [await volunteer(ward30) for _ in range(6)]
        for client in flood:
            assert (await sign_up(client, local30)).status_code == 201
        await deliver_all(host, ward30, ward35)
        # Then two have a place, and the others are told why they have none
        answers = [(await my_signups(client))[0] for client in flood]
        assert [a["state"] for a in answers] == ["committed"] * 2 + ["refused"] * 4
        assert {a["reason"] for a in answers[2:]} == {SHARE_FULL.format("2 places")}
        # And the host's own member, and the other ally's volunteer, still get a place
        local = await volunteer(host)
        assert (await sign_up(local, call)).json()["state"] == "committed"
        other = await volunteer(ward35)
        await sign_up(other, await relay(ward35, call))
        await deliver_all(host, ward30, ward35)
        assert [s["state"] for s in await my_signups(other)] == ["committed"]
        for node in (host, ward30, ward35):
            assert await shift_counts(node, call["object_id"]) == (4, 0, 2)
        # And the host sees who filled what, and each ally's limit
        shares = await ally_shares(host, call)
        assert (shares["ally_share"], shares["allies_shared_with"]) == (None, 2)
        assert shares["shifts"][0]["fair_share"] == 2
        assert held_by(shares) == {
            host.url: (1, 0, None),
            ward30.url: (2, 0, 2),
            ward35.url: (1, 0, 2),
        }
        assert shares["shifts"][0]["groups"][0]["is_host"] is True

    async def test_the_waitlist_counts_toward_the_share(self, nodes):
        # Given one place, two waitlist places, and a share of 1 per ally set by the host
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, capacity=1, waitlist_limit=2, ally_share=1)
        await deliver_all(host, ward30)
        local30 = await relay(ward30, call)
        # When the host's member takes the place and two of ward30's volunteers sign up
        assert (await sign_up(await volunteer(host), call)).json()["state"] == "committed"
        first, second = await volunteer(ward30), await volunteer(ward30)
        await sign_up(first, local30)
        await deliver_all(host, ward30)
        await sign_up(second, local30)
        await deliver_all(host, ward30)
        # Then the first waits, and the second is refused though a waitlist place is free
        assert [(s["state"], s["waitlist_position"]) for s in await my_signups(first)] == [
            ("waitlisted", 1)
        ]
        [refused] = await my_signups(second)
        assert (refused["state"], refused["reason"]) == ("refused", SHARE_FULL.format("1 place"))
        # And a second host member still gets the waitlist place the ally could not take
        waiting = (await sign_up(await volunteer(host), call)).json()
        assert (waiting["state"], waiting["waitlist_position"]) == ("waitlisted", 2)
        assert held_by(await ally_shares(host, call)) == {
            host.url: (1, 1, None),
            ward30.url: (0, 1, 1),
        }

    async def test_the_host_changes_the_share_and_nobody_loses_a_place(self, nodes):
        # Given a 20-place shift and one ally: a fair share of 10
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, capacity=20)
        await deliver_all(host, ward30)
        local30 = await relay(ward30, call)
        assert held_by(await ally_shares(host, call))[ward30.url] == (0, 0, 10)
        three = [await volunteer(ward30) for _ in range(3)]
        for client in three:
            await sign_up(client, local30)
        await deliver_all(host, ward30)
        # When the host's organizer lowers each ally's share to 2
        organizer = await host.as_role(Role.organizer)
        path = f"/api/v1/canvass-calls/{call['id']}/ally-shares"
        response = await organizer.put(path, json={"ally_share": 2})
        assert response.status_code == 200, response.text
        assert response.json()["ally_share"] == 2
        # Then the three keep their places, and a fourth is refused
        fourth = await volunteer(ward30)
        await sign_up(fourth, local30)
        await deliver_all(host, ward30)
        assert [(await my_signups(c))[0]["state"] for c in three] == ["committed"] * 3
        assert [s["reason"] for s in await my_signups(fourth)] == [SHARE_FULL.format("2 places")]
        assert held_by(await ally_shares(host, call))[ward30.url] == (3, 0, 2)
        # When she goes back to the fair share, the next one gets a place
        assert (await organizer.put(path, json={"ally_share": None})).json()["ally_share"] is None
        fifth = await volunteer(ward30)
        await sign_up(fifth, local30)
        await deliver_all(host, ward30)
        assert [s["state"] for s in await my_signups(fifth)] == ["committed"]
        assert await shift_counts(ward30, call["object_id"]) == (4, 0, 16)
