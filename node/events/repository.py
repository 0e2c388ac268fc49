"""Every query of the events domain."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import col

from node.events.models import (
    Event,
    EventSeries,
    EventStatus,
    EventType,
    EventWard,
    Visibility,
)


@dataclass(frozen=True)
class EventFilters:
    """The list filters of ``GET /api/v1/events``; ``None`` or empty means "any"."""

    start_after: datetime | None = None
    start_before: datetime | None = None
    event_types: Sequence[EventType] = field(default_factory=tuple)
    ward: int | None = None
    status: EventStatus | None = None
    visibility: Visibility | None = None
    updated_since: datetime | None = None


async def get_event(session: AsyncSession, *, event_id: str) -> Event | None:
    return await session.get(Event, event_id)


def list_query(
    *, visible: Collection[Visibility], filters: EventFilters
) -> tuple[Select[Any], list[InstrumentedAttribute[Any]]]:
    """The query of a list page and its ordering for ``paginate``.

    Ordered by (start_date, id) for a calendar; by (updated_at, id) when ``updated_since`` is
    given, so that a client syncing incrementally can resume from its last cursor.
    """
    query = select(Event).where(
        col(Event.deleted_at).is_(None), col(Event.visibility).in_(list(visible))
    )
    if filters.start_after is not None:
        query = query.where(col(Event.start_date) >= filters.start_after)
    if filters.start_before is not None:
        query = query.where(col(Event.start_date) < filters.start_before)
    if filters.event_types:
        query = query.where(col(Event.event_type).in_(list(filters.event_types)))
    if filters.ward is not None:
        in_ward = select(col(EventWard.event_id)).where(col(EventWard.ward) == filters.ward)
        query = query.where(col(Event.id).in_(in_ward))
    if filters.status is not None:
        query = query.where(col(Event.status) == filters.status)
    if filters.visibility is not None:
        query = query.where(col(Event.visibility) == filters.visibility)
    if filters.updated_since is not None:
        query = query.where(col(Event.updated_at) >= filters.updated_since)
        return query, _ordering(Event.updated_at, Event.id)
    return query, _ordering(Event.start_date, Event.id)


def _ordering(*columns: Any) -> list[InstrumentedAttribute[Any]]:
    # SQLModel types class attributes as their Python values; at runtime they are columns.
    return [cast("InstrumentedAttribute[Any]", column) for column in columns]


async def upcoming_events(
    session: AsyncSession, *, origin: str, visible: Collection[Visibility], now: datetime
) -> list[Event]:
    """Events of ``origin`` not deleted and not over yet, cancelled ones included."""
    result = await session.execute(
        select(Event)
        .where(
            col(Event.origin) == origin,
            col(Event.deleted_at).is_(None),
            col(Event.visibility).in_(list(visible)),
            col(Event.end_date) >= now,
        )
        .order_by(col(Event.start_date), col(Event.id))
    )
    return list(result.scalars())


async def events_in_window(
    session: AsyncSession,
    *,
    visible: Collection[Visibility],
    ends_after: datetime,
    starts_before: datetime | None = None,
) -> list[Event]:
    """Events of every origin (ours and allies' replicas), not deleted, that are not over at
    ``ends_after`` and start before ``starts_before``: the coalition calendar's window."""
    query = select(Event).where(
        col(Event.deleted_at).is_(None),
        col(Event.visibility).in_(list(visible)),
        col(Event.end_date) >= ends_after,
    )
    if starts_before is not None:
        query = query.where(col(Event.start_date) < starts_before)
    result = await session.execute(query.order_by(col(Event.start_date), col(Event.id)))
    return list(result.scalars())


async def replace_event_wards(
    session: AsyncSession, *, event_id: str, wards: Collection[int]
) -> None:
    """Rewrite the ward index of an event; the event row must be flushed already."""
    await session.execute(delete(EventWard).where(col(EventWard.event_id) == event_id))
    session.add_all(EventWard(event_id=event_id, ward=ward) for ward in wards)


async def count_events(session: AsyncSession) -> int:
    """How many events this node holds, deleted ones included."""
    return int(await session.scalar(select(func.count()).select_from(Event)) or 0)


async def get_by_object_id(session: AsyncSession, *, object_id: str) -> Event | None:
    """An event by its global id (ours or an ally's replica)."""
    result = await session.execute(select(Event).where(col(Event.object_id) == object_id))
    return result.scalar_one_or_none()


async def shared_local_events(session: AsyncSession, *, origin: str) -> list[Event]:
    """This node's events that allies should hold: not deleted, public or coalition."""
    result = await session.execute(
        select(Event)
        .where(col(Event.origin) == origin)
        .where(col(Event.deleted_at).is_(None))
        .where(col(Event.visibility).in_([Visibility.public, Visibility.coalition]))
        .order_by(col(Event.created_at), col(Event.id))
    )
    return list(result.scalars())


async def get_series(session: AsyncSession, *, series_id: str) -> EventSeries | None:
    return await session.get(EventSeries, series_id)


async def series_events(
    session: AsyncSession, *, series_id: str, starting_at: datetime | None = None
) -> list[Event]:
    """The occurrences of a series not deleted, in order; from ``starting_at`` on if given."""
    query = select(Event).where(col(Event.series_id) == series_id, col(Event.deleted_at).is_(None))
    if starting_at is not None:
        query = query.where(col(Event.start_date) >= starting_at)
    result = await session.execute(query.order_by(col(Event.start_date), col(Event.id)))
    return list(result.scalars())


async def local_events(
    session: AsyncSession, *, origin: str, ends_after: datetime | None = None,
    ends_before: datetime | None = None, limit: int,
) -> list[Event]:  # fmt: skip
    """This node's own events not deleted, every visibility: upcoming ones (not over at
    ``ends_after``) soonest first, or past ones (over by ``ends_before``) latest first."""
    query = select(Event).where(col(Event.origin) == origin, col(Event.deleted_at).is_(None))
    if ends_after is not None:
        query = query.where(col(Event.end_date) >= ends_after).order_by(
            col(Event.start_date), col(Event.id)
        )
    if ends_before is not None:
        query = query.where(col(Event.end_date) < ends_before).order_by(
            col(Event.start_date).desc(), col(Event.id)
        )
    result = await session.execute(query.limit(limit))
    return list(result.scalars())


async def series_rules(
    session: AsyncSession, *, series_ids: Collection[str]
) -> dict[str, EventSeries]:
    """The series named, by id (one query, for a list page)."""
    if not series_ids:
        return {}
    result = await session.execute(
        select(EventSeries).where(col(EventSeries.id).in_(list(series_ids)))
    )
    return {series.id: series for series in result.scalars()}
