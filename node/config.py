"""Settings of one node, from its config file and the environment.

Sources, strongest first: values passed in code, environment variables (``IPO_`` prefix;
``DATABASE_URL`` and ``ALLOW_PRIVATE_PEERS`` also without it, as container platforms expect),
then ``DATA_DIR/node.toml`` written by ``ipo-node init``. Bad or missing settings stop the
process at start with a message naming the setting and what is wrong (``ConfigError``).
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterable
from email.headerregistry import Address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from argon2.profiles import RFC_9106_LOW_MEMORY as PRODUCTION_ARGON2
from pydantic import (
    AliasChoices,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

CONFIG_FILE = "node.toml"
MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "placeholder", "xxx"}

NodeKind = Literal["ipo", "union", "coalition"]
SqliteSynchronous = Literal["FULL", "NORMAL", "OFF"]
COST_SETTINGS = (
    "password_hash_time_cost",
    "password_hash_memory_kib",
    "password_hash_parallelism",
    "sqlite_synchronous",
)
"""Settings whose production defaults cost time on purpose; only test harnesses lower them."""
SECURITY_SETTINGS: dict[str, str] = {
    "allow_private_peers": "lets peers and webhooks reach loopback and private addresses",
    "password_hash_time_cost": "hashes passwords below production strength",
    "password_hash_memory_kib": "hashes passwords below production strength",
    "password_hash_parallelism": "hashes passwords below production strength",
    "sqlite_synchronous": "can lose committed data on power failure",
}
"""Settings that switch off a protection the production defaults give, and what that costs.

