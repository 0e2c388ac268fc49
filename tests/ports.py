"""Loopback ports for real processes, safe when several test runs share the machine.

A node's port is part of its id (``http://127.0.0.1:PORT``), chosen before ``ipo-node init``
and bound only later by ``serve``. The usual trick (bind port 0, read the number, close) leaves
a window in which another run, or an outgoing connection, takes the same port. So ports here
come from below the kernel's ephemeral range (which outgoing connections never use), and each
is claimed by an exclusive lock on a file under the system temporary directory, held until
this process exits: two concurrent ``make test`` runs can never hand out the same port.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
from pathlib import Path

FIRST, LAST = 20_000, 32_000  # below Linux's default ephemeral range (32768-60999)
_LOCKS = Path(tempfile.gettempdir()) / "ipo-node-test-ports"
_held: dict[int, int] = {}  # port -> locked file descriptor, kept open for the run


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _claim(port: int) -> bool:
    _LOCKS.mkdir(exist_ok=True)
    fd = os.open(_LOCKS / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    if not _bindable(port):
        os.close(fd)
        return False
    _held[port] = fd
    return True


def free_ports(count: int = 1) -> int:
    """The first of ``count`` consecutive free ports, claimed for this run."""
    for _ in range(500):
        base = random.randrange(FIRST, LAST - count)
        claimed: list[int] = []
        for port in range(base, base + count):
            if port in _held or not _claim(port):
                break
            claimed.append(port)
        if len(claimed) == count:
            return base
        for port in claimed:
            os.close(_held.pop(port))
    raise RuntimeError(f"no {count} consecutive free loopback ports in {FIRST}-{LAST}")


def free_port() -> int:
    """A free loopback port, claimed for this run."""
    return free_ports(1)
