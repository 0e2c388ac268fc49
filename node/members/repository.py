"""Every query of the members domain."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from node.members.models import Member


@dataclass(frozen=True)
class MemberFilters:
    q: str | None = None
    ward: int | None = None
    precinct: str | None = None
    tag: str | None = None
    language: str | None = None
    sms_opt_in: bool | None = None
    updated_since: datetime | None = None


def json_list_contains(column: Any, value: str, *, dialect: str) -> sa.ColumnElement[bool]:
    """``value`` is one of the strings in the JSON list ``column``.

    The one dialect-aware expression of this domain: PostgreSQL compares as ``jsonb`` (so an
    index on the cast can serve it later); SQLite unnests the list with ``json_each``.
    """
    if dialect == "postgresql":
        return sa.cast(column, JSONB).contains([value])
    items = sa.func.json_each(column).table_valued("value").alias("list_item")
    return sa.exists(sa.select(1).select_from(items).where(items.c.value == value))


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
            query = query.where(
                sa.or_(*(sa.func.coalesce(c, "").ilike(pattern, escape="\\") for c in searched))
            )
    if filters.ward is not None:
        query = query.where(col(Member.ward) == filters.ward)
    if filters.precinct is not None:
        query = query.where(col(Member.precinct) == filters.precinct)
    if filters.tag is not None:
        query = query.where(json_list_contains(col(Member.tags), filters.tag, dialect=dialect))
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


async def by_emails(session: AsyncSession, *, emails: Collection[str]) -> dict[str, Member]:
    if not emails:
        return {}
    result = await session.execute(sa.select(Member).where(col(Member.email).in_(list(emails))))
    return {m.email: m for m in result.scalars() if m.email is not None}


async def all_members(session: AsyncSession) -> list[Member]:
    result = await session.execute(sa.select(Member).order_by(col(Member.id)))
    return list(result.scalars())
