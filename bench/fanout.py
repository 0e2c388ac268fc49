"""Fan-out: one event change delivered to 50 allies, from the origin's commit to all applied.

    .venv/bin/python -m bench.fanout [--allies 50] [--repeat 5]

51 in-process nodes (``tests.nodes.NodeFactory``: real apps, keys, migrated SQLite databases,
wired by ``tests.network.Network`` over ``httpx.ASGITransport``), the origin allied with all 50
through the alliance API (``tests.nodes.ally``). Each repetition an organizer creates a new
``coalition`` event on the origin (``POST /api/v1/events``; the change and its 50 deliveries
commit together); the clock starts when that request has returned (committed) and stops when
``DeliveryWorker.run_once()`` rounds on the origin have made 50 successful sends. Each
delivery is answered only after the ally's inbox verified, stored and applied it (in the
request), so "sent" means "applied"; every ally's database is then checked (untimed).

Baseline, same run: the same 50 sends answered by a no-op receiver (``Network.intercept``
returning 202 for every ally host): the origin's own cost (claim, sign, send, record),
without the receivers' verify+apply. Repetitions alternate full / no-op.

Everything runs on one event loop in one process, so the allies' work is serialized on one
core; a real deployment spreads it over 50 machines. Read the figure as an upper bound on
the origin's cost plus the sum of 50 receivers' costs.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench._common import command_line, median, table
from node.accounts.models import Role
from node.events.models import Event
from tests.databases import SqliteDatabases
from tests.nodes import NodeFactory, TestNode, ally

EVENT = {
    "title": "Northwest side joint canvass",
    "description": "Doors for the referendum; meet at the 35th ward office.",
    "start_date": "2030-03-01T15:00:00Z",
    "end_date": "2030-03-01T18:00:00Z",
    "event_type": "CANVASS",
    "visibility": "coalition",
    "wards": [30, 33, 35],
}


async def has_event(node: TestNode, object_id: str) -> bool:
    async with node.session() as session:
        found = await session.scalar(
            select(func.count()).select_from(Event).where(Event.object_id == object_id)
        )
    return bool(found)


async def one_change(
    origin: TestNode, organizer: httpx.AsyncClient, allies: list[TestNode], title: str
) -> tuple[float, int]:
    """Create one event; time run_once rounds until every ally has been sent it."""
    created = await organizer.post("/api/v1/events", json={**EVENT, "title": title})
    assert created.status_code == 201, created.text
    started = time.perf_counter()
    sent = rounds = 0
    while sent < len(allies):
        made = await origin.worker.run_once()
        rounds += 1
        if not made:
            raise RuntimeError(f"only {sent} of {len(allies)} sends made")
        sent += made
    return time.perf_counter() - started, rounds


async def run(args: argparse.Namespace, root: Path) -> None:
    databases = SqliteDatabases(root / "db")
    (root / "db").mkdir()
    await asyncio.to_thread(databases.prepare)
    async with AsyncExitStack() as stack:
        factory = NodeFactory(root / "nodes", databases, stack)
        setup = time.perf_counter()
        origin = await factory.start("origin", wards=[35])
        allies = [await factory.start(f"ally{n:02d}", wards=[n]) for n in range(1, args.allies + 1)]
        for peer in allies:
            await ally(origin, peer)
        setup = time.perf_counter() - setup
        organizer = await origin.as_role(Role.organizer)
        network = factory.network

        full: list[float] = []
        noop: list[float] = []
        rounds_seen: set[int] = set()
        missing = 0
        for n in range(args.repeat):
            elapsed, rounds = await one_change(origin, organizer, allies, f"Canvass {n} full")
            rounds_seen.add(rounds)
            full.append(elapsed)
            # every ally must hold every full-run event (checked untimed)
            async with origin.session() as session:
                object_ids = (
                    (
                        await session.execute(
                            select(Event.object_id).where(Event.title == f"Canvass {n} full")
                        )
                    )
                    .scalars()
                    .all()
                )
            for peer in allies:
                if not await has_event(peer, object_ids[0]):
                    missing += 1

            for peer in allies:
                network.intercept[f"{peer.name}.test"] = lambda request: httpx.Response(202)
            elapsed, rounds = await one_change(origin, organizer, allies, f"Canvass {n} noop")
            noop.append(elapsed)
            network.intercept.clear()

    print(f"# fan-out   {command_line()}")
    print(
        f"# 1 origin + {args.allies} allies, in-process (one event loop), SQLite; "
        f"setup {setup:.1f} s; run_once rounds per change: {sorted(rounds_seen)}"
    )
    rows = []
    for name, values in (("full: allies verify+apply", full), ("no-op receivers (202)", noop)):
        rows.append([name, len(values), median(values) * 1e3, min(values) * 1e3,
                     max(values) * 1e3])  # fmt: skip
    print(table(["change -> all applied", "runs", "median ms", "min ms", "max ms"], rows))
    ratio = median(full) / median(noop)
    print(
        f"ratio full/no-op: {ratio:.2f}x   full median {median(full) * 1e3:.0f} ms "
        f"(target < 1 s: {'met' if median(full) < 1 else 'NOT met'}; max "
        f"{'met' if max(full) < 1 else 'NOT met'})"
    )
    print(
        f"correctness: {args.repeat} changes x {args.allies} allies checked in each ally's "
        f"database: {missing} missing -> {'OK' if missing == 0 else 'MISMATCH'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--allies", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ipo-bench-fanout-"))
    try:
        asyncio.run(run(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