A configuration that comes from elsewhere (a backup's ``node.toml``) never sets one silently:
``weakened_settings`` finds them, ``ipo-node restore`` refuses them unless told."""


class ConfigError(Exception):
    """The node cannot start with this configuration; the message says what to fix."""


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads ``node.toml`` from the data directory given by the other sources."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._values: dict[str, Any] = {}
        if path is not None and path.exists():
            try:
                self._values = tomllib.loads(path.read_text())
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read config file {path}: {exc}") from exc

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


class Settings(BaseSettings):
    """Everything a node needs to know about itself to run."""

    model_config = SettingsConfigDict(env_prefix="IPO_", extra="forbid", frozen=True)

    data_dir: Path
    name: str = Field(min_length=1, max_length=120)
    public_url: str = Field(description="The node's base URL; it is also its id in the coalition.")
    kind: NodeKind = "ipo"
    wards: list[int] = Field(default_factory=list)
    secret_key: str = Field(min_length=MIN_SECRET_LENGTH, repr=False)
    database_url: str = Field(
        default="",
        validate_default=True,
        validation_alias=AliasChoices("IPO_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    allow_private_peers: bool = Field(
        default=False,
        validation_alias=AliasChoices(
            "IPO_ALLOW_PRIVATE_PEERS", "ALLOW_PRIVATE_PEERS", "allow_private_peers"
        ),
    )
    embedded_worker: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # A CSV import of members: the largest file, and the most rows, one import takes.
    max_import_bytes: int = Field(default=10 * 1_048_576, ge=1024)
    max_import_rows: int = Field(default=100_000, ge=1)
    session_days: int = Field(default=14, ge=1, le=365)
    # Partner API: access-token lifetime, and each client's request budget (a token bucket
    # refilled at ``partner_rate_per_minute``, holding at most ``partner_rate_burst``).
    partner_token_seconds: int = Field(default=900, ge=1, le=86_400)
    partner_rate_per_minute: int = Field(default=600, ge=1)
    partner_rate_burst: int = Field(default=100, ge=1)
    # Login throttling (``node.accounts.throttle``): this many wrong passwords in a row for one
    # account, or from one client address, lock it for ``login_lockout_seconds``; each further
    # one doubles the lock, up to the cap; a key quiet for as long as its cap is forgotten.
    login_account_failures: int = Field(default=5, ge=1)
    login_address_failures: int = Field(default=20, ge=1)
    login_lockout_seconds: int = Field(default=30, ge=1)
    login_account_lockout_max_seconds: int = Field(default=900, ge=1)
    login_address_lockout_max_seconds: int = Field(default=3600, ge=1)
    # Slow clients (``node.ops.timeouts``): a request's headers must arrive within
    # ``http_header_timeout_seconds``; its body within ``http_body_timeout_seconds``, extended
    # by one second per ``http_body_min_rate`` bytes received.
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    http_body_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    http_body_min_rate: int = Field(default=10_000, ge=1)
    # Costs that protect real data. The defaults are the production ones (Argon2id as RFC 9106's
    # low-memory profile; SQLite fsyncs every commit). Only the test harness lowers them, and a
    # node started below them logs a loud warning (``node.accounts.passwords``, ``node.db``).
    password_hash_time_cost: int = Field(default=PRODUCTION_ARGON2.time_cost, ge=1, le=20)
    password_hash_memory_kib: int = Field(default=PRODUCTION_ARGON2.memory_cost, ge=8)
    password_hash_parallelism: int = Field(default=PRODUCTION_ARGON2.parallelism, ge=1, le=64)
    sqlite_synchronous: SqliteSynchronous = "FULL"
    # Email (``node.mail``). With no ``smtp_host`` the node writes each message to the mail
    # folder in its data directory (``<data_dir>/mail``), shown to admins on ``/mail``.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="starttls (port 587), tls (implicit TLS, port 465), or none (a relay on "
        "the same machine only).",
    )
    smtp_username: str = ""
    smtp_password: str = Field(default="", repr=False)
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    mail_from: str = Field(
        default="",
        description="The From address, e.g. '33rd Ward Working Families <hello@ward33.org>'; "
        "defaults to the node's name at no-reply@<its host>.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        data_dir = init_settings().get("data_dir") or os.environ.get("IPO_DATA_DIR")
        path = Path(data_dir) / CONFIG_FILE if data_dir else None
        return (init_settings, env_settings, _TomlFileSource(settings_cls, path))

    @field_validator("public_url")
    @classmethod
    def _public_url_is_a_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL such as https://ward33.example.org")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment")
        if parts.path.strip("/"):
            raise ValueError(
                "must be the node's own origin, such as https://ward33.example.org, without a "
                "path: a node is identified by its origin, so it needs a host name of its own"
            )
        return value.rstrip("/")

    @field_validator("wards")
    @classmethod
    def _wards_exist(cls, value: list[int]) -> list[int]:
        bad = [ward for ward in value if not 1 <= ward <= 50]
        if bad:
            raise ValueError(f"Chicago wards are numbered 1 to 50; got {bad}")
        return sorted(set(value))

    @field_validator("secret_key")
    @classmethod
    def _secret_is_not_a_placeholder(cls, value: str) -> str:
        if value.strip().lower() in PLACEHOLDER_SECRETS or len(set(value)) < 8:
            raise ValueError("is a placeholder; generate one with `ipo-node init`")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_defaults_to_sqlite_in_data_dir(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            data_dir = info.data.get("data_dir")
            if data_dir is None:
                raise ValueError("cannot default to SQLite without a data directory")
            value = f"sqlite+aiosqlite:///{Path(data_dir) / 'node.db'}"
        return normalize_database_url(value)

    @property
    def mail_folder(self) -> Path:
        return self.data_dir / "mail"

    @property
    def mail_sender(self) -> str:
        """The From header: ``mail_from``, or the node's name at no-reply@ its host."""
        if self.mail_from:
            return self.mail_from
        host = urlsplit(self.public_url).hostname or "localhost"
        return str(Address(display_name=self.name, username="no-reply", domain=host))

    @model_validator(mode="after")
    def _argon2_memory_covers_its_lanes(self) -> Settings:
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:
            raise ValueError(
                "password_hash_memory_kib must be at least 8 KiB per lane "
                f"(8 x password_hash_parallelism = {8 * self.password_hash_parallelism})"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"


def weakened_settings(settings: Settings, *, among: Iterable[str]) -> dict[str, str]:
    """Which of the settings named ``among`` are weaker in ``settings`` than their defaults.

    Weaker is a switch turned on or a mode changed from its default, a number set below it.
    Returns each such setting with what it costs (``SECURITY_SETTINGS``).
    """
    weakened = {}
    for name in among:
        if name not in SECURITY_SETTINGS:
            continue
        value, default = getattr(settings, name), Settings.model_fields[name].default
        weaker = value < default if type(default) is int else value != default
        if weaker:
            weakened[name] = SECURITY_SETTINGS[name]
    return weakened


def normalize_database_url(url: str) -> str:
    """Accept the URLs people paste and pick the async driver for them."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite:///")):
        return url
    raise ValueError("must be a sqlite:/// or postgresql:// URL")


def load_settings(data_dir: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings, or raise ``ConfigError`` naming every bad setting."""
    if data_dir is not None:
        overrides["data_dir"] = Path(data_dir)
    elif not os.environ.get("IPO_DATA_DIR"):
        raise ConfigError("no data directory: pass --data-dir DIR or set IPO_DATA_DIR")
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "settings"
            problems.append(f"  {where}: {error['msg']}")
        raise ConfigError("invalid node configuration:\n" + "\n".join(problems)) from None
    _check_config_file_permissions(settings.data_dir / CONFIG_FILE)
    return settings


def _check_config_file_permissions(path: Path) -> None:
    if path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} holds the node's secret and is readable by others; run: chmod 600 {path}"
        )


def write_config_file(
    data_dir: Path, values: dict[str, Any], *, written_by: str = "ipo-node init"
) -> Path:
    """Write ``node.toml`` (owner-only) with the given simple values."""
    lines = []
    for key, value in values.items():
        lines.append(f"{key} = {_toml_value(value)}")
    path = data_dir / CONFIG_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"# ipo-node configuration, written by `{written_by}`.\n")
        handle.write("\n".join(lines) + "\n")
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return '"' + "".join(_toml_escape(char) for char in str(value)) + '"'


_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_escape(char: str) -> str:
    """A character as a TOML basic string holds it: control characters may not appear raw."""
    if char in _TOML_ESCAPES:
        return _TOML_ESCAPES[char]
    if char < " " or char == "\x7f":
        return f"\\u{ord(char):04X}"
    return char
