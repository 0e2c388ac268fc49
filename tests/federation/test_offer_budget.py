"""Strangers' alliance offers cannot stall what a node sends its allies.

Real sockets throughout: the nodes are served on loopback ports and reach each other through
their own connection pools, as in production. The strangers' origins are listeners that accept
TCP and never answer a byte (``loopback.silent_origins``), so every fetch of their node
documents hangs until the listeners hang up. Nothing here is timed: each test states an order
(what had happened when the event reached the ally) or a state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from federation.keys import generate_key
from federation.models import InboxActivity, Peer
from federation.outbox import build_activity, serialize
from federation.signing import sign_request
from node.accounts.models import Role
from tests.federation.loopback import SilentOrigins, silent_origins
from tests.nodes import TestNode, ally, deliver_all

OFFERS = 130
"""More than the 100 connections a federation client pools: enough to fill a shared pool."""
HELD = 600.0
"""The test's own deadline for a stranger's document fetch: the fetches end when the silent
origins hang up, not on a timer, so the order below never depends on how busy the machine is."""
EVENT = {
    "start_date": "2030-03-01T15:00:00+00:00",
    "end_date": "2030-03-01T18:00:00+00:00",
    "event_type": "CANVASS",
    "visibility": "coalition",
    "wards": [33],
}


def stranger_offer(origin: str, receiver: TestNode) -> httpx.Request:
    """An alliance offer from the node that ``origin`` claims to be, signed with a key of its
    own: the receiver must fetch ``origin``'s node document before it can check the key."""
    activity = build_activity(
        node_id=origin,
        type="Offer",
        object={"type": "Alliance", "scopes": ["events"]},  # type: ignore[arg-type]
        to=[receiver.url],
    )
    request = httpx.Request(
        "POST",
        f"{receiver.url}/federation/inbox",
        content=serialize(activity).encode(),
        headers={"Content-Type": "application/json"},
    )
    key = generate_key()
    sign_request(request, key=key, keyid=f"{origin}#{key.kid}")
    return request


async def until(condition: Callable[[], bool], *, what: str, within: float = 120.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after a generous deadline."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {within:.0f} s still waiting for {what}")
        await asyncio.sleep(0.01)


def flood(node: TestNode, silent: SilentOrigins, timeline: list[str]) -> list[asyncio.Task[Any]]:
    """One offer per silent origin, all sent at once; each answer is noted in ``timeline``."""

    def noted(task: asyncio.Task[httpx.Response]) -> None:
        failed = task.cancelled() or task.exception() is not None
        timeline.append("offer broke" if failed else f"offer answered {task.result().status_code}")

    tasks = []
    for origin in silent.origins:
        task = asyncio.create_task(node.client.send(stranger_offer(origin, node)))
        task.add_done_callback(noted)
        tasks.append(task)
    return tasks


def settled(tasks: list[asyncio.Task[Any]], silent: SilentOrigins) -> Callable[[], bool]:
    """Every offer is either answered or waiting on its own connection to a silent origin."""
    return lambda: sum(task.done() for task in tasks) + silent.open == len(tasks)


async def titles(node: TestNode) -> list[str]:
    listed = (await (await node.as_role(Role.member)).get("/api/v1/events")).json()["items"]
    return sorted(event["title"] for event in listed)


async def stored(node: TestNode) -> tuple[int, int]:
    """How many peers and inbox activities ``node`` holds."""
    async with node.session() as session:
        peers = await session.scalar(select(func.count()).select_from(Peer))
        inbox = await session.scalar(select(func.count()).select_from(InboxActivity))
    return int(peers or 0), int(inbox or 0)


class TestStrangersCannotStallDeliveries:
    async def test_an_event_reaches_an_ally_before_the_hanging_fetches_end(self, nodes) -> None:
        # Given two allies on loopback ports, and an event that reaches the ally (the baseline)
        ward33 = await nodes.start("ward33", over_loopback=True)
        ward30 = await nodes.start("ward30", over_loopback=True)
        await ally(ward33, ward30)
        ward33.runtime.offer_fetch_deadline = HELD
        organizer = await ward33.as_role(Role.organizer)
        await organizer.post("/api/v1/events", json={**EVENT, "title": "Before"})
        await deliver_all(ward33, ward30)
        assert await titles(ward30) == ["Before"]
        timeline: list[str] = []

        async with silent_origins(OFFERS) as silent:
            # When strangers offer alliances, all at once, naming origins that never answer
            offers = flood(ward33, silent, timeline)
            await until(settled(offers, silent), what="every offer answered or hanging")

            # Then an event created now still reaches the ally
            await organizer.post("/api/v1/events", json={**EVENT, "title": "During"})
            await deliver_all(ward33, ward30)
            assert await titles(ward30) == ["Before", "During"]
            timeline.append("event delivered")
            silent.hang_up()
            await asyncio.gather(*offers)

        # before any fetch of a silent origin had ended (those end 502 when it hangs up)
        assert "offer answered 502" in timeline, timeline
        assert timeline.index("event delivered") < timeline.index("offer answered 502"), timeline

    async def test_offers_beyond_the_budget_are_told_to_retry_and_change_nothing(
        self, nodes
    ) -> None:
        # Given a node that strangers flood with offers naming origins that never answer
        ward33 = await nodes.start("ward33", over_loopback=True)
        ward33.runtime.offer_fetch_deadline = HELD
        async with silent_origins(OFFERS) as silent:
            offers = flood(ward33, silent, [])
            await until(settled(offers, silent), what="every offer answered or hanging")

            # Then only a few fetches hang, and every other offer was answered at once:
            # 503, retry later, with nothing stored
            hanging = [task for task in offers if not task.done()]
            answered = [task.result() for task in offers if task.done()]
            assert 0 < len(hanging) == silent.open < OFFERS
            for response in answered:
                assert response.status_code == 503, response.text
                assert response.json()["error"]["code"] == "offers_busy"
                assert int(response.headers["retry-after"]) > 0
            assert await stored(ward33) == (0, 0)
            silent.hang_up()
            ended = await asyncio.gather(*hanging)

        # And the hanging ones end as offers from an unreachable node when their origins hang up
        assert {(r.status_code, r.json()["error"]["code"]) for r in ended} == {
            (502, "node_unreachable")
        }
        assert await stored(ward33) == (0, 0)

        # And then a real node's offer is heard as usual
        ward30 = await nodes.start("ward30", over_loopback=True)
        offered = await (await ward30.as_role(Role.admin)).post(
            "/api/v1/alliances", json={"url": ward33.url, "scopes": ["events"]}
        )
        assert offered.status_code == 201, offered.text
        await deliver_all(ward30, ward33)
        [pending] = (await (await ward33.as_role(Role.admin)).get("/api/v1/alliances")).json()
        assert (pending["node_id"], pending["state"]) == (ward30.url, "pending")
