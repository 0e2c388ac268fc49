"""Partner reads over 10,000 events on one ``ipo-node serve``: pages and single events.

One real node (``ipo-node init``, SQLite, one uvicorn worker) holds 10,000 events (seeded in
bulk through the node's own tables), and a partner client with ``events:read`` gets a token
from ``/oauth/token``. A bare FastAPI app serving a small JSON answer runs in another uvicorn
process as the baseline. A load generator in a separate process drives each server with 64
concurrent clients for a fixed time, each on its own keep-alive connection:

- the headline: 64 concurrent clients paging events?limit=50 (following next, some with
  filters): each reads a few pages following ``next``, some with ``ward``, ``updated_since``
  or ``type``, then starts again;
- single-event reads, ``GET /api/v1/partner/events/{id}`` of random seeded ids; a third of the
  reads revalidate an event the client read before, with its ``ETag`` as ``If-None-Match``
  (answered 304).

The generator shares the machine's cores with the server, so by default it is a minimal
HTTP/1.1 client on asyncio streams (``--client raw``, under uvloop) that costs far less per
request than httpx (``--client httpx``, one client per connection): the bare baseline then
measures the server more than the client.

    .venv/bin/python -m bench.partner_reads [--seconds 15] [--concurrency 64] [--events 10000]
        [--client raw|httpx]

Figures: requests/s, p50 and p99 latency, the share of 304s, and the ratio to the bare
endpoint. The partner rate limit is raised for the run (it would otherwise answer 429 by
design).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
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


def seed_events(data_dir: Path, count: int) -> list[str]:
    """Bulk-insert ``count`` public and coalition events through the node's own tables;
    returns their ids."""
    settings = load_settings(data_dir)
    ids: list[str] = []

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
                    ids.append(event.id)
        finally:
            await engine.dispose()

    asyncio.run(run())
    return ids


# ---- the load generator (its own process) ---------------------------------------------------

Answer = tuple[int, dict[bytes, bytes], bytes]


async def _raw_getter(base: str, token: str | None):  # type: ignore[no-untyped-def]
    """One keep-alive HTTP/1.1 connection: GET a path, read the status, headers and body."""
    parts = httpx.URL(base)
    reader, writer = await asyncio.open_connection(parts.host, parts.port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    host = f"Host: {parts.host}:{parts.port}\r\n{auth}"

    async def get(path: str, extra: dict[str, str]) -> Answer:
        lines = [f"GET {path} HTTP/1.1\r\n", host, *(f"{k}: {v}\r\n" for k, v in extra.items())]
        writer.write(("".join(lines) + "\r\n").encode("latin-1"))
        head = await reader.readuntil(b"\r\n\r\n")
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
        return int(head[9:12]), headers, body

    async def close() -> None:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    return get, close


async def _httpx_getter(base: str, token: str | None):  # type: ignore[no-untyped-def]
    # One client per connection: a shared client's pool is O(connections) per request in
    # httpcore 1.0 and collapses at 64 (see bench/inbox.py).
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    client = httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30)

    async def get(path: str, extra: dict[str, str]) -> Answer:
        response = await client.get(path, headers=extra)
        found = {k.encode().lower(): v.encode() for k, v in response.headers.items()}
        return response.status_code, found, response.content

    return get, client.aclose


def _next_path(body: bytes, base: str) -> str | None:
    """The page's ``next`` without parsing 50 events: it is the last key of a page."""
    at = body.rfind(b'"next":')
    if at < 0 or body[at + 7 : at + 8] != b'"':
        return None
    url = body[at + 8 : body.index(b'"', at + 8)].decode()
    return url.removeprefix(base)


