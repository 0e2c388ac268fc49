"""Bad input and permissions, from the refused side: 4xx, and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import func, select

from federation.models import Delivery, InboxActivity, Peer
from federation.outbox import build_activity, enqueue
from node.accounts.models import Role
from node.canvass.models import CanvassCall, CanvassCommitment
from schemas.canvass import CanvassCommitment as WireCommitment
from tests.canvass.helpers import (
    ally_shares,
    call_body,
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
from tests.nodes import TestNode, deliver_all


async def count(node: TestNode, model: Any) -> int:
    async with node.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def forge_join(
    sender: TestNode, host: TestNode, *, call: str, shift: str, commitment_id: str | None = None
) -> Delivery:
    """Send the host a signed Join the sender's API would never produce; its delivery row."""
    async with sender.session() as session:
        peer = (await session.execute(select(Peer).where(Peer.node_id == host.url))).scalar_one()
        payload = WireCommitment(
            type="CanvassCommitment",
            id=commitment_id or f"{sender.url}/canvass-signups/forged",
            call=call,
            shift=shift,
            handle="vol-forged",
        )
        activity = build_activity(node_id=sender.url, type="Join", object=payload, to=[host.url])
        row = await enqueue(session, activity=activity, recipients=[peer])
        assert row is not None
        activity_pk = row.id
    await deliver_all(sender, host)
    async with sender.session() as session:
        return (
            await session.execute(select(Delivery).where(Delivery.activity_pk == activity_pk))
        ).scalar_one()


class TestBadInput:
    @pytest.mark.parametrize("capacity", [-1, 0])
    async def test_a_shift_without_places_is_refused_and_nothing_is_posted(self, node, capacity):
        # A shift of 0 places asks allies for nobody: it was posted and shared (issue 14)
        organizer = await node.as_role(Role.organizer)
        body = call_body()
        body["shifts"][0]["capacity"] = capacity
        response = await organizer.post("/api/v1/canvass-calls", json=body)
        assert response.status_code == 422
        assert "capacity" in response.json()["error"]["message"]
        assert await count(node, CanvassCall) == 0

    async def test_a_shift_ending_before_it_starts_or_in_the_past_is_refused(self, node):
        organizer = await node.as_role(Role.organizer)
        body = call_body()
        body["shifts"][0]["end_date"] = body["shifts"][0]["start_date"]
        assert (await organizer.post("/api/v1/canvass-calls", json=body)).status_code == 422
        body = call_body()
        body["shifts"][0]["start_date"] = "2020-01-01T10:00:00+00:00"
        body["shifts"][0]["end_date"] = "2020-01-01T12:00:00+00:00"
        assert (await organizer.post("/api/v1/canvass-calls", json=body)).status_code == 422
        assert await count(node, CanvassCall) == 0

    async def test_signing_up_for_an_unknown_shift_is_404(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, ward30)
        local = await relay(ward30, call)
        client = await volunteer(ward30)
        response = await client.post(
            f"/api/v1/canvass-calls/{local['id']}/shifts/no-such-shift/signups", json={}
        )
        assert response.status_code == 404
        assert await my_signups(client) == []

    async def test_the_host_refuses_a_commitment_for_an_unknown_shift(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, ward30)
        inbox_before = await count(host, InboxActivity)
        delivery = await forge_join(
            ward30, host, call=call["object_id"], shift=f"{call['object_id']}/shifts/nope"
        )
        assert delivery.last_status == 422
        assert await count(host, InboxActivity) == inbox_before
        assert await count(host, CanvassCommitment) == 0
        assert await shift_counts(host, call["object_id"]) == (0, 0, 3)

    async def test_a_node_cannot_commit_under_another_nodes_name(self, nodes):
        host, ward30, ward35 = await coalition(nodes, "ward33", "ward30", "ward35")
        call = await post_call(host)
        await deliver_all(host, ward30, ward35)
        delivery = await forge_join(
            ward30,
            host,
            call=call["object_id"],
            shift=call["shifts"][0]["object_id"],
            commitment_id=f"{ward35.url}/canvass-signups/not-mine",
        )
        assert delivery.last_status == 403
        assert await count(host, CanvassCommitment) == 0


