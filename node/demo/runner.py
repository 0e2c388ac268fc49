"""``ipo-node demo``: the northwest-side coalition on one machine.

Six nodes (``node/demo/coalition.py``), each made once by ``ipo-node init`` in its own
directory under the demo data dir and run by its own ``ipo-node serve`` on ports base ..
base + 5. The demo allies them and tells the seed story through their APIs
(``node/demo/flows.py``), prints where to log in, and runs until Ctrl-C or SIGTERM, which stop
every node. ``--once`` tells the story, prints what converged and how much memory the idle
nodes hold, stops them, and reports success only if every flow converged.

A second run finds the nodes and the story where the first left them and reuses both.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

from node.demo.api import Api, NotConverged, eventually, load_tokens, new_token, save_token
from node.demo.coalition import COALITION
from node.demo.flows import FLOWS, run_story
from node.demo.processes import DemoError, DemoNode, port_is_free, rss_kib, stop_all
from node.demo.story import FlowResult, Story

READY_SECONDS = 60.0
NODE_TARGET_MB = 150
TOTAL_TARGET_MB = 1000
IDLE_SECONDS = 60.0


@dataclass(frozen=True)
class Outcome:
    results: list[FlowResult]
    rss_kib: dict[str, int]
    seconds: float

    @property
    def converged(self) -> bool:
        return [r.name for r in self.results] == list(FLOWS) and all(
            result.converged for result in self.results
        )


def run_demo(*, data_dir: Path, port: int, once: bool) -> bool:
    """Run the demo; True when it ended as asked (``--once``: every flow converged)."""
    nodes = [DemoNode(org, data_dir, port + i) for i, org in enumerate(COALITION)]
    started = time.monotonic()
    with _stop_on_signals():
        try:
            set_up(nodes, data_dir)
            outcome = tell_story(nodes, started)
            if once:
                print_summary(nodes, outcome)
                return outcome.converged
            print_logins(nodes, outcome)
            return supervise(nodes)
        except KeyboardInterrupt:
            print("\nstopping all six nodes ...", flush=True)
            return not once
        finally:
            if any(node.process for node in nodes):
                with _signals_ignored():  # a second Ctrl-C must not cut the shutdown short
                    stop_all(nodes)
                print("all six nodes stopped.", flush=True)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM both stop the demo (both raise KeyboardInterrupt here).

    SIGINT is handled explicitly: a process started in the background by a shell (a script's
    ``demo &``, a CI job) inherits SIGINT as ignored, and Python then never turns it into
    KeyboardInterrupt, so the demo would not stop when asked."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def set_up(nodes: list[DemoNode], data_dir: Path) -> None:
    """Make the nodes an earlier run did not (``ipo-node init``, side by side), then serve all."""
    print(f"The northwest-side coalition, six nodes in {data_dir}", flush=True)
    fresh = [node for node in nodes if not node.exists()]
    if fresh:
        print(f"  creating {len(fresh)} nodes with `ipo-node init` ...", flush=True)
        for node, process in [(node, node.start_init()) for node in fresh]:
            node.finish_init(process)
            print(f"  created {node.org.name} in {node.data_dir}", flush=True)
    else:
        print("  reusing the six nodes of an earlier run", flush=True)
    busy = [node.port for node in nodes if not port_is_free(node.port)]
    if busy:
        raise DemoError(
            f"port(s) {', '.join(map(str, busy))} in use: is another demo running? Stop it, "
            "or pick other ports with --port."
        )
    for node in nodes:
        node.start()
    for node in nodes:
        print(f"  starting {node.org.name} on :{node.port} ... ", end="", flush=True)
        print(f"ready ({wait_ready(node):.1f} s)", flush=True)


def wait_ready(node: DemoNode) -> float:
    """Seconds until the node's ``/readyz`` answers 200; DemoError if it dies or hangs."""
    started = time.monotonic()
    while True:
        if not node.is_running():
            raise died(node)
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{node.url}/readyz", timeout=2).status_code == 200:
                return time.monotonic() - started
        if time.monotonic() - started > READY_SECONDS:
            raise DemoError(
                f"{node.org.name} did not get ready in {READY_SECONDS:.0f} s; the end of "
                f"{node.log_path}:\n{node.log_tail()}"
            )
        time.sleep(0.1)


