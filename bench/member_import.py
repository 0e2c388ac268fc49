"""A 100,000-row member import on one ``ipo-node serve``, and how the node answers meanwhile.

One real node (``ipo-node init``, one uvicorn worker, production settings: SQLite with
``synchronous=FULL`` by default, or a fresh PostgreSQL database with ``--database postgresql``)
receives a CSV of 100,000 members (about 7 MB: names, email, phone, ward, tags) through
``POST /api/v1/members/import``, then the same file again with every row changed (100,000
updates). While each import runs, two probes ask the node, one request at a time:

- ``GET /healthz`` (no database), every 50 ms;
- ``GET /api/v1/members?limit=1`` (authentication and a read: the database), every 50 ms.

Baseline, same run, same node and probes: the same probes for 5 s with the node idle, before
the first import. Figures: rows/s of each import, and each probe's p50 / p99 / max latency
during the imports against idle.

    .venv/bin/python -m bench.member_import [--rows 100000] [--database sqlite|postgresql]

``IPO_BENCH_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) is the
server the PostgreSQL run creates its database on; it is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

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

PASSWORD = "a long bench passphrase"  # noqa: S105 -- a throwaway node's admin
ADMIN = "admin@bench.example"
SERVER = os.environ.get("IPO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PROBE_EVERY = 0.05
IDLE_SECONDS = 5.0
PROBES = {"/healthz": "GET /healthz", "/api/v1/members?limit=1": "GET /api/v1/members?limit=1"}


def members_csv(rows: int, *, ward: int, tag: str) -> bytes:
    lines = ["given_name,family_name,email,phone,ward,tags"]
    lines += [
        f"Person{n},Family{n},person{n}@example.org,773-555-{n % 10000:04d},{ward},{tag}"
        for n in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Probe:
    """One path asked one request at a time; latencies of the answers, by phase."""

    path: str
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0

    async def run(self, client: httpx.AsyncClient, phase: list[str], stop: asyncio.Event) -> None:
        while not stop.is_set():
            began = time.perf_counter()
            try:
                response = await client.get(self.path)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                self.latencies.setdefault(phase[0], []).append(time.perf_counter() - began)
            else:
                self.errors += 1
            await asyncio.sleep(PROBE_EVERY)


async def measure(base: str, token: str, rows: int) -> tuple[list[list[object]], list[object]]:
    headers = {"Authorization": f"Bearer {token}"}
    phase = ["idle"]
    stop = asyncio.Event()
    probes = [Probe(path) for path in PROBES]
    async with (
        httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as importer,
        httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as health,
        httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as reader,
    ):
        tasks = [
            asyncio.create_task(probe.run(client, phase, stop))
            for probe, client in zip(probes, (health, reader), strict=True)
        ]
        await asyncio.sleep(IDLE_SECONDS)
        imports: list[object] = []
        for label, data, expected in (
            ("create", members_csv(rows, ward=32, tag="volunteer"), (rows, 0)),
            ("update", members_csv(rows, ward=33, tag="host"), (0, rows)),
        ):
            phase[0] = label
            began = time.perf_counter()
            response = await importer.post(
                "/api/v1/members/import", content=data, headers={"Content-Type": "text/csv"}
            )
            seconds = time.perf_counter() - began
            phase[0] = "after"
            response.raise_for_status()
            result = response.json()
            if (result["created"], result["updated"]) != expected:
                raise RuntimeError(f"{label}: unexpected result {result}")
            imports.append((label, len(data), seconds, rows / seconds))
        stop.set()
        await asyncio.gather(*tasks)
    table_rows: list[list[object]] = []
    for probe in probes:
        idle = probe.latencies.get("idle", [])
        for name in ("idle", "create", "update"):
            values = probe.latencies.get(name, [])
            table_rows.append(
                [
                    PROBES[probe.path],
                    "idle (baseline)" if name == "idle" else f"during the {name} import",
                    len(values),
                    percentile(values, 50) * 1e3,
                    percentile(values, 99) * 1e3,
                    max(values, default=float("nan")) * 1e3,
                    f"{percentile(values, 99) / percentile(idle, 99):.1f}x" if values else "-",
                ]
            )
        table_rows.append([PROBES[probe.path], "errors", probe.errors, "", "", "", ""])
    return table_rows, imports


def postgres_database() -> tuple[str, str]:
    name = f"ipo_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        connection = await asyncpg.connect(SERVER)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    base, _, _ = SERVER.rpartition("/")
    return name, f"{base}/{name}"


def drop_postgres_database(name: str) -> None:
    async def drop() -> None:
        connection = await asyncpg.connect(SERVER)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


def run(args: argparse.Namespace, tmp: Path, running: list[Process]) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data_dir = tmp / "node"
    database = ["--database-url", args.database_url] if args.database_url else []
    run_cli(
        "init", "--data-dir", str(data_dir), "--name", "Bench Ward", "--url", url,
        "--ward", "33", "--admin-email", ADMIN, "--admin-password", PASSWORD, *database,
    )  # fmt: skip
    token = run_cli("token", "--data-dir", str(data_dir), "--email", ADMIN).strip().split()[-1]
    serve = ["serve", "--data-dir", str(data_dir), "--port", str(port)]
    env = {"IPO_LOG_LEVEL": "WARNING"}
    node = Process([str(VENV_BIN / "ipo-node"), *serve], log=tmp / "node.log", env=env)
    running.append(node)
    wait_http(f"{url}/readyz", process=node)
    probes, imports = asyncio.run(measure(url, token, args.rows))
    print(f"# {command_line()}")
    print(
        f"# one serve worker, {args.database}, production settings; the probes and the "
        f"importer share the {os.cpu_count()} cores with the node"
    )
    print(table(["import", "bytes", "seconds", "rows/s"], imports))
    print()
    print(table(["probe", "while", "answers", "p50 ms", "p99 ms", "max ms", "p99 / idle"], probes))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ipo-bench-import-"))
    database_name = None
    args.database_url = None
    try:
        if args.database == "postgresql":
            database_name, args.database_url = postgres_database()
        with processes() as running:
            run(args, tmp, running)
    finally:
        if database_name:
            drop_postgres_database(database_name)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
