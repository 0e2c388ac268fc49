"""Events: the rules. Who sees what, who may change what, and versions.

An event's life::

    create (version 1) ──> update / cancel (version + 1 each) ──> delete (tombstone, version + 1)

A tombstone keeps its row (id, object_id, origin, version) so that, once events federate, a late
``Update`` from an ally cannot resurrect it; it answers 410 and refuses every change (409).
Only the origin node writes an event: replicas of allies' events are read-only here (409).

Every change goes through ``_touch``, the one place that bumps ``version`` and ``updated_at``;
each write function returns the event after flushing, so a later federation step can enqueue
the outgoing activity in the same transaction.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage import utcnow
from node.accounts.models import Role
from node.audit.service import Actor, record
from node.config import Settings
from node.errors import Conflict, InvalidInput, NodeError, NotFound
from node.events import repository, sharing
from node.events.models import (
    END_BEFORE_START,
    Event,
    EventCreate,
    EventStatus,
    EventUpdate,
    Visibility,
)
from node.events.repository import EventFilters
from node.pagination import paginate
from node.rsvps import service as rsvps
from node.rsvps.messages import Snapshot
from node.webhooks import triggers as webhooks


class EventNotFound(NotFound):
    code = "event_not_found"


class EventDeleted(NodeError):
    status_code = 410
    code = "event_deleted"


class EventDeletedConflict(Conflict):
    code = "event_deleted"


class EventNotLocal(Conflict):
    code = "event_not_local"


def visible_levels(role: Role | None) -> tuple[Visibility, ...]:
    """The visibilities a caller may see: the one rule behind list, get and the ICS feed.

    Anonymous callers see public events; members also see coalition events; organizers and
    admins see everything, private included.
    """
    if role is None:
        return (Visibility.public,)
    if role.includes(Role.organizer):
        return (Visibility.public, Visibility.coalition, Visibility.private)
    return (Visibility.public, Visibility.coalition)


def object_id_for(settings: Settings, event_id: str) -> str:
    return f"{settings.public_url}/events/{event_id}"


async def get_event(session: AsyncSession, *, event_id: str, role: Role | None) -> Event:
    """The event if the caller may see it; a hidden event is reported exactly like a missing
    one, so its existence does not leak."""
    event = await repository.get_event(session, event_id=event_id)
    if event is None or event.visibility not in visible_levels(role):
        raise EventNotFound(f"No event {event_id} on this node.")
    if event.is_deleted:
        raise EventDeleted(f"Event {event_id} was deleted.")
    return event


async def list_events(
    session: AsyncSession,
    *,
    role: Role | None,
    filters: EventFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[Event], str | None]:
    query, order_by = repository.list_query(visible=visible_levels(role), filters=filters)
    return await paginate(session, query, order_by=order_by, limit=limit, cursor=cursor)


async def calendar_events(session: AsyncSession, *, settings: Settings) -> list[Event]:
    """What the public ICS feed shows: this node's own public events that are not over."""
    return await repository.upcoming_events(
        session, origin=settings.public_url, visible=visible_levels(None), now=utcnow()
    )


async def create_event(
    session: AsyncSession,
    *,
    data: EventCreate,
    actor: Actor,
    settings: Settings,
    series_id: str | None = None,
) -> Event:
    """A new event of this node, shared with allies if it is public or coalition; an
    occurrence of a repeating event names its ``series_id`` (see ``node.events.series``)."""
    now = utcnow()
    event = Event(
        **_stored_values(data.model_dump()),
        origin=settings.public_url,
        version=1,
        created_at=now,
        updated_at=now,
        created_by=actor.user_id,
        series_id=series_id,
    )
    if event.status is EventStatus.cancelled:
        event.cancellation_reason = ""
    event.object_id = object_id_for(settings, event.id)
    session.add(event)
    await session.flush()
    await repository.replace_event_wards(session, event_id=event.id, wards=event.wards)
    await session.flush()
    await sharing.share_change(session, event=event, was_shared=False, settings=settings)
    await webhooks.notify(session, event_type="event.created", object=event)
    await record(
        session,
        actor=actor,
        action="event.create",
        object_type="event",
        object_id=event.id,
        detail={"visibility": event.visibility.value, "version": event.version},
    )
    return event


