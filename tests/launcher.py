"""Real ``ipo-node`` processes without paying for Python's start-up each time.

Starting ``ipo-node`` costs one to three seconds of CPU before the command does anything:
the interpreter, then pydantic, SQLAlchemy, Alembic, FastAPI and our own modules. The real-
process tests start over a hundred of them per pass, so that import alone was most of the
suite's CPU. Here one helper process (a "zygote", as Android's app launcher and Chromium call
it) imports everything once; each command is then a ``fork`` of it that sets its own argv,
environment, working directory and standard streams and calls ``node.cli.main``, the function
the ``ipo-node`` console script calls. The forked command is an ordinary process with its own
pid: a test sends it SIGTERM or SIGKILL as before, and reads its exit status as ``Popen``
reports it (negative for a signal).

What this does not exercise is the console script itself and a cold import; ``test_cli.py``,
``test_demo.py``, ``test_costs.py`` and ``deploy/test_processes.py`` still exec the installed
``ipo-node`` for that.

The zygote is started on first use and ends when the test run does (its stdin closes). Each
command is forked twice: a monitor, child of the zygote, forks the command, sends its pid over
the request's socket, waits for it and sends its exit status; so the zygote itself never waits.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
_READY = b"zygote ready\n"
_MAX_REQUEST = 1 << 20

StreamArg = int | IO[bytes] | IO[str] | None
"""Where a child's stream goes: a file descriptor, an open file, or None for /dev/null."""


# ---- the zygote (runs as ``python -m tests.launcher SOCKET``) -------------------------------


def _preload() -> None:
    """Import every module any ``ipo-node`` command needs, so a fork starts with them."""
    from node.cli import GROUPS, _modules

    _modules(tuple(GROUPS))
    if threading.active_count() != 1:  # a thread does not survive fork: the child would hang
        raise RuntimeError(f"importing node started threads: {threading.enumerate()}")


def _zygote(socket_path: str) -> None:
    _preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps exited monitors
    gc.freeze()  # imported objects stay out of the collector: forks share their pages longer
    sys.stdout.buffer.write(_READY)
    sys.stdout.flush()
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable:  # the test run ended (or died): so do we
            return
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            _monitor(connection)  # never returns
        connection.close()


def _receive(connection: socket.socket) -> tuple[dict[str, object], list[int]]:
    data, fds, _, _ = socket.recv_fds(connection, _MAX_REQUEST, 3)
    while not data.endswith(b"\n"):
        more = connection.recv(_MAX_REQUEST)
        if not more:
            raise EOFError("request cut short")
        data += more
    return json.loads(data), fds


def _monitor(connection: socket.socket) -> None:
    """Fork the command, report its pid, wait for it, report its exit status, exit."""
    status = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        request, fds = _receive(connection)
        pid = os.fork()
        if pid == 0:
            connection.close()
            _run_command(request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, wait_status = os.waitpid(pid, 0)
        exit_code = os.waitstatus_to_exitcode(wait_status)
        connection.sendall(json.dumps({"exit": exit_code}).encode() + b"\n")
        status = 0
    finally:
        os._exit(status)


def _run_command(request: dict[str, object], fds: list[int]) -> None:
    """Become ``ipo-node ARGS``: its streams, environment, directory and argv, then run it."""
    code = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(str(request["cwd"]))
        env = request["env"]
        assert isinstance(env, dict)
        os.environ.clear()
        os.environ.update(env)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as a fresh interpreter has
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        args = request["args"]
        assert isinstance(args, list)
        sys.argv = ["ipo-node", *args]
        from node.cli import main

        code = main(args)
    except SystemExit as exit_:  # as the interpreter reads it: None is success
        code = 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        # What the interpreter does on a normal exit, then leave without unwinding the
        # zygote's stack (its loop and listening socket are not ours).
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


# ---- the test run's side ---------------------------------------------------------------------


class LaunchedProcess:
    """A command the zygote started: the part of ``subprocess.Popen`` the harness uses."""

    def __init__(self, args: Sequence[str], connection: socket.socket) -> None:
        self.args = list(args)
        self.returncode: int | None = None
        self._connection = connection
        self._pending = b""
        self.pid = int(self._message(timeout=None)["pid"])

    def _message(self, *, timeout: float | None) -> dict[str, int]:
        while b"\n" not in self._pending:
            ready, _, _ = select.select([self._connection], [], [], timeout)
            if not ready:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            chunk = self._connection.recv(4096)
            if not chunk:
                raise RuntimeError(f"the launcher lost {self.args}: its monitor exited")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.wait(timeout=0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = int(self._message(timeout=timeout)["exit"])
            self._connection.close()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Launcher:
    """The zygote, seen from the test run: ``start`` forks a command from it."""

    def __init__(self, env: dict[str, str]) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="ipo-node-launcher-")
        self._socket_path = os.path.join(self._directory.name, "zygote.sock")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.launcher", self._socket_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if line != _READY:
            self._process.kill()
            raise RuntimeError(f"the launcher did not start (it said {line!r})")

    def start(
        self,
        args: Sequence[str],
        *,
        env: dict[str, str],
        cwd: Path = REPO,
        stdin: StreamArg = None,
        stdout: StreamArg = None,
        stderr: StreamArg = None,
    ) -> LaunchedProcess:
        """Start ``ipo-node ARGS`` with exactly ``env``; streams default to /dev/null."""
        request = json.dumps({"args": list(args), "env": env, "cwd": str(cwd)}).encode() + b"\n"
        with contextlib.ExitStack() as opened:
            fds = []
            for stream in (stdin, stdout, stderr):
                if stream is None:
                    fds.append(opened.enter_context(open(os.devnull, "r+b")).fileno())
                elif isinstance(stream, int):
                    fds.append(stream)
                else:
                    stream.flush()
                    fds.append(stream.fileno())
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.connect(self._socket_path)
                socket.send_fds(connection, [request], fds)
                return LaunchedProcess(args, connection)
            except BaseException:
                connection.close()
                raise

    def close(self) -> None:
        """End the zygote (commands it started live on until they are stopped)."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.close()  # its cue to exit
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()
        self._directory.cleanup()


_launcher: Launcher | None = None


def launcher(env: dict[str, str]) -> Launcher:
    """The run's one zygote, started with ``env`` on first use and closed when the run ends."""
    global _launcher
    if _launcher is None:
        _launcher = Launcher(env)
        atexit.register(_launcher.close)
    return _launcher


if __name__ == "__main__":
    _zygote(sys.argv[1])
