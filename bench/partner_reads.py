"""Partner reads: ``GET /api/v1/partner/events`` over 10,000 events on one ``ipo-node serve``.

One real node (``ipo-node init``, SQLite, one uvicorn worker) holds 10,000 events (seeded in
bulk through the node's own tables), and a partner client with ``events:read`` gets a token
from ``/oauth/token``. A bare FastAPI app serving a small JSON answer runs in another uvicorn
process as the baseline. A load generator in a separate process drives each server with 64
concurrent clients for a fixed time: partner clients page with ``limit=50`` through the
list, following ``next`` for a few pages, some with ``ward`` or ``updated_since`` filters,
then start again. The generator shares the machine's cores with the server.

    .venv/bin/python -m bench.partner_reads [--seconds 15] [--concurrency 64] [--events 10000]

Figures: requests/s, p50 and p99 latency, and the ratio to the bare endpoint. The partner
rate limit is raised for the run (it would otherwise answer 429 by design).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bench._common import (
    VENV_BIN,
    Process,
    command_line,
    free_port,
    percentile,
    processes,
    run_cli,
    table,
    wait_http,
)
from federation.storage import utcnow
from node import tables  # noqa: F401 -- every table, for the foreign keys
from node.config import load_settings
from node.db import create_engine, create_session_maker, session_scope
from node.events.models import Event, EventType, EventWard, Visibility

PASSWORD = "a long bench passphrase"  # noqa: S105 -- a throwaway node's admin
EVENT_TYPES = ("MEETING", "CANVASS", "RALLY", "FORUM", "TRAINING")

bare = FastAPI()


@bare.get("/bare")
async def bare_endpoint() -> JSONResponse:
    return JSONResponse({"items": [{"id": "1", "title": "A bare answer"}], "next": None})


# ---- seeding --------------------------------------------------------------------------------


def seed_events(data_dir: Path, count: int) -> None:
    """Bulk-insert ``count`` public and coalition events through the node's own tables."""
    settings = load_settings(data_dir)

    async def run() -> None:
        engine = create_engine(settings.database_url)
        start = utcnow()
        try:
            async with session_scope(create_session_maker(engine)) as session:
                for n in range(count):
                    begins = start + timedelta(hours=n)
                    event = Event(
                        object_id=f"{settings.public_url}/events/bench-{n}",
                        origin=settings.public_url,
                        title=f"Bench event {n}",
                        description="Doors, phones and a potluck. " * 4,
                        start_date=begins,
                        end_date=begins + timedelta(hours=2),
                        location={"venue": f"Fieldhouse {n % 40}", "locality": "Chicago"},
                        event_type=EventType(EVENT_TYPES[n % len(EVENT_TYPES)]),
                        visibility=Visibility.public if n % 2 else Visibility.coalition,
                        wards=[1 + n % 50],
                        precincts=[str(n % 30)],
                        created_at=start,
                        updated_at=start + timedelta(seconds=n),
                    )
                    session.add(event)
                    session.add(EventWard(event_id=event.id, ward=1 + n % 50))
        finally:
            await engine.dispose()

    asyncio.run(run())


# ---- the load generator (its own process) ---------------------------------------------------


async def _worker(
    client: httpx.AsyncClient, first: list[str], until: float, latencies: list[float], n: int
) -> int:
    errors = 0
    url: str | None = first[n % len(first)]
    pages = 0
    while time.monotonic() < until:
        began = time.perf_counter()
        try:
            response = await client.get(url or first[n % len(first)])
        except httpx.HTTPError:
            errors, url = errors + 1, None
            continue
        latencies.append(time.perf_counter() - began)
        if response.status_code != 200:
            errors += 1
            url = None
            continue
        url = response.json().get("next")
        pages += 1
        if pages % 5 == 0:  # a partner reads a few pages, then starts a new sync
            url = None
    return errors


async def load(args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=args.base, headers=headers, limits=limits, timeout=30
    ) as client:
        first = args.paths.split(",")
        warm: list[float] = []
        await asyncio.gather(
            *(_worker(client, first, time.monotonic() + 2, warm, n) for n in range(8))
        )
        latencies: list[float] = []
        began = time.monotonic()
        until = began + args.seconds
        errors = await asyncio.gather(
            *(_worker(client, first, until, latencies, n) for n in range(args.concurrency))
        )
        elapsed = time.monotonic() - began
    return {"latencies": latencies, "seconds": elapsed, "errors": sum(errors)}


