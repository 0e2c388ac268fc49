"""The ipo-node command: init, migrate, token and serve, as a ward's volunteer runs them."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from federation.keys import load_keyring
from federation.models import AllianceState, Peer
from node.cli import main
from node.config import load_settings
from node.main import create_app
from tests.e2e.realnode import STARTUP_SECONDS
from tests.ports import free_port


def init(data_dir: Path, database_url: str, *extra: str) -> int:
    return main(
        [
            "init",
            "--data-dir", str(data_dir),
            "--name", "30th United",
            "--url", "http://127.0.0.1:9",
            "--ward", "30",
            "--admin-email", "chair@ward30.example",
            "--database-url", database_url,
            *extra,
        ]
    )  # fmt: skip


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestInit:
    def test_creates_config_key_database_and_admin(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        data_dir = tmp_path / "ward30"
        assert init(data_dir, database_url) == 0
        out = capsys.readouterr().out
        assert mode(data_dir / "node.toml") == 0o600
        assert mode(data_dir / "keys") == 0o700
        [key_file] = (data_dir / "keys").glob("*.pem")
        assert mode(key_file) == 0o600
        assert f"key fingerprint: {key_file.stem}" in out
        password = re.search(r"admin password:\s+(\S+)", out)
        assert password, out  # not a terminal: generated and shown once
        settings = load_settings(data_dir)
        assert settings.wards == [30]
        assert asyncio.run(login(settings, "chair@ward30.example", password.group(1))) == 200

    def test_given_password_is_not_printed(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert init(tmp_path / "n", database_url, "--admin-password", "a long passphrase") == 0
        assert "a long passphrase" not in capsys.readouterr().out

    def test_refuses_to_overwrite_an_existing_node(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        data_dir = tmp_path / "ward30"
        assert init(data_dir, database_url) == 0
        [key_file] = (data_dir / "keys").glob("*.pem")
        key_before = key_file.read_bytes()
        assert init(data_dir, database_url) == 2
        assert "refusing to overwrite" in capsys.readouterr().err
        assert key_file.read_bytes() == key_before
        assert len(list((data_dir / "keys").glob("*.pem"))) == 1

    def test_refuses_a_database_another_node_uses(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert init(tmp_path / "first", database_url) == 0
        assert init(tmp_path / "second", database_url) == 2
        assert "already has accounts" in capsys.readouterr().err
        assert not (tmp_path / "second" / "keys").exists()

    @pytest.mark.parametrize(
        ("argument", "value", "says"),
        [("--admin-email", "not-an-email", "email"), ("--url", "ward30", "public_url")],
    )
    def test_bad_input_writes_nothing(
        self,
        tmp_path: Path,
        database_url: str,
        capsys: pytest.CaptureFixture[str],
        argument: str,
        value: str,
        says: str,
    ) -> None:
        data_dir = tmp_path / "bad"
        assert init(data_dir, database_url, argument, value) == 2
        assert says in capsys.readouterr().err
        assert not data_dir.exists() or not any(data_dir.iterdir())


async def login(settings, email: str, password: str) -> int:  # type: ignore[no-untyped-def]
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://n") as client,
    ):
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        return response.status_code


async def whoami(settings, token: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://n") as client,
    ):
        return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


class TestTokenAndMigrate:
    def test_token_authenticates_as_that_user(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        data_dir = tmp_path / "ward30"
        init(data_dir, database_url)
        capsys.readouterr()
        assert main(["token", "--data-dir", str(data_dir), "--email", "chair@ward30.example"]) == 0
        token = capsys.readouterr().out.strip()
        response = asyncio.run(whoami(load_settings(data_dir), token))
        assert response.status_code == 200
        assert response.json()["role"] == "admin"

    def test_token_for_unknown_user(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        data_dir = tmp_path / "ward30"
        init(data_dir, database_url)
        assert main(["token", "--data-dir", str(data_dir), "--email", "nobody@x.org"]) == 2
        assert "no active user" in capsys.readouterr().err

    def test_migrate_reports_head(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        data_dir = tmp_path / "ward30"
        init(data_dir, database_url)
        assert main(["migrate", "--data-dir", str(data_dir)]) == 0
        assert "(head)" in capsys.readouterr().out


class TestServe:
    def test_a_real_process_serves_the_node(self, tmp_path: Path, database_url: str) -> None:
        data_dir = tmp_path / "ward30"
        assert init(data_dir, database_url) == 0
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "serve", "--data-dir", str(data_dir),
             "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ},
        )  # fmt: skip
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                try:
                    ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                    break
                except httpx.TransportError:
                    assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
                    assert time.monotonic() < deadline, "serve did not start in time"
                    time.sleep(0.2)
            assert ready.json()["status"] == "ok"
            document = httpx.get(f"http://127.0.0.1:{port}/.well-known/coalition-node").json()
            assert document["name"] == "30th United"
            assert document["wards"] == [30]
        finally:
            process.terminate()
            # uvicorn shuts down gracefully, then re-raises the signal it caught.
            assert process.wait(timeout=15) in (0, -15)
            logs = process.communicate()[0].decode()
        assert '"msg": "GET /readyz 200"' in logs
        assert "Finished server process" in logs


class TestRotateKey:
    def test_rotates_and_keeps_the_old_key_for_the_grace_period(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        data_dir = tmp_path / "ward30"
        init(data_dir, database_url)
        [old_key] = (data_dir / "keys").glob("*.pem")
        capsys.readouterr()
        assert main(["rotate-key", "--data-dir", str(data_dir), "--grace-days", "3"]) == 0
        out = capsys.readouterr().out
        assert f"Old key {old_key.stem} stays valid for 3 days; 0 peers will be told." in out
        keyring = load_keyring(data_dir / "keys")
        assert keyring.active.kid != old_key.stem
        assert [key.kid for key in keyring.published()] == [old_key.stem, keyring.active.kid]

    def test_refuses_a_grace_period_of_zero(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        data_dir = tmp_path / "ward30"
        init(data_dir, database_url)
        assert main(["rotate-key", "--data-dir", str(data_dir), "--grace-days", "0"]) == 2
        assert "at least 1" in capsys.readouterr().err
        assert len(load_keyring(data_dir / "keys").keys) == 1


class TestAlly:
    @pytest.mark.parametrize("url", ["http://0177.0.0.1:8001", "http://127.1:8001"])
    def test_a_host_that_parsers_read_differently_is_refused_in_a_sentence(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str], url: str
    ) -> None:
        data_dir = tmp_path / "ward30"
        init(data_dir, database_url)
        capsys.readouterr()
        assert main(["ally", "--data-dir", str(data_dir), url]) == 2
        err = capsys.readouterr().err
        assert "write an IPv4 address in dotted decimal" in err, err
        assert "Traceback" not in err

    def test_allies_shows_what_a_peer_sent_without_its_control_characters(
        self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # A name stored before the wire refused control characters, and a peer's error text
        data_dir = tmp_path / "ward30"
        init(data_dir, database_url)
        forged = "33rd Ward\x1b[2K\r     key: FAKE-FINGERPRINT\n"
        asyncio.run(store_peer(database_url, name=forged, last_error="boom\x1b[31m"))
        capsys.readouterr()
        assert main(["allies", "--data-dir", str(data_dir)]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out
        assert "\r" not in out
        assert len(out.strip("\n").splitlines()) == 3, out  # one peer, its three lines
        assert "33rd Ward\\x1b[2K\\r     key: FAKE-FINGERPRINT\\n" in out


async def store_peer(database_url: str, *, name: str, last_error: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            session.add(
                Peer(
                    node_id="http://127.0.0.1:8033",
                    name=name,
                    kind="ipo",
                    inbox_url="http://127.0.0.1:8033/federation/inbox",
                    state=AllianceState.pending,
                    last_error=last_error,
                )
            )
    finally:
        await engine.dispose()
