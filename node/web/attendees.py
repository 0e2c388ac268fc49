"""An event's attendees, for its organizers: the list with each person's choices, the
waitlist, check-in at the door and walk-ins, and the list as CSV.

Made for a phone at the door: one tap on a person's button toggles her checked in, and the
answer comes back to the same place in the list (``#rsvp-<id>``), without JavaScript.

Only this node's own events have attendees here: an ally's event keeps its RSVPs on its own
node. Co-hosting groups on other nodes get no list: there is no channel for one, and RSVPs
never travel. What they may see is shown in "For co-hosts": counts, and the names of people
who agreed to share their name and contact with co-hosts, for the organizers to pass on.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from node.deps import RowId, SessionDep, SettingsDep
from node.events import service as events
from node.rsvps import messages
from node.rsvps import service as rsvps
from node.rsvps.models import RsvpState, WalkIn, form_errors
from node.web.deps import PageOrganizer
from node.web.rendering import page_router, redirect, render

router = page_router()

WALK_IN_FIELDS = ("name", "email", "phone")


async def _page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    *,
    event_id: str,
    principal: PageOrganizer,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    event = await events.get_event(session, event_id=event_id, role=principal.role)
    everyone = await rsvps.attendees(session, event_id=event.id, settings=settings)
    going = [r for r in everyone if r.state is RsvpState.going]
    counts = await rsvps.counts(session, event_id=event.id)
    return render(
        request,
        "attendees.html",
        {
            "event": event,
            "when": messages.event_time(event),
            "going": going,
            "waitlist": [r for r in everyone if r.state is RsvpState.waitlisted],
            "cancelled": sum(1 for r in everyone if r.state is RsvpState.cancelled),
            "counts": counts,
            "places_left": rsvps.places_left(event, counts),
            "shared_names": [r.name for r in going if r.share_with_co_hosts],
            "values": values or {},
            "errors": errors or {},
        },
        status_code=422 if errors else 200,
    )


@router.get("/events/{event_id}/attendees", response_class=HTMLResponse)
async def attendees_page(
    request: Request,
    event_id: str,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    return await _page(request, session, settings, event_id=event_id, principal=principal)


@router.post("/events/{event_id}/attendees/{rsvp_id}/check-in", response_class=HTMLResponse)
async def check_in(
    event_id: str,
    rsvp_id: RowId,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    del principal
    rsvp = await rsvps.toggle_check_in(
        session, event_id=event_id, rsvp_id=rsvp_id, settings=settings
    )
    notice = f"{rsvp.name} {'checked in' if rsvp.is_checked_in else 'is no longer checked in'}."
    return redirect(f"/events/{event_id}/attendees#rsvp-{rsvp.id}", notice=notice)


@router.post("/events/{event_id}/attendees/walk-in", response_class=HTMLResponse)
async def add_walk_in(
    request: Request,
    event_id: str,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in WALK_IN_FIELDS}
    try:
        data = WalkIn.model_validate({**values, "email": values["email"] or None})
    except ValidationError as exc:
        errors = form_errors(exc)
        if "name" in errors:
            errors["name"] = "Give the person's name (up to 120 characters, on one line)."
        if "email" in errors:
            errors["email"] = "Give an email address such as ana@example.org, or leave it empty."
        return await _page(
            request,
            session,
            settings,
            event_id=event_id,
            principal=principal,
            values=values,
            errors=errors,
        )
    rsvp = await rsvps.walk_in(
        session, event_id=event_id, data=data, actor=principal.actor, settings=settings
    )
    return redirect(
        f"/events/{event_id}/attendees#rsvp-{rsvp.id}", notice=f"{rsvp.name} added and checked in."
    )


@router.get("/events/{event_id}/attendees/export.csv")
async def export_attendees(
    event_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep
) -> Response:
    event = await events.get_event(session, event_id=event_id, role=principal.role)
    body = await rsvps.export_csv(
        session, event_id=event.id, actor=principal.actor, settings=settings
    )
    return Response(
        content=body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="attendees.csv"',
            "Cache-Control": "no-store",
        },
    )
