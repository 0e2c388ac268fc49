"""Real ``ipo-node`` processes on loopback ports, driven only through the CLI and HTTP.

A ``RealNode`` is what a ward group's volunteer has: a data directory made by ``ipo-node
init``, a ``serve`` process (and, in production, separate ``worker`` processes), an admin's
bearer token from ``ipo-node token``. Each command is forked from the run's launcher, which
imported everything once (``tests/launcher.py``; ``installed_script()`` execs the console
script instead). Every child's output goes to a log file in the test's temporary directory;
``tests/e2e/conftest.py`` attaches the tail of every live node's logs to a failing test's
report.

The only look behind the API is ``inbox_rows`` (and ``release_delivery_leases``): a test
reads the receiving node's ``inbox_activity`` table to count what arrived and in which order,
which no API shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import asyncpg
import httpx

from tests.costs import TEST_COSTS
from tests.launcher import LaunchedProcess, launcher
from tests.ports import free_port, free_ports

__all__ = ["free_port", "free_ports"]  # re-exported for the benchmarks

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "a long test passphrase"
# Deadlines, not waits: each poll returns as soon as its condition holds. They are generous
# because two test runs (or a CI run beside a session) can share two cores, and a Python
# process then takes several times longer to import and start.
STARTUP_SECONDS = 120.0
EVENTUALLY_SECONDS = 90.0
T = TypeVar("T")
ChildProcess = subprocess.Popen[bytes] | LaunchedProcess
_exec_installed_script = False

LIVE: list[RealNode] = []
"""Nodes with processes or clients open now; their logs go into failing tests' reports."""


def ipo_node(*args: str) -> list[str]:
    """The ``ipo-node`` command line, as installed in this virtualenv."""
    script = Path(sys.executable).with_name("ipo-node")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "node.cli", *args]


def child_env(**extra: str) -> dict[str, str]:
    """This environment without settings a node would pick up by accident, with the
    harness's test-only cost settings (``tests/costs.py``)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("IPO_") and key not in ("DATABASE_URL", "ALLOW_PRIVATE_PEERS")
    }
    env.update(TEST_COSTS)
    env.update(extra)
    return env


def start_command(
    args: Sequence[str], *, env: dict[str, str], stdout: IO[bytes], stderr: IO[bytes]
) -> ChildProcess:
    """Start ``ipo-node ARGS`` with ``env``: forked from the run's launcher (``tests/launcher.py``)
    or, inside ``installed_script()``, by exec of the installed console script."""
    if _exec_installed_script:
        return subprocess.Popen(
            ipo_node(*args),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=REPO,
        )
    return launcher(child_env()).start(args, env=env, cwd=REPO, stdout=stdout, stderr=stderr)


@contextlib.contextmanager
def installed_script() -> Iterator[None]:
    """Within this block every command is the installed ``ipo-node`` script, exec'd and
    imported from cold, exactly as a container or a systemd unit runs it."""
    global _exec_installed_script
    _exec_installed_script = True
    try:
        yield
    finally:
        _exec_installed_script = False


def run_command(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run one ``ipo-node`` command to completion and capture what it printed."""
    with contextlib.ExitStack() as files:
        return _finish(_start_captured(list(args), files), timeout=timeout)


@dataclass(frozen=True)
class _Captured:
    args: list[str]
    process: ChildProcess
    out: IO[bytes]
    err: IO[bytes]


def _start_captured(args: list[str], files: contextlib.ExitStack) -> _Captured:
    """Start a command whose output goes to two temporary files, closed with ``files``."""
    out, err = (files.enter_context(tempfile.TemporaryFile()) for _ in range(2))  # noqa: SIM115
    return _Captured(args, start_command(args, env=child_env(), stdout=out, stderr=err), out, err)


