"""The test harness's cheap hashing and fsync-free SQLite never become what a real node runs.

``tests/costs.py`` lowers password hashing and SQLite's ``synchronous`` level for the suite.
These tests prove the other side: the defaults are the production ones, a fresh ``ipo-node
init`` (run as a real process, without the harness's environment) writes none of the cheap
values and hashes its admin's password at full cost, and a node running below production
cost says so loudly.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from node.accounts import passwords
from node.accounts.passwords import configure_password_hashing, password_hasher
from node.config import COST_SETTINGS, ConfigError, load_settings
from node.db import create_engine, engine_for
from tests.costs import TEST_COSTS

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def production_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's environment as a real node's: none of the harness's cost settings."""
    for name in TEST_COSTS:
        monkeypatch.delenv(name, raising=False)


def plain_environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("IPO_")}


def synchronous_level(engine: AsyncEngine) -> int:
    """SQLite's ``PRAGMA synchronous`` on a connection of ``engine`` (FULL is 2, OFF is 0)."""

    async def read() -> int:
        try:
            async with engine.connect() as connection:
                return int((await connection.execute(text("PRAGMA synchronous"))).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture(autouse=True)
def keep_the_harness_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a test here configures, the next test hashes as the harness does."""
    monkeypatch.setattr(passwords, "_hasher", passwords.password_hasher())


class TestProductionDefaults:
    def test_the_harness_costs_are_not_the_defaults(self) -> None:
        names = {f"IPO_{name.upper()}" for name in COST_SETTINGS}
        assert set(TEST_COSTS) == names

    @pytest.mark.usefixtures("production_environment")
    def test_settings_default_to_argon2id_at_rfc_9106_cost_and_full_fsync(
        self, tmp_path: Path
    ) -> None:
        settings = load_settings(
            tmp_path, name="Test", public_url="http://n.test", secret_key="k" * 8 + "abcdefgh" * 4
        )
        assert settings.password_hash_time_cost == RFC_9106_LOW_MEMORY.time_cost == 3
        assert settings.password_hash_memory_kib == RFC_9106_LOW_MEMORY.memory_cost == 65536
        assert settings.password_hash_parallelism == RFC_9106_LOW_MEMORY.parallelism == 4
        assert settings.sqlite_synchronous == "FULL"

    @pytest.mark.usefixtures("production_environment")
    def test_a_fresh_init_writes_and_uses_production_costs(self, tmp_path: Path) -> None:
        # Given `ipo-node init` run as a real process, with no harness settings around it
        data_dir = tmp_path / "ward33"
        done = subprocess.run(
            [sys.executable, "-m", "node.cli", "init", "--data-dir", str(data_dir),
             "--name", "33rd Ward Working Families", "--url", "https://ward33.example.org",
             "--ward", "33", "--admin-email", "chair@ward33.example",
             "--admin-password", "a long test passphrase"],
            capture_output=True, text=True, env=plain_environment(), cwd=REPO, timeout=120,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        # Then its config names no cost setting (so the production defaults apply) ...
        written = tomllib.loads((data_dir / "node.toml").read_text())
        assert not set(written) & set(COST_SETTINGS), written
        # ... its admin's password is hashed as Argon2id at the production cost ...
        with sqlite3.connect(data_dir / "node.db") as connection:
            [(stored,)] = connection.execute("SELECT password_hash FROM user_account").fetchall()
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
        # ... and the engine its settings make fsyncs every commit
        assert synchronous_level(engine_for(load_settings(data_dir))) == 2

    def test_an_engine_defaults_to_full(self, tmp_path: Path) -> None:
        assert synchronous_level(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")) == 2


class TestCheapCostsAreLoud:
    def settings(self, tmp_path: Path, **costs: object):  # type: ignore[no-untyped-def]
        return load_settings(
            tmp_path,
            name="Test",
            public_url="http://n.test",
            secret_key="k" * 8 + "abcdefgh" * 4,
            **costs,
        )

    def test_cheap_hashing_logs_a_warning_and_is_used(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        cheap = self.settings(
            tmp_path,
            password_hash_time_cost=1,
            password_hash_memory_kib=8,
            password_hash_parallelism=1,
        )
        with caplog.at_level(logging.WARNING, logger="ipo_node.accounts"):
            configure_password_hashing(cheap)
        assert "BELOW PRODUCTION STRENGTH" in caplog.text
        assert password_hasher().hash("x").startswith("$argon2id$v=19$m=8,t=1,p=1$")

    @pytest.mark.usefixtures("production_environment")
    def test_production_hashing_is_quiet(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="ipo_node.accounts"):
            configure_password_hashing(self.settings(tmp_path))
        assert caplog.text == ""
        assert password_hasher().time_cost == 3

    def test_sqlite_without_fsync_logs_a_warning(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="ipo_node.db"):
            create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
        assert caplog.text == ""
        with caplog.at_level(logging.WARNING, logger="ipo_node.db"):
            create_engine(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", sqlite_synchronous="OFF")
        assert "SQLITE SYNCHRONOUS=OFF" in caplog.text

    def test_memory_below_eight_kib_a_lane_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="8 KiB per lane"):
            self.settings(tmp_path, password_hash_memory_kib=8, password_hash_parallelism=4)
