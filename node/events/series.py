"""Repeating events: a series and its occurrences, each an ordinary event of this node.

::

    create_series ──> event_series row + N events (series_id set), each made by
                      service.create_event: versioned, audited and shared with allies as events
    change one    ──> service.update_event / cancel_event / delete_event on that occurrence
    change_from   ──> the same change to it and to every later occurrence of its series;
                      times move by the same wall-clock change (18:00 -> 18:30 moves every
                      later 18:00 to 18:30, across DST too)
    cancel_from, delete_from ──> likewise

A change to several occurrences is planned whole before any is written, so a refusal (a later
occurrence landing in an hour a clock change skips) changes nothing.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage import utcnow
from node.accounts.models import Role
from node.audit.service import Actor, record
from node.config import Settings
from node.errors import InvalidInput, NotFound
from node.events import recurrence, repository, service
from node.events.models import (
    Event,
    EventCreate,
    EventSeries,
    EventUpdate,
    SeriesCreate,
)
from node.events.recurrence import LocalTimeProblem, TooManyOccurrences

_TIMES = ("start_date", "end_date", "timezone")


class SeriesNotFound(NotFound):
    code = "event_series_not_found"


class Scope(enum.StrEnum):
    """What a change to an occurrence applies to."""

    this = "this"
    following = "following"


async def create_series(
    session: AsyncSession, *, data: SeriesCreate, actor: Actor, settings: Settings
) -> tuple[EventSeries, list[Event]]:
    """A repeating event: its rule and every occurrence, made and shared as events."""
    zone = ZoneInfo(data.timezone)
    start, end = data.start_date.astimezone(zone), data.end_date.astimezone(zone)
    rule = recurrence.rule_for(
        data.repeat, first=start.date(), zone=zone, count=data.count, until=data.until
    )
    try:
        occurrences = recurrence.expand(rule, start=start, end=end)
    except TooManyOccurrences as exc:
        raise InvalidInput(str(exc), field=["body", "count" if data.count else "until"]) from None
    except LocalTimeProblem as exc:
        raise InvalidInput(str(exc), field=["body", "start_date"]) from None
    now = utcnow()
    series = EventSeries(rule=rule, created_by=actor.user_id, created_at=now, updated_at=now)
    session.add(series)
    await session.flush()
    fields = {name: getattr(data, name) for name in EventCreate.model_fields}
    events = []
    for occurrence in occurrences:
        one = EventCreate.model_validate(
            {**fields, "start_date": occurrence.start, "end_date": occurrence.end}
        )
        events.append(
            await service.create_event(
                session, data=one, actor=actor, settings=settings, series_id=series.id
            )
        )
    await record(
        session,
        actor=actor,
        action="event_series.create",
        object_type="event_series",
        object_id=series.id,
        detail={"rule": rule, "occurrences": len(events)},
    )
    return series, events


async def get_series(
    session: AsyncSession, *, series_id: str, role: Role | None
) -> tuple[EventSeries, list[Event]]:
    """A series and those of its occurrences the caller may see (not deleted), in order."""
    series = await repository.get_series(session, series_id=series_id)
    if series is None:
        raise SeriesNotFound(f"No event series {series_id} on this node.")
    visible = service.visible_levels(role)
    events = await repository.series_events(session, series_id=series_id)
    return series, [event for event in events if event.visibility in visible]


async def this_and_following(session: AsyncSession, *, event: Event) -> list[Event]:
    """``event`` and the later occurrences of its series (just ``event`` if it has none)."""
    if event.series_id is None:
        return [event]
    found = await repository.series_events(
        session, series_id=event.series_id, starting_at=event.start_date
    )
    return [event, *(other for other in found if other.id != event.id)]


async def change_from(
    session: AsyncSession,
    *,
    event_id: str,
    data: EventUpdate,
    scope: Scope,
    actor: Actor,
    settings: Settings,
) -> list[Event]:
    """Apply ``data`` to an occurrence, and with ``following`` to every later one too: the
    fields it changes on this one are set on the others, and their times move by the same
    wall-clock change. Returns the events changed (or left as they were)."""
    event = await service.writable_event(session, event_id=event_id, settings=settings)
    if scope is Scope.this or event.series_id is None:
        return [await service.update_event(session, event_id=event_id, data=data,
                                           actor=actor, settings=settings)]  # fmt: skip
    later = (await this_and_following(session, event=event))[1:]
    sent = data.model_dump(exclude_unset=True)
    old_zone = ZoneInfo(event.timezone)
    old_start, old_end = (recurrence.wall_clock(event.start_date, old_zone),
                          recurrence.wall_clock(event.end_date, old_zone))  # fmt: skip
    before = {name: getattr(event, name) for name in sent}
    # Every later occurrence's change is worked out before anything is written: a refusal
    # (one landing in an hour the clocks skip) then changes nothing.
    plans = [(other, _following_change(other, data=data, sent=sent, old_start=old_start,
              old_end=old_end, old_zone=old_zone)) for other in later]  # fmt: skip
    changed = [await service.update_event(session, event_id=event_id, data=data,
                                          actor=actor, settings=settings)]  # fmt: skip
    moved = {name for name in sent if getattr(event, name) != before[name]}
    for other, plan in plans:
        update = {name: value for name, value in plan.items() if name in moved or (
            name in ("start_date", "end_date") and moved & set(_TIMES))}  # fmt: skip
        if update:
            changed.append(await service.update_event(
                session, event_id=other.id, data=EventUpdate.model_validate(update),
                actor=actor, settings=settings))  # fmt: skip
        else:
            changed.append(other)
    return changed


def _following_change(
    other: Event, *, data: EventUpdate, sent: dict[str, Any], old_start: datetime,
    old_end: datetime, old_zone: ZoneInfo,
) -> dict[str, Any]:  # fmt: skip
    """What a later occurrence becomes: the fields sent, and its times moved as this one's."""
    plan = {name: value for name, value in sent.items() if name not in ("start_date", "end_date")}
    new_zone = ZoneInfo(data.timezone) if data.timezone else old_zone
    wall = recurrence.wall_clock
    new_start = wall(data.start_date, new_zone) if data.start_date else old_start
    new_end = wall(data.end_date, new_zone) if data.end_date else old_end
    own_zone = ZoneInfo(other.timezone)
    try:
        start = _moved(other.start_date, by=new_start - old_start, zone=own_zone, to=new_zone)
        end = _moved(other.end_date, by=new_end - old_end, zone=own_zone, to=new_zone)
    except LocalTimeProblem as exc:
        raise InvalidInput(f"A later occurrence cannot move: {exc}",
                           field=["body", "start_date"]) from None  # fmt: skip
    if end < start:
        raise InvalidInput("end_date must not be before start_date.", field=["body", "end_date"])
    plan.update(start_date=start, end_date=end)
    return plan