# ---- the run --------------------------------------------------------------------------------


def init_node(data_dir: Path, url: str) -> None:
    run_cli(
        "init", "--data-dir", str(data_dir), "--name", "Bench Ward", "--url", url,
        "--ward", "33", "--admin-email", "admin@bench.example", "--admin-password", PASSWORD,
        "--allow-private-peers",
    )  # fmt: skip


def partner_token(data_dir: Path, base: str) -> str:
    out = run_cli(
        "partners", "--data-dir", str(data_dir), "add", "--name", "Bench Local",
        "--contact", "it@local.example", "--scope", "events:read",
    )  # fmt: skip
    client_id = re.search(r"client_id:\s+(\S+)", out)
    secret = re.search(r"client_secret:\s+(\S+)", out)
    if client_id is None or secret is None:
        raise RuntimeError(f"no credentials in: {out}")
    answer = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id.group(1), secret.group(1)),
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def drive(label: str, base: str, paths: list[str], token: str | None, args: Any, tmp: Path) -> Any:
    slug = re.sub(r"\W+", "-", label)
    out = tmp / f"{slug}.json"
    argv = [
        str(VENV_BIN / "python"), "-m", "bench.partner_reads", "--load", "--base", base,
        "--paths", ",".join(paths), "--seconds", str(args.seconds),
        "--concurrency", str(args.concurrency), "--out", str(out),
    ]  # fmt: skip
    if token:
        argv += ["--token", token]
    generator = Process(argv, log=tmp / f"{slug}-load.log")
    generator.popen.wait(args.seconds + 120)
    generator.stop()
    if not out.exists():
        raise RuntimeError(f"the load generator failed:\n{generator.tail()}")
    result = json.loads(out.read_text())
    lat = result["latencies"]
    return [
        label, len(lat), len(lat) / result["seconds"], percentile(lat, 50) * 1e3,
        percentile(lat, 99) * 1e3, result["errors"],
    ]  # fmt: skip


def run(args: argparse.Namespace, tmp: Path, running: list[Process]) -> None:
    node_port, bare_port = free_port(), free_port()
    node_url, bare_url = f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{bare_port}"
    data_dir = tmp / "node"
    init_node(data_dir, node_url)
    seed_events(data_dir, args.events)
    env = {
        "IPO_LOG_LEVEL": "WARNING",
        "IPO_PARTNER_RATE_PER_MINUTE": "100000000",
        "IPO_PARTNER_RATE_BURST": "100000000",
    }
    serve = ["serve", "--data-dir", str(data_dir), "--port", str(node_port)]
    node_proc = Process([str(VENV_BIN / "ipo-node"), *serve], log=tmp / "node.log", env=env)
    running.append(node_proc)
    bare_argv = [str(VENV_BIN / "python"), "-m", "bench.partner_reads", "--serve-bare"]
    bare_proc = Process([*bare_argv, "--port", str(bare_port)], log=tmp / "bare.log")
    running.append(bare_proc)
    wait_http(f"{node_url}/readyz", process=node_proc)
    wait_http(f"{bare_url}/bare", process=bare_proc)
    token = partner_token(data_dir, node_url)
    api = "/api/v1/partner/events"
    paths = [
        f"{api}?limit=50",
        f"{api}?limit=50&ward=33",
        f"{api}?limit=50&updated_since=2000-01-01T00:00:00Z",
        f"{api}?limit=50&type=MEETING",
    ]
    rows = [
        drive("bare FastAPI GET /bare", bare_url, ["/bare"], None, args, tmp),
        drive("partner GET events?limit=50", node_url, paths, token, args, tmp),
    ]
    print(f"# {command_line()}")
    print(
        f"# {args.events} events, {args.concurrency} concurrent clients, {args.seconds} s each, "
        "one serve worker, SQLite; the load generator shares the 2 cores"
    )
    print(table(["server", "requests", "req/s", "p50 ms", "p99 ms", "errors"], rows))
    print(f"partner / bare throughput: {rows[1][2] / rows[0][2]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--paths", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        uvicorn.run(bare, host="127.0.0.1", port=args.port, log_config=None, server_header=False)
        return
    if args.load:
        Path(args.out).write_text(json.dumps(asyncio.run(load(args))))
        return
    tmp = Path(tempfile.mkdtemp(prefix="ipo-bench-partner-"))
    try:
        with processes() as running:
            run(args, tmp, running)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
