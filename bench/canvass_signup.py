"""Canvass sign-up latency: from a volunteer's sign-up on her own node to the updated shift
count visible on every allied node.

    .venv/bin/python -m bench.canvass_signup [--allies 4] [--repeat 5]

In-process nodes (``tests.nodes.NodeFactory``: real apps, keys, migrated SQLite databases,
wired by ``tests.network.Network``): a host ward allied with ``--allies`` wards covering
every scope. The host posts a canvass call; each ally relays it. Each repetition a new member
of the first ally signs up (``POST .../signups``, committed on return); the clock starts then
and stops when every allied node's API (``GET /api/v1/canvass-calls`` as an organizer) shows
the shift's ``committed`` count one higher. In between, the delivery workers of all nodes run
(``DeliveryWorker.run_once``) in rounds: the ``Join`` goes to the host, which applies it in
the request and enqueues the re-broadcast ``Update`` (and the ``Accept``); the next round
carries those to every ally.

Baseline, same run, alternating: a plain ``Event`` update on the host (``PATCH``) until every
ally's events API shows the new title: one hop instead of two.

Everything runs on one event loop in one process, so receivers' work is serialized.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench._common import command_line, median, table
from federation.storage import utcnow
from node.accounts.models import Role
from tests.databases import SqliteDatabases
from tests.nodes import NodeFactory, TestNode, ally

TARGET_SECONDS = 2.0


def call_body(capacity: int) -> dict[str, Any]:
    start = utcnow() + timedelta(days=3)
    return {
        "title": "Saturday doors",
        "campaign": {"kind": "candidate", "name": "A candidate"},
        "staging_location": {"venue": "Ward office"},
        "shifts": [
            {
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(hours=3)).isoformat(),
                "capacity": capacity,
            }
        ],
    }


async def committed_on(client: httpx.AsyncClient, object_id: str) -> int:
    calls = (await client.get("/api/v1/canvass-calls")).json()
    [call] = [c for c in calls if c["object_id"] == object_id]
    return int(call["shifts"][0]["committed"])


async def title_on(client: httpx.AsyncClient, object_id: str) -> str | None:
    events = (await client.get("/api/v1/events")).json()["items"]
    return next((e["title"] for e in events if e["object_id"] == object_id), None)


async def until_everywhere(nodes: list[TestNode], seen: Any) -> tuple[float, int]:
    """Run every node's worker in rounds until ``seen()`` is true; elapsed seconds, rounds."""
    started = time.perf_counter()
    rounds = 0
    while not await seen():
        rounds += 1
        if rounds > 20:
            raise RuntimeError("the change did not reach every ally")
        for node in nodes:
            await node.worker.run_once()
    return time.perf_counter() - started, rounds


async def run(args: argparse.Namespace, root: Path) -> None:
    databases = SqliteDatabases(root / "db")
    (root / "db").mkdir()
    await asyncio.to_thread(databases.prepare)
    async with AsyncExitStack() as stack:
        factory = NodeFactory(root / "nodes", databases, stack)
        host = await factory.start("host")
        allies = [await factory.start(f"ward{n:02d}") for n in range(1, args.allies + 1)]
        for peer in allies:
            await ally(host, peer)
        everyone = [host, *allies]
        organizer = await host.as_role(Role.organizer)
        posted = await organizer.post("/api/v1/canvass-calls", json=call_body(args.repeat + 1))
        assert posted.status_code == 201, posted.text
        call = posted.json()
        event = (
            await organizer.post(
                "/api/v1/events",
                json={
                    "title": "Baseline 0",
                    "start_date": "2030-03-01T15:00:00Z",
                    "end_date": "2030-03-01T18:00:00Z",
                    "event_type": "CANVASS",
                    "visibility": "coalition",
                },
            )
        ).json()
        watchers = [await peer.as_role(Role.organizer) for peer in allies]
        await until_everywhere(everyone, lambda: _all_hold(watchers, call["object_id"]))
        ward = allies[0]
        held = (await watchers[0].get("/api/v1/canvass-calls")).json()
        local = next(c for c in held if c["object_id"] == call["object_id"])
        await watchers[0].post(f"/api/v1/canvass-calls/{local['id']}/relay")
        signup_path = (
            f"/api/v1/canvass-calls/{local['id']}/shifts/{local['shifts'][0]['id']}/signups"
        )

        signups: list[float] = []
        updates: list[float] = []
        rounds_seen: set[int] = set()
        for n in range(args.repeat):
            _, token = await ward.add_user(role=Role.member, email=f"vol{n}@ward.example")
            volunteer = ward.client_with(token)
            response = await volunteer.post(signup_path, json={})
            assert response.status_code == 201, response.text
            elapsed, rounds = await until_everywhere(
                everyone, lambda n=n: _all_count(watchers, call["object_id"], n + 1)
            )
            signups.append(elapsed)
            rounds_seen.add(rounds)

            title = f"Baseline {n + 1}"
            patched = await organizer.patch(f"/api/v1/events/{event['id']}", json={"title": title})
            assert patched.status_code == 200, patched.text
            elapsed, _ = await until_everywhere(
                everyone, lambda title=title: _all_titled(watchers, event["object_id"], title)
            )
            updates.append(elapsed)

    print(f"# canvass sign-up   {command_line()}")
    print(
        f"# 1 host + {args.allies} allies, in-process (one event loop), SQLite; "
        f"worker rounds per sign-up: {sorted(rounds_seen)}"
    )
    rows = [
        [
            "sign-up -> count on all allies",
            len(signups),
            median(signups) * 1e3,
            min(signups) * 1e3,
            max(signups) * 1e3,
        ],
        [
            "baseline: Event update -> allies",
            len(updates),
            median(updates) * 1e3,
            min(updates) * 1e3,
            max(updates) * 1e3,
        ],
    ]
    print(table(["what", "runs", "median ms", "min ms", "max ms"], rows))
    print(
        f"ratio sign-up/event update: {median(signups) / median(updates):.2f}x   "
        f"target < {TARGET_SECONDS:.0f} s: {'met' if max(signups) < TARGET_SECONDS else 'NOT met'}"
    )


async def _all_hold(watchers: list[httpx.AsyncClient], object_id: str) -> bool:
    for client in watchers:
        calls = (await client.get("/api/v1/canvass-calls")).json()
        if not any(c["object_id"] == object_id for c in calls):
            return False
    return True


async def _all_count(watchers: list[httpx.AsyncClient], object_id: str, count: int) -> bool:
    return all([await committed_on(client, object_id) == count for client in watchers])


async def _all_titled(watchers: list[httpx.AsyncClient], object_id: str, title: str) -> bool:
    return all([await title_on(client, object_id) == title for client in watchers])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--allies", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ipo-bench-canvass-"))
    try:
        asyncio.run(run(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