def _finish(started: _Captured, *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Wait for a captured command (killed if it outlives ``timeout``) and read its output."""
    try:
        started.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        started.process.kill()
        started.process.wait(timeout=timeout)
        raise
    printed = []
    for stream in (started.out, started.err):
        stream.seek(0)
        printed.append(stream.read().decode(errors="replace"))
    return subprocess.CompletedProcess(
        ["ipo-node", *started.args], started.process.wait(), *printed
    )


def run_cli(*args: str, timeout: float = 180) -> str:
    """Run one ``ipo-node`` command to completion; its stdout, or a failure naming both streams."""
    done = run_command(*args, timeout=timeout)
    assert done.returncode == 0, (
        f"`ipo-node {' '.join(args)}` exited {done.returncode}\n"
        f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    return done.stdout


def eventually(
    fetch: Callable[[], T],
    until: Callable[[T], bool],
    *,
    what: str,
    timeout: float = EVENTUALLY_SECONDS,
    interval: float = 0.1,
) -> T:
    """Poll ``fetch`` until ``until`` holds for its value; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f} s still waiting for {what}; last: {value!r}")
        time.sleep(interval)


class Process:
    """One long-running child (``serve`` or ``worker``), its output appended to a log file."""

    def __init__(self, label: str, args: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.label = label
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self._log.write(f"\n==== {label}: ipo-node {' '.join(args)}\n".encode())
        self._log.flush()
        try:
            self.popen = start_command(args, env=env, stdout=self._log, stderr=self._log)
        except OSError:
            self._log.close()
            raise

    def is_running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, *, sig: signal.Signals = signal.SIGTERM, timeout: float = 15) -> int:
        """Send ``sig`` and reap the process (SIGKILL if it outlives ``timeout``)."""
        if self.is_running():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)
        if not self._log.closed:
            self._log.close()
        return self.popen.returncode


