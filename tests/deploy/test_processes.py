"""The commands the containers run, as separate processes against the real database.

Compose runs ``ipo-node migrate`` once, then ``ipo-node serve`` with ``IPO_EMBEDDED_WORKER=false``
and ``ipo-node worker`` side by side on one data volume. Here node A runs exactly that and node B
a plain ``serve``; the test proves deliveries cross from A's web process to B through A's worker,
and only through it. On ``IPO_TEST_DATABASE=postgresql`` every database is on the real server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from node.cli import main
from tests.e2e.realnode import (
    RealNode,
    ally_through_cli,
    eventually,
    init_nodes,
    installed_script,
    query,
    run_cli,
)


def coalition_event(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "start_date": "2031-05-01T18:00:00+00:00",
        "end_date": "2031-05-01T20:00:00+00:00",
        "event_type": "RALLY",
        "visibility": "coalition",
        "wards": [33],
    }


def titles_from(node: RealNode, origin: RealNode) -> set[str]:
    return {event["title"] for event in node.events_from(origin).values()}


class TestContainerCommands:
    def test_migrate_then_serve_and_a_separate_worker_deliver_to_an_ally(
        self, tmp_path: Path, new_database: Callable[[], str]
    ) -> None:
        a = RealNode("33rd Ward Working Families", "ward33", 33, tmp_path, new_database())
        b = RealNode("30th United", "ward30", 30, tmp_path, new_database())
        # The three container commands are the installed script, exec'd and imported from
        # cold as a container runs them; the admin's own steps (init, ally) use the launcher.
        with contextlib.closing(a), contextlib.closing(b):
            init_nodes([a, b])
            with installed_script():
                # the `migrate` service: one shot, then exits 0
                assert "(head)" in run_cli("migrate", "--data-dir", str(a.data_dir))
                # the `node` service (no embedded worker) and the `worker` service
                a.start_serving(IPO_EMBEDDED_WORKER="false")
                b.start_serving()
                a.wait_ready()
                b.wait_ready()
                worker = a.start_worker()
            ally_through_cli(a, b)

            # Given the worker is stopped, an event created through A's API stays queued
            assert worker.stop() in (0, -15)
            response = a.api.post(
                "/api/v1/events", json=coalition_event("Ward 33 budget town hall")
            )
            assert response.status_code == 201, response.text
            # (With no worker running, nothing can take it off the queue: no wait proves more.)
            assert a.deliveries()[b.url]["queued"] >= 1
            assert "Ward 33 budget town hall" not in titles_from(b, a)

            # When the worker runs again, B receives it
            with installed_script():
                a.start_worker()
            eventually(
                lambda: titles_from(b, a),
                lambda titles: "Ward 33 budget town hall" in titles,
                what="B to receive the event through A's worker",
            )


class TestRefusesADatabaseNewerThanTheCode:
    @pytest.mark.parametrize("command", ["serve", "worker", "migrate"])
    def test_refuses_with_a_clear_message(
        self,
        tmp_path: Path,
        new_database: Callable[[], str],
        capsys: pytest.CaptureFixture[str],
        command: str,
    ) -> None:
        node = RealNode("30th United", "ward30", 30, tmp_path, new_database())
        init_nodes([node])
        query(node.database_url, "UPDATE alembic_version SET version_num = '9999'", write=True)
        assert main([command, "--data-dir", str(node.data_dir)]) == 2
        err = capsys.readouterr().err
        assert f"ipo-node {command}: the database is at revision 9999" in err
        assert "a newer release migrated it" in err
        # and it left the database alone
        assert query(node.database_url, "SELECT version_num FROM alembic_version") == [("9999",)]
