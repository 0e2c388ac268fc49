"""``ipo-node backup`` and ``ipo-node restore``: database, config and keys, and nothing overwritten.

On SQLite the database is snapshotted with the online backup API, on PostgreSQL with
``pg_dump -Fc``; either way a node restored into a fresh directory and an empty database serves
the same events, alliances and key, and its ally still accepts what it signs.
"""

from __future__ import annotations

import json
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.cli import main
from tests.e2e.realnode import (
    RealNode,
    ally_through_cli,
    eventually,
    init_nodes,
    query,
    run_cli,
    serve_nodes,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def init(data_dir: Path, database_url: str) -> None:
    assert main([
        "init", "--data-dir", str(data_dir), "--name", "30th United",
        "--url", "https://ward30.example.org", "--ward", "30",
        "--admin-email", "chair@ward30.example", "--admin-password", "a long passphrase",
        "--database-url", database_url,
    ]) == 0  # fmt: skip


def coalition_event(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "start_date": "2031-06-01T18:00:00+00:00",
        "end_date": "2031-06-01T20:00:00+00:00",
        "event_type": "MEETING",
        "visibility": "coalition",
        "wards": [33],
    }


def kid_served(node: RealNode) -> list[str]:
    document = httpx.get(f"{node.url}/.well-known/coalition-node", timeout=5).json()
    return [key["kid"] for key in document["keys"]["keys"]]


class TestArchive:
    def test_is_owner_only_with_a_manifest(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        init(tmp_path / "ward30", database_url)
        [key] = (tmp_path / "ward30" / "keys").glob("*.pem")
        out = tmp_path / "backups"
        out.mkdir()
        assert main(["backup", "--data-dir", str(tmp_path / "ward30"), str(out)]) == 0
        [archive] = out.glob("ipo-node-backup-*.tar.gz")
        assert mode(archive) == 0o600
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            manifest_file = tar.extractfile("manifest.json")
            assert manifest_file is not None
            manifest = json.loads(manifest_file.read())
        kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
        assert manifest["format"] == "ipo-node-backup"
        assert manifest["database"] == kind
        assert manifest["node_id"] == "https://ward30.example.org"
        assert manifest["key_kids"] == [key.stem]
        assert (
            manifest["alembic_revision"]
            == query(database_url, "SELECT version_num FROM alembic_version")[0][0]
        )
        assert manifest["created"]
        assert set(names) == {"manifest.json", *manifest["files"]}
        assert {"node.toml", f"keys/{key.stem}.pem", "keys/keyring.json"} <= set(names)
        assert f"Wrote {archive}" in capsys.readouterr().out

    def test_refuses_to_overwrite_a_file(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        init(tmp_path / "ward30", database_url)
        (tmp_path / "b.tar.gz").write_text("older backup")
        assert (
            main(["backup", "--data-dir", str(tmp_path / "ward30"), str(tmp_path / "b.tar.gz")])
            == 2
        )
        assert "already exists" in capsys.readouterr().err
        assert (tmp_path / "b.tar.gz").read_text() == "older backup"


class TestRestoreRefuses:
    @pytest.fixture
    def archive(self, tmp_path: Path, database_url: str) -> Path:
        init(tmp_path / "ward30", database_url)
        assert (
            main(["backup", "--data-dir", str(tmp_path / "ward30"), str(tmp_path / "b.tgz")]) == 0
        )
        return tmp_path / "b.tgz"

    def test_a_data_dir_that_is_not_empty(
        self,
        tmp_path: Path,
        archive: Path,
        empty_database: Callable[[], str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        target = tmp_path / "other"
        target.mkdir()
        (target / "notes.txt").write_text("mine")
        argv = ["restore", "--data-dir", str(target), "--database-url", empty_database()]
        assert main([*argv, str(archive)]) == 2
        assert "is not empty" in capsys.readouterr().err
        assert [p.name for p in target.iterdir()] == ["notes.txt"]

    def test_a_database_that_is_not_empty(
        self,
        tmp_path: Path,
        archive: Path,
        database_url: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        # the node's own database (migrated, with its admin) is the worst one to restore over
        argv = ["restore", "--data-dir", str(tmp_path / "new"), "--database-url", database_url]
        assert main([*argv, str(archive)]) == 2
        err = capsys.readouterr().err
        assert "already" in err
        assert not (tmp_path / "new").exists()

    def test_a_backup_from_a_newer_release(
        self,
        tmp_path: Path,
        database_url: str,
        empty_database: Callable[[], str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        init(tmp_path / "ward30", database_url)
        query(database_url, "UPDATE alembic_version SET version_num = '9999'", write=True)
        assert (
            main(["backup", "--data-dir", str(tmp_path / "ward30"), str(tmp_path / "b.tgz")]) == 0
        )
        argv = ["restore", "--data-dir", str(tmp_path / "new"), "--database-url", empty_database()]
        assert main([*argv, str(tmp_path / "b.tgz")]) == 2
        assert "revision 9999" in capsys.readouterr().err
        assert not (tmp_path / "new").exists()

    def test_a_file_that_is_not_a_backup(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "x.tgz").write_bytes(b"not a tarball")
        assert main(["restore", "--data-dir", str(tmp_path / "new"), str(tmp_path / "x.tgz")]) == 2
        assert "cannot read the backup" in capsys.readouterr().err


class TestBackupAndRestore:
    def test_restored_node_serves_the_same_events_alliances_and_key(
        self,
        tmp_path: Path,
        new_database: Callable[[], str],
        empty_database: Callable[[], str],
    ) -> None:
        a = RealNode("33rd Ward Working Families", "ward33", 33, tmp_path / "a", new_database())
        b = RealNode("30th United", "ward30", 30, tmp_path / "b", new_database())
        restored = RealNode(
            "33rd Ward Working Families", "ward33", 33, tmp_path / "restored", empty_database(),
            port=a.port,  # the same public URL: it is the same node
        )  # fmt: skip
        try:
            # Given A, allied with B, with an event B has received
            init_nodes([a, b])
            serve_nodes([a, b])
            ally_through_cli(a, b)
            response = a.api.post("/api/v1/events", json=coalition_event("Precinct captains"))
            assert response.status_code == 201, response.text
            eventually(
                lambda: {e["title"] for e in b.events_from(a).values()},
                lambda titles: "Precinct captains" in titles,
                what="B to receive the event",
            )
            events_before = a.events()
            alliances_before = a.alliances()

            # When A is backed up while serving, lost, and restored into a new dir and database
            archive = tmp_path / "ward33.tar.gz"
            run_cli("backup", "--data-dir", str(a.data_dir), str(archive))
            a.close()
            run_cli(
                "restore", "--data-dir", str(restored.data_dir),
                "--database-url", restored.database_url, str(archive),
            )  # fmt: skip
            for path in (restored.data_dir / "node.toml", *restored.data_dir.glob("keys/*")):
                assert mode(path) == 0o600, path
            assert mode(restored.data_dir / "keys") == 0o700
            restored.token = a.token  # API tokens are in the database: they still work
            restored.serve()

            # Then it serves the same events, alliances and key
            assert restored.events() == events_before
            assert restored.alliances() == alliances_before
            assert kid_served(restored) == [a.fingerprint]

            # And B still accepts what it signs
            response = restored.api.post("/api/v1/events", json=coalition_event("After restore"))
            assert response.status_code == 201, response.text
            eventually(
                lambda: {e["title"] for e in b.events_from(a).values()},
                lambda titles: "After restore" in titles,
                what="B to receive an event from the restored node",
            )
        finally:
            for node in (a, b, restored):
                node.close()
