"""Schema migrations: the only way the database schema changes.

``upgrade_to_head`` runs at ``init``, at ``serve`` start and by ``ipo-node migrate``. A node
refuses to serve a database whose revision its code does not know (a newer release wrote it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection

from node.db import DatabaseTooNew, DatabaseUnreachable, create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {rev.revision for rev in script.walk_revisions()}


async def current_revision(connection: AsyncConnection) -> str | None:
    def _current(sync_connection: object) -> str | None:
        return MigrationContext.configure(sync_connection).get_current_revision()  # type: ignore[arg-type]

    return await connection.run_sync(_current)


def check_not_too_new(revision: str | None) -> None:
    if revision is not None and revision not in known_revisions():
        raise DatabaseTooNew(
            f"the database is at revision {revision}, which this version of ipo-node does not "
            "know: a newer release migrated it. Install that release (or newer) to serve it."
        )


def upgrade_to_head(database_url: str) -> None:
    """Upgrade the database to the newest revision (blocking; call outside an event loop)."""
    command.upgrade(alembic_config(database_url), "head")


def downgrade_to(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def prepare_database(database_url: str) -> None:
    """Refuse a database newer than this code, then upgrade it to head (blocking)."""

    async def revision() -> str | None:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await current_revision(connection)
        except OSError as exc:
            raise DatabaseUnreachable(f"cannot reach the database: {exc}") from None
        finally:
            await engine.dispose()

    check_not_too_new(asyncio.run(revision()))
    upgrade_to_head(database_url)
