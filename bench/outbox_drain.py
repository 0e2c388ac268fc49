"""Outbox drain on PostgreSQL: deliveries per second for one, then two, delivery workers.

    .venv/bin/python -m bench.outbox_drain [--peers 20] [--activities 500]

A fresh PostgreSQL database (``ipo_bench_<hex>``, created from a migrated template on
127.0.0.1:5432 and dropped at the end) holds an origin node (``tests.nodes.NodeFactory``),
allied through the alliance API with ``--peers`` in-process SQLite nodes. Then
``--activities`` Create-Event activities are enqueued to every ally with
``federation.outbox.enqueue`` (500 x 20 = 10,000 deliveries).

Each worker runs in its own process (``--child``), as ``ipo-node worker`` would: its own
engine and pool, a real ``DeliveryWorker`` with the origin's keys (every delivery signed),
calling ``run_once()`` until the database has no pending delivery. Its httpx client's
transport answers 202 at once and records (host, activity id): the receivers cost nothing,
so this measures the worker's claim / sign / send / record loop and the database, not the
allies (see ``bench.inbox`` for those).

Baseline, same run, same database and rows: a child process doing the same number of bare
single-row transactions (``UPDATE delivery SET state='delivered', attempts=attempts+1,
last_attempt_at=now(), finished_at=now() WHERE id=$1``) with the same concurrency (one task per
peer) through the same SQLAlchemy + asyncpg stack. Rows are reset to pending (and VACUUMed)
between phases.

Checks: every (ally, activity) pair sent exactly once (1 worker and 2 workers), and how the
sends split between the two workers.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import text

from bench._common import ROOT, command_line, table
from federation.delivery import DeliveryWorker
from federation.keys import KeyringHolder
from federation.outbox import allies_sharing, build_activity, enqueue
from node.db import create_engine, create_session_maker
from tests.databases import PostgresDatabases, SqliteDatabases
from tests.nodes import NodeFactory, ally, deliver_all

SERVER = os.environ.get("IPO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# ---- the child processes ----------------------------------------------------------------------


class Answer202(httpx.AsyncBaseTransport):
    """Every request answered 202 at once; remembers (host, activity id) of each."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.sent.append((request.url.host, body["id"]))
        return httpx.Response(
            202,
            headers={"Content-Type": "application/json"},
            stream=httpx.ByteStream(b'{"status":"accepted"}'),
        )


async def pending(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as connection:
        return int(
            (await connection.execute(
                text("SELECT count(*) FROM delivery WHERE state = 'pending'"))).scalar_one()
        )  # fmt: skip


async def child_worker(args: argparse.Namespace) -> dict[str, object]:
    engine = create_engine(args.database_url)
    transport = Answer202()
    async with httpx.AsyncClient(transport=transport) as client:
        worker = DeliveryWorker(
            session_maker=create_session_maker(engine),
            client=client,
            keyring=KeyringHolder(Path(args.keys_dir)),
            node_id=args.node_id,
        )
        await pending(engine)  # connect before the start
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
        started, cpu0, rounds, empty = time.time(), time.process_time(), 0, 0
        while True:
            made = await worker.run_once()
            rounds += 1
            if not made:
                # Another worker may hold the remaining peers' leases: stop only when done.
                if not await pending(engine):
                    break
                empty += 1
                await asyncio.sleep(0.05)
        finished = time.time()
    await engine.dispose()
    return {"start": started, "end": finished, "sent": transport.sent, "rounds": rounds,
            "empty_rounds": empty, "cpu": time.process_time() - cpu0}  # fmt: skip


async def child_bare(args: argparse.Namespace) -> dict[str, object]:
    engine = create_engine(args.database_url)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT peer_id, id FROM delivery WHERE state = 'pending' ORDER BY id")
            )
        ).all()
    by_peer: dict[int, list[int]] = collections.defaultdict(list)
    for peer_id, delivery_id in rows:
        by_peer[peer_id].append(delivery_id)
    update = text(
        "UPDATE delivery SET state = 'delivered', attempts = attempts + 1, "
        "last_attempt_at = now(), finished_at = now() WHERE id = :id"
    )

    async def one_peer(ids: list[int]) -> None:
        for delivery_id in ids:
            async with engine.begin() as connection:
                await connection.execute(update, {"id": delivery_id})

    await asyncio.sleep(max(0.0, args.start_at - time.time()))
    started, cpu0 = time.time(), time.process_time()
    await asyncio.gather(*(one_peer(ids) for ids in by_peer.values()))
    finished = time.time()
    await engine.dispose()
    sent = [("", str(delivery_id)) for _, delivery_id in rows]
    cpu = time.process_time() - cpu0
    return {"start": started, "end": finished, "sent": sent, "rounds": 0, "empty_rounds": 0,
            "cpu": cpu}  # fmt: skip