def died(node: DemoNode) -> DemoError:
    code = node.process.returncode if node.process else None
    return DemoError(
        f"{node.org.name} (:{node.port}) stopped unexpectedly with status {code}; the end of "
        f"{node.log_path}:\n{node.log_tail()}"
    )


def tell_story(nodes: list[DemoNode], started: float) -> Outcome:
    async def run() -> Outcome:
        admins = {node.org: Api(node.url, await admin_token(node)) for node in nodes}
        story = Story({node.org: node for node in nodes}, admins)
        try:
            results = await run_story(story, progress=lambda line: print(f"  {line}", flush=True))
            await wait_idle(story)
        finally:
            for api in admins.values():
                await api.aclose()
        rss = {node.org.slug: rss_kib(node.process.pid) for node in nodes if node.process}
        return Outcome(results, rss, time.monotonic() - started)

    return asyncio.run(run())


async def admin_token(node: DemoNode) -> str:
    """The demo's bearer token for the node's admin, made by logging in the first time."""
    token = load_tokens(node.data_dir).get(node.org.admin_email)
    if token is None:
        token = await new_token(
            node.url, email=node.org.admin_email, password=node.password, label="demo"
        )
        save_token(node.data_dir, email=node.org.admin_email, token=token)
    return token


async def wait_idle(story: Story) -> None:
    """Wait until no node has a delivery queued: federation is at rest (best effort)."""

    async def queued() -> int:
        total = 0
        for api in story.admins.values():
            total += sum(p["delivery"]["queued"] for p in await api.get("/api/v1/alliances"))
        return total

    with contextlib.suppress(NotConverged):
        await eventually(queued, lambda n: n == 0, what="empty queues", seconds=IDLE_SECONDS)


def print_summary(nodes: list[DemoNode], outcome: Outcome) -> None:
    print("\nSummary")
    for result in outcome.results:
        state = "converged" if result.converged else "NOT CONVERGED"
        print(f"  {result.name:<12} {state}: {result.detail}")
    print("\nMemory: resident set (VmRSS) of each node, idle after the flows")
    for node in nodes:
        rss = megabytes(outcome.rss_kib[node.org.slug])
        print(f"  {node.org.name:<36} :{node.port:<5} {rss:6.1f} MB")
    total = megabytes(sum(outcome.rss_kib.values()))
    largest = megabytes(max(outcome.rss_kib.values(), default=0))
    print(f"  {'total, six nodes':<43}{total:6.1f} MB")
    met = "met" if largest < NODE_TARGET_MB and total < TOTAL_TARGET_MB else "NOT met"
    print(
        f"  target (each node under {NODE_TARGET_MB} MB, all six under {TOTAL_TARGET_MB} MB): {met}"
    )
    verdict = "every flow converged" if outcome.converged else "NOT every flow converged"
    print(f"\n{verdict} ({outcome.seconds:.1f} s from start)", flush=True)


def megabytes(kib: int) -> float:
    """KiB, as /proc reports them, in decimal megabytes, as the memory targets are stated."""
    return kib * 1024 / 1_000_000


def print_logins(nodes: list[DemoNode], outcome: Outcome) -> None:
    for result in outcome.results:
        state = "" if result.converged else "NOT CONVERGED: "
        print(f"  {result.name}: {state}{result.detail}")
    print("\nThe coalition is running. Open a node's page and log in:\n")
    width = max(len(node.org.name) for node in nodes)
    for node in nodes:
        print(f"  {node.org.name:<{width}}  open {node.url}/  "
              f"log in as {node.org.admin_email}  password {node.password}")  # fmt: skip
    print(f"\nLogins are kept in {nodes[0].root}/<node>/demo-login.txt, logs in <node>/serve.log.")
    print("Ctrl-C stops all six nodes.", flush=True)


def supervise(nodes: list[DemoNode]) -> bool:
    """Until Ctrl-C or SIGTERM (KeyboardInterrupt); a node that dies stops the demo."""
    while True:
        for node in nodes:
            if not node.is_running():
                raise died(node)
        time.sleep(0.5)
