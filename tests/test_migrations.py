"""Migrations are the only way the schema changes: they run both ways, match the models, and a
node refuses a database newer than its code."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import node.tables  # noqa: F401 -- the full metadata
from node.db import create_engine
from node.migrate import (
    DatabaseTooNew,
    alembic_config,
    current_revision,
    downgrade_to,
    head_revision,
    prepare_database,
    upgrade_to_head,
)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


async def schema_diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}),
                    SQLModel.metadata,
                )
            )
    finally:
        await engine.dispose()


class TestMigrationsRun:
    def test_down_to_nothing_and_back_up(self, database_url: str) -> None:
        assert run(table_names(database_url)) == set(SQLModel.metadata.tables)
        downgrade_to(database_url, "base")
        assert run(table_names(database_url)) == set()
        upgrade_to_head(database_url)
        assert run(table_names(database_url)) == set(SQLModel.metadata.tables)

    def test_every_step_down_and_up(self, database_url: str) -> None:
        # One revision at a time, so each downgrade is exercised against its own upgrade.
        downgrade_to(database_url, "base")
        config = alembic_config(database_url)
        steps = 0
        while run(_revision(database_url)) != head_revision():
            command.upgrade(config, "+1")
            command.downgrade(config, "-1")
            command.upgrade(config, "+1")
            steps += 1
        assert steps >= 3


async def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await current_revision(connection)
    finally:
        await engine.dispose()


class TestModelsMatchMigrations:
    def test_no_difference(self, database_url: str) -> None:
        assert run(schema_diff(database_url)) == []


class TestAuditLogIsAppendOnly:
    @pytest.mark.parametrize(
        "statement", ["UPDATE audit_entry SET action = 'x'", "DELETE FROM audit_entry"]
    )
    def test_database_refuses_changes(self, database_url: str, statement: str) -> None:
        async def attempt() -> None:
            engine = create_engine(database_url)
            try:
                async with engine.begin() as connection:
                    await connection.execute(
                        sa.text(
                            "INSERT INTO audit_entry (at, actor_kind, actor_label, action, "
                            "object_type, object_id, detail) VALUES (CURRENT_TIMESTAMP, 'cli', "
                            "'t', 'test.action', 'test', '1', '{}')"
                        )
                    )
                async with engine.begin() as connection:
                    await connection.execute(sa.text(statement))
            finally:
                await engine.dispose()

        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            run(attempt())


class TestDatabaseNewerThanCode:
    def test_refuses_unknown_revision(self, database_url: str) -> None:
        async def stamp_future() -> None:
            engine = create_engine(database_url)
            try:
                async with engine.begin() as connection:
                    await connection.execute(
                        sa.text("UPDATE alembic_version SET version_num = '9999_from_the_future'")
                    )
            finally:
                await engine.dispose()

        run(stamp_future())
        with pytest.raises(DatabaseTooNew, match="newer release"):
            prepare_database(database_url)