class TestPermissions:
    async def test_members_cannot_post_cancel_relay_or_see_the_roster(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, ward30)
        member = await host.as_role(Role.member)
        assert (await member.post("/api/v1/canvass-calls", json=call_body())).status_code == 403
        assert (await member.post(f"/api/v1/canvass-calls/{call['id']}/cancel")).status_code == 403
        roster = f"/api/v1/canvass-calls/{call['id']}/shifts/{call['shifts'][0]['id']}/commitments"
        assert (await member.get(roster)).status_code == 403
        local = await replica(ward30, call["object_id"])
        member30 = await ward30.as_role(Role.member)
        assert (
            await member30.post(f"/api/v1/canvass-calls/{local['id']}/relay")
        ).status_code == 403
        assert (await host.client.get("/api/v1/canvass-calls")).status_code == 401
        assert (await replica(host, call["object_id"]))["status"] == "active"

    async def test_an_ally_cannot_change_the_hosts_call(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, ward30)
        local = await replica(ward30, call["object_id"])
        organizer = await ward30.as_role(Role.organizer)
        response = await organizer.post(f"/api/v1/canvass-calls/{local['id']}/cancel")
        assert (response.status_code, response.json()["error"]["code"]) == (
            409,
            "canvass_call_not_local",
        )
        await deliver_all(host, ward30)
        assert (await replica(host, call["object_id"]))["status"] == "active"
        assert (await replica(ward30, call["object_id"]))["status"] == "active"

    async def test_a_member_does_not_see_an_unrelayed_call_nor_sign_up_for_it(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, ward30)
        local = await replica(ward30, call["object_id"])
        client = await volunteer(ward30)
        assert (await client.get(f"/api/v1/canvass-calls/{local['id']}")).status_code == 404
        assert (await sign_up(client, local)).status_code == 404
        assert await my_signups(client) == []

    async def test_nobody_withdraws_another_volunteers_signup(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, ward30)
        local = await relay(ward30, call)
        her, other = await volunteer(ward30), await volunteer(ward30)
        await sign_up(her, local)
        await deliver_all(host, ward30)
        [signup] = await my_signups(her)
        response = await other.post(f"/api/v1/canvass-signups/{signup['id']}/withdraw")
        assert response.status_code == 404
        assert [s["state"] for s in await my_signups(her)] == ["committed"]

    async def test_an_ally_outside_canvass_cannot_commit(self, nodes):
        host = await nodes.start("ward33")
        ward30 = await nodes.start("ward30")
        from tests.nodes import ally

        await ally(host, ward30, scopes=["events", "forums"])
        call = await post_call(host)
        delivery = await forge_join(
            ward30, host, call=call["object_id"], shift=call["shifts"][0]["object_id"]
        )
        assert delivery.last_status == 403
        assert await count(host, CanvassCommitment) == 0


class TestAnAllyCannotFloodAShift:
    async def test_invented_volunteers_get_only_the_allys_share(self, nodes):
        # Given a 10-place shift shared with one ally (a fair share of 5)
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, capacity=10)
        await deliver_all(host, ward30)
        # When the ally's node sends ten signed Joins for volunteers it invented
        shift = call["shifts"][0]["object_id"]
        for n in range(10):
            delivery = await forge_join(
                ward30,
                host,
                call=call["object_id"],
                shift=shift,
                commitment_id=f"{ward30.url}/canvass-signups/invented-{n}",
            )
            assert delivery.last_status == 202
        # Then the host gave it five places, refused the rest, and its member still signs up
        assert await shift_counts(host, call["object_id"]) == (5, 0, 5)
        local = await volunteer(host)
        assert (await sign_up(local, call)).json()["state"] == "committed"
        assert held_by(await ally_shares(host, call)) == {
            host.url: (1, 0, None),
            ward30.url: (5, 0, 5),
        }


class TestSettingTheAllyShare:
    @pytest.mark.parametrize(
        "body",
        [
            {"ally_share": 0},
            {"ally_share": -3},
            {"ally_share": 10_001},
            {"ally_share": 2.5},
            {"ally_share": "many"},
            {},
            {"ally_share": 2, "per_ally": {"x": 1}},
        ],
    )
    async def test_a_bad_share_is_422_and_changes_nothing(self, nodes, body):
        host, _ = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host, ally_share=4)
        organizer = await host.as_role(Role.organizer)
        response = await organizer.put(f"/api/v1/canvass-calls/{call['id']}/ally-shares", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"]
        assert (await ally_shares(host, call))["ally_share"] == 4

    async def test_a_call_posted_with_a_bad_share_is_refused(self, node):
        organizer = await node.as_role(Role.organizer)
        for bad in (0, -1, 10_001, "ten"):
            response = await organizer.post(
                "/api/v1/canvass-calls", json={**call_body(), "ally_share": bad}
            )
            assert response.status_code == 422, bad
        assert await count(node, CanvassCall) == 0

    async def test_only_the_hosts_organizers_see_or_set_the_share(self, nodes):
        host, ward30 = await coalition(nodes, "ward33", "ward30")
        call = await post_call(host)
        await deliver_all(host, ward30)
        path = f"/api/v1/canvass-calls/{call['id']}/ally-shares"
        member = await host.as_role(Role.member)
        assert (await member.get(path)).status_code == 403
        assert (await member.put(path, json={"ally_share": 1})).status_code == 403
        # An ally's organizer cannot change the host's limits through its replica
        local = await replica(ward30, call["object_id"])
        other = await ward30.as_role(Role.organizer)
        for answer in (
            await other.get(f"/api/v1/canvass-calls/{local['id']}/ally-shares"),
            await other.put(
                f"/api/v1/canvass-calls/{local['id']}/ally-shares", json={"ally_share": 50}
            ),
        ):
            assert (answer.status_code, answer.json()["error"]["code"]) == (
                409,
                "canvass_call_not_local",
            )
        organizer = await host.as_role(Role.organizer)
        missing = await organizer.get("/api/v1/canvass-calls/nope/ally-shares")
        assert (missing.status_code, missing.json()["error"]["code"]) == (
            404,
            "canvass_call_not_found",
        )
        assert (await ally_shares(host, call))["ally_share"] is None
