"""Reliable delivery between in-process nodes: outages, throttling, errors, crashes, workers.

The worker is driven step by step (``run_once``); time passes by moving the worker's clock,
never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from federation.delivery import CIRCUIT_BREAKER_THRESHOLD, DeliveryWorker
from federation.models import Delivery, DeliveryState, InboxActivity, Peer
from federation.outbox import build_activity, enqueue
from federation.storage import utcnow
from node.accounts.models import Role
from tests.nodes import TestNode, deliver_all
from tests.worlds import star

EVENT = {
    "title": "Saturday canvass",
    "start_date": "2030-03-01T15:00:00+00:00",
    "end_date": "2030-03-01T18:00:00+00:00",
    "event_type": "CANVASS",
    "visibility": "coalition",
}


async def create_event(node: TestNode, **changes: object) -> dict[str, object]:
    organizer = await node.as_role(Role.organizer)
    response = await organizer.post("/api/v1/events", json={**EVENT, **changes})
    assert response.status_code == 201, response.text
    return response.json()


async def rename(node: TestNode, event_id: object, title: str) -> None:
    organizer = await node.as_role(Role.organizer)
    response = await organizer.patch(f"/api/v1/events/{event_id}", json={"title": title})
    assert response.status_code == 200, response.text


async def received_versions(node: TestNode) -> list[tuple[str, int]]:
    """(verb, object version) of every Event activity the node received, in arrival order."""
    async with node.session() as session:
        rows = (await session.execute(select(InboxActivity).order_by(InboxActivity.id))).scalars()
        received = [json.loads(row.body) for row in rows]
    return [
        (a["type"], a["object"]["version"]) for a in received if a["object"].get("type") == "Event"
    ]


async def peer_row(node: TestNode, other: TestNode) -> Peer:
    async with node.session() as session:
        return (await session.execute(select(Peer).where(Peer.node_id == other.url))).scalar_one()


def later(worker: DeliveryWorker, by: timedelta) -> None:
    """Move the worker's clock forward."""
    worker.clock = lambda: utcnow() + by


class TestOutage:
    async def test_everything_arrives_in_version_order_once_after_an_outage(self, pair, nodes):
        ward33, ward30 = pair
        event = await create_event(ward33)
        await deliver_all(ward33, ward30)

        # Given ward30 goes down while ward33 changes its event three times
        nodes.network.down.add("ward30.test")
        for title in ("second", "third", "fourth"):
            await rename(ward33, event["id"], title)
        assert await ward33.worker.run_once() == 1  # one attempt, then it backs off
        peer = await peer_row(ward33, ward30)
        assert peer.consecutive_failures == 1
        assert "down" in (peer.last_error or "")
        # Nothing more is tried before the backoff ends
        assert await ward33.worker.run_once() == 0

        # When ward30 is back and the backoff is over
        nodes.network.down.discard("ward30.test")
        later(ward33.worker, timedelta(minutes=1))
        await deliver_all(ward33, ward30)

        # Then every version arrived once, in order, and ward30 shows the last
        assert await received_versions(ward30) == [
            ("Create", 1), ("Update", 2), ("Update", 3), ("Update", 4),
        ]  # fmt: skip
        listed = (await (await ward30.as_role(Role.member)).get("/api/v1/events")).json()
        assert [(e["title"], e["version"]) for e in listed["items"]] == [("fourth", 4)]
        assert (await peer_row(ward33, ward30)).consecutive_failures == 0

    async def test_admin_retry_lifts_the_backoff(self, pair, nodes):
        ward33, ward30 = pair
        nodes.network.down.add("ward30.test")
        await create_event(ward33)
        await ward33.worker.run_once()
        nodes.network.down.discard("ward30.test")
        assert await ward33.worker.run_once() == 0
        admin = await ward33.as_role(Role.admin)
        health = (await admin.get("/api/v1/federation/deliveries")).json()
        assert health[0]["delivery"]["queued"] == 1
        assert health[0]["delivery"]["next_attempt_at"] is not None
        assert (await admin.post("/api/v1/federation/deliveries/retry", json={})).status_code == 200
        assert await deliver_all(ward33, ward30) == 1

    async def test_circuit_breaker_pauses_but_keeps_trying(self, pair, nodes):
        ward33, ward30 = pair
        nodes.network.down.add("ward30.test")
        await create_event(ward33)
        for _ in range(CIRCUIT_BREAKER_THRESHOLD):
            await ward33.worker.run_once()
            due = (await peer_row(ward33, ward30)).next_attempt_at
            assert due is not None
            later(ward33.worker, due - utcnow() + timedelta(seconds=1))
        admin = await ward33.as_role(Role.admin)
        [health] = (await admin.get("/api/v1/federation/deliveries")).json()
        assert health["delivery"]["paused"] is True
        assert health["delivery"]["queued"] == 1  # not dead-lettered for being offline
        nodes.network.down.discard("ward30.test")
        due = (await peer_row(ward33, ward30)).next_attempt_at
        assert due is not None
        later(ward33.worker, due - utcnow() + timedelta(seconds=1))
        assert await deliver_all(ward33, ward30) == 1


