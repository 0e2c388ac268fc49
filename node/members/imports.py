"""Importing members from CSV without holding up the rest of the node.

An import goes through three steps; only the last one opens a transaction::

    read    decode, parse, read the header; refuse a file over the limits   (a thread, at once)
    check   convert and validate every row, find repeated emails           (a thread, in chunks)
    save    rows made ready for the driver                                 (a thread)
            then look members up by email, insert and update in batches   (one transaction)

Checking is the expensive part (mostly validating emails): it runs in a worker thread, a chunk
of rows at a time, while no transaction is open, so that other requests, and on SQLite the
node's one database connection, stay free. Saving runs one executemany per batch of rows
(``repository.DriverStatement``), not an ORM object per row, in a single transaction: an
import is all or nothing, whatever its size.

The API waits for its import and answers the result. The web page starts an import as a job
(a ``member_import`` row, run by :class:`ImportJobs` in this process) and shows its progress,
then its report; the row holds counts and problems, never a member's data, and is deleted
after ``KEEP_REPORTS``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.storage import utcnow
from node.audit.service import Actor, record
from node.config import Settings
from node.db import session_scope
from node.errors import ErrorDetail, InvalidInput, NotFound
from node.members import csv_io, repository
from node.members.csv_io import CsvFile, RowError
from node.members.models import (
    ImportStatus,
    MemberImport,
    MemberImportResult,
    today,
)
from node.members.service import MemberEmailTaken

log = logging.getLogger(__name__)

CHECK_CHUNK_ROWS = 2000  # about 0.1 s of checking: the progress a page shows moves that often
MAX_REPORTED_PROBLEMS = 1000
KEEP_REPORTS = timedelta(days=7)
STALLED_AFTER = timedelta(minutes=10)  # a running import not heard from since then has stopped

# Every column of a new member, for the insert (executemany needs the same keys per row); lists
# as tuples, which the JSON columns store alike (see csv_io.Cells).
_NEW_MEMBER_DEFAULTS: dict[str, Any] = {
    "given_name": "",
    "family_name": "",
    "email": None,
    "phone": "",
    "street_address": "",
    "city": "",
    "state": "",
    "postal_code": "",
    "ward": None,
    "precinct": "",
    "languages": (),
    "tags": (),
    "sms_opt_in": False,
    "share_contact_with_hosts": False,
    "notes": "",
    "source": "",
}

Progress = Callable[[int], Awaitable[None]]


class ImportRejected(InvalidInput):
    """Some rows of an import are wrong; ``details`` lists each as ``["row", n, column]``."""

    code = "import_rejected"

    def __init__(self, errors: Sequence[RowError]) -> None:
        count = len({e.row for e in errors})
        message = (
            f"{count:,} row{'s' if count != 1 else ''} of the file cannot be imported, so "
            "nothing was imported. Fix the rows listed and upload the whole file again."
        )
        if len(errors) > MAX_REPORTED_PROBLEMS:
            message += f" The first {MAX_REPORTED_PROBLEMS:,} problems are listed."
        super().__init__(message)
        self.row_count = count
        self.errors = list(errors[:MAX_REPORTED_PROBLEMS])
        self.details = [
            ErrorDetail(loc=["row", e.row, e.column], msg=e.message) for e in self.errors
        ]


@dataclass(frozen=True)
class ImportLimits:
    max_rows: int
    max_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> ImportLimits:
        return cls(max_rows=settings.max_import_rows, max_bytes=settings.max_import_bytes)


@dataclass
class CheckedImport:
    csv_file: CsvFile
    values: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row, fields)
    errors: list[RowError] = field(default_factory=list)  # sorted by row, then column


async def read_upload(data: bytes, *, limits: ImportLimits) -> CsvFile:
    """The upload parsed, or ``ImportTooLarge`` / ``CsvFileInvalid``; nothing is written."""
    csv_io.check_size(data, max_bytes=limits.max_bytes)
    return await asyncio.to_thread(csv_io.read_csv, data, max_rows=limits.max_rows)


async def check_import(csv_file: CsvFile, *, progress: Progress | None = None) -> CheckedImport:
    """Every row converted and validated, in a worker thread, ``CHECK_CHUNK_ROWS`` at a time.

    Between chunks the event loop has the process to itself, and ``progress`` hears how many
    rows are checked.
    """
    checked = CheckedImport(csv_file)
    errors = await asyncio.to_thread(csv_io.duplicate_emails, csv_file)
    records = csv_file.records
    for start in range(0, len(records), CHECK_CHUNK_ROWS):
        chunk = records[start : start + CHECK_CHUNK_ROWS]
        rows = await asyncio.to_thread(csv_io.check_rows, csv_file, chunk)
        checked.values.extend(rows.values)
        errors.extend(rows.errors)
        if progress is not None:
            await progress(start + len(chunk))
    checked.errors = sorted(errors, key=lambda e: (e.row, e.column))
    return checked


@dataclass
class _Plan:
    created: int = 0
    updated_ids: list[int] = field(default_factory=list)
    # (sql, rows ready for the driver): the inserts, then an update per set of columns
    writes: list[tuple[str, list[tuple[Any, ...]]]] = field(default_factory=list)


def _plan(
    dialect: Dialect,
    values: Sequence[tuple[int, dict[str, Any]]],
    existing: Mapping[str, int],
    *,
    now: datetime,
    joined: date,
    prepare: bool,
) -> _Plan:
    """Which rows create a member and which update one, and (``prepare``) the statements and
    rows ready for the driver. Pure: it runs in a thread.

    A row whose email matches a member sets the cells it has; empty cells never erase what
    the node already knows, and a member nothing changes for keeps its ``updated_at``
    (``repository.member_update``).
    """
    plan = _Plan()
    creates: list[dict[str, Any]] = []
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for _, fields in values:
        member_id = existing.get(fields["email"]) if fields.get("email") else None
        if member_id is None:
            creates.append(fields)
            continue
        plan.updated_ids.append(member_id)
        updates.setdefault(tuple(sorted(fields)), []).append(
            {"member_id": member_id, "now": now, **{f"new_{k}": v for k, v in fields.items()}}
        )
    plan.created = len(creates)
    if not prepare:
        return plan
    if creates:
        insert = repository.member_insert(dialect)
        new_member = {**_NEW_MEMBER_DEFAULTS, "joined_date": joined, "created_at": now}
        # One whole row at a time, straight into the driver's form: not a list of 100,000.
        new_rows = ({**new_member, **fields, "updated_at": now} for fields in creates)
        plan.writes.append((insert.sql, insert.params(new_rows)))
    for columns, rows in updates.items():
        update = repository.member_update(dialect, columns)
        plan.writes.append((update.sql, update.params(rows)))
    return plan


Saved = Callable[[AsyncSession, MemberImportResult], Awaitable[None]]


async def save_import(
    session_maker: async_sessionmaker[AsyncSession],
    *,
    checked: CheckedImport,
    dry_run: bool,
    actor: Actor,
    on_saved: Saved | None = None,
) -> MemberImportResult:
    """Write a checked import, all of it or none; ``on_saved`` runs in the same transaction.

    Two units of work, and no transaction open in between: a read of the members with the
    file's emails, then the writes, in one transaction, of rows made ready in a thread. If
    another request adds a member with one of those emails meanwhile, the unique email
    refuses the insert and the whole import is refused (``MemberEmailTaken``); a member
    erased meanwhile stays erased. Raises ``ImportRejected`` if any row is wrong.
    """
    if checked.errors:
        raise ImportRejected(checked.errors)
    csv_file = checked.csv_file
    emails = [fields["email"] for _, fields in checked.values if fields.get("email")]
    async with session_scope(session_maker) as session:
        dialect = session.get_bind().dialect
        existing = await repository.member_ids_by_emails(session, emails=emails)
    plan = await asyncio.to_thread(
        _plan, dialect, checked.values, existing, now=utcnow(), joined=today(), prepare=not dry_run
    )
    result = MemberImportResult(
        dry_run=dry_run,
        rows=len(checked.values),
        created=plan.created,
        updated=len(plan.updated_ids),
        ignored_columns=csv_file.ignored_columns,
        ignored_column_count=len(csv_file.ignored_columns),
    )
    if dry_run:
        return result
    async with session_scope(session_maker) as session:
        try:
            for sql, params in plan.writes:
                await repository.execute_many(session, sql=sql, params=params)
        except IntegrityError:
            raise MemberEmailTaken() from None
        await record(
            session,
            actor=actor,
            action="member.import",
            object_type="member",
            detail={
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "updated_ids": sorted(plan.updated_ids),
                "ignored_column_count": result.ignored_column_count,
            },
        )
        if on_saved is not None:
            await on_saved(session, result)
    return result


async def import_csv(
    session_maker: async_sessionmaker[AsyncSession],
    *,
    data: bytes,
    limits: ImportLimits,
    dry_run: bool,
    actor: Actor,
) -> MemberImportResult:
    """Read, check and save an upload (the API's import, which waits for it); all or none.

    The caller must hold no transaction meanwhile (on SQLite it would hold the one
    connection the import's own units of work need).
    """
    csv_file = await read_upload(data, limits=limits)
    checked = await check_import(csv_file)
    return await save_import(session_maker, checked=checked, dry_run=dry_run, actor=actor)


# ---- imports as jobs, for the web page --------------------------------------------------------


async def create_job(session: AsyncSession, *, csv_file: CsvFile) -> int:
    """A job for a file that was read, by id; reports older than ``KEEP_REPORTS`` go."""
    await repository.delete_imports_before(session, before=utcnow() - KEEP_REPORTS)
    job = MemberImport(
        status=ImportStatus.checking,
        rows=len(csv_file.records),
        ignored_columns=csv_file.ignored_columns,
    )
    session.add(job)
    await session.flush()
    assert job.id is not None  # noqa: S101 -- set by flush
    return job.id


class ImportNotFound(NotFound):
    code = "import_not_found"


async def get_job(session: AsyncSession, *, import_id: int) -> MemberImport:
    job = await repository.get_import(session, import_id=import_id)
    if job is None:
        raise ImportNotFound(
            f"No import {import_id} on this node; reports are kept for {KEEP_REPORTS.days} days."
        )
    if job.status.is_running and utcnow() - job.updated_at > STALLED_AFTER:
        # The process running it stopped (a restart, a crash) before it finished. Shown so,
        # not written: reading a page changes nothing.
        session.expunge(job)
        job.status = ImportStatus.failed
        job.message = (
            "This import stopped before it finished, and nothing was imported. "
            "Upload the file again."
        )
    return job


class ImportJobs:
    """The imports this process runs in the background, each a task that records its
    progress and its outcome on its ``member_import`` row. ``close`` stops them."""

    def __init__(self, session_maker: async_sessionmaker[AsyncSession]) -> None:
        self._session_maker = session_maker
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, *, job_id: int, csv_file: CsvFile, actor: Actor) -> None:
        """Run the job whose row is committed; returns at once."""
        task = asyncio.create_task(self._run(job_id, csv_file, actor), name=f"import-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, job_id: int, csv_file: CsvFile, actor: Actor) -> None:
        try:
            await self._check_and_save(job_id, csv_file, actor)
        except ImportRejected as exc:
            await self._finish(
                job_id,
                status=ImportStatus.rejected,
                message=exc.message,
                problem_rows=exc.row_count,
                problems=[
                    {"row": e.row, "column": e.column, "message": e.message} for e in exc.errors
                ],
            )
        except MemberEmailTaken:
            await self._finish(
                job_id,
                status=ImportStatus.failed,
                message="While this file was being imported, someone added a member with one "
                "of its emails; nothing was imported. Upload the file again.",
            )
        except asyncio.CancelledError:
            await self._finish(
                job_id,
                status=ImportStatus.failed,
                message="The node stopped before this import finished, and nothing was "
                "imported. Upload the file again.",
            )
            raise
        except Exception:
            log.exception("member import %s failed", job_id)
            await self._finish(
                job_id,
                status=ImportStatus.failed,
                message="Something broke on this node during the import (it is logged), "
                "and nothing was imported.",
            )

    async def _check_and_save(self, job_id: int, csv_file: CsvFile, actor: Actor) -> None:
        async def progress(rows_checked: int) -> None:
            async with session_scope(self._session_maker) as session:
                await repository.set_import_progress(
                    session,
                    import_id=job_id,
                    rows_checked=rows_checked,
                    status=ImportStatus.checking,
                )

        checked = await check_import(csv_file, progress=progress)
        if checked.errors:
            raise ImportRejected(checked.errors)
        async with session_scope(self._session_maker) as session:
            await repository.set_import_progress(
                session,
                import_id=job_id,
                rows_checked=len(csv_file.records),
                status=ImportStatus.saving,
            )

        async def done(session: AsyncSession, result: MemberImportResult) -> None:
            # In the transaction that saves the members: "done" means saved.
            job = await repository.get_import(session, import_id=job_id)
            if job is not None:
                job.status = ImportStatus.done
                job.created, job.updated = result.created, result.updated
                job.updated_at = job.finished_at = utcnow()
                session.add(job)

        await save_import(
            self._session_maker, checked=checked, dry_run=False, actor=actor, on_saved=done
        )

    async def _finish(
        self, job_id: int, *, status: ImportStatus, message: str, **report: Any
    ) -> None:
        try:
            async with session_scope(self._session_maker) as session:
                job = await repository.get_import(session, import_id=job_id)
                if job is None:
                    return
                job.status, job.message = status, message
                for name, value in report.items():
                    setattr(job, name, value)
                job.updated_at = job.finished_at = utcnow()
                session.add(job)
        except Exception:  # the page shows it as stopped once it is stale
            log.exception("recording the end of member import %s", job_id)