@dataclass
class RealNode:
    """One ward group's node: a data dir, a database, and the processes running it."""

    name: str
    slug: str
    ward: int
    root: Path
    database_url: str
    port: int = field(default_factory=free_port)
    fingerprint: str = ""
    token: str = ""
    serve_process: Process | None = None
    workers: list[Process] = field(default_factory=list)
    _api: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.root / self.slug

    @property
    def admin_email(self) -> str:
        return f"admin@{self.slug}.example"

    @property
    def log_path(self) -> Path:
        return self.root / f"{self.slug}.log"

    # ---- the CLI ----------------------------------------------------------------------------

    def init_args(self) -> list[str]:
        return [
            "init",
            "--data-dir", str(self.data_dir),
            "--name", self.name,
            "--url", self.url,
            "--ward", str(self.ward),
            "--admin-email", self.admin_email,
            "--admin-password", PASSWORD,
            "--database-url", self.database_url,
            "--allow-private-peers",
        ]  # fmt: skip

    def initialized(self, out: str) -> None:
        """Read what ``init`` printed: the key fingerprint an ally's admin compares."""
        found = re.search(r"key fingerprint:\s+(\S+)", out)
        assert found, f"`ipo-node init` printed no key fingerprint:\n{out}"
        self.fingerprint = found.group(1)

    def cli(self, command: str, *args: str) -> str:
        return run_cli(command, "--data-dir", str(self.data_dir), *args)

    def start_serving(self, **env: str) -> None:
        """Start ``ipo-node serve`` on this node's port (``env`` adds settings)."""
        assert self.serve_process is None or not self.serve_process.is_running()
        if self not in LIVE:
            LIVE.append(self)
        self.serve_process = Process(
            f"{self.slug} serve",
            ["serve", "--data-dir", str(self.data_dir), "--port", str(self.port)],
            self.log_path,
            child_env(**env),
        )

    def serve(self, **env: str) -> None:
        """Start ``serve`` and wait until the node is ready."""
        self.start_serving(**env)
        self.wait_ready()

    def start_worker(self, *, wait: bool = True) -> Process:
        """Start a separate ``ipo-node worker``; with ``wait``, until it says it runs."""
        if self not in LIVE:
            LIVE.append(self)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        worker = Process(
            f"{self.slug} worker",
            ["worker", "--data-dir", str(self.data_dir)],
            self.log_path,
            child_env(),
        )
        self.workers.append(worker)
        if not wait:
            return worker
        eventually(
            lambda: self.log_path.read_bytes()[offset:],
            lambda log: b"delivery worker for" in log or not worker.is_running(),
            what=f"{self.slug}'s worker to start",
            timeout=STARTUP_SECONDS,
        )
        assert worker.is_running(), f"{self.slug}'s worker exited: {worker.popen.returncode}"
        return worker

    def wait_ready(self) -> None:
        process = self.serve_process
        assert process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.is_running(), (
                f"{self.slug} serve exited with {process.popen.returncode}:\n{self.log_tail()}"
            )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"{self.slug} not ready in {STARTUP_SECONDS} s"
            time.sleep(0.1)

    def stop_serving(self) -> None:
        """SIGTERM ``serve``, as systemd does, and check it shut down gracefully.

        Uvicorn finishes its shutdown, then re-raises the signal, so the exit status is -15.
        """
        assert self.serve_process is not None
        status = self.serve_process.stop()
        tail = self.log_tail(lines=5)
        assert status in (0, -signal.SIGTERM), f"{self.slug} serve exited {status}:\n{tail}"
        assert "Finished server process" in tail, tail

    def close(self) -> None:
        """Stop every process and close the client; safe to call twice."""
        for worker in self.workers:
            worker.stop()
        if self.serve_process is not None:
            self.serve_process.stop()
        if self._api is not None:
            self._api.close()
            self._api = None
        if self in LIVE:
            LIVE.remove(self)

    # ---- HTTP as the admin -----------------------------------------------------------------

    @property
    def api(self) -> httpx.Client:
        """An HTTP client authenticated as this node's admin (token from ``ipo-node token``)."""
        if self._api is None:
            if not self.token:
                self.token = self.cli("token", "--email", self.admin_email).strip()
            self._api = httpx.Client(
                base_url=self.url,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            )
        return self._api

    def alliances(self) -> dict[str, dict[str, Any]]:
        """``GET /api/v1/alliances``, keyed by the peer's node id."""
        response = self.api.get("/api/v1/alliances")
        assert response.status_code == 200, response.text
        return {alliance["node_id"]: alliance for alliance in response.json()}

    def deliveries(self) -> dict[str, dict[str, Any]]:
        """``GET /api/v1/federation/deliveries``, keyed by the peer's node id."""
        response = self.api.get("/api/v1/federation/deliveries")
        assert response.status_code == 200, response.text
        return {peer["node_id"]: peer["delivery"] for peer in response.json()}

    def events(self, **params: Any) -> list[dict[str, Any]]:
        """Every event the admin sees, following ``next`` to the end."""
        items: list[dict[str, Any]] = []
        response = self.api.get("/api/v1/events", params={"limit": 200, **params})
        while True:
            assert response.status_code == 200, response.text
            page = response.json()
            items.extend(page["items"])
            if page["next"] is None:
                return items
            response = self.api.get(page["next"])

    def events_from(self, origin: RealNode) -> dict[str, dict[str, Any]]:
        """Replicas of ``origin``'s events held here, keyed by their global ``object_id``."""
        return {e["object_id"]: e for e in self.events() if e["origin"] == origin.url}

    # ---- the database, for what no API shows ----------------------------------------------

    def inbox_rows(self) -> list[InboxRow]:
        """Every received activity, in the order this node stored them."""
        rows = query(
            self.database_url,
            "SELECT activity_id, actor, type, body FROM inbox_activity ORDER BY id",
        )
        return [InboxRow(row[0], row[1], row[2], json.loads(row[3])) for row in rows]

    def release_delivery_leases(self) -> None:
        """What the wall clock does 60 s after a worker died holding a peer's lease."""
        query(self.database_url, "UPDATE peer SET lease_until = NULL", write=True)

    def log_tail(self, lines: int = 120) -> str:
        if not self.log_path.exists():
            return "(no log yet)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass(frozen=True)
