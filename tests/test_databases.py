"""The PostgreSQL test databases: a reused one is what a new copy would be, and a world's
copy holds its rows (``tests/databases.py``). SQLite copies whole files, so there is nothing
to check there."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import asyncpg
import pytest

from tests.databases import DEFAULT_POSTGRES_URL, PostgresDatabases, backend

pytestmark = pytest.mark.skipif(
    backend() != "postgresql", reason="emptying and reuse are the PostgreSQL harness's own"
)

AUDIT = (
    "INSERT INTO audit_entry (at, actor_kind, actor_label, action, object_type, object_id,"
    " detail) VALUES (now(), 'cli', 'test', 'test', 'test', $1, '{}') RETURNING id"
)


def run(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(url.replace("+asyncpg", "", 1))
        try:
            rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
            return rows
        finally:
            await connection.close()

    return asyncio.run(go())


@pytest.fixture
def pool() -> Iterator[PostgresDatabases]:
    """Its own set of databases, one kept ready, so which one comes next is known."""
    databases = PostgresDatabases(os.environ.get("IPO_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    databases.AHEAD = 1
    databases.prepare()
    try:
        yield databases
    finally:
        databases.cleanup()


class TestReuse:
    def test_a_given_back_database_comes_back_empty_with_fresh_ids(
        self, pool: PostgresDatabases
    ) -> None:
        used = pool.new()
        first_id = run(used, AUDIT, "one")[0]["id"]
        run(used, AUDIT, "two")
        pool.release(used)
        pool.new()  # the one made while ``used`` was in use
        again = pool.new()
        assert again == used
        assert run(again, "SELECT count(*) FROM audit_entry")[0][0] == 0
        assert run(again, AUDIT, "three")[0]["id"] == first_id

    def test_one_whose_schema_a_test_changed_is_not_handed_out_again(
        self, pool: PostgresDatabases
    ) -> None:
        changed = pool.new()
        run(changed, "ALTER TABLE audit_entry ADD COLUMN extra integer")
        pool.release(changed)
        handed = [pool.new(), pool.new()]
        assert changed not in handed
        for url in handed:
            columns = run(
                url,
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'audit_entry'",
            )
            assert "extra" not in {row[0] for row in columns}


class TestWorldCopies:
    def test_a_copy_holds_the_sources_rows_and_goes_on_from_its_ids(
        self, pool: PostgresDatabases
    ) -> None:
        world = pool.new()
        ids = [run(world, AUDIT, name)[0]["id"] for name in ("a", "b")]
        copies = [pool.copy(world), pool.copy(world)]
        for copy in copies:
            assert copy != world
            rows = run(copy, "SELECT id, object_id FROM audit_entry ORDER BY id")
            assert [(row[0], row[1]) for row in rows] == list(zip(ids, "ab", strict=True))
            assert run(copy, AUDIT, "c")[0]["id"] == ids[-1] + 1
        assert run(world, "SELECT count(*) FROM audit_entry")[0][0] == 2
