"""Migrations are the only way the schema changes: they run both ways, match the models, and a
node refuses a database newer than its code."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
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


def _revision_that(slug: str) -> Script:
    """The migration whose file name carries ``slug``, wherever it sits in the chain."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    [found] = [s for s in scripts.walk_revisions() if slug in Path(s.path).name]
    return found


JOIN = {
    "type": "Join",
    "actor": "http://ward30.test",
    "published": "2026-12-01T10:00:00Z",
    "to": ["http://ward33.test"],
    "object": {
        "type": "CanvassCommitment",
        "id": "http://ward30.test/canvass-signups/s1",
        "call": "http://ward33.test/canvass-calls/c1",
        "shift": "http://ward33.test/canvass-calls/c1/shifts/h1",
        "handle": "vol-0123456789",
        "given_name": "Plantedname",
        "contact": {"email": "planted@mail.example", "phone": "312-555-0199"},
    },
}


def _join(number: int) -> str:
    return json.dumps({**JOIN, "id": f"http://ward30.test/activities/{number}"})


async def _plant_stored_personal_data(url: str) -> None:
    """Rows as a node before this migration left them: every Join with her contact."""
    outbox = (
        "INSERT INTO outbox_activity (id, activity_id, type, object_type, object_id, body, "
        "created_at) VALUES (:n, :id, 'Join', 'CanvassCommitment', :id, :body, CURRENT_TIMESTAMP)"
    )
    delivery = (
        "INSERT INTO delivery (activity_pk, peer_id, state, attempts, created_at) "
        "VALUES (:n, 1, :state, 1, CURRENT_TIMESTAMP)"
    )
    inbox = (
        "INSERT INTO inbox_activity (id, activity_id, actor, type, body, received_at, state, "
        "attempts) VALUES (:n, :id, 'http://ward30.test', 'Join', :body, CURRENT_TIMESTAMP, "
        ":state, 1)"
    )
    commitment = (
        "INSERT INTO canvass_commitment (id, object_id, shift_id, home_node, handle, given_name, "
        "email, phone, state, created_at, updated_at) VALUES (:state, :state, 'h1', "
        "'http://ward30.test', 'vol-x', 'Plantedname', 'planted@mail.example', '312-555-0199', "
        ":state, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    statements: list[tuple[str, dict[str, object]]] = [
        (
            "INSERT INTO peer (id, node_id, name, kind, wards, inbox_url, keys, state, scopes, "
            "created_at, state_changed_at, consecutive_failures) VALUES (1, "
            "'http://ward33.test', 'w', 'ipo', '[]', 'http://ward33.test/federation/inbox', "
            "'{}', 'active', '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)",
            {},
        ),
        *((outbox, {"n": n, "id": f"a{n}", "body": _join(n)}) for n in (1, 2)),
        *((delivery, {"n": n, "state": state}) for n, state in ((1, "delivered"), (2, "pending"))),
        *(
            (inbox, {"n": n, "id": f"a{n}", "body": _join(n), "state": state})
            for n, state in ((3, "processed"), (4, "failed"))
        ),
        (
            "INSERT INTO canvass_call (id, object_id, origin, version, title, campaign_kind, "
            "campaign_name, wards, turf_description, staging_location, languages_needed, "
            "materials, waitlist_limit, status, expires_at, created_at, updated_at) VALUES "
            "('c1', 'c1', 'o', 1, 't', 'referendum', 'n', '[]', '', '{}', '[]', '', 0, "
            "'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            {},
        ),
        (
            "INSERT INTO canvass_shift (id, call_id, object_id, position, start_date, end_date, "
            "capacity, committed, waitlisted, status) VALUES ('h1', 'c1', 'h1', 0, "
            "'2026-12-01 10:00:00', '2026-12-01 13:00:00', 1, 1, 0, 'cancelled')",
            {},
        ),
        *((commitment, {"state": state}) for state in ("cancelled", "committed")),
    ]
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement, values in statements:
                await connection.execute(sa.text(statement), values)
    finally:
        await engine.dispose()


async def _still_planted(url: str) -> dict[str, list[str]]:
    """Per table, the keys of the rows that still hold the planted name or contact."""
    queries = {
        "outbox_activity": "SELECT id, body FROM outbox_activity",
        "inbox_activity": "SELECT id, body FROM inbox_activity",
        "canvass_commitment": "SELECT id, given_name, email, phone FROM canvass_commitment",
    }
    engine = create_engine(url)
    found: dict[str, list[str]] = {}
    try:
        async with engine.connect() as connection:
            for table, query in queries.items():
                rows = (await connection.execute(sa.text(query))).all()
                found[table] = sorted(
                    str(row[0])
                    for row in rows
                    if any("lanted" in str(value) or "0199" in str(value) for value in row[1:])
                )
    finally:
        await engine.dispose()
    return found


class TestUpgradeForgetsStoredPersonalData:
    def test_spent_activity_bodies_and_commitments_lose_her_name_and_contact(
        self, database_url: str
    ) -> None:
        # Given a database just before the migration, holding Joins and commitments with a
        # volunteer's name and contact
        migration = _revision_that("forget_personal_data")
        assert isinstance(migration.down_revision, str)
        downgrade_to(database_url, migration.down_revision)
        run(_plant_stored_personal_data(database_url))
        # When the node upgrades
        upgrade_to_head(database_url)
        # Then only what is still needed keeps them: a delivery still pending, a handler to
        # retry, a commitment holding a place
        assert run(_still_planted(database_url)) == {
            "outbox_activity": ["2"],
            "inbox_activity": ["4"],
            "canvass_commitment": ["committed"],
        }
