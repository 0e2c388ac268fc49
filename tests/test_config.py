"""Bad or missing settings stop the node at start, naming the setting and what is wrong."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from node.config import ConfigError, load_settings, write_config_file

GOOD = {
    "name": "33rd Ward Working Families",
    "public_url": "https://ward33.example.org/",
    "secret_key": secrets.token_urlsafe(32),
}


class TestDefaults:
    def test_sqlite_in_the_data_dir_unless_a_database_url_is_given(self, tmp_path: Path) -> None:
        settings = load_settings(tmp_path, **GOOD)
        assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'node.db'}"
        assert settings.public_url == "https://ward33.example.org"
        assert settings.secure_cookies

    def test_postgres_url_switches_driver_with_no_other_change(self, tmp_path: Path) -> None:
        settings = load_settings(
            tmp_path, **GOOD, database_url="postgresql://u@db.internal:5432/ward33"
        )
        assert settings.database_url == "postgresql+asyncpg://u@db.internal:5432/ward33"
        assert not settings.is_sqlite

    def test_environment_overrides_the_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_config_file(tmp_path, GOOD)
        monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
        monkeypatch.setenv("IPO_NAME", "From the environment")
        settings = load_settings(tmp_path)
        assert settings.name == "From the environment"
        assert settings.database_url.startswith("postgresql+asyncpg://")


class TestRefusals:
    @pytest.mark.parametrize(
        ("override", "named", "says"),
        [
            ({"public_url": "ward33.example.org"}, "public_url", "absolute http(s) URL"),
            ({"public_url": "https://wards.example.org/33"}, "public_url", "without a path"),
            ({"secret_key": "changeme"}, "secret_key", "at least 32"),
            ({"secret_key": "a" * 40}, "secret_key", "placeholder"),
            ({"wards": [0, 51]}, "wards", "1 to 50"),
            ({"kind": "party"}, "kind", "ipo"),
            ({"database_url": "mysql://x"}, "database_url", "sqlite:/// or postgresql://"),
            ({"name": ""}, "name", "at least 1"),
        ],
    )
    def test_bad_setting_is_named(
        self, tmp_path: Path, override: dict[str, object], named: str, says: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            load_settings(tmp_path, **{**GOOD, **override})
        assert named in str(caught.value)
        assert says in str(caught.value)

    def test_missing_settings_are_all_listed(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            load_settings(tmp_path)
        for name in ("name", "public_url", "secret_key"):
            assert name in str(caught.value)

    def test_unknown_setting_in_file_is_refused(self, tmp_path: Path) -> None:
        write_config_file(tmp_path, {**GOOD, "nmae": "typo"})
        with pytest.raises(ConfigError, match="nmae"):
            load_settings(tmp_path)

    def test_config_readable_by_others_is_refused(self, tmp_path: Path) -> None:
        path = write_config_file(tmp_path, GOOD)
        os.chmod(path, 0o644)
        with pytest.raises(ConfigError, match="chmod 600"):
            load_settings(tmp_path)

    def test_no_data_dir(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("IPO_DATA_DIR", raising=False)
        with pytest.raises(ConfigError, match="--data-dir"):
            load_settings()


class TestConfigFile:
    def test_a_value_with_quotes_and_control_characters_reads_back_as_written(
        self, tmp_path: Path
    ) -> None:
        name = 'Ward 30 "United" \\ tabbed\there\nnext line \x07\x1b[2J\x7f done'
        write_config_file(tmp_path, {**GOOD, "name": name})
        assert load_settings(tmp_path).name == name
