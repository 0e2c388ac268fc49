"""README's first command: ``ipo-node demo`` runs the six-node northwest-side coalition.

Each test runs the real command as a subprocess, as a person would, on a temporary data
directory and six free loopback ports: the demo starts six ``ipo-node serve`` processes,
allies them and tells the seed story through their APIs. The first run is made once for the
module; later tests reuse its data directory, as a second ``ipo-node demo`` would.

The demo is SQLite by definition (one file per node), so there is nothing for a PostgreSQL
run to add here: the flows it drives are tested on PostgreSQL in tests/e2e and the domain
tests.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.costs import TEST_COSTS
from tests.databases import backend
from tests.ports import free_ports

pytestmark = [
    pytest.mark.skipif(
        backend() == "postgresql", reason="the demo runs SQLite nodes only, by definition"
    ),
    pytest.mark.timeout(300),
]

REPO = Path(__file__).resolve().parents[1]
FLOWS = ("alliances", "events", "endorsement", "forum", "canvass", "public")
SLUGS = ("ward33", "ward30", "ward35", "ward39", "nwside", "seiu73")


def ipo_node(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("ipo-node")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "node.cli", *args]


def child_env() -> dict[str, str]:
    """No settings from this environment, but the harness's test-only costs (tests/costs.py)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("IPO_")} | TEST_COSTS


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class Run:
    returncode: int
    out: str
    err: str

    def flow(self, name: str) -> str:
        """The summary line of one flow: ``  name  converged: figures``."""
        found = re.search(rf"^  {name} +(converged|NOT CONVERGED): (.*)$", self.out, re.M)
        assert found, f"no summary line for {name}:\n{self.out}\n{self.err}"
        return f"{found.group(1)}: {found.group(2)}"


