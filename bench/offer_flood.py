"""Offer flood: how long an event takes to reach an ally while strangers' offers hang.

    .venv/bin/python -m bench.offer_flood [--offers 130] [--repeat 5]

Two in-process nodes served on real loopback ports (``tests.nodes.NodeFactory.start(
over_loopback=True)``: real apps, keys, migrated SQLite databases, real sockets and connection
pools, production deadlines), allied through the alliance API. Each repetition an organizer
creates a ``coalition`` event on the origin; the clock starts when that request has returned
(committed) and stops when ``DeliveryWorker.run_once()`` has delivered it, i.e. the ally's
inbox verified, stored and applied it.

Flooded repetitions first send ``--offers`` alliance offers at once, each from a stranger
naming its own origin: a listener on 127.0.0.1 that accepts TCP and never answers
(``tests.federation.loopback.silent_origins``). The clock starts once 100 of them (what a
pool of the default size holds) are answered or holding a connection. Before the fix (one
pool shared by offers and deliveries), 130 such offers made the event wait for the fetches'
10 s deadline; the issue measured 9 s against 0.3 s.

Baseline, same run: the same event creation and delivery with no offers in flight.
Repetitions alternate baseline / flooded. Also printed: how the offers were answered.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import httpx

from bench._common import command_line, median, table
from federation.client import FEDERATION_LIMITS
from node.accounts.models import Role
from tests.databases import SqliteDatabases
from tests.federation.loopback import silent_origins
from tests.federation.test_offer_budget import EVENT, stranger_offer, until
from tests.nodes import NodeFactory, TestNode, ally


async def deliver_one(origin: TestNode, organizer: httpx.AsyncClient, title: str) -> float:
    """Create one event; seconds until the origin's worker has delivered it to its ally."""
    created = await organizer.post("/api/v1/events", json={**EVENT, "title": title})
    assert created.status_code == 201, created.text
    started = time.perf_counter()
    while not await origin.worker.run_once():
        pass  # claimed nothing yet: the enqueue is committed, so the next round finds it
    return time.perf_counter() - started


async def flooded(
    origin: TestNode, organizer: httpx.AsyncClient, title: str, offers: int
) -> tuple[float, collections.Counter[str]]:
    """``deliver_one`` while ``offers`` strangers' offers hang; and how they were answered."""
    async with silent_origins(offers) as silent:
        tasks = [
            asyncio.create_task(origin.client.send(stranger_offer(o, origin)))
            for o in silent.origins
        ]
        # The flood is in: as many offers answered or holding a connection as a pool of the
        # default size holds (with one pool for everything, as before the fix, it is full).
        pool = FEDERATION_LIMITS.max_connections or offers
        await until(
            lambda: sum(t.done() for t in tasks) + silent.open >= min(offers, pool),
            what="the offers to be answered or hanging",
        )
        hanging = silent.open
        seconds = await deliver_one(origin, organizer, title)
        silent.hang_up()
        answers = await asyncio.gather(*tasks)
    outcome = collections.Counter(f"{r.status_code} {r.json()['error']['code']}" for r in answers)
    outcome["(hanging while delivering)"] = hanging
    return seconds, outcome


async def run(args: argparse.Namespace, root: Path) -> None:
    databases = SqliteDatabases(root / "db")
    (root / "db").mkdir()
    await asyncio.to_thread(databases.prepare)
    async with AsyncExitStack() as stack:
        factory = NodeFactory(root / "nodes", databases, stack)
        origin = await factory.start("ward33", over_loopback=True)
        ally_node = await factory.start("ward30", over_loopback=True)
        await ally(origin, ally_node)
        organizer = await origin.as_role(Role.organizer)
        await deliver_one(origin, organizer, "warm-up")
        base: list[float] = []
        flood: list[float] = []
        answers: collections.Counter[str] = collections.Counter()
        for i in range(args.repeat):
            base.append(await deliver_one(origin, organizer, f"baseline {i}"))
            seconds, outcome = await flooded(origin, organizer, f"flooded {i}", args.offers)
            flood.append(seconds)
            answers.update(outcome)
    rows = [
        ("baseline: no offers in flight", median(base), min(base), max(base), 1.0),
        (
            f"{args.offers} stranger offers hanging",
            median(flood),
            min(flood),
            max(flood),
            median(flood) / median(base),
        ),
    ]
    print(command_line())
    print(f"event commit -> delivered to the ally, seconds, {args.repeat} runs each\n")
    print(table(["", "median", "min", "max", "x baseline"], rows))
    print(f"\nhow the {args.offers * args.repeat} offers were answered:")
    print(table(["answer", "count"], sorted(answers.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=130)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ipo-bench-offers-"))
    try:
        asyncio.run(run(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
