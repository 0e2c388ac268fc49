"""The coalition calendar: this node's and its allies' dated work in one list, and its feed.

Three sources make one calendar: events (ours and allies' replicas), forum plans (an ally's
forum whose event did not reach us, when the alliance shares forums but not events) and the
shifts of canvass calls. Each entry is a :class:`node.events.ics.CalendarItem` (so the feed
and the page show the same thing) plus what a page needs: its kind, origin and a link.

Who sees what follows the API of each domain: event and forum visibility by role
(``events.service.visible_levels``), canvass calls as ``canvass.service.list_calls`` shows
them (members: this node's and the relayed ones; organizers: all). On top of that:

- an ally's item is shown only while its alliance covers that kind (``events``, ``forums``,
  ``canvass``); replicas arrive only under those scopes, this keeps it true if scopes change;
- the **feed** (``/coalition/calendar.ics``) never carries private items, and leaves out
  former allies' items: nothing updates them any more (a cancellation would never reach the
  subscriber's phone), and a calendar app cannot show the "former ally" mark the page shows.

The feed is not anonymous (it carries coalition-visible items), and calendar apps cannot log
in, so each user gets her own feed address, ``/coalition/calendar/<feed secret>.ics``: the
secret is a credential of its own (``accounts.service.make_feed_secret``) that reads her feed,
with what her role may see, and opens nothing else; she replaces or deletes it on her feed
page (``/calendar/feed``) or at ``/api/v1/me/calendar-feed``. The feed takes nothing else
either: a bearer token, a session cookie or an API token in the address are all refused, so
that an address that
leaks (calendar apps sync it, people paste it) never carries more than the calendar. The
secret is a path segment, not a query parameter, and the request log redacts it
(``node.ops.logging``). The old address, ``/coalition/calendar.ics?token=<API token>``,
answers 401, says where the new one is made, and revokes a live API token that arrives there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from federation.peers import list_peers
from federation.storage import utcnow
from node.accounts import service as accounts
from node.accounts.models import CalendarFeed, CalendarFeedCreated, Role
from node.canvass import service as canvass
from node.canvass.models import CallStatus, CanvassCall, CanvassShift, ShiftStatus
from node.config import Settings
from node.deps import CurrentUser, SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES, NotAuthenticated, NotFound, error_response
from node.events import ics, repository, sharing
from node.events.models import (
    DEFAULT_TIMEZONE,
    Event,
    EventStatus,
    EventType,
    Origin,
    Visibility,
)
from node.events.service import visible_levels
from node.forums import service as forums
from node.forums.models import ForumPlan

SHIFT_TYPE = "CANVASS_SHIFT"
TYPES = (*[t.value for t in EventType], SHIFT_TYPE)
Kind = Literal["event", "forum", "shift"]
_SCOPE = {"event": "events", "forum": "forums", "shift": "canvass"}


@dataclass(frozen=True)
class Entry:
    """One item of the coalition calendar."""

    item: ics.CalendarItem
    kind: Kind
    type: str  # an EventType value, or SHIFT_TYPE
    origin: str
    origin_name: str
    relation: str  # this_node | ally | former_ally
    wards: list[int]
    link: str | None
    visibility: Visibility | None = None
    capacity: int | None = None
    committed: int | None = None
    timezone: str = DEFAULT_TIMEZONE  # the event's own; forums and shifts are said in Chicago


async def gather(
    session: AsyncSession,
    *,
    role: Role,
    settings: Settings,
    ends_after: datetime,
    starts_before: datetime | None = None,
    for_feed: bool = False,
) -> list[Entry]:
    """Every entry the caller may see that is not over at ``ends_after``, by start time."""
    known = await sharing.origins(session, settings=settings)
    scopes = {peer.node_id: peer.scopes for peer in await list_peers(session)}
    levels = visible_levels(role)
    if for_feed:
        levels = tuple(level for level in levels if level is not Visibility.private)
    events = await repository.events_in_window(
        session, visible=levels, ends_after=ends_after, starts_before=starts_before
    )
    plans = [p for p in await forums.list_forums(session, role=role) if p.visibility in levels]
    forum_of_event = {p.event_object_id: p for p in plans if p.event_object_id}
    seen = {event.object_id for event in events}
    entries = [_event_entry(event, known, forum_of_event.get(event.object_id)) for event in events]
    entries += [
        _forum_entry(plan, known)
        for plan in plans
        if plan.event_id is None
        and plan.event_object_id not in seen
        and _within(plan.start_date, plan.end_date, ends_after, starts_before)
    ]
    for call, shifts in await canvass.list_calls(session, role=role, settings=settings):
        entries += [
            _shift_entry(call, shift, known)
            for shift in shifts
            if _within(shift.start_date, shift.end_date, ends_after, starts_before)
        ]

    def allowed(entry: Entry) -> bool:
        if entry.relation == "this_node":
            return True
        if for_feed and entry.relation != "ally":
            return False
        return _SCOPE[entry.kind] in scopes.get(entry.origin, [])

    kept = [entry for entry in entries if allowed(entry)]
    return sorted(kept, key=lambda entry: (entry.item.start, entry.item.uid))


def _within(
    start: datetime, end: datetime, ends_after: datetime, starts_before: datetime | None
) -> bool:
    return end >= ends_after and (starts_before is None or start < starts_before)


def _origin(origin: str, known: dict[str, Origin]) -> tuple[str, str]:
    found = known.get(origin)
    return (found.name, found.relation) if found else (origin, "former_ally")


def _from_line(name: str, relation: str) -> str:
    return f"From {name}" + (" (this group)" if relation == "this_node" else "") + "."


def _event_entry(event: Event, known: dict[str, Origin], plan: ForumPlan | None) -> Entry:
    name, relation = _origin(event.origin, known)
    base = ics.item_of(event)
    description = "\n\n".join(p for p in (event.description, _from_line(name, relation)) if p)
    return Entry(
        item=replace(base, description=description),
        kind="event",
        type=event.event_type.value,
        origin=event.origin,
        origin_name=name,
        relation=relation,
        wards=list(event.wards),
        # A forum's event opens the forum's page (its agenda, roles); any other its own page.
        link=f"/forums/{plan.id}" if plan else f"/events/{event.id}",
        visibility=event.visibility,
        capacity=event.capacity,
        timezone=event.timezone,
    )


def _forum_entry(plan: ForumPlan, known: dict[str, Origin]) -> Entry:
    name, relation = _origin(plan.origin, known)
    notes = f"Accessibility: {plan.accessibility_notes}" if plan.accessibility_notes else ""
    languages = f"Languages: {', '.join(plan.languages)}" if plan.languages else ""
    parts = (plan.description, notes, languages, _from_line(name, relation))
    return Entry(
        item=ics.CalendarItem(
            uid=plan.object_id,
            version=plan.version,
            created=plan.created_at,
            modified=plan.updated_at,
            start=plan.start_date,
            end=plan.end_date,
            summary=plan.title,
            status=plan.status,
            categories=[EventType.FORUM.value],
            description="\n\n".join(p for p in parts if p),
            location=plan.location,
            url=plan.online_url,
        ),
        kind="forum",
        type=EventType.FORUM.value,
        origin=plan.origin,
        origin_name=name,
        relation=relation,
        wards=[],
        link=f"/forums/{plan.id}",
        visibility=plan.visibility,
        capacity=plan.capacity,
    )


def _shift_entry(call: CanvassCall, shift: CanvassShift, known: dict[str, Origin]) -> Entry:
    name, relation = _origin(call.origin, known)
    cancelled = call.status is CallStatus.cancelled or shift.status is ShiftStatus.cancelled
    places = f"{shift.remaining} of {shift.capacity} places left."
    turf = f"Turf: {call.turf_description}" if call.turf_description else ""
    parts = (f"Canvass for {call.campaign_name}. {places}", turf, _from_line(name, relation))
    return Entry(
        item=ics.CalendarItem(
            uid=shift.object_id,
            version=call.version,
            created=call.created_at,
            modified=call.updated_at,
            start=shift.start_date,
            end=shift.end_date,
            summary=f"Canvass: {call.title}",
            status=EventStatus.cancelled if cancelled else EventStatus.confirmed,
            categories=[EventType.CANVASS.value, SHIFT_TYPE],
            description="\n\n".join(p for p in parts if p),
            location=call.staging_location,
        ),
        kind="shift",
        type=SHIFT_TYPE,
        origin=call.origin,
        origin_name=name,
        relation=relation,
        wards=list(call.wards),
        link=f"/canvass/{call.id}",
        capacity=shift.capacity,
        committed=shift.committed,
    )


# ---- the feed ---------------------------------------------------------------------------------

router = APIRouter(tags=["feeds"], responses=ERROR_RESPONSES)

FEED_PATH = "/coalition/calendar/{secret}.ics"
RETIRED_FEED_PATH = "/coalition/calendar.ics"
MAKE_ONE = "Make your calendar feed address on your calendar feed page (/calendar/feed)."


def feed_url(settings: Settings, secret: str) -> str:
    return settings.public_url + FEED_PATH.format(secret=secret)


@router.get(
    FEED_PATH,
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "An iCalendar feed."},
        401: {"description": "Not a feed secret, or one that was replaced or deleted."},
    },
)
async def coalition_calendar_feed(
    secret: Annotated[str, Path(description="Your feed secret, from your feed address.")],
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """This node's and its allies' shared events, forums and canvass shifts that are not over.

    The address is personal (make it at `POST /api/v1/me/calendar-feed` or on the page
    `/calendar/feed`) and shows what its owner's role may see, never private items, never
    former allies'.
    Nothing but the feed secret in the address is accepted here. Cancelled items stay with
    `STATUS:CANCELLED`; UIDs are object ids, SEQUENCE follows the version.
    """
    user = await accounts.user_for_feed_secret(session, plain=secret)
    if user is None:
        raise NotAuthenticated(
            "This calendar feed address is unknown, or was replaced or turned off. " + MAKE_ONE
        )
    entries = await gather(
        session, role=user.role, settings=settings, ends_after=utcnow(), for_feed=True
    )
    body = ics.render_calendar(
        [entry.item for entry in entries], calendar_name=f"{settings.name}: coalition"
    )
    # Member-level content at a secret address: no shared cache keeps a copy.
    return Response(content=body, media_type=ics.MEDIA_TYPE, headers={"Cache-Control": "private"})


@router.get(
    RETIRED_FEED_PATH,
    deprecated=True,
    responses={401: {"description": "Always: this address no longer serves the feed."}},
)
async def retired_coalition_calendar_feed(
    session: SessionDep,
    token: Annotated[
        str | None, Query(description="An API token: it is revoked, and nothing is served.")
    ] = None,
) -> Response:
    """The old feed address, which took an API token (`?token=`): it serves nothing now.

    An API token opens the whole API, and an address that carries one is synced by calendar
    apps, pasted and logged, so a token that still arrives here is revoked on sight (the
    audit log says why). Every user makes her own feed address instead
    (`POST /api/v1/me/calendar-feed`).
    """
    if token and await accounts.revoke_exposed_token(
        session, plain=token, where="a calendar feed address"
    ):
        # Answered, not raised: a raise would roll the revocation back.
        refusal = NotAuthenticated(
            "API tokens no longer open the calendar feed, and this one was in a feed address, "
            "where others can read it: it is revoked now. " + MAKE_ONE
        )
        return error_response(
            refusal.status_code, refusal.code, refusal.message, headers=refusal.headers
        )
    raise NotAuthenticated(
        "The coalition calendar moved to a personal feed address; API tokens no longer open "
        "it. " + MAKE_ONE
    )


MY_FEED_PATH = "/api/v1/me/calendar-feed"


@router.get(MY_FEED_PATH, response_model=CalendarFeed)
async def get_calendar_feed(principal: CurrentUser, session: SessionDep) -> CalendarFeed:
    """Whether you have a calendar feed address, and since when (404: you have none)."""
    feed = await accounts.get_feed_secret(session, user=principal.user)
    if feed is None:
        raise NotFound("You have no calendar feed address: POST here to make one.")
    return CalendarFeed(created_at=feed.created_at)


@router.post(MY_FEED_PATH, response_model=CalendarFeedCreated, status_code=status.HTTP_201_CREATED)
async def make_calendar_feed(
    principal: CurrentUser, session: SessionDep, settings: SettingsDep, response: Response
) -> CalendarFeedCreated:
    """A new calendar feed address, in this answer only. It replaces the one you had, which
    stops working at once."""
    response.headers["Cache-Control"] = "no-store"
    feed, secret = await accounts.make_feed_secret(
        session, user=principal.user, actor=principal.actor
    )
    return CalendarFeedCreated(url=feed_url(settings, secret), created_at=feed.created_at)


@router.delete(MY_FEED_PATH, status_code=status.HTTP_204_NO_CONTENT)
async def delete_calendar_feed(principal: CurrentUser, session: SessionDep) -> None:
    """Turn your calendar feed address off; it answers 401 from now on."""
    await accounts.revoke_feed_secret(session, user=principal.user, actor=principal.actor)
