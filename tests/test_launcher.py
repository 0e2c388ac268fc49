"""The test harness's launcher forks commands that behave as exec'd ``ipo-node`` processes.

Every real-process test trusts it: a command forked from it must see only the environment,
working directory and streams it was given, exit with the status it chose, and die by a
signal as a process does (``tests/launcher.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.e2e.realnode import PASSWORD, child_env, eventually
from tests.launcher import LaunchedProcess, Launcher
from tests.ports import free_port


@pytest.fixture(scope="module")
def launcher() -> Iterator[Launcher]:
    """A launcher of its own, started with a data directory in its environment."""
    started = Launcher({**child_env(), "IPO_DATA_DIR": "/from/the/launchers/environment"})
    yield started
    started.close()


def finished(process: LaunchedProcess, out: IO[bytes]) -> str:
    process.wait(timeout=120)
    out.seek(0)
    return out.read().decode()


def ready(port: int) -> int | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code
    except httpx.TransportError:
        return None


def test_a_command_gets_its_own_directory_streams_and_exit_status(
    launcher: Launcher, tmp_path: Path
) -> None:
    (tmp_path / "bundle.json").write_text("{")
    with tempfile.TemporaryFile() as err:
        process = launcher.start(
            ["verify", "bundle.json"], env=child_env(), cwd=tmp_path, stderr=err
        )
        said = finished(process, err)
    # the relative path was read from the given directory, and the command's error is its own
    assert "bundle.json is not JSON" in said, said
    assert process.returncode == 2
    assert process.pid not in (os.getpid(), 0)


def test_a_command_sees_exactly_the_environment_it_was_given(
    launcher: Launcher, tmp_path: Path
) -> None:
    without = child_env()
    with tempfile.TemporaryFile() as err:
        said = finished(
            launcher.start(["token", "--email", "a@b.example"], env=without, stderr=err), err
        )
    assert "the following arguments are required: --data-dir" in said, said

    with tempfile.TemporaryFile() as err:
        given = {**without, "IPO_DATA_DIR": str(tmp_path)}
        said = finished(
            launcher.start(["token", "--email", "a@b.example"], env=given, stderr=err), err
        )
    assert "invalid node configuration" in said, said


def test_a_signal_ends_a_command_as_it_ends_a_process(launcher: Launcher, tmp_path: Path) -> None:
    data_dir, port = tmp_path / "node", free_port()
    init_args = ["init", "--data-dir", str(data_dir), "--name", "30th United", "--ward", "30"]
    init_args += ["--url", f"http://127.0.0.1:{port}", "--admin-email", "admin@ward30.example"]
    init = launcher.start([*init_args, "--admin-password", PASSWORD], env=child_env())
    assert init.wait(timeout=120) == 0
    serve = launcher.start(
        ["serve", "--data-dir", str(data_dir), "--port", str(port)], env=child_env()
    )
    try:
        eventually(
            lambda: ready(port),
            lambda answer: answer == 200 or serve.poll() is not None,
            what="the forked serve to answer",
        )
        assert serve.poll() is None, "serve exited"
        with pytest.raises(subprocess.TimeoutExpired):
            serve.wait(timeout=0)
        os.kill(serve.pid, signal.SIGKILL)
        assert serve.wait(timeout=60) == -signal.SIGKILL
    finally:
        serve.kill()  # if the test failed before it did
        serve.wait(timeout=60)
