"""The demo's child processes: one ``ipo-node init`` and one ``ipo-node serve`` per node.

Each node is what a ward group's volunteer runs: its own data directory (config, keys,
SQLite file), made by the real ``init`` command, served by the real ``serve`` command on its
own loopback port, its output in ``serve.log`` in that directory. Children run in their own
session, so a Ctrl-C in the terminal reaches only the demo, which then stops them in order;
on Linux they also die with the demo should it be killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from node.config import CONFIG_FILE, COST_SETTINGS
from node.demo.coalition import Organization

LOGIN_FILE = "demo-login.txt"
LOG_FILE = "serve.log"
STOP_SECONDS = 10.0


class DemoError(Exception):
    """Something the person running the demo can fix or should know; printed plainly."""


def ipo_node(*args: str) -> list[str]:
    """The ``ipo-node`` command line of this installation."""
    script = Path(sys.executable).with_name("ipo-node")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "node.cli", *args]


def child_env() -> dict[str, str]:
    """This environment without settings that would point a demo node elsewhere.

    The demo is SQLite by definition: a ``DATABASE_URL`` meant for something else must not
    turn six nodes loose on one PostgreSQL database. Cost settings (``COST_SETTINGS``) pass
    through, so a test harness that lowers them lowers them for the demo's nodes too.
    """
    passed = {f"IPO_{name.upper()}" for name in COST_SETTINGS}
    return {
        key: value
        for key, value in os.environ.items()
        if key in passed
        or (not key.startswith("IPO_") and key not in ("DATABASE_URL", "ALLOW_PRIVATE_PEERS"))
    }


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when the demo dies (else None)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork, not in the child
    parent = os.getpid()

    def arm() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the demo died before the line above
            os._exit(1)

    return arm


def port_is_free(port: int) -> bool:
    """Whether nothing listens on ``port`` (connections of a stopped node lingering in
    TIME_WAIT do not count: uvicorn binds with SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class DemoNode:
    """One organization's node: where it lives, where it listens, and its admin's login."""

    org: Organization
    root: Path
    port: int
    password: str = ""
    token: str = ""
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.root / self.org.slug

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE

    # ---- setting up -----------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether an earlier run made this node; refuses one made for another port."""
        config = self.data_dir / CONFIG_FILE
        if not config.exists():
            return False
        made_for = tomllib.loads(config.read_text()).get("public_url")
        if made_for != self.url:
            raise DemoError(
                f"{self.data_dir} is a node for {made_for}, not {self.url}: a node's URL is its "
                "id in the coalition. Run the demo with the --port it was made with, or use "
                "a new --data-dir."
            )
        if not (self.data_dir / LOGIN_FILE).exists():
            raise DemoError(
                f"{self.data_dir} was left half made (no {LOGIN_FILE}); delete it and run again."
            )
        self.password = (self.data_dir / LOGIN_FILE).read_text().splitlines()[1]
        return True

    def start_init(self) -> subprocess.Popen[str]:
        """``ipo-node init`` for this node, with a password it generates and prints once."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        wards = [arg for ward in self.org.wards for arg in ("--ward", str(ward))]
        argv = ipo_node(
            "init", "--data-dir", str(self.data_dir), "--name", self.org.name,
            "--url", self.url, "--kind", self.org.kind, *wards,
            "--admin-email", self.org.admin_email, "--allow-private-peers",
        )  # fmt: skip
        return subprocess.Popen(  # noqa: S603 - our own command, arguments from code
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )

    def finish_init(self, process: subprocess.Popen[str]) -> None:
        """Wait for ``init``, keep the admin password it printed in ``demo-login.txt`` (0600)."""
        out, err = process.communicate(timeout=120)
        found = re.search(r"admin password:\s+(\S+)", out)
        if process.returncode != 0 or not found:
            raise DemoError(f"`ipo-node init` for {self.org.name} failed:\n{out}{err}")
        self.password = found.group(1)
        fd = os.open(self.data_dir / LOGIN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{self.org.admin_email}\n{self.password}\n")

    # ---- running ------------------------------------------------------------------------

    def start(self) -> None:
        """Start ``ipo-node serve`` on this node's port, its output appended to ``serve.log``."""
        if not port_is_free(self.port):
            raise DemoError(
                f"port {self.port} (for {self.org.name}) is in use: is another demo running? "
                "Stop it, or pick other ports with --port."
            )
        self._log = self.log_path.open("ab")
        argv = ipo_node(
            "serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
            "--port", str(self.port),
        )  # fmt: skip
        self._log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        self._log.flush()
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=child_env(),
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # before any thread exists: safe to fork this way
        )

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def reap(self, *, timeout: float = STOP_SECONDS) -> int | None:
        """Wait for the process after ``signal_stop``; SIGKILL it if it outlives ``timeout``."""
        if self.process is None:
            return None
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._log is not None:
            self._log.close()
        return self.process.returncode

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def stop_all(nodes: list[DemoNode]) -> None:
    """SIGTERM every node at once (uvicorn shuts down gracefully), then reap each."""
    for node in nodes:
        node.signal_stop()
    for node in nodes:
        node.reap()


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and every process under it, in KiB (0 if it is gone)."""
    total = 0
    for one in [pid, *_descendants(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # the command name may hold spaces and parentheses: the ppid follows the last ")"
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(kids)
    return found