def demo(data_dir: Path, base: int, *args: str) -> Run:
    done = subprocess.run(
        ipo_node("demo", "--data-dir", str(data_dir), "--port", str(base), *args),
        capture_output=True,
        text=True,
        timeout=280,
        env=child_env(),
        cwd=REPO,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@dataclass(frozen=True)
class Coalition:
    data_dir: Path
    base: int
    first: Run


@pytest.fixture(scope="module")
def coalition(tmp_path_factory: pytest.TempPathFactory) -> Coalition:
    data_dir = tmp_path_factory.mktemp("demo") / "coalition"
    base = free_ports(6)
    return Coalition(data_dir, base, demo(data_dir, base, "--once"))


class TestFirstRun:
    def test_every_flow_converges_and_it_exits_0(self, coalition: Coalition) -> None:
        run = coalition.first
        assert run.returncode == 0, f"{run.out}\n{run.err}"
        for name in FLOWS:
            assert run.flow(name).startswith("converged: "), run.out
        assert "every flow converged" in run.out
        assert "all six nodes stopped." in run.out

    def test_it_shows_progress_then_the_figures_of_each_flow(self, coalition: Coalition) -> None:
        run, base = coalition.first, coalition.base
        assert f"starting 30th United on :{base + 1} ... ready" in run.out
        assert f"starting SEIU Local 73 on :{base + 5} ... ready" in run.out
        assert "15 alliances active on both sides" in run.flow("alliances")
        assert "15 offered and accepted now" in run.flow("alliances")
        assert (
            "19 events (13 public, 6 coalition; 19 posted now), 6 of them one weekly series"
            in run.flow("events")
        )
        assert "6 RSVPs from neighbours to" in run.flow("events")
        assert "ratified on 5/5 nodes, 5/5 signatures verified on each" in run.flow("endorsement")
        forum = run.flow("forum")
        assert "4 co-hosts accepted on all 5 nodes" in forum
        assert "roles held: interpreter, moderator, timekeeper" in forum
        canvass = run.flow("canvass")
        assert "3 sign-ups from UN35/39th NU reached 33WF" in canvass
        assert "Saturday shift 3 committed, 5 open, the same on all 6 nodes" in canvass
        public = run.flow("public")
        assert "6 public homes with an about text (6 written now)" in public
        assert "the endorsement shown on 5/5 (5 now)" in public
        assert "2 volunteers invited by 33WF now" in public

    def test_it_measures_each_idle_node_and_the_total(self, coalition: Coalition) -> None:
        rows = re.findall(r"^  (.+?) +:(\d+) +([\d.]+) MB$", coalition.first.out, re.M)
        assert [int(port) for _, port, _ in rows] == [coalition.base + i for i in range(6)]
        assert all(float(mb) > 10 for _, _, mb in rows), rows
        total = re.search(r"^  total, six nodes +([\d.]+) MB$", coalition.first.out, re.M)
        assert total, coalition.first.out
        assert float(total.group(1)) == pytest.approx(sum(float(mb) for *_, mb in rows), abs=1)

    def test_each_node_has_its_own_directory_database_log_and_private_login(
        self, coalition: Coalition
    ) -> None:
        for slug in SLUGS:
            node = coalition.data_dir / slug
            assert (node / "node.db").stat().st_size > 0, slug
            assert b"Uvicorn running on" in (node / "serve.log").read_bytes(), slug
            login = node / "demo-login.txt"
            assert login.read_text().startswith(f"admin@{slug}.example\n")
            assert login.stat().st_mode & 0o777 == 0o600
            assert (node / "demo-tokens.json").stat().st_mode & 0o777 == 0o600
        assert not any(listening(coalition.base + i) for i in range(6))


class TestReuse:
    def test_a_second_run_reuses_the_nodes_and_does_not_retell_the_story(
        self, coalition: Coalition
    ) -> None:
        if coalition.first.returncode != 0:
            pytest.skip("the first run failed")
        second = demo(coalition.data_dir, coalition.base, "--once")
        assert second.returncode == 0, f"{second.out}\n{second.err}"
        assert "reusing the six nodes of an earlier run" in second.out
        assert "ipo-node init" not in second.out
        assert "all from an earlier run" in second.flow("alliances")
        assert "19 events (13 public, 6 coalition; all from an earlier run)" in second.flow(
            "events"
        )
        assert "all from an earlier run" in second.flow("endorsement")
        assert "from an earlier run" in second.flow("forum")
        assert "Saturday shift 3 committed, 5 open" in second.flow("canvass")
        assert second.flow("canvass").endswith("(reused)")
        assert "(0 written now)" in second.flow("public")
        assert "0 volunteers invited by 33WF now" in second.flow("public")

    def test_another_port_is_refused_since_a_nodes_url_is_its_id(
        self, coalition: Coalition
    ) -> None:
        other = demo(coalition.data_dir, coalition.base + 10, "--once")
        assert other.returncode == 2
        assert f"is a node for http://127.0.0.1:{coalition.base}, not" in other.err
        assert "starting" not in other.out


class TestRunningUntilCtrlC:
    def test_it_prints_where_to_log_in_and_ctrl_c_stops_all_six(
        self, coalition: Coalition, tmp_path: Path
    ) -> None:
        if coalition.first.returncode != 0:
            pytest.skip("the first run failed")
        base, log = coalition.base, tmp_path / "demo.out"
        with log.open("w") as out:
            process = subprocess.Popen(
                ipo_node("demo", "--data-dir", str(coalition.data_dir), "--port", str(base)),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=child_env(),
                cwd=REPO,
            )
        try:
            deadline = time.monotonic() + 200
            while "Ctrl-C stops all six nodes." not in log.read_text():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            # Given the six nodes run and the demo says where to log in
            shown = log.read_text()
            password = (coalition.data_dir / "ward35" / "demo-login.txt").read_text().split()[1]
            assert f"open http://127.0.0.1:{base + 2}/  log in as admin@ward35.example" in shown
            assert f"password {password}" in shown
            assert all(listening(base + i) for i in range(6))

            # When the person presses Ctrl-C
            process.send_signal(signal.SIGINT)

            # Then the demo stops every node and exits 0
            assert process.wait(timeout=60) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert "all six nodes stopped." in log.read_text()
        assert not any(listening(base + i) for i in range(6))
        tail = (coalition.data_dir / "ward33" / "serve.log").read_text().splitlines()[-1]
        assert "Finished server process" in tail
