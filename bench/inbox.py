"""Inbox throughput: signed ``Create`` activities into one real ``ipo-node serve`` on SQLite.

    .venv/bin/python -m bench.inbox [--requests 3000] [--concurrency 64] [--warmup 200]

Setup, all through the CLI, as two volunteers would do it: ``ipo-node init`` two nodes
(receiver and sender, ``--allow-private-peers``, loopback ports), ``serve`` both, ``ipo-node
ally`` from the sender, ``ipo-node allies accept`` on the receiver, wait until both sides are
active, then stop the sender's ``serve``: only the receiver runs while measured.

The load generator (this process, httpx async client, N concurrent tasks over N keep-alive
connections) posts ``Create`` activities of Events, each with a unique id, signed with the
sender's real key from its data dir (``federation.keys.load_keyring`` +
``federation.signing.sign_request``, keyid ``<sender url>#<kid>``). Signing is done before
the timed section so the generator's signing cost is not measured (it is printed).

Baseline, same run: a bare FastAPI endpoint (``bench/_bare.py``: read the body, answer
``{"ok": true}``) in its own uvicorn process started with the same ``uvicorn.run`` settings,
hit by the same generator with the same bodies and headers.

Figures: accepted activities/s, p50/p99 latency, server CPU use (a server at ~100 % of one
core is the bottleneck; well below means the generator or I/O waits are), and afterwards the
receiver's ``inbox_activity`` and ``event`` row counts against the number sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._common import (
    VENV_BIN,
    Process,
    command_line,
    cpu_seconds,
    free_port,
    percentile,
    processes,
    run_cli,
    table,
    wait_http,
    wait_until,
)
from federation.keys import load_keyring
from federation.outbox import build_activity, serialize
from federation.signing import sign_request

# httpcore 1.0 tries ``import sniffio`` on every lock it sets up (several per request); anyio 4.x
# no longer installs sniffio, so each try is a failed import that scans sys.path (~0.2 ms). A
# None entry makes the import fail at once; httpcore then assumes asyncio, which is right here.
# This touches only the load generator's process (see bench/README.md: a product finding).
sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

PASSWORD = "bench-password-1234"  # noqa: S105 -- a throwaway node in a temp dir


@dataclass
class Signed:
    body: bytes
    headers: dict[str, str]


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[str, int]
    server_cpu: float
    generator_cpu: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def event_object(origin: str, n: int) -> dict[str, object]:
    return {
        "type": "Event",
        "schema_version": 1,
        "id": f"{origin}/events/{uuid.uuid4()}",
        "attributed_to": origin,
        "version": 1,
        "title": f"Joint canvass #{n}",
        "description": "Doors on the northwest side; meet at the office.",
        "start_date": "2030-03-01T15:00:00+00:00",
        "end_date": "2030-03-01T18:00:00+00:00",
        "event_type": "CANVASS",
        "status": "confirmed",
        "visibility": "coalition",
        "wards": [33, 35],
        "created_date": "2029-12-01T12:00:00+00:00",
        "modified_date": "2029-12-01T12:00:00+00:00",
    }


def presign(
    count: int, *, sender_dir: Path, sender: str, receiver: str
) -> tuple[list[Signed], float]:
    """``count`` signed Create activities; returns them and the signing time per request."""
    key = load_keyring(sender_dir / "keys").active
    keyid = f"{sender}#{key.kid}"
    inbox = f"{receiver}/federation/inbox"
    out = []
    started = time.perf_counter()
    for n in range(count):
        activity = build_activity(
            node_id=sender,
            type="Create",
            object=event_object(sender, n),
            to=[receiver],  # type: ignore[arg-type]
        )
        request = httpx.Request(
            "POST", inbox, content=serialize(activity).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        sign_request(request, key=key, keyid=keyid)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        out.append(Signed(body=request.content, headers=headers))
    return out, (time.perf_counter() - started) / count


async def generate(
    url: str, requests: list[Signed], *, concurrency: int, client: str
) -> tuple[float, list[float], dict[str, int]]:
    """Post every request with ``concurrency`` tasks; returns (seconds, latencies, statuses).

    Each task has its own keep-alive connection: one ``httpx.AsyncClient`` per task (a single
    shared client's pool is O(connections) per request in httpcore 1.0 and collapses at 64),
    or, with ``client="raw"``, a minimal HTTP/1.1 writer/reader on an asyncio stream.
    """
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    queue = iter(requests)
    post = _httpx_poster if client == "httpx" else _raw_poster
    posters = [await post(url) for _ in range(concurrency)]

    async def worker(send) -> None:  # type: ignore[no-untyped-def]
        for item in queue:
            t0 = time.perf_counter()
            status, answer = await send(item)
            latencies.append(time.perf_counter() - t0)
            key = f"{status} {answer.get('status', answer.get('ok', answer))}"
            statuses[key] = statuses.get(key, 0) + 1

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(send) for send, _ in posters))
        return time.perf_counter() - started, latencies, statuses
    finally:
        for _, close in posters:
            await close()


async def _httpx_poster(url: str):  # type: ignore[no-untyped-def]
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    client = httpx.AsyncClient(limits=limits, timeout=60, verify=False)  # noqa: S501 -- plain http on loopback

    async def send(item: Signed) -> tuple[int, dict[str, object]]:
        response = await client.post(url, content=item.body, headers=item.headers)
        return response.status_code, response.json()

    return send, client.aclose


async def _raw_poster(url: str):  # type: ignore[no-untyped-def]
    parts = httpx.URL(url)
    reader, writer = await asyncio.open_connection(parts.host, parts.port)
    head = f"POST {parts.raw_path.decode()} HTTP/1.1\r\nHost: {parts.host}:{parts.port}\r\n"

    async def send(item: Signed) -> tuple[int, dict[str, object]]:
        lines = [head] + [f"{k}: {v}\r\n" for k, v in item.headers.items()]
        lines.append(f"Content-Length: {len(item.body)}\r\n\r\n")
        writer.write("".join(lines).encode("latin-1") + item.body)
        header = await reader.readuntil(b"\r\n\r\n")
        status = int(header[9:12])
        length = 0
        for line in header.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, json.loads(await reader.readexactly(length))

    async def close() -> None:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    return send, close


def measure(
    name: str,
    url: str,
    pid: int,
    warmup: list[Signed],
    timed: list[Signed],
    args: argparse.Namespace,
) -> Result:
    options = {"concurrency": args.concurrency, "client": args.client}
    if warmup:
        run_loop(generate(url, warmup, **options))
    cpu0, gen0 = cpu_seconds(pid), time.process_time()
    seconds, latencies, statuses = run_loop(generate(url, timed, **options))
    return Result(
        name=name,
        requests=len(timed),
        seconds=seconds,
        latencies=latencies,
        statuses=statuses,
        server_cpu=(cpu_seconds(pid) - cpu0) / seconds,
        generator_cpu=(time.process_time() - gen0) / seconds,
    )


def run_loop(coro):  # type: ignore[no-untyped-def]
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def loaded_libraries(pid: int) -> str:
    maps = Path(f"/proc/{pid}/maps").read_text()
    found = [name for name in ("uvloop", "httptools") if f"/{name}/" in maps]
    return "+".join(found) or "asyncio+h11"


def peer_state(data_dir: Path, node_id: str) -> str | None:
    with sqlite3.connect(f"file:{data_dir / 'node.db'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT state FROM peer WHERE node_id = ?", (node_id,)).fetchone()
    return row[0] if row else None


def pending_deliveries(data_dir: Path) -> int:
    with sqlite3.connect(f"file:{data_dir / 'node.db'}?mode=ro", uri=True) as db:
        return int(
            db.execute("SELECT count(*) FROM delivery WHERE state = 'pending'").fetchone()[0]
        )


def received_counts(data_dir: Path, actor: str) -> tuple[int, int]:
    with sqlite3.connect(f"file:{data_dir / 'node.db'}?mode=ro", uri=True) as db:
        inbox = db.execute(
            "SELECT count(*) FROM inbox_activity WHERE actor = ? AND type = 'Create'", (actor,)
        ).fetchone()[0]
        events = db.execute("SELECT count(*) FROM event WHERE origin = ?", (actor,)).fetchone()[0]
    return int(inbox), int(events)


def init_node(data_dir: Path, *, name: str, url: str, ward: int) -> None:
    run_cli(
        "init", "--data-dir", str(data_dir), "--name", name, "--url", url, "--ward", str(ward),
        "--admin-email", f"admin@{name.lower().replace(' ', '-')}.example",
        "--admin-password", PASSWORD, "--allow-private-peers",
    )  # fmt: skip


def serve(
    data_dir: Path, port: int, log: Path, env: dict[str, str], profile: str | None = None
) -> Process:
    command = ["serve", "--data-dir", str(data_dir), "--port", str(port)]
    if profile:  # diagnostics only: cProfile of the receiver's main thread, written at exit
        prefix = [str(VENV_BIN / "python"), "-m", "cProfile", "-o", profile, "-m", "node.cli"]
        return Process([*prefix, *command], log=log, env=env)
    return Process([str(VENV_BIN / "ipo-node"), *command], log=log, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="timed requests per server")
    parser.add_argument("--warmup", type=int, default=200, help="untimed requests first")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--log-level", default="INFO", help="the receiver's IPO_LOG_LEVEL")
    parser.add_argument("--profile", help="write a cProfile of the receiver to this file")
    parser.add_argument(
        "--client", choices=["httpx", "raw"], default="httpx",
        help="load generator: httpx.AsyncClient per task, or a minimal asyncio HTTP/1.1 client",
    )  # fmt: skip
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ipo-bench-inbox-"))
    try:
        with processes() as running:
            run(args, tmp, running)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path, running: list[Process]) -> None:
    receiver_port, sender_port, bare_port = free_port(), free_port(), free_port()
    receiver, sender = f"http://127.0.0.1:{receiver_port}", f"http://127.0.0.1:{sender_port}"
    receiver_dir, sender_dir = tmp / "receiver", tmp / "sender"
    init_node(receiver_dir, name="Bench Receiver", url=receiver, ward=33)
    init_node(sender_dir, name="Bench Sender", url=sender, ward=35)

    # --- the handshake, through the CLI, with both nodes serving -----------------------------
    env = {"IPO_LOG_LEVEL": args.log_level}
    receiver_proc = serve(
        receiver_dir, receiver_port, tmp / "receiver.log", env, profile=args.profile
    )
    running.append(receiver_proc)
    sender_proc = serve(sender_dir, sender_port, tmp / "sender.log", {"IPO_LOG_LEVEL": "WARNING"})
    running.append(sender_proc)
    wait_http(f"{receiver}/readyz", process=receiver_proc)
    wait_http(f"{sender}/readyz", process=sender_proc)
    run_cli("ally", "--data-dir", str(sender_dir), receiver)

    async def offer_arrived() -> bool:
        return peer_state(receiver_dir, sender) == "pending"

    asyncio.run(wait_until(offer_arrived, within=30, what="the alliance offer"))
    run_cli("allies", "--data-dir", str(receiver_dir), "accept", sender)

    async def both_active() -> bool:
        return (
            peer_state(sender_dir, receiver) == "active"
            and peer_state(receiver_dir, sender) == "active"
            and pending_deliveries(receiver_dir) == 0
            and pending_deliveries(sender_dir) == 0
        )

    asyncio.run(wait_until(both_active, within=30, what="the alliance to become active"))
    sender_proc.stop()  # only the receiver runs from here on

    # --- the requests, signed before anything is timed ---------------------------------------
    signed, sign_cost = presign(
        args.warmup * 2 + args.requests, sender_dir=sender_dir, sender=sender, receiver=receiver
    )
    bare_warmup, inbox_warmup = signed[: args.warmup], signed[args.warmup : 2 * args.warmup]
    timed = signed[2 * args.warmup :]

    # --- baseline: the bare endpoint, same generator, same bodies ----------------------------
    bare_proc = Process(
        [str(VENV_BIN / "python"), "-m", "bench._bare", "--port", str(bare_port)],
        log=tmp / "bare.log",
    )
    running.append(bare_proc)
    wait_http(f"http://127.0.0.1:{bare_port}/federation/inbox", process=bare_proc)
    bare = measure(
        "bare FastAPI endpoint", f"http://127.0.0.1:{bare_port}/federation/inbox",
        bare_proc.pid, bare_warmup, timed, args,
    )  # fmt: skip
    bare_stack = loaded_libraries(bare_proc.pid)
    bare_proc.stop()

    # --- the inbox ---------------------------------------------------------------------------
    inbox = measure(
        "ipo-node inbox (SQLite)", f"{receiver}/federation/inbox",
        receiver_proc.pid, inbox_warmup, timed, args,
    )  # fmt: skip
    inbox_stack = loaded_libraries(receiver_proc.pid)
    receiver_proc.stop()
    sent_to_inbox = len(inbox_warmup) + len(timed)
    rows, events = received_counts(receiver_dir, sender)

    # --- report ------------------------------------------------------------------------------
    print(f"# inbox throughput   {command_line()}")
    print(
        f"# {args.concurrency} concurrent senders, {args.requests} timed requests per server "
        f"(after {args.warmup} warmup); generator {args.client}; "
        f"receiver log level {args.log_level}; "
        f"pre-signing cost {sign_cost * 1e3:.2f} ms/request (not timed)"
    )
    rows_out = []
    for r in (bare, inbox):
        rows_out.append([
            r.name, r.requests, r.rate, percentile(r.latencies, 50) * 1e3,
            percentile(r.latencies, 99) * 1e3, f"{r.server_cpu:.0%}", f"{r.generator_cpu:.0%}",
            ", ".join(f"{k}: {v}" for k, v in sorted(r.statuses.items())),
        ])  # fmt: skip
    print(table(
        ["server", "requests", "req/s", "p50 ms", "p99 ms", "server CPU", "gen CPU", "answers"],
        rows_out,
    ))  # fmt: skip
    print(f"server stacks: bare={bare_stack}  inbox={inbox_stack}  (from /proc/PID/maps)")
    ratio = inbox.rate / bare.rate
    p99 = percentile(inbox.latencies, 99) * 1e3
    print(
        f"ratio inbox/bare: {ratio:.2f}x  (target >= 0.5x: {'met' if ratio >= 0.5 else 'NOT met'})"
        f"   inbox p99 {p99:.1f} ms (target < 100 ms: {'met' if p99 < 100 else 'NOT met'})"
    )
    ok = rows == sent_to_inbox == events
    print(
        f"correctness: sent {sent_to_inbox} Create activities to the inbox; receiver has "
        f"{rows} inbox_activity rows and {events} event replicas from the sender -> "
        f"{'OK' if ok else 'MISMATCH'}"
    )


if __name__ == "__main__":
    main()