class Load:
    """What one run drives: pages (following ``next``) or single events (``ids``)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.first = args.paths.split(",") if args.paths else []
        self.ids = Path(args.ids).read_text().split() if args.ids else []
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    async def worker(self, get, n: int, until: float, record: bool) -> None:  # type: ignore[no-untyped-def]
        pick, tags, seen = random.Random(n), dict[str, str](), list[str]()
        path: str | None = None
        pages = 0
        while time.monotonic() < until:
            extra: dict[str, str] = {}
            if self.ids:  # a third of the reads revalidate an event this client has
                if tags and pick.random() < 1 / 3:
                    key = pick.choice(seen)
                    extra["If-None-Match"] = tags[key]
                else:
                    key = pick.choice(self.ids)
                path = f"{self.args.single}/{key}"
            elif path is None:
                path = self.first[(n + pages) % len(self.first)]
            began = time.perf_counter()
            status, headers, body = await get(path, extra)
            if record:
                self.latencies.append(time.perf_counter() - began)
                self.statuses[status] = self.statuses.get(status, 0) + 1
            if self.ids:
                if status == 200 and key not in tags:
                    tags[key] = headers[b"etag"].decode()
                    seen.append(key)
                continue
            pages += 1
            path = _next_path(body, self.args.base) if status == 200 else None
            if pages % 5 == 0:  # a partner reads a few pages, then starts a new sync
                path = None

    async def run(self) -> dict[str, Any]:
        connect = _raw_getter if self.args.client == "raw" else _httpx_getter
        getters = [
            await connect(self.args.base, self.args.token) for _ in range(self.args.concurrency)
        ]
        try:
            warm = time.monotonic() + 2
            await asyncio.gather(
                *(self.worker(g, n, warm, False) for n, (g, _) in enumerate(getters))
            )
            began = time.monotonic()
            until = began + self.args.seconds
            await asyncio.gather(
                *(self.worker(g, n, until, True) for n, (g, _) in enumerate(getters))
            )
            elapsed = time.monotonic() - began
        finally:
            for _, close in getters:
                await close()
        errors = sum(count for status, count in self.statuses.items() if status not in (200, 304))
        return {
            "latencies": self.latencies,
            "seconds": elapsed,
            "errors": errors,
            "not_modified": self.statuses.get(304, 0),
        }


def run_loop(coro):  # type: ignore[no-untyped-def]
    try:
        import uvloop  # optional: the generator runs without it
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


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


def drive(label: str, base: str, token: str | None, args: Any, tmp: Path, **load: str) -> Any:
    """Run the load generator in its own process; one row of the table."""
    slug = re.sub(r"\W+", "-", label)
    out = tmp / f"{slug}.json"
    argv = [
        str(VENV_BIN / "python"), "-m", "bench.partner_reads", "--load", "--base", base,
        "--seconds", str(args.seconds), "--concurrency", str(args.concurrency),
        "--client", args.client, "--out", str(out),
    ]  # fmt: skip
    for option, value in load.items():
        argv += [f"--{option}", value]
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
        percentile(lat, 99) * 1e3, f"{result['not_modified'] / max(len(lat), 1):.0%}",
        result["errors"],
    ]  # fmt: skip


def run(args: argparse.Namespace, tmp: Path, running: list[Process]) -> None:
    node_port, bare_port = free_port(), free_port()
    node_url, bare_url = f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{bare_port}"
    data_dir = tmp / "node"
    init_node(data_dir, node_url)
    ids = tmp / "ids.txt"
    ids.write_text("\n".join(seed_events(data_dir, args.events)))
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
        drive("bare FastAPI GET /bare", bare_url, None, args, tmp, paths="/bare"),
        drive("partner GET events?limit=50", node_url, token, args, tmp, paths=",".join(paths)),
        drive("partner GET events/{id}", node_url, token, args, tmp, ids=str(ids), single=api),
    ]
    print(f"# {command_line()}")
    print(
        f"# {args.events} events, {args.concurrency} concurrent clients, {args.seconds} s each, "
        f"one serve worker, SQLite, {args.client} client; the load generator shares the "
        f"{os.cpu_count()} cores"
    )
    headers = ["server", "requests", "req/s", "p50 ms", "p99 ms", "304s", "errors"]
    print(table(headers, rows))
    print(
        f"partner / bare throughput: pages {rows[1][2] / rows[0][2]:.2f}, "
        f"single events {rows[2][2] / rows[0][2]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--paths", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    parser.add_argument("--single", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        uvicorn.run(bare, host="127.0.0.1", port=args.port, log_config=None, server_header=False)
        return
    if args.load:
        Path(args.out).write_text(json.dumps(run_loop(Load(args).run())))
        return
    tmp = Path(tempfile.mkdtemp(prefix="ipo-bench-partner-"))
    try:
        with processes() as running:
            run(args, tmp, running)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
