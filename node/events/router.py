"""HTTP routes of the events domain."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession

from node.config import Settings
from node.deps import MaybeUser, OrganizerUser, SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES, ErrorResponse
from node.events import ics, recurrence, series, service, sharing
from node.events.models import (
    Event,
    EventCancel,
    EventCreate,
    EventPublic,
    EventSeries,
    EventStatus,
    EventType,
    EventUpdate,
    SeriesCreate,
    SeriesPublic,
    Visibility,
)
from node.events.repository import EventFilters
from node.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, next_link
from node.rsvps import service as rsvps

router = APIRouter(prefix="/api/v1/events", tags=["events"], responses=ERROR_RESPONSES)
feeds = APIRouter(tags=["feeds"], responses=ERROR_RESPONSES)

Responses = dict[int | str, dict[str, Any]]

NOT_FOUND: Responses = {
    404: {"model": ErrorResponse, "description": "No such event, or not visible."}
}
GONE: Responses = {
    410: {"model": ErrorResponse, "description": "The event was deleted (`event_deleted`)."}
}
CONFLICT: Responses = {
    409: {
        "model": ErrorResponse,
        "description": "The event was deleted (`event_deleted`) or belongs to another node "
        "(`event_not_local`).",
    }
}


@router.post(
    "",
    response_model=EventPublic,
    status_code=201,
)
async def create_event(
    body: EventCreate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> EventPublic:
    """Create an event owned by this node (organizers and admins).

    Times need an offset (`2026-05-01T18:00:00-05:00` or `...Z`); naive times are refused.
    `visibility` defaults to `coalition`, so nothing is public until someone says so.
    """
    event = await service.create_event(session, data=body, actor=principal.actor, settings=settings)
    response.headers["Location"] = f"{router.prefix}/{event.id}"
    return await _public(session, event, settings=settings)


@router.post("/series", response_model=SeriesPublic, status_code=201)
async def create_series(
    body: SeriesCreate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> SeriesPublic:
    """Create a repeating event (organizers and admins): the fields of its first occurrence,
    `repeat` (`weekly`, `every_two_weeks`, or `monthly_weekday`: the same weekday of each
    month, such as the 2nd Tuesday), and `count` (2 to 104) or `until` (a last date,
    included, in the event's time zone).

    Every occurrence is an ordinary event, shared with allies like any other, with the
    series' id in `series_id`. Times repeat in the event's time zone: 18:00 stays 18:00
    across daylight saving changes. At most 104 occurrences.
    """
    made, events = await series.create_series(
        session, data=body, actor=principal.actor, settings=settings
    )
    response.headers["Location"] = f"{router.prefix}/series/{made.id}"
    return await _series_public(session, settings, made, events)


@router.get("/series/{series_id}", response_model=SeriesPublic, responses={**NOT_FOUND})
async def get_series(
    series_id: str, principal: MaybeUser, session: SessionDep, settings: SettingsDep
) -> SeriesPublic:
    """A repeating event and those of its occurrences the caller may see, in order."""
    found, events = await series.get_series(
        session, series_id=series_id, role=principal.role if principal else None
    )
    return await _series_public(session, settings, found, events)


async def _series_public(
    session: AsyncSession, settings: Settings, made: EventSeries, events: list[Event]
) -> SeriesPublic:
    known = await sharing.origins(session, settings=settings)
    first = events[0].start_date.astimezone(ZoneInfo(events[0].timezone)) if events else None
    return SeriesPublic(
        id=made.id,
        rule=made.rule,
        summary=recurrence.summary(made.rule, first=first) if first else "",
        events=[EventPublic.from_event(event, origins=known) for event in events],
    )


@router.get("", response_model=Page[EventPublic])
async def list_events(
    request: Request,
    principal: MaybeUser,
    session: SessionDep,
    settings: SettingsDep,
    start_after: Annotated[
        AwareDatetime | None, Query(description="Only events starting at or after this time.")
    ] = None,
    start_before: Annotated[
        AwareDatetime | None, Query(description="Only events starting before this time.")
    ] = None,
    event_type: Annotated[
        list[EventType] | None, Query(description="Only these types; repeat for several.")
    ] = None,
    ward: Annotated[int | None, Query(ge=1, le=50, description="Only events in this ward.")] = None,
    status: Annotated[EventStatus | None, Query()] = None,
    visibility: Annotated[Visibility | None, Query()] = None,
    updated_since: Annotated[
        AwareDatetime | None,
        Query(description="Only events modified at or after this time; changes the order."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page[EventPublic]:
    """Events the caller may see, not deleted: public ones for anyone, coalition ones for
    members, all for organizers and admins.

    Ordered by `start_date`, then `id`. With `updated_since` the order is by modification time
    (`modified_date`, then `id`) instead, so an incremental sync can page through changes
    and keep the last `modified_date` it saw for its next run. Follow `next` to the end.
    """
    filters = EventFilters(
        start_after=start_after,
        start_before=start_before,
        event_types=tuple(event_type or ()),
        ward=ward,
        status=status,
        visibility=visibility,
        updated_since=updated_since,
    )
    events, next_cursor = await service.list_events(
        session,
        role=principal.role if principal else None,
        filters=filters,
        limit=limit,
        cursor=cursor,
    )
    known = await sharing.origins(session, settings=settings)
    going = await _going(session, events, settings=settings)
    return Page[EventPublic](
        items=[
            EventPublic.from_event(event, origins=known, rsvp_count=going.get(event.id))
            for event in events
        ],
        next_cursor=next_cursor,
        next=next_link(request, next_cursor),
    )


@feeds.get(
    "/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed."}},
)
async def calendar_feed(session: SessionDep, settings: SettingsDep) -> Response:
    """This node's public events that are not over yet, for calendar apps to subscribe to.

    Cancelled events stay in the feed with `STATUS:CANCELLED` so subscribers see the news.
    """
    events = await service.calendar_events(session, settings=settings)
    body = ics.render_calendar(events, calendar_name=settings.name)
    return Response(content=body, media_type=ics.MEDIA_TYPE)


@router.get("/{event_id}", response_model=EventPublic, responses={**NOT_FOUND, **GONE})
async def get_event(
    event_id: str, principal: MaybeUser, session: SessionDep, settings: SettingsDep
) -> EventPublic:
    """One event, if the caller may see it. A hidden event answers 404, like a missing one."""
    event = await service.get_event(
        session, event_id=event_id, role=principal.role if principal else None
    )
    return await _public(session, event, settings=settings)


async def _public(session: AsyncSession, event: Event, *, settings: Settings) -> EventPublic:
    going = await _going(session, [event], settings=settings)
    known = await sharing.origins(session, settings=settings)
    return EventPublic.from_event(event, origins=known, rsvp_count=going.get(event.id))


async def _going(
    session: AsyncSession, events: list[Event], *, settings: Settings
) -> dict[str, int]:
    """How many are going to each of this node's own ``events`` (0 when nobody yet)."""
    own = [event.id for event in events if event.origin == settings.public_url]
    counts = await rsvps.counts_of(session, event_ids=own)
    return {event_id: counts[event_id].going if event_id in counts else 0 for event_id in own}


@router.patch("/{event_id}", response_model=EventPublic, responses={**NOT_FOUND, **CONFLICT})
async def update_event(
    event_id: str,
    body: EventUpdate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> EventPublic:
    """Change the fields sent (organizers and admins); each change bumps `version`."""
    event = await service.update_event(
        session, event_id=event_id, data=body, actor=principal.actor, settings=settings
    )
    return await _public(session, event, settings=settings)


@router.post("/{event_id}/cancel", response_model=EventPublic, responses={**NOT_FOUND, **CONFLICT})
async def cancel_event(
    event_id: str,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    body: EventCancel | None = None,
) -> EventPublic:
    """Mark the event cancelled (organizers and admins). It stays listed, marked cancelled,
    with the `reason` if one is sent (the body is optional)."""
    event = await service.cancel_event(
        session,
        event_id=event_id,
        actor=principal.actor,
        settings=settings,
        reason=body.reason if body else "",
    )
    return await _public(session, event, settings=settings)


@router.delete(
    "/{event_id}",
    status_code=204,
    responses={**NOT_FOUND, **CONFLICT},
)
async def delete_event(
    event_id: str, principal: OrganizerUser, session: SessionDep, settings: SettingsDep
) -> None:
    """Delete the event (organizers and admins). It then answers 410 and leaves every list."""
    await service.delete_event(session, event_id=event_id, actor=principal.actor, settings=settings)
