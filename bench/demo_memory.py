"""Memory of the six-node demo: each node's resident set when idle, the total, and baselines.

Runs ``ipo-node demo --once`` (six ``ipo-node serve`` processes, the whole story) on a fresh
temporary data directory and reads the figures it prints: each node's VmRSS (with any child
processes) once federation is at rest after the flows, and the total. Then, in the same
run, two baselines, each its own process measured the same way once it answers HTTP:

- **bare**: a Python process that imports FastAPI and uvicorn and serves one route
  (``bench/_bare.py``, the inbox benchmark's baseline);
- **fresh node**: one of the demo's nodes started again with ``ipo-node serve`` and left
  alone: what a node holds before any request but the readiness check.

    .venv/bin/python -m bench.demo_memory
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import (
    ROOT,
    VENV_BIN,
    Process,
    command_line,
    free_port,
    processes,
    table,
    wait_http,
)
from node.demo.processes import port_is_free, rss_kib

NODE_TARGET_MB = 150
TOTAL_TARGET_MB = 1000


def megabytes(kib: int) -> float:
    return kib * 1024 / 1_000_000


def six_free_ports() -> int:
    for _ in range(50):
        base = free_port()
        if base + 5 < 65536 and all(port_is_free(base + i) for i in range(6)):
            return base
    raise RuntimeError("no six free consecutive ports")


def demo_figures(data_dir: Path) -> tuple[list[tuple[str, float]], float, float]:
    """The demo's own figures: (node, MB) rows, the total MB, and its wall-clock seconds."""
    started = time.monotonic()
    done = subprocess.run(
        [str(VENV_BIN / "ipo-node"), "demo", "--once", "--data-dir", str(data_dir),
         "--port", str(six_free_ports())],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"the demo failed:\n{done.stdout}\n{done.stderr}")
    found = re.findall(r"^  (.+?) +:\d+ +([\d.]+) MB$", done.stdout, re.M)
    rows = [(name.strip(), float(mb)) for name, mb in found]
    total = re.search(r"^  total, six nodes +([\d.]+) MB$", done.stdout, re.M)
    if len(rows) != 6 or total is None:
        raise RuntimeError(f"no memory figures in the demo's output:\n{done.stdout}")
    return rows, float(total.group(1)), seconds


def idle_rss(args: list[str], *, url: str, log: Path) -> float:
    """Start ``args``, wait until ``url`` answers, let it settle, and read its VmRSS in MB."""
    with processes() as started:
        process = Process(args, log=log)
        started.append(process)
        wait_http(url, process=process, timeout=60)
        time.sleep(2)  # a measurement, not synchronisation: let start-up garbage be collected
        return megabytes(rss_kib(process.pid))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ipo-demo-memory-") as tmp:
        root = Path(tmp)
        rows, total, seconds = demo_figures(root / "demo")
        port = free_port()
        bare = idle_rss(
            [sys.executable, "-m", "bench._bare", "--port", str(port)],
            url=f"http://127.0.0.1:{port}/docs",
            log=root / "bare.log",
        )
        port = free_port()
        fresh = idle_rss(
            [str(VENV_BIN / "ipo-node"), "serve", "--data-dir", str(root / "demo" / "ward30"),
             "--port", str(port)],
            url=f"http://127.0.0.1:{port}/readyz",
            log=root / "fresh.log",
        )  # fmt: skip
    print(f"command: {command_line()}")
    print(f"`ipo-node demo --once` took {seconds:.1f} s (setup, six nodes, every flow)\n")
    body = [(name, mb, mb / bare) for name, mb in rows]
    body.append(("total, six nodes", total, total / bare))
    body.append(("fresh node (`serve`, no requests)", fresh, fresh / bare))
    body.append(("bare: FastAPI + uvicorn, one route", bare, 1.0))
    print(table(["process (idle)", "RSS MB", "x bare"], body))
    largest = max(mb for _, mb in rows)
    print(
        f"\ntargets: each node under {NODE_TARGET_MB} MB (largest {largest:.1f}): "
        f"{'met' if largest < NODE_TARGET_MB else 'NOT met'}; "
        f"all six under {TOTAL_TARGET_MB} MB ({total:.1f}): "
        f"{'met' if total < TOTAL_TARGET_MB else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