def _moved(moment: datetime, *, by: timedelta, zone: ZoneInfo, to: ZoneInfo) -> datetime:
    if not by and zone == to:
        return moment
    return recurrence.shifted(moment, by=by, zone=zone, to=to)


async def cancel_from(
    session: AsyncSession,
    *,
    event_id: str,
    reason: str,
    scope: Scope,
    actor: Actor,
    settings: Settings,
) -> list[Event]:
    """Cancel an occurrence (and with ``following`` every later one), keeping the reason."""
    event = await service.writable_event(session, event_id=event_id, settings=settings)
    targets = [event] if scope is Scope.this else await this_and_following(session, event=event)
    return [
        await service.cancel_event(
            session, event_id=target.id, reason=reason, actor=actor, settings=settings
        )
        for target in targets
    ]


async def delete_from(
    session: AsyncSession, *, event_id: str, scope: Scope, actor: Actor, settings: Settings
) -> list[Event]:
    """Delete an occurrence (and with ``following`` every later one): tombstones all."""
    event = await service.writable_event(session, event_id=event_id, settings=settings)
    targets = [event] if scope is Scope.this else await this_and_following(session, event=event)
    return [
        await service.delete_event(session, event_id=target.id, actor=actor, settings=settings)
        for target in targets
    ]