class TestAnswers:
    async def test_429_retry_after_is_honoured(self, pair, nodes):
        ward33, ward30 = pair
        nodes.network.intercept["ward30.test"] = lambda request: httpx.Response(
            429, headers={"Retry-After": "600"}, json={"error": {"code": "slow_down",
                                                                  "message": "busy"}}
        )  # fmt: skip
        await create_event(ward33)
        before = utcnow()
        await ward33.worker.run_once()
        peer = await peer_row(ward33, ward30)
        assert peer.next_attempt_at is not None
        assert peer.next_attempt_at - before >= timedelta(seconds=590)  # not the 30 s schedule
        assert "busy" in (peer.last_error or "")

    async def test_500_backs_off_on_the_schedule(self, pair, nodes):
        ward33, ward30 = pair
        nodes.network.intercept["ward30.test"] = lambda request: httpx.Response(500)
        await create_event(ward33)
        before = utcnow()
        await ward33.worker.run_once()
        wait = (await peer_row(ward33, ward30)).next_attempt_at - before  # type: ignore[operator]
        assert timedelta(seconds=23) <= wait <= timedelta(seconds=37)  # 30 s +-20 %

    async def test_a_final_4xx_is_failed_and_the_queue_moves_on(self, pair, nodes):
        ward33, ward30 = pair
        first = await create_event(ward33, title="refused")
        refused_once = {"done": False}

        def refuse_first(request: httpx.Request) -> httpx.Response | None:
            if not refused_once["done"]:
                refused_once["done"] = True
                return httpx.Response(422, json={"error": {"code": "schema_invalid",
                                                           "message": "no thanks"}})  # fmt: skip
            return None

        nodes.network.intercept["ward30.test"] = refuse_first
        await create_event(ward33, title="accepted")
        await deliver_all(ward33, ward30)
        async with ward33.session() as session:
            states = (await session.execute(
                select(Delivery.state).order_by(Delivery.id)
            )).scalars().all()  # fmt: skip
        assert states[-2:] == [DeliveryState.failed, DeliveryState.delivered]
        listed = (await (await ward30.as_role(Role.member)).get("/api/v1/events")).json()
        assert [e["title"] for e in listed["items"]] == ["accepted"]
        del first

    async def test_a_redirect_is_not_followed_and_is_retried(self, pair, nodes):
        # A 3xx means the peer's inbox is misconfigured or moving: like an outage, it is
        # retried on the schedule (FEDERATION.md 8.4), and never followed
        ward33, ward30 = pair
        requested: list[str] = []

        def redirect(request: httpx.Request) -> httpx.Response:
            requested.append(request.url.path)
            return httpx.Response(308, headers={"Location": "http://ward30.test/new-inbox"})

        nodes.network.intercept["ward30.test"] = redirect
        await create_event(ward33)
        assert await ward33.worker.run_once() == 1
        peer = await peer_row(ward33, ward30)
        assert peer.consecutive_failures == 1
        assert "308" in (peer.last_error or "")
        assert "http://ward30.test/new-inbox" in (peer.last_error or "")
        assert requested == ["/federation/inbox"]
        # When the peer answers at its inbox again, the event arrives
        del nodes.network.intercept["ward30.test"]
        later(ward33.worker, timedelta(minutes=1))
        assert await deliver_all(ward33, ward30) == 1
        assert (
            len((await (await ward30.as_role(Role.member)).get("/api/v1/events")).json()["items"])
            == 1
        )