def child_main(args: argparse.Namespace) -> None:
    run = child_bare if args.child == "bare" else child_worker
    profile = os.environ.get("IPO_BENCH_PROFILE")  # diagnostics: cProfile each child
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, run(args))
        profiler.dump_stats(f"{profile}.{args.child}.{os.getpid()}")
    else:
        result = asyncio.run(run(args))
    Path(args.out).write_text(json.dumps(result))


# ---- the parent -------------------------------------------------------------------------------


def start_children(kind: str, count: int, *, database_url: str, origin, tmp: Path):  # type: ignore[no-untyped-def]
    start_at = time.time() + 2.0  # every child connected and waiting by then
    children = []
    for n in range(count):
        out = tmp / f"{kind}-{n}-{uuid.uuid4().hex[:6]}.json"
        command = [
            sys.executable, "-m", "bench.outbox_drain", "--child", kind, "--out", str(out),
            "--database-url", database_url, "--keys-dir", str(origin.settings.keys_dir),
            "--node-id", origin.url, "--start-at", str(start_at),
        ]  # fmt: skip
        children.append((subprocess.Popen(command, cwd=ROOT), out))
    results = []
    for process, out in children:
        if process.wait(timeout=300) != 0:
            raise RuntimeError(f"child {kind} failed with status {process.returncode}")
        results.append(json.loads(out.read_text()))
    return results


