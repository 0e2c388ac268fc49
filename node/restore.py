"""``ipo-node restore``: a node recreated from a backup, deciding itself where it writes.

    ipo-node restore --data-dir NEW_DIR [--database-url URL]
                     [--keep-security-settings | --reset-security-settings] BACKUP

``restore`` only ever fills an empty data directory and an empty database, as ``init`` refuses
to overwrite a node: restoring over a live node would silently fork its identity. It does not
migrate: ``serve`` (or ``migrate``) upgrades an older database at start, and an archive written
by a newer release is refused before anything is written.

What a restore writes is decided by its command line, not by the archive (``node.backup_archive``
reads that as hostile): the data directory it names, and the database ``--database-url`` (or
``DATABASE_URL``) names, else SQLite in that directory. The archived ``node.toml`` is checked
and rewritten, never copied: its ``database_url`` is not used, and a setting that weakens the
node (``SECURITY_SETTINGS`` in ``node.config``, such as ``allow_private_peers = true``) stops
the restore unless the operator keeps it (``--keep-security-settings``) or drops it
(``--reset-security-settings``). Everything is checked before anything is written.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from federation.keys import KEYRING_FILE, KeyringError, load_keyring
from node.backup import pg_is_empty, pg_restore, private_tempdir, sqlite_path
from node.backup_archive import BackupError, Manifest, unpack
from node.config import (
    CONFIG_FILE,
    ConfigError,
    Settings,
    load_settings,
    normalize_database_url,
    weakened_settings,
    write_config_file,
)
from node.migrate import known_revisions

SecurityChoice = Literal["refuse", "keep", "reset"]
LOCATION_SETTINGS = ("data_dir", "database_url")
"""Where a node's files and database live: the restore command says, never the backup."""


@dataclass(frozen=True)
class Restored:
    """What ``restore`` did, for the command to tell the operator."""

    manifest: Manifest
    settings: Settings
    security_kept: dict[str, str]  # setting -> what it costs, as in SECURITY_SETTINGS
    security_reset: dict[str, str]
    database_url_ignored: bool  # the backup's node.toml named another database


def restore(
    data_dir: Path,
    archive: Path,
    *,
    database_url: str | None = None,
    security: SecurityChoice = "refuse",
) -> Restored:
    """Recreate the node from ``archive`` in the empty ``data_dir`` and an empty database.

    The database is the one named by ``database_url`` if given (then written into the restored
    ``node.toml``), else by ``IPO_DATABASE_URL``/``DATABASE_URL``, else SQLite in ``data_dir``:
    never one the archive names. Settings of the archived ``node.toml`` that weaken the node
    (``SECURITY_SETTINGS``) are refused unless ``security`` is ``keep`` (restored as they are)
    or ``reset`` (left at their defaults). Everything is checked before anything is written.
    """
    data_dir = data_dir.resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} is not empty; restore only into a new, empty data directory")
    with private_tempdir() as work:
        manifest = unpack(archive, work)
        if manifest.alembic_revision and manifest.alembic_revision not in known_revisions():
            raise BackupError(
                f"the backup's database is at revision {manifest.alembic_revision}, which this "
                "version of ipo-node does not know: restore it with the release that made it"
            )
        archived = _archived_config(work / CONFIG_FILE)
        target = _target_database_url(data_dir, database_url)
        target_kind = "sqlite" if target.startswith("sqlite") else "postgresql"
        if target_kind != manifest.database:
            raise BackupError(
                f"the backup holds a {manifest.database} database but the target is "
                f"{target_kind}; pass --database-url for a {manifest.database} database"
            )
        values = {key: value for key, value in archived.items() if key not in LOCATION_SETTINGS}
        if database_url:
            values["database_url"] = database_url
        settings = _validated(data_dir, values, manifest)
        weakened = weakened_settings(settings, among=values)
        if weakened and security == "refuse":
            raise BackupError(
                "the backup's node.toml has settings that weaken the node:\n"
                + "".join(f"  {name}: {why}\n" for name, why in weakened.items())
                + "pass --keep-security-settings to restore them as they are, or "
                "--reset-security-settings to restore with the defaults"
            )
        if weakened and security == "reset":
            values = {key: value for key, value in values.items() if key not in weakened}
            settings = _validated(data_dir, values, manifest)
        _check_keyring(work / "keys", manifest)
        if target_kind == "sqlite":
            sqlite_target = sqlite_path(target)
            if sqlite_target.exists() and sqlite_target.stat().st_size > 0:
                raise BackupError(f"{sqlite_target} already exists; refusing to overwrite it")
        elif not pg_is_empty(target):
            raise BackupError(
                "the target database already has tables; restore into a new, empty database"
            )
        _write_restored(data_dir, work, manifest, settings, values=values, target=target)
    return Restored(
        manifest=manifest,
        settings=settings,
        security_kept=weakened if security == "keep" else {},
        security_reset=weakened if security == "reset" else {},
        database_url_ignored=_names_another_database(archived, target),
    )