class TestSlowAndCrashingPeers:
    async def test_a_black_holed_peer_does_not_hold_up_the_others(self, nodes):
        ward33, _hole, ward30 = await nodes.world(star, ("ward33", "hole", "ward30"))
        nodes.network.black_hole.add("hole.test")
        ward33.worker.deadline_seconds = 30
        await create_event(ward33)
        round_ = asyncio.create_task(ward33.worker.run_once())
        member = await ward30.as_role(Role.member)
        for _ in range(200):
            if (await member.get("/api/v1/events")).json()["items"]:
                break
            await asyncio.sleep(0.01)
        # ward30 has the event while the round is still waiting on the black hole
        assert (await member.get("/api/v1/events")).json()["items"]
        assert not round_.done()
        round_.cancel()
        with pytest.raises(asyncio.CancelledError):
            await round_

    async def test_answer_lost_after_the_peer_applied_it(self, pair, nodes):
        ward33, ward30 = pair
        real = nodes.network.apps["ward30.test"]
        lost = {"done": False}

        async def apply_then_drop(request: httpx.Request) -> httpx.Response:
            response = await real.handle_async_request(request)
            if not lost["done"]:
                lost["done"] = True
                raise httpx.ReadError("connection reset after the peer answered", request=request)
            return response

        class Dropping(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                return await apply_then_drop(request)

        nodes.network.apps["ward30.test"] = Dropping()  # type: ignore[assignment]
        await create_event(ward33)
        await ward33.worker.run_once()  # applied on ward30; ward33 never heard back
        later(ward33.worker, timedelta(minutes=1))
        await deliver_all(ward33, ward30)
        assert await received_versions(ward30) == [("Create", 1)]  # applied once
        async with ward33.session() as session:
            delivery = (
                await session.execute(select(Delivery).order_by(Delivery.id.desc()).limit(1))
            ).scalar_one()
        assert delivery.state is DeliveryState.delivered
        assert delivery.attempts == 2

    async def test_two_workers_never_send_the_same_delivery(self, nodes):
        ward33, *allies = await nodes.world(star, ("ward33", "w0", "w1", "w2", "w3"))
        for i in range(5):
            await create_event(ward33, title=f"event {i}")
        second = DeliveryWorker(
            session_maker=ward33.app.state.session_maker,
            client=ward33.runtime.client,
            keyring=ward33.runtime.keyring,
            node_id=ward33.url,
        )
        sent_before = sum(nodes.network.posts_to(f"{o.name}.test") for o in allies)
        for _ in range(10):
            sent = await asyncio.gather(ward33.worker.run_once(), second.run_once())
            if not any(sent):
                break
        sent_after = sum(nodes.network.posts_to(f"{o.name}.test") for o in allies)
        assert sent_after - sent_before == 5 * 4  # every delivery sent exactly once
        for other in allies:
            assert len(await received_versions(other)) == 5


class TestExpiryAndGivingUp:
    async def test_an_expired_delivery_is_never_sent(self, pair, nodes):
        ward33, ward30 = pair
        async with ward33.session() as session:
            peer = (await session.execute(select(Peer))).scalar_one()
            activity = build_activity(
                node_id=ward33.url, type="Leave", object=ward30.url, to=[ward30.url]
            )
            await enqueue(session, activity=activity, recipients=[peer],
                          expires_at=utcnow() - timedelta(seconds=1))  # fmt: skip
        posts = nodes.network.posts_to("ward30.test")
        await deliver_all(ward33, ward30)
        assert nodes.network.posts_to("ward30.test") == posts
        async with ward33.session() as session:
            states = (await session.execute(select(Delivery.state))).scalars().all()
        assert DeliveryState.expired in states

    async def test_gives_up_on_a_weeks_queue_at_once(self, pair, nodes):
        ward33, _ = pair
        nodes.network.down.add("ward30.test")
        for i in range(3):
            await create_event(ward33, title=f"event {i}")
        async with ward33.session() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.state == DeliveryState.pending)
                .values(created_at=utcnow() - timedelta(days=7, minutes=1))
            )
        await ward33.worker.run_once()  # one failed attempt at the head of the queue
        async with ward33.session() as session:
            given_up = (await session.execute(
                select(Delivery).where(Delivery.state == DeliveryState.failed)
            )).scalars().all()  # fmt: skip
        assert len(given_up) == 3
        assert all(d.last_error.startswith("gave up after 7 days") for d in given_up)  # type: ignore[union-attr]


class TestTheLoop:
    async def test_a_wake_during_a_round_starts_another_at_once(self, nodes):
        # Given a worker whose idle wait is an hour, so only a wake-up can start a second round
        node = await nodes.start("ward33", wards=[33])
        worker, stop, rounds = node.worker, asyncio.Event(), []

        async def a_round_during_which_a_request_commits() -> int:
            rounds.append(len(rounds) + 1)
            if len(rounds) == 1:
                worker.wake.set()  # what a request's commit does, while this round is under way
            else:
                stop.set()
            return 0

        worker.drains.append(a_round_during_which_a_request_commits)
        # Then the wake is not lost when the round ends: the next round follows at once
        await asyncio.wait_for(worker.run_forever(stop, idle_seconds=3600), timeout=90)
        assert rounds == [1, 2]