async def reset(database_url: str, *, floor: int) -> None:
    """The benchmark's deliveries (ids above ``floor``) back to pending; the handshake's stay."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "UPDATE delivery SET state = 'pending', attempts = 0, last_attempt_at = NULL, "
            "finished_at = NULL, last_status = NULL, last_error = NULL WHERE id > $1",
            floor,
        )
        await connection.execute(
            "UPDATE peer SET lease_until = NULL, next_attempt_at = NULL, consecutive_failures = 0"
        )
        await connection.execute("VACUUM ANALYZE delivery")
        await connection.execute("VACUUM ANALYZE peer")
    finally:
        await connection.close()


def summarize(name: str, results: list[dict], expected: int) -> tuple[list[object], str]:  # type: ignore[type-arg]
    start = min(r["start"] for r in results)
    end = max(r["end"] for r in results)
    pairs = [tuple(pair) for r in results for pair in r["sent"]]
    seconds = end - start
    unique = len(set(pairs))
    split = "/".join(str(len(r["sent"])) for r in results)
    check = (
        f"{name}: {len(pairs)} sends, {unique} distinct (ally, activity) pairs, expected "
        f"{expected} -> {'OK, none sent twice' if len(pairs) == unique == expected else 'MISMATCH'}"
        + (f"; split between workers {split}" if len(results) > 1 else "")
    )
    cpu = sum(r["cpu"] for r in results)
    return [name, len(pairs), seconds, len(pairs) / seconds, f"{cpu / seconds:.0%}"], check


async def setup(args: argparse.Namespace, tmp: Path, stack: AsyncExitStack):  # type: ignore[no-untyped-def]
    postgres = PostgresDatabases(SERVER)
    postgres.prefix = f"ipo_bench_{uuid.uuid4().hex[:8]}"
    postgres.template = f"{postgres.prefix}_template"
    postgres.created = [postgres.template]
    stack.push_async_callback(asyncio.to_thread, postgres.cleanup)
    await asyncio.to_thread(postgres.prepare)
    database_url = await asyncio.to_thread(postgres.new)

    sqlite = SqliteDatabases(tmp / "db")
    (tmp / "db").mkdir()
    await asyncio.to_thread(sqlite.prepare)
    factory = NodeFactory(tmp / "nodes", sqlite, stack)
    origin = await factory.start("origin", database_url=database_url)
    allies = [await factory.start(f"ally{n:02d}") for n in range(1, args.peers + 1)]
    for peer in allies:
        await ally(origin, peer)

    await deliver_all(origin, *allies)  # nothing left over from the handshakes
    async with origin.session() as session:
        recipients = await allies_sharing(session, scope="events")
        floor = int(await session.scalar(text("SELECT coalesce(max(id), 0) FROM delivery")))
        leftover = await session.scalar(
            text("SELECT count(*) FROM delivery WHERE state = 'pending'")
        )
    assert leftover == 0, leftover
    enqueue_started = time.perf_counter()
    assert len(recipients) == args.peers
    for first in range(0, args.activities, 50):
        async with origin.session() as session:
            for n in range(first, min(first + 50, args.activities)):
                activity = build_activity(
                    node_id=origin.url, type="Create", to=[p.node_id for p in recipients],
                    object={  # type: ignore[arg-type]
                        "type": "Event", "schema_version": 1,
                        "id": f"{origin.url}/events/{uuid.uuid4()}", "attributed_to": origin.url,
                        "version": 1, "title": f"Canvass {n}", "event_type": "CANVASS",
                        "start_date": "2030-03-01T15:00:00+00:00",
                        "end_date": "2030-03-01T18:00:00+00:00", "status": "confirmed",
                        "visibility": "coalition", "wards": [33],
                        "created_date": "2029-12-01T12:00:00+00:00",
                        "modified_date": "2029-12-01T12:00:00+00:00",
                    },
                )  # fmt: skip
                await enqueue(session, activity=activity, recipients=recipients)
    enqueue_seconds = time.perf_counter() - enqueue_started
    return database_url, origin, enqueue_seconds, floor


async def parent(args: argparse.Namespace, tmp: Path) -> None:
    async with AsyncExitStack() as stack:
        database_url, origin, enqueue_seconds, floor = await setup(args, tmp, stack)
        expected = args.peers * args.activities
        await reset(database_url, floor=floor)
        run = asyncio.to_thread
        bare = await run(start_children, "bare", 1, database_url=database_url, origin=origin,
                         tmp=tmp)  # fmt: skip
        await reset(database_url, floor=floor)
        one = await run(start_children, "worker", 1, database_url=database_url, origin=origin,
                        tmp=tmp)  # fmt: skip
        await reset(database_url, floor=floor)
        two = await run(start_children, "worker", 2, database_url=database_url, origin=origin,
                        tmp=tmp)  # fmt: skip
        engine = create_engine(database_url)
        left = await pending(engine)
        await engine.dispose()

    rows, checks = [], []
    for name, results in (("bare UPDATE txns", bare), ("1 DeliveryWorker", one),
                          ("2 DeliveryWorkers", two)):  # fmt: skip
        row, check = summarize(name, results, expected)
        rows.append(row)
        if name != "bare UPDATE txns":
            checks.append(check)
    print(f"# outbox drain (PostgreSQL)   {command_line()}")
    print(
        f"# {args.activities} activities x {args.peers} allies = {expected} deliveries; "
        f"enqueue took {enqueue_seconds:.1f} s; receivers answer 202 in-process (not measured); "
        f"one process per worker"
    )
    print(table(["phase", "deliveries", "seconds", "per s", "client CPU"], rows))
    per_s_bare, per_s_one, per_s_two = (r[3] for r in rows)
    print(
        f"ratio 1 worker/bare: {per_s_one / per_s_bare:.2f}x   2 workers/1 worker: "
        f"{per_s_two / per_s_one:.2f}x   1 worker {per_s_one:.0f}/s "
        f"(target >= 500/s: {'met' if per_s_one >= 500 else 'NOT met'})"
    )
    for check in checks:
        print(f"check {check}")
    print(f"check pending deliveries left: {left}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peers", type=int, default=20)
    parser.add_argument("--activities", type=int, default=500)
    parser.add_argument("--child", choices=["worker", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--keys-dir", help=argparse.SUPPRESS)
    parser.add_argument("--node-id", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    tmp = Path(tempfile.mkdtemp(prefix="ipo-bench-drain-"))
    try:
        asyncio.run(parent(args, tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