def _archived_config(path: Path) -> dict[str, Any]:
    """The archived ``node.toml``, each key a setting's own name.

    The environment's names for a setting (``DATABASE_URL``, ``ALLOW_PRIVATE_PEERS``) are
    refused here: ``ipo-node`` never writes them into a config file, and through them a file
    could set a database or a security switch under a name the checks below do not look for.
    """
    try:
        config = tomllib.loads(path.read_text())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BackupError(f"the backup's node.toml cannot be read: {exc}") from None
    unknown = [key for key in config if key not in Settings.model_fields]
    if unknown:
        raise BackupError(f"the backup's node.toml sets {unknown[0]!r}, which is not a setting")
    return config


def _validated(data_dir: Path, values: dict[str, Any], manifest: Manifest) -> Settings:
    """The settings ``values`` make in ``data_dir``, checked as ``serve`` would check them."""
    try:
        settings = load_settings(data_dir, **values)
    except ConfigError as exc:
        raise BackupError(
            f"the backup's node.toml (with this environment's settings): {exc}"
        ) from None
    if settings.public_url != manifest.node_id:
        raise BackupError(
            f"the backup's manifest is of node {manifest.node_id} but its node.toml of "
            f"{settings.public_url!r}; refusing a backup whose parts disagree"
        )
    return settings


def _check_keyring(keys_dir: Path, manifest: Manifest) -> None:
    """The archived keyring lists exactly the manifest's keys, each in the file it names."""
    try:
        index = json.loads((keys_dir / KEYRING_FILE).read_bytes())
        kids = [entry["kid"] for entry in index["keys"]]
    except (ValueError, TypeError, KeyError) as exc:
        raise BackupError(f"the backup's keyring is damaged: {exc!r}") from None
    if kids != manifest.key_kids:
        raise BackupError("the backup's keyring lists other keys than its manifest")
    try:
        load_keyring(keys_dir)
    except (KeyringError, ValueError, TypeError, KeyError) as exc:
        raise BackupError(f"the backup's keyring is damaged: {exc}") from None


def _write_restored(
    data_dir: Path,
    work: Path,
    manifest: Manifest,
    settings: Settings,
    *,
    values: dict[str, Any],
    target: str,
) -> None:
    """Write the checked node: config, keys, database; on any failure, leave nothing behind."""
    created_dir = not data_dir.exists()
    made_sqlite: Path | None = None
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    try:
        # The config is written from the checked settings, never copied from the archive.
        config = {key: getattr(settings, key) for key in values}
        write_config_file(data_dir, config, written_by="ipo-node restore")
        (data_dir / "keys").mkdir(mode=0o700)
        for name in manifest.files:
            if name.startswith("keys/"):
                _copy_private(work / name, data_dir / name)
        if target.startswith("sqlite"):
            sqlite_target = sqlite_path(target)
            sqlite_target.parent.mkdir(parents=True, exist_ok=True)
            sqlite_target.unlink(missing_ok=True)  # an empty file, checked above
            _copy_private(work / manifest.database_member, sqlite_target)
            made_sqlite = sqlite_target
        else:
            pg_restore(target, work / manifest.database_member)
        restored = load_settings(data_dir)
        kids = [key.kid for key in load_keyring(restored.keys_dir).keys]
        if kids != manifest.key_kids:
            raise BackupError(f"restored keys {kids} differ from the manifest's")
    except BaseException as exc:
        _remove_restored(data_dir, created_dir=created_dir)
        if made_sqlite is not None:
            made_sqlite.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise BackupError(f"cannot write the restored node: {exc}") from None
        raise


def _target_database_url(data_dir: Path, database_url: str | None) -> str:
    url = database_url or os.environ.get("IPO_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite+aiosqlite:///{data_dir / 'node.db'}"
    try:
        return normalize_database_url(url)
    except ValueError as exc:
        raise BackupError(f"database_url {exc}") from None


def _names_another_database(archived: dict[str, Any], target: str) -> bool:
    named = archived.get("database_url")
    if named is None:
        return False
    try:
        return normalize_database_url(str(named)) != target
    except ValueError:
        return True


def _copy_private(source: Path, target: Path) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(target, flags, 0o600), "wb") as handle, source.open("rb") as src:
        shutil.copyfileobj(src, handle)


def _remove_restored(data_dir: Path, *, created_dir: bool) -> None:
    """Undo a failed restore: the data directory goes back to empty."""
    for child in data_dir.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    if created_dir:
        data_dir.rmdir()
