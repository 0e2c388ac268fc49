"""An event's own page (``/events/{id}``, the address its ``object_id``, the ICS feed and every
link to it use), its calendar file, and RSVPs without an account.

Anyone sees a public event; logged-in members also coalition ones, organizers everything
(:func:`node.events.service.visible_levels`, the API's rule): a hidden event is a 404, like a
missing one. An ally's event (a replica) is shown by its local id, "hosted by" that group, with
its RSVP on the group's own page (its ``object_id``): RSVPs stay on the node that hosts the event.

After an RSVP the neighbour lands on her private RSVP page (``/rsvp/<secret>``), which is the
confirmation: the link is also in her email. Posts are limited per client address, and a
hidden field that only robots fill in (the honeypot) makes the post a silent no-op.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from federation.outbox import travel_of
from federation.storage import utcnow
from node.accounts.models import Role
from node.accounts.throttle import client_address, wait_phrase
from node.config import Settings
from node.deps import SessionDep, SettingsDep
from node.events import ics
from node.events import service as events
from node.events.models import Event, EventStatus, LocationPublic
from node.forums.models import CoHostStatus, ForumPlan
from node.ops.ratelimit import TokenBucketLimiter
from node.rsvps import messages
from node.rsvps import service as rsvps
from node.rsvps.models import RsvpCreate, form_errors, texts_need_a_phone
from node.web.deps import PageVisitor
from node.web.groups import group_names
from node.web.public_view import place_of
from node.web.rendering import error_page, page_router, redirect, render

router = page_router()

FIELDS = ("name", "email", "phone")
CHOICES = ("texts_ok", "share_with_co_hosts")
HONEYPOT = "website"
DESCRIPTION_PREVIEW = 200


def rsvp_limiter() -> TokenBucketLimiter:
    """RSVP posts per client address (one per app, in ``app.state``): a family on one network
    can RSVP together, a script cannot fill an event."""
    return TokenBucketLimiter(per_minute=6, burst=10)


async def co_hosts(session: AsyncSession, *, event: Event, settings: Settings) -> list[str]:
    """The groups co-hosting the event, when it is a forum's: those that accepted, by name."""
    result = await session.execute(
        sa.select(ForumPlan).where(
            sa.or_(
                col(ForumPlan.event_id) == event.id,
                col(ForumPlan.event_object_id) == event.object_id,
            )
        )
    )
    plan = result.scalars().first()
    if plan is None:
        return []
    names = await group_names(session, settings=settings)
    return [
        names.get(c["node"], c["node"])
        for c in plan.co_hosts
        if c.get("status") == CoHostStatus.accepted.value and c["node"] != event.origin
    ]


async def _event_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    *,
    event: Event,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    principal = getattr(request.state, "principal", None)
    is_local = event.origin == settings.public_url
    counts = await rsvps.counts(session, event_id=event.id)
    names = await group_names(session, settings=settings)
    location = LocationPublic.stored(event.location)
    page_url = f"{settings.public_url}/events/{event.id}"
    summary = " ".join(event.description.split())
    if len(summary) > DESCRIPTION_PREVIEW:
        summary = summary[: DESCRIPTION_PREVIEW - 1].rstrip() + "…"
    taking_rsvps = (
        is_local and event.status is not EventStatus.cancelled and event.end_date >= utcnow()
    )
    is_organizer = principal is not None and principal.role.includes(Role.organizer)
    return render(
        request,
        "event_page.html",
        {
            # How far the latest change has got to allies, for the organizers of the host.
            "travelled": await travel_of(session, object_id=event.object_id)
            if is_local and is_organizer
            else None,
            "event": event,
            "is_local": is_local,
            "host": names.get(event.origin, event.origin),
            "co_hosts": await co_hosts(session, event=event, settings=settings),
            "when": messages.event_time(event),
            "location": location,
            "place": ics.location_text(event.location),
            "map_link": place_of(event.location).map_url,
            "counts": counts,
            "places_left": rsvps.places_left(event, counts),
            "is_over": event.end_date < utcnow(),
            "taking_rsvps": taking_rsvps,
            "is_organizer": is_organizer,
            "page_url": page_url,
            "summary": summary or f"{event.title}, {messages.event_time(event)}",
            "values": values or {},
            "errors": errors or {},
        },
        status_code=422 if errors else 200,
    )


async def _visible_event(
    session: AsyncSession, *, event_id: str, principal: Any, settings: Settings
) -> Event:
    return await events.get_event(
        session, event_id=event_id, role=principal.role if principal else None
    )


@router.get("/events/{event_id}", response_class=HTMLResponse)
async def event_page(
    request: Request,
    event_id: str,
    principal: PageVisitor,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    event = await _visible_event(session, event_id=event_id, principal=principal, settings=settings)
    return await _event_page(request, session, settings, event=event)


@router.get("/events/{event_id}/calendar.ics")
async def event_calendar_file(
    event_id: str, principal: PageVisitor, session: SessionDep, settings: SettingsDep
) -> Response:
    """The one event as an iCalendar file, for "Add to calendar"."""
    event = await _visible_event(session, event_id=event_id, principal=principal, settings=settings)
    del settings
    body = ics.render_calendar([event], calendar_name=event.title)
    return Response(
        content=body,
        media_type=ics.MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="event.ics"'},
    )


@router.post("/events/{event_id}/rsvp", response_class=HTMLResponse)
async def post_rsvp(
    request: Request,
    event_id: str,
    principal: PageVisitor,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    event = await _visible_event(session, event_id=event_id, principal=principal, settings=settings)
    form = await request.form()
    if str(form.get(HONEYPOT, "")).strip():
        # Only a robot fills a field nobody sees; it gets what a person would, and nothing is kept.
        return redirect(f"/events/{event.id}", notice="Thank you.")
    limiter: TokenBucketLimiter = request.app.state.rsvp_limiter
    verdict = limiter.take(client_address(request.client.host if request.client else None))
    if not verdict.allowed:
        response = error_page(
            request,
            status_code=429,
            title="Slow down",
            message="Many RSVPs came from your network just now. Please try again in "
            f"{wait_phrase(verdict.retry_after)}.",
        )
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in FIELDS}
    values.update({name: form.get(name) == "true" for name in CHOICES})
    try:
        data = RsvpCreate.model_validate(values)
    except ValidationError as exc:
        return await _event_page(
            request, session, settings, event=event, values=values, errors=form_errors(exc)
        )
    if problems := texts_need_a_phone(data):
        return await _event_page(
            request, session, settings, event=event, values=values, errors=problems
        )
    placed = await rsvps.rsvp(session, event_id=event.id, data=data, settings=settings)
    waiting = placed.rsvp.state.value == "waitlisted"
    if placed.link is None:
        return redirect(
            f"/events/{event.id}",
            notice="You had already RSVPed with this email: we updated your RSVP and emailed "
            "a new private link to change or cancel it to that address.",
        )
    notice = (
        "The event is full, so you are on the waitlist. " if waiting else "You're going! "
    ) + (
        "We emailed you a confirmation. This page is your private link: keep it to change or "
        "cancel."
    )
    return redirect(placed.link.removeprefix(settings.public_url), notice=notice)
