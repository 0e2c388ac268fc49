"""``ipo-node backup`` and ``ipo-node restore``: database, config and keys, and nothing overwritten.

On SQLite the database is snapshotted with the online backup API, on PostgreSQL with
``pg_dump -Fc``; either way a node restored into a fresh directory and an empty database serves
the same events, alliances and key, and its ally still accepts what it signs.
"""

from __future__ import annotations

import gzip
import json
import stat
import tarfile
import tomllib
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
            printed = run_cli(
                "restore", "--data-dir", str(restored.data_dir),
                "--database-url", restored.database_url,
                "--keep-security-settings",  # test nodes allow loopback peers
                str(archive),
            )  # fmt: skip
            assert "Kept from the backup: allow_private_peers = true" in printed
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


# ---- restoring a backup someone crafted ------------------------------------------------------


class Archive:
    """A backup's members, in order, to change and write again as an attacker would."""

    def __init__(self, path: Path) -> None:
        with tarfile.open(path) as tar:
            self.members = [(info, _member_bytes(tar, info)) for info in tar.getmembers()]

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.data("manifest.json"))

    def data(self, name: str) -> bytes:
        return next(data for info, data in self.members if info.name == name)

    def replace(self, name: str, info: tarfile.TarInfo, data: bytes = b"") -> None:
        self.members = [
            (info, data) if old.name == name else (old, old_data) for old, old_data in self.members
        ]

    def replace_data(self, name: str, data: bytes) -> None:
        self.replace(name, regular_file(name, data), data)

    def set_config(self, line: str) -> None:
        """Set one line of the archived node.toml, in place of any line for the same key."""
        self.drop_config(line.split("=", 1)[0].strip())
        self.replace_data("node.toml", self.data("node.toml") + f"{line}\n".encode())

    def drop_config(self, key: str) -> None:
        lines = self.data("node.toml").decode().splitlines(keepends=True)
        kept = [line for line in lines if line.split("=", 1)[0].strip() != key]
        self.replace_data("node.toml", "".join(kept).encode())

    def edit_manifest(self, **changes: Any) -> None:
        self.replace_data("manifest.json", json.dumps({**self.manifest, **changes}).encode())

    def append(self, info: tarfile.TarInfo, data: bytes = b"") -> None:
        self.members.append((info, data))

    def write(self, path: Path) -> Path:
        """Written header by header: a header may claim data that is not there."""
        raw = bytearray()
        for info, data in self.members:
            raw += info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            raw += data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)
        raw += b"\0" * (2 * tarfile.BLOCKSIZE)
        path.write_bytes(gzip.compress(bytes(raw)))
        return path


