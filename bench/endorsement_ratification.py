"""Ratification latency: from the last required signature to ``ratified`` on all five nodes.

    .venv/bin/python -m bench.endorsement_ratification [--repeat 5]

Five in-process nodes (``tests.nodes.NodeFactory``: real apps, keys, migrated SQLite
databases, wired by ``tests.network.Network``), all allied with each other. Each repetition
the proposer (ward33) opens a new endorsement to the four others; three sign (untimed). The
clock starts when the fourth signer's ``POST .../sign`` has returned (its signature and the
outgoing ``Create`` are committed) and stops when every node's database shows the endorsement
``ratified``. In between, ``DeliveryWorker.run_once()`` rounds are driven on all five nodes:
the signer sends its signature to the proposer, whose inbox verifies the JWS, folds it in and
enqueues the ``Update``; the proposer's worker delivers it to the four, each of which verifies
all four signatures before storing the replica.

Baseline, same run: a plain ``Event`` update on the proposer (``PATCH /api/v1/events/ID``)
reaching the same four allies (one hop instead of two, no JWS checks), driven the same way.

Everything runs on one event loop; the figure includes the receivers' work serialized on one
core.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from contextlib import AsyncExitStack
from itertools import combinations
from pathlib import Path

from sqlalchemy import select

from bench._common import command_line, median, table
from node.accounts.models import Role
from node.endorsements.models import Endorsement, EndorsementState
from node.events.models import Event
from tests.databases import SqliteDatabases
from tests.endorsements import ENDORSEMENTS, WARDS, answer, body
from tests.nodes import NodeFactory, TestNode, ally, deliver_all

TARGET_SECONDS = 2.0
EVENT = {
    "title": "Northwest side coalition meeting",
    "start_date": "2031-01-10T00:00:00Z",
    "end_date": "2031-01-10T02:00:00Z",
    "event_type": "MEETING",
    "visibility": "coalition",
}


async def ratified_on(node: TestNode, object_id: str) -> bool:
    async with node.session() as session:
        state = await session.scalar(
            select(Endorsement.state).where(Endorsement.object_id == object_id)
        )
    return state is EndorsementState.ratified


async def event_version_on(node: TestNode, object_id: str) -> int:
    async with node.session() as session:
        version = await session.scalar(select(Event.version).where(Event.object_id == object_id))
    return int(version or 0)


async def drive_until(nodes: list[TestNode], done) -> int:  # type: ignore[no-untyped-def]
    """Run delivery rounds on every node until ``done()``; the number of rounds."""
    rounds = 0
    while not await done():
        sent = sum([await node.worker.run_once() for node in nodes])
        rounds += 1
        if not sent and not await done():
            raise RuntimeError("nothing left to send, and the goal is not reached")
    return rounds


async def one_ratification(five: list[TestNode], n: int) -> tuple[float, int]:
    proposer, signers = five[0], five[1:]
    organizer = await proposer.as_role(Role.organizer)
    draft = body([node.url for node in signers], statement=f"Endorsement number {n}.")
    created = await organizer.post(ENDORSEMENTS, json=draft)
    assert created.status_code == 201, created.text
    opened = await organizer.post(f"{ENDORSEMENTS}/{created.json()['id']}/open")
    assert opened.status_code == 200, opened.text
    object_id = opened.json()["object_id"]
    await deliver_all(*five)
    for signer in signers[:-1]:
        assert (await answer(signer, object_id)).status_code == 200
        await deliver_all(*five)
    last = await answer(signers[-1], object_id)
    assert last.status_code == 200, last.text
    started = time.perf_counter()

    async def everywhere() -> bool:
        return all([await ratified_on(node, object_id) for node in five])

    rounds = await drive_until(five, everywhere)
    return time.perf_counter() - started, rounds


async def one_event_update(five: list[TestNode], event: dict[str, str], n: int) -> float:
    proposer, allies = five[0], five[1:]
    organizer = await proposer.as_role(Role.organizer)
    changed = await organizer.patch(f"/api/v1/events/{event['id']}", json={"title": f"Meet {n}"})
    assert changed.status_code == 200, changed.text
    version = changed.json()["version"]
    started = time.perf_counter()

    async def everywhere() -> bool:
        versions = [await event_version_on(node, event["object_id"]) for node in allies]
        return all(v >= version for v in versions)

    await drive_until(five, everywhere)
    return time.perf_counter() - started


async def run(args: argparse.Namespace, root: Path) -> None:
    (root / "db").mkdir()
    databases = SqliteDatabases(root / "db")
    await asyncio.to_thread(databases.prepare)
    async with AsyncExitStack() as stack:
        factory = NodeFactory(root / "nodes", databases, stack)
        setup = time.perf_counter()
        five = [await factory.start(name) for name in WARDS]
        for a, b in combinations(five, 2):
            await ally(a, b)
        organizer = await five[0].as_role(Role.organizer)
        created = await organizer.post("/api/v1/events", json=EVENT)
        assert created.status_code == 201, created.text
        event = created.json()
        await deliver_all(*five)
        setup = time.perf_counter() - setup

        ratify: list[float] = []
        baseline: list[float] = []
        rounds_seen: set[int] = set()
        for n in range(args.repeat):
            elapsed, rounds = await one_ratification(five, n)
            ratify.append(elapsed)
            rounds_seen.add(rounds)
            baseline.append(await one_event_update(five, event, n))

    print(f"# endorsement ratification   {command_line()}")
    print(
        f"# 5 in-process nodes (full mesh, one event loop), SQLite; setup {setup:.1f} s; "
        f"delivery rounds per ratification: {sorted(rounds_seen)}"
    )
    rows = [
        [name, len(values), median(values) * 1e3, min(values) * 1e3, max(values) * 1e3]
        for name, values in (
            ("last signature -> ratified on all 5", ratify),
            ("baseline: Event update -> 4 allies", baseline),
        )
    ]
    print(table(["measure", "runs", "median ms", "min ms", "max ms"], rows))
    ratio = median(ratify) / median(baseline)
    print(
        f"ratio ratification/baseline: {ratio:.2f}x   median {median(ratify) * 1e3:.0f} ms "
        f"(target < {TARGET_SECONDS:.0f} s: {'met' if max(ratify) < TARGET_SECONDS else 'NOT met'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ipo-bench-endorse-"))
    try:
        asyncio.run(run(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
