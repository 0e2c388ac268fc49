"""Every query of the members domain."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from federation.storage import utcnow
from node.members.models import ImportStatus, Member, MemberImport

# An import writes with one executemany per batch of rows (``DriverStatement``), not an ORM
# object per row. Lookups by email go in batches too, under every driver's limit on bound
# parameters (SQLite's was 999 before 3.32).
MEMBER: sa.Table = Member.__table__  # type: ignore[attr-defined]
LOOKUP_BATCH = 500
LOOKUP_ALL_AT = 5000
WRITE_BATCH = 5000


@dataclass(frozen=True)
class MemberFilters:
    q: str | None = None
    ward: int | None = None
    # A 5-digit ZIP code finds its ZIP+4 codes too; a ZIP+4 code finds only itself.
    postal_code: str | None = None
    precinct: str | None = None
    tag: str | None = None
    language: str | None = None
    sms_opt_in: bool | None = None
    updated_since: datetime | None = None


def json_list_contains(
    column: Any, value: str, *, dialect: str, ignore_case: bool = False
) -> sa.ColumnElement[bool]:
    """``value`` is one of the strings in the JSON list ``column`` (``ignore_case``: in any
    case, as a tag someone types into a search box).

    The one dialect-aware expression of this domain: PostgreSQL compares as ``jsonb`` (so an
    index on the cast can serve it later) and unnests it to compare in any case; SQLite
    unnests the list with ``json_each``.
    """
    if dialect == "postgresql":
        if not ignore_case:
            return sa.cast(column, JSONB).contains([value])
        items = (
            sa.func.jsonb_array_elements_text(sa.cast(column, JSONB))
            .table_valued("value")
            .alias("list_item")
        )
    else:
        items = sa.func.json_each(column).table_valued("value").alias("list_item")
    if ignore_case:
        matches = sa.func.lower(items.c.value) == value.lower()
    else:
        matches = items.c.value == value
    return sa.exists(sa.select(1).select_from(items).where(matches))


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def members_query(filters: MemberFilters, *, dialect: str) -> sa.Select[Any]:
    query = sa.select(Member)
    if filters.q:
        # Every word must match some field, so "ana diaz" finds Ana Diaz by her full name.
        searched = (
            col(Member.given_name),
            col(Member.family_name),
            col(Member.email),
            col(Member.phone),
        )
        for term in filters.q.split():
            pattern = _like_pattern(term)
            matches = [sa.func.coalesce(c, "").ilike(pattern, escape="\\") for c in searched]
            # Phones are stored as E.164 (+17735550100): "773-555-0100" finds its digits.
            digits = "".join(c for c in term if c.isdigit())
            if len(digits) >= 3 and digits != term:
                matches.append(col(Member.phone).like(f"%{digits}%"))
            query = query.where(sa.or_(*matches))
    if filters.ward is not None:
        query = query.where(col(Member.ward) == filters.ward)
    if filters.postal_code is not None:
        zip_code = col(Member.postal_code)
        if len(filters.postal_code) == 5:
            query = query.where(
                sa.or_(zip_code == filters.postal_code, zip_code.like(f"{filters.postal_code}-%"))
            )
        else:
            query = query.where(zip_code == filters.postal_code)
    if filters.precinct is not None:
        query = query.where(col(Member.precinct) == filters.precinct)
    if filters.tag is not None:
        query = query.where(
            json_list_contains(col(Member.tags), filters.tag, dialect=dialect, ignore_case=True)
        )
    if filters.language is not None:
        query = query.where(
            json_list_contains(col(Member.languages), filters.language, dialect=dialect)
        )
    if filters.sms_opt_in is not None:
        query = query.where(col(Member.sms_opt_in) == filters.sms_opt_in)
    if filters.updated_since is not None:
        query = query.where(col(Member.updated_at) >= filters.updated_since)
    return query


async def get(session: AsyncSession, *, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


async def by_email(session: AsyncSession, *, email: str) -> Member | None:
    result = await session.execute(sa.select(Member).where(col(Member.email) == email.lower()))
    return result.scalar_one_or_none()


async def all_members(session: AsyncSession) -> list[Member]:
    result = await session.execute(sa.select(Member).order_by(col(Member.id)))
    return list(result.scalars())


# ---- imports --------------------------------------------------------------------------------


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def member_ids_by_emails(session: AsyncSession, *, emails: Sequence[str]) -> dict[str, int]:
    """The ids of the stored members with these (lowercased) emails, by email."""
    if len(emails) >= LOOKUP_ALL_AT:
        # One pass over the table, rather than thousands of probes in batches: as fast, and
        # not at the mercy of planner statistics that a large import has just made stale.
        wanted = set(emails)
        every = await session.execute(
            sa.select(MEMBER.c.email, MEMBER.c.id).where(MEMBER.c.email.is_not(None))
        )
        return {email: member_id for email, member_id in every if email in wanted}
    found: dict[str, int] = {}
    for batch in _batches(emails, LOOKUP_BATCH):
        result = await session.execute(
            sa.select(MEMBER.c.email, MEMBER.c.id).where(MEMBER.c.email.in_(batch))
        )
        found.update((email, member_id) for email, member_id in result)
    return found


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled for one dialect, with its parameters' converters in order.

    ``params`` turns a row into exactly what SQLAlchemy would hand the driver (each value
    through its column type's bind processor: JSON serialized, timestamps and dates in the
    dialect's form). That is the Python work of a bulk write; doing it in a worker thread
    before the transaction leaves the transaction only the driver's executemany.
    """

    sql: str
    names: tuple[str, ...]
    converters: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def compile(
        cls, statement: sa.Insert | sa.Update, dialect: sa.Dialect, **kwargs: Any
    ) -> DriverStatement:
        compiled = statement.compile(dialect=dialect, **kwargs)
        if not compiled.positional or compiled.positiontup is None:
            raise NotImplementedError(f"{dialect.name}: only positional paramstyles")
        names = tuple(compiled.positiontup)
        converters = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        )
        return cls(str(compiled), names, converters)

    def params(self, rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """Each row's values, converted, in the statement's order."""
        plan = [(name, convert) for name, convert in zip(self.names, self.converters, strict=True)]
        # A value the row before had (the same object: the import's timestamp, a default
        # list) is converted once, not once per row.
        last: list[tuple[Any, Any]] = [(_UNSET, None)] * len(plan)
        out = []
        for row in rows:
            values = []
            for position, (name, convert) in enumerate(plan):
                value = row[name]
                if convert is not None:
                    seen, converted = last[position]
                    if value is not seen:
                        converted = convert(value)
                        last[position] = (value, converted)
                    value = converted
                values.append(value)
            out.append(tuple(values))
        return out


_UNSET = object()


def member_insert(dialect: sa.Dialect) -> DriverStatement:
    """Insert a member given every column but ``id``."""
    columns = [column.name for column in MEMBER.columns if column.name != "id"]
    return DriverStatement.compile(sa.insert(MEMBER), dialect, column_keys=columns)


def member_update(dialect: sa.Dialect, columns: Sequence[str]) -> DriverStatement:
    """Set ``columns`` (given as ``new_<column>``) of the member ``member_id``, and its
    ``updated_at`` to ``now`` only if one of them changes: the database compares, so the
    rows need not be read first."""
    new = {name: sa.bindparam(f"new_{name}", type_=MEMBER.c[name].type) for name in columns}
    changes = sa.or_(*(_differs(MEMBER.c[name], value) for name, value in new.items()))
    now = sa.bindparam("now", type_=MEMBER.c.updated_at.type)
    statement = (
        sa.update(MEMBER)
        .where(MEMBER.c.id == sa.bindparam("member_id", type_=MEMBER.c.id.type))
        .values({**new, "updated_at": sa.case((changes, now), else_=MEMBER.c.updated_at)})
    )
    return DriverStatement.compile(statement, dialect)


def _differs(column: sa.Column[Any], value: sa.BindParameter[Any]) -> sa.ColumnElement[bool]:
    if isinstance(column.type, sa.JSON):
        # PostgreSQL's json has no equality; the stored text is what the same serializer wrote.
        return sa.cast(column, sa.Text).is_distinct_from(sa.cast(value, sa.Text))
    return column.is_distinct_from(value)


async def execute_many(
    session: AsyncSession, *, sql: str, params: Sequence[tuple[Any, ...]]
) -> None:
    """Run prepared rows (``DriverStatement.params``) in the session's transaction."""
    connection = await session.connection()
    for batch in _batches(params, WRITE_BATCH):
        await connection.exec_driver_sql(sql, list(batch))


async def get_import(session: AsyncSession, *, import_id: int) -> MemberImport | None:
    return await session.get(MemberImport, import_id)


async def set_import_progress(
    session: AsyncSession, *, import_id: int, rows_checked: int, status: ImportStatus
) -> None:
    await session.execute(
        sa.update(MemberImport)
        .where(col(MemberImport.id) == import_id)
        .values(rows_checked=rows_checked, status=status, updated_at=utcnow())
    )


async def delete_imports_before(session: AsyncSession, *, before: datetime) -> None:
    await session.execute(sa.delete(MemberImport).where(col(MemberImport.created_at) < before))