def _member_bytes(tar: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    reader = tar.extractfile(info)
    assert reader is not None
    return reader.read()


def regular_file(name: str, data: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    return info


def special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def untouched(database_url: str) -> bool:
    """A SQLite file not created, or a PostgreSQL database still without tables."""
    if database_url.startswith("sqlite"):
        return not Path(database_url.split(":///", 1)[1]).exists()
    tables = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    return query(database_url, tables)[0][0] == 0


@pytest.fixture
def genuine(tmp_path: Path, database_url: str) -> Path:
    init(tmp_path / "ward30", database_url)
    assert main(["backup", "--data-dir", str(tmp_path / "ward30"), str(tmp_path / "b.tgz")]) == 0
    return tmp_path / "b.tgz"


@pytest.fixture
def crafted(genuine: Path) -> Archive:
    return Archive(genuine)


def restore_argv(target: Path, archive: Path, *flags: str) -> list[str]:
    return ["restore", "--data-dir", str(target), *flags, str(archive)]


class TestRestoreNeverUsesTheArchivesLocations:
    def test_the_database_its_node_toml_names_is_never_written(
        self,
        tmp_path: Path,
        crafted: Archive,
        empty_database: Callable[[], str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        # Given a backup whose node.toml names a database outside the new data directory
        sqlite = crafted.manifest["database"] == "sqlite"
        elsewhere = (
            f"sqlite:///{tmp_path / 'outside' / 'deep' / 'node.db'}" if sqlite else empty_database()
        )
        crafted.set_config(f'database_url = "{elsewhere}"')
        archive = crafted.write(tmp_path / "crafted.tgz")

        # When it is restored into a new data directory, naming no database
        target = tmp_path / "new"
        status = main(restore_argv(target, archive))

        # Then the database it names is never written, nor its directories made
        assert not (tmp_path / "outside").exists()
        assert untouched(elsewhere)
        printed = capsys.readouterr()
        if sqlite:  # SQLite in the new data directory, which the restored config uses
            assert status == 0, printed.err
            assert (target / "node.db").stat().st_size > 0
            assert "database_url" not in tomllib.loads((target / "node.toml").read_text())
            assert "Not used: the database_url in the backup's node.toml" in printed.out
        else:  # a PostgreSQL backup needs a PostgreSQL database named on the command line
            assert status == 2
            assert "pass --database-url" in printed.err
            assert not target.exists()

    @pytest.mark.parametrize(
        "line",
        [
            'DATABASE_URL = "sqlite:///{outside}"',
            'IPO_DATABASE_URL = "sqlite:///{outside}"',
            "ALLOW_PRIVATE_PEERS = true",
            "IPO_ALLOW_PRIVATE_PEERS = true",
        ],
    )
    def test_a_setting_under_its_environment_name_is_refused(
        self, tmp_path: Path, crafted: Archive, capsys: pytest.CaptureFixture[str], line: str
    ) -> None:
        # Given a node.toml that sets a database or a switch under the name the environment uses
        outside = tmp_path / "outside.db"
        setting = line.format(outside=outside)
        crafted.drop_config("database_url")
        crafted.set_config(setting)

        # When it is restored, naming no database
        target = tmp_path / "new"
        status = main(restore_argv(target, crafted.write(tmp_path / "crafted.tgz")))

        # Then it is refused, and nothing is written
        assert status == 2
        assert f"sets {setting.split()[0]!r}, which is not a setting" in capsys.readouterr().err
        assert not target.exists()
        assert not outside.exists()


WEAKENING = [
    ("allow_private_peers = true", "allow_private_peers", True),
    ("password_hash_time_cost = 1", "password_hash_time_cost", 1),
    ('sqlite_synchronous = "OFF"', "sqlite_synchronous", "OFF"),
]


class TestRestoreOfSettingsThatWeakenTheNode:
    @pytest.mark.parametrize(("line", "name", "value"), WEAKENING)
    def test_are_refused_by_default(
        self,
        tmp_path: Path,
        crafted: Archive,
        empty_database: Callable[[], str],
        capsys: pytest.CaptureFixture[str],
        line: str,
        name: str,
        value: object,
    ) -> None:
        crafted.set_config(line)
        target, database = tmp_path / "new", empty_database()
        archive = crafted.write(tmp_path / "crafted.tgz")
        assert main(restore_argv(target, archive, "--database-url", database)) == 2
        err = capsys.readouterr().err
        assert f"  {name}: " in err
        assert "--keep-security-settings" in err
        assert "--reset-security-settings" in err
        assert not target.exists()
        assert untouched(database)

    @pytest.mark.parametrize(("line", "name", "value"), WEAKENING)
    def test_are_kept_when_the_operator_says_so(
        self,
        tmp_path: Path,
        crafted: Archive,
        empty_database: Callable[[], str],
        capsys: pytest.CaptureFixture[str],
        line: str,
        name: str,
        value: object,
    ) -> None:
        crafted.set_config(line)
        target = tmp_path / "new"
        argv = restore_argv(
            target, crafted.write(tmp_path / "crafted.tgz"),
            "--database-url", empty_database(), "--keep-security-settings",
        )  # fmt: skip
        assert main(argv) == 0
        assert tomllib.loads((target / "node.toml").read_text())[name] == value
        assert f"Kept from the backup: {name} = " in capsys.readouterr().out

    @pytest.mark.parametrize(("line", "name", "value"), WEAKENING)
    def test_are_reset_with_a_warning_when_the_operator_says_so(
        self,
        tmp_path: Path,
        crafted: Archive,
        empty_database: Callable[[], str],
        capsys: pytest.CaptureFixture[str],
        line: str,
        name: str,
        value: object,
    ) -> None:
        crafted.set_config(line)
        target = tmp_path / "new"
        argv = restore_argv(
            target, crafted.write(tmp_path / "crafted.tgz"),
            "--database-url", empty_database(), "--reset-security-settings",
        )  # fmt: skip
        assert main(argv) == 0
        assert name not in tomllib.loads((target / "node.toml").read_text())
        assert f"WARNING: not restored: the backup's {name}" in capsys.readouterr().out

    def test_a_genuine_backup_restores_as_it_was_without_either_flag(
        self,
        tmp_path: Path,
        genuine: Path,
        empty_database: Callable[[], str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        target, database = tmp_path / "new", empty_database()
        assert main(restore_argv(target, genuine, "--database-url", database)) == 0
        original = tomllib.loads((tmp_path / "ward30" / "node.toml").read_text())
        restored = tomllib.loads((target / "node.toml").read_text())
        assert {key: restored[key] for key in original if key != "database_url"} == {
            key: value for key, value in original.items() if key != "database_url"
        }
        for key in (tmp_path / "ward30" / "keys").iterdir():
            assert (target / "keys" / key.name).read_bytes() == key.read_bytes()
        emails = query(database, "SELECT email FROM user_account")
        assert emails == [("chair@ward30.example",)]
        out = capsys.readouterr().out
        assert "Restored https://ward30.example.org" in out
        assert "Kept" not in out
        assert "WARNING" not in out


def _symlinked_config(archive: Archive, tmp_path: Path) -> str:
    archive.replace("node.toml", special("node.toml", tarfile.SYMTYPE, "/etc/passwd"))
    return "'node.toml' in the backup is a symbolic link"


def _hard_linked_keyring(archive: Archive, tmp_path: Path) -> str:
    archive.replace("keys/keyring.json", special("keys/keyring.json", tarfile.LNKTYPE, "node.toml"))
    return "'keys/keyring.json' in the backup is a hard link"


def _device_database(archive: Archive, tmp_path: Path) -> str:
    name = next(n for n in archive.manifest["files"] if n.startswith("database/"))
    archive.replace(name, special(name, tarfile.CHRTYPE))
    return f"{name!r} in the backup is a character device"


def _absolute_member(archive: Archive, tmp_path: Path) -> str:
    escaped = str(tmp_path / "escaped")
    archive.edit_manifest(files=[*archive.manifest["files"], escaped])
    archive.append(regular_file(escaped, b"x"), b"x")
    return f"not a file a backup holds: {escaped!r}"


def _dotdot_member(archive: Archive, tmp_path: Path) -> str:
    escaped = "keys/../../escaped"
    archive.edit_manifest(files=[*archive.manifest["files"], escaped])
    archive.append(regular_file(escaped, b"x"), b"x")
    return f"not a file a backup holds: {escaped!r}"


def _unlisted_member(archive: Archive, tmp_path: Path) -> str:
    archive.append(regular_file("../escaped", b"x"), b"x")
    return "holds '../escaped' which its manifest does not list"


def _second_config(archive: Archive, tmp_path: Path) -> str:
    config = archive.data("node.toml") + b"allow_private_peers = true\n"
    archive.append(regular_file("node.toml", config), config)
    return "holds 'node.toml' twice"


def _keyring_naming_a_key_outside(archive: Archive, tmp_path: Path) -> str:
    kid = f"../../../{tmp_path.name}/escaped"
    keyring = json.loads(archive.data("keys/keyring.json"))
    keyring["keys"][0]["kid"] = kid
    archive.replace_data("keys/keyring.json", json.dumps(keyring).encode())
    archive.edit_manifest(key_kids=[kid])
    return "the backup's manifest is damaged: key_kids.0"


def _database_bomb(archive: Archive, tmp_path: Path) -> str:
    name = next(n for n in archive.manifest["files"] if n.startswith("database/"))
    bomb = regular_file(name, b"")
    bomb.size = 2**50  # a petabyte, claimed by the header alone
    archive.replace(name, bomb)
    return f"{name!r} in the backup is {2**50} bytes, more than the"


def _huge_extended_header(archive: Archive, tmp_path: Path) -> str:
    info = regular_file("node.toml", archive.data("node.toml"))
    info.pax_headers = {"comment": "x" * 2_000_000}
    archive.replace("node.toml", info, archive.data("node.toml"))
    return "extended tar header; refusing it"


def _not_a_database(archive: Archive, tmp_path: Path) -> str:
    name = next(n for n in archive.manifest["files"] if n.startswith("database/"))
    archive.replace_data(name, b"#!/bin/sh\nrm -rf /\n")
    return f"{name} in the backup is not a {archive.manifest['database']} backup"


def _config_of_another_node(archive: Archive, tmp_path: Path) -> str:
    archive.set_config('public_url = "https://ward31.example.org"')
    return "refusing a backup whose parts disagree"


def _newer_format(archive: Archive, tmp_path: Path) -> str:
    archive.edit_manifest(format_version=2)
    return "backup format version 2 is not supported"


class TestRestoreRefusesHostileMembers:
    @pytest.mark.parametrize(
        "craft",
        [
            _symlinked_config,
            _hard_linked_keyring,
            _device_database,
            _absolute_member,
            _dotdot_member,
            _unlisted_member,
            _second_config,
            _keyring_naming_a_key_outside,
            _database_bomb,
            _huge_extended_header,
            _not_a_database,
            _config_of_another_node,
            _newer_format,
        ],
    )
    def test_with_a_clear_message_having_written_nothing(
        self,
        tmp_path: Path,
        crafted: Archive,
        empty_database: Callable[[], str],
        capsys: pytest.CaptureFixture[str],
        craft: Callable[[Archive, Path], str],
    ) -> None:
        message = craft(crafted, tmp_path)
        archive = crafted.write(tmp_path / "crafted.tgz")
        target, database = tmp_path / "new", empty_database()
        assert main(restore_argv(target, archive, "--database-url", database)) == 2
        assert message in capsys.readouterr().err
        assert not target.exists()
        assert not (tmp_path / "escaped").exists()
        assert untouched(database)
