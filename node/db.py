"""The database engine and sessions.

The request owns the transaction: services flush, never commit; ``session_scope`` commits
when the unit of work finishes and rolls back on any error, so a failed request leaves no
half-written rows.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed transaction survives power
loss, not only a crash; the test harness alone lowers it through the ``sqlite_synchronous``
setting, and a node started below FULL logs a loud warning), foreign keys on, and every
transaction opened with ``BEGIN IMMEDIATE``: the write lock is taken up front, so two
connections never deadlock upgrading a read lock, and ``busy_timeout`` makes waiting writers
queue instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

import federation.storage  # noqa: F401 -- applies the naming convention before any table
from node.config import Settings, SqliteSynchronous


class DatabaseTooNew(Exception):
    """The database was migrated by a newer release than this code (``node.migrate``)."""


class DatabaseUnreachable(Exception):
    """The database server does not answer at the configured URL."""


SQLITE_BUSY_TIMEOUT_MS = 15_000

log = logging.getLogger("ipo_node.db")


def create_engine(
    database_url: str, *, sqlite_synchronous: SqliteSynchronous = "FULL", **kwargs: Any
) -> AsyncEngine:
    """An async engine for a SQLite or PostgreSQL URL, configured for durability.

    SQLite has one writer at a time. With several pooled connections, a process's own
    transactions would contend for that lock and wait in SQLite's busy handler, which sleeps
    in growing steps (tail latencies of seconds under load). One connection per process makes
    them queue in order instead; other processes (a separate worker, the CLI) still wait
    through ``busy_timeout``. A unit of work must therefore never open a second session
    while its first is open.

    ``sqlite_synchronous`` is FULL except in tests (``Settings.sqlite_synchronous``).
    """
    if database_url.startswith("sqlite"):
        engine = create_async_engine(
            database_url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=1,
            max_overflow=0,
            pool_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            **kwargs,
        )
        _configure_sqlite(engine, synchronous=sqlite_synchronous)
        return engine
    return create_async_engine(database_url, pool_pre_ping=True, **kwargs)


def engine_for(settings: Settings) -> AsyncEngine:
    """The engine of the node these settings describe."""
    return create_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)


def _configure_sqlite(engine: AsyncEngine, *, synchronous: SqliteSynchronous) -> None:
    if synchronous not in ("FULL", "NORMAL", "OFF"):
        raise ValueError(f"unknown SQLite synchronous level {synchronous!r}")
    if synchronous != "FULL":
        log.warning(
            "SQLITE SYNCHRONOUS=%s: committed data can be lost on power failure. A test-only "
            "setting: remove IPO_SQLITE_SYNCHRONOUS before this node holds real data.",
            synchronous,
        )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    session_maker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit if the block finishes, roll back if it raises."""
    async with session_maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