class InboxRow:
    activity_id: str
    actor: str
    type: str
    body: dict[str, Any]

    @property
    def object_id(self) -> str | None:
        obj = self.body.get("object")
        return obj.get("id") if isinstance(obj, dict) else obj

    @property
    def object_version(self) -> int | None:
        obj = self.body.get("object")
        return obj.get("version") if isinstance(obj, dict) else None


def query(database_url: str, sql: str, *, write: bool = False) -> list[tuple[Any, ...]]:
    """Run one fixed statement on a node's database, SQLite file or PostgreSQL."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        with contextlib.closing(sqlite3.connect(path, timeout=10)) as connection:
            rows = connection.execute(sql).fetchall()
            if write:
                connection.commit()
            return rows

    async def on_postgres() -> list[tuple[Any, ...]]:
        connection = await asyncpg.connect(database_url.replace("+asyncpg", "", 1))
        try:
            if write:
                await connection.execute(sql)
                return []
            return [tuple(record) for record in await connection.fetch(sql)]
        finally:
            await connection.close()

    return asyncio.run(on_postgres())


def init_nodes(nodes: Iterable[RealNode]) -> None:
    """``ipo-node init`` for several nodes at once (each is a separate process)."""
    with contextlib.ExitStack() as files:
        started = [(node, _start_captured(node.init_args(), files)) for node in nodes]
        for node, init in started:
            done = _finish(init, timeout=STARTUP_SECONDS)
            assert done.returncode == 0, f"init {node.slug} failed:\n{done.stdout}\n{done.stderr}"
            node.initialized(done.stdout)


def serve_nodes(nodes: Iterable[RealNode], **env: str) -> None:
    """Start ``serve`` for several nodes at once, then wait for each to be ready."""
    nodes = list(nodes)
    for node in nodes:
        node.start_serving(**env)
    for node in nodes:
        node.wait_ready()


def ally_through_cli(proposer: RealNode, *others: RealNode) -> dict[str, str]:
    """The handshake as admins do it: ``ally URL`` on one side, ``allies accept`` on the other.

    Returns what each other admin's ``ipo-node allies`` printed while the offer was pending.
    """
    for other in others:
        proposer.cli("ally", other.url)
    seen: dict[str, str] = {}
    for other in others:
        # Waiting is done through the API (a request, not a new process per poll); what the
        # admin reads and answers goes through the CLI, once the offer is there.
        eventually(
            lambda other=other: other.alliances().get(proposer.url, {}).get("state"),
            lambda state: state == "pending",
            what=f"{other.slug} to see {proposer.slug}'s offer",
        )
        seen[other.slug] = other.cli("allies")
        other.cli("allies", "accept", proposer.url)
    for other in others:
        eventually(
            lambda other=other: proposer.alliances().get(other.url, {}).get("state"),
            lambda state: state == "active",
            what=f"{proposer.slug} to see {other.slug}'s acceptance",
        )
    return seen


def ally_through_api(offering: RealNode, receiving: RealNode) -> None:
    """``offering``'s admin offers an alliance over HTTP; ``receiving``'s admin accepts it."""
    offered = offering.api.post("/api/v1/alliances", json={"url": receiving.url})
    assert offered.status_code == 201, offered.text
    eventually(
        lambda: receiving.alliances().get(offering.url, {}).get("state"),
        lambda state: state == "pending",
        what=f"{receiving.slug} to see {offering.slug}'s offer",
    )
    accepted = receiving.api.post(f"/api/v1/alliances/{offering.url}/accept")
    assert accepted.status_code == 200, accepted.text
    eventually(
        lambda: offering.alliances().get(receiving.url, {}).get("state"),
        lambda state: state == "active",
        what=f"{offering.slug} to see {receiving.slug}'s acceptance",
    )