async def update_event(
    session: AsyncSession,
    *,
    event_id: str,
    data: EventUpdate,
    actor: Actor,
    settings: Settings,
) -> Event:
    """Apply the fields sent. A request that changes nothing does not bump the version: allies
    would otherwise receive updates that carry no news."""
    event = await writable_event(session, event_id=event_id, settings=settings)
    before = Snapshot.of(event)
    changes = _stored_values(data.model_dump(exclude_unset=True))
    start = changes.get("start_date", event.start_date)
    end = changes.get("end_date", event.end_date)
    if end < start:
        raise InvalidInput(
            END_BEFORE_START,
            field=["body", "end_date" if "end_date" in changes else "start_date"],
        )
    changed = [name for name, value in changes.items() if getattr(event, name) != value]
    if not changed:
        return event
    was_shared = sharing.is_shared(event)
    was_cancelled = event.status is EventStatus.cancelled
    for name in changed:
        setattr(event, name, changes[name])
    if event.status is not EventStatus.cancelled:
        event.cancellation_reason = None  # on again: the old reason no longer applies
    elif not was_cancelled:
        event.cancellation_reason = ""
    if "wards" in changed:
        await repository.replace_event_wards(session, event_id=event.id, wards=event.wards)
    await _touch(session, event, was_shared=was_shared, settings=settings)
    await rsvps.tell_attendees(session, event=event, before=before, settings=settings)
    change = webhooks.event_change(event, new=False, was_cancelled=was_cancelled)
    await webhooks.notify(session, event_type=change, object=event)
    await record(
        session,
        actor=actor,
        action="event.update",
        object_type="event",
        object_id=event.id,
        detail={"fields": sorted(changed), "version": event.version},
    )
    return event


async def cancel_event(
    session: AsyncSession,
    *,
    event_id: str,
    actor: Actor,
    settings: Settings,
    reason: str = "",
) -> Event:
    """Mark the event cancelled, keeping the ``reason`` given; it stays listed (and in the ICS
    feed) so that people who planned to come learn it is off. Cancelling a cancelled event
    changes nothing."""
    event = await writable_event(session, event_id=event_id, settings=settings)
    if event.status == EventStatus.cancelled:
        return event
    before = Snapshot.of(event)
    event.status = EventStatus.cancelled
    event.cancellation_reason = reason.strip()
    await _touch(session, event, was_shared=sharing.is_shared(event), settings=settings)
    await rsvps.tell_attendees(session, event=event, before=before, settings=settings)
    await webhooks.notify(session, event_type="event.cancelled", object=event)
    await record(
        session,
        actor=actor,
        action="event.cancel",
        object_type="event",
        object_id=event.id,
        detail={"version": event.version, "with_reason": bool(event.cancellation_reason)},
    )
    return event


async def delete_event(
    session: AsyncSession, *, event_id: str, actor: Actor, settings: Settings
) -> Event:
    """Leave a tombstone: the row stays with its ids and a higher version, marked deleted."""
    event = await writable_event(session, event_id=event_id, settings=settings)
    was_shared = sharing.is_shared(event)
    before = Snapshot.of(event)
    event.deleted_at = utcnow()
    await _touch(session, event, was_shared=was_shared, settings=settings)
    await rsvps.tell_attendees(session, event=event, before=before, settings=settings, deleted=True)
    await record(
        session,
        actor=actor,
        action="event.delete",
        object_type="event",
        object_id=event.id,
        detail={"version": event.version},
    )
    return event


async def writable_event(session: AsyncSession, *, event_id: str, settings: Settings) -> Event:
    """One of this node's events, not deleted, locked for a change (the series and the pages
    read the event they are about to change with it)."""
    # Writers are organizers and admins, who see every visibility: no hiding needed here.
    # Locked: two concurrent edits must not both publish the same next version to allies.
    event = await session.get(Event, event_id, with_for_update=True)
    if event is None:
        raise EventNotFound(f"No event {event_id} on this node.")
    if event.origin != settings.public_url:
        raise EventNotLocal(
            f"Event {event_id} belongs to {event.origin}; only that node can change it."
        )
    if event.is_deleted:
        raise EventDeletedConflict(f"Event {event_id} was deleted; it cannot be changed.")
    return event


async def _touch(
    session: AsyncSession, event: Event, *, was_shared: bool, settings: Settings
) -> None:
    """The one place a change is stamped (a new version and modification time) and told to
    the allies who hold, or should now hold, the event."""
    event.version += 1
    event.updated_at = utcnow()
    session.add(event)
    await session.flush()
    await sharing.share_change(session, event=event, was_shared=was_shared, settings=settings)


def _stored_values(values: dict[str, Any]) -> dict[str, Any]:
    """API values as the table holds them: times in UTC, URLs as text, the location as JSON."""
    stored = dict(values)
    for name in ("start_date", "end_date"):
        if stored.get(name) is not None:
            # The row is read back in UTC; the answer to this request should say the same.
            stored[name] = stored[name].astimezone(UTC)
    if stored.get("online_url") is not None:
        stored["online_url"] = str(stored["online_url"])
    if stored.get("location") is not None:
        stored["location"] = _compact(stored["location"])
    return stored


def _compact(location: dict[str, Any]) -> dict[str, Any]:
    # Unset parts are left out, so an unchanged location compares equal to the stored one.
    return {
        key: value
        for key, value in location.items()
        if value is not None and value != [] and value != ""
    }
