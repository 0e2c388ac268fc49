"""The coordinator's event pages (organizers and admins): this node's events, and forms to
create, edit, duplicate, cancel and delete them, as the API's ``/api/v1/events`` routes do.

Every form goes through ``node.events.service`` (and ``node.events.series`` for repeating
events) with the API's shapes, so a page refuses exactly what the API refuses, in words
beside the field. Writes run in a savepoint: a refusal shown on the form leaves nothing
half-written. Each action ends on the event's page (``/events/{id}``, built elsewhere), or on
this list after a deletion.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.outbox import allies_sharing
from federation.storage import utcnow
from node.config import Settings
from node.deps import Principal, SessionDep, SettingsDep
from node.errors import InvalidInput
from node.events import recurrence, repository, series, service, sharing
from node.events.models import (
    MAX_OCCURRENCES,
    Event,
    EventCancel,
    EventCreate,
    EventUpdate,
    SeriesCreate,
)
from node.events.series import Scope
from node.events.service import EventNotLocal
from node.web import event_form_values as form
from node.web.deps import PageOrganizer
from node.web.groups import CHICAGO, span
from node.web.rendering import page_router, redirect, render

router = page_router()
UPCOMING_LIMIT, PAST_LIMIT = 300, 50


def when_of(event: Event) -> str:
    """The event's time in plain words, in its own zone (named unless it is Chicago's)."""
    zone = ZoneInfo(event.timezone)
    said = span(event.start_date, event.end_date, zone=zone)
    return said if zone == CHICAGO else f"{said} ({event.timezone} time)"


async def _summaries(session: AsyncSession, events: list[Event]) -> dict[str, str]:
    """Each series' rule in words, by series id."""
    found = await repository.series_rules(
        session, series_ids={event.series_id for event in events if event.series_id}
    )
    firsts: dict[str, Event] = {}
    for event in events:
        if event.series_id and event.series_id not in firsts:
            firsts[event.series_id] = event
    summaries = {}
    for series_id, found_series in found.items():
        first = firsts[series_id]
        start = first.start_date.astimezone(ZoneInfo(first.timezone))
        summaries[series_id] = recurrence.summary(found_series.rule, first=start)
    return summaries


@router.get("/events", response_class=HTMLResponse)
async def list_events(
    request: Request, principal: PageOrganizer, session: SessionDep, settings: SettingsDep
) -> Response:
    del principal
    now = utcnow()
    upcoming = await repository.local_events(
        session, origin=settings.public_url, ends_after=now, limit=UPCOMING_LIMIT
    )
    past = await repository.local_events(
        session, origin=settings.public_url, ends_before=now, limit=PAST_LIMIT
    )
    return render(request, "events.html", {
        "upcoming": upcoming, "past": past, "when_of": when_of,
        "summaries": await _summaries(session, upcoming + past),
        "visibilities": form.VISIBILITIES, "types": form.EVENT_TYPES,
        "upcoming_limit": UPCOMING_LIMIT, "past_limit": PAST_LIMIT,
    })  # fmt: skip


async def _form_page(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    event: Event | None = None,
    action: str = "/events/new",
    heading: str = "New event",
) -> Response:
    zones = list(form.TIMEZONES)
    if values.get("timezone") and values["timezone"] not in zones:
        zones.insert(0, values["timezone"])
    return render(request, "event_form.html", {
        "values": values, "errors": errors, "event": event, "action": action,
        "heading": heading, "zones": zones, "types": form.EVENT_TYPES,
        "visibilities": form.VISIBILITIES, "repeats": form.REPEATS,
        "max_occurrences": MAX_OCCURRENCES,
    }, status_code=422 if errors else 200)  # fmt: skip


async def _own_event(
    session: AsyncSession, *, event_id: str, principal: Principal, settings: Settings
) -> Event:
    """One of this node's events, for a form (404 unknown, 410 deleted, 409 an ally's)."""
    event = await service.get_event(session, event_id=event_id, role=principal.role)
    if event.origin != settings.public_url:
        raise EventNotLocal(f"This event belongs to {event.origin}; only that group can change it.")
    return event


SCOPE_REFUSED = {"scope": "Choose this event only, or this and the following ones."}


def _scope(value: str) -> Scope | None:
    """The occurrences a form's action applies to; ``None`` when it is none of the choices."""
    try:
        return Scope(value or Scope.this)
    except ValueError:
        return None


async def _reach(session: AsyncSession) -> str:
    allies = len(await allies_sharing(session, scope=sharing.SCOPE))
    if not allies:
        return ""
    return f" It is on its way to {allies} allied group{'s' if allies != 1 else ''}."


@router.get("/events/new", response_class=HTMLResponse)
async def new_event(request: Request, principal: PageOrganizer) -> Response:
    del principal
    return await _form_page(request, form.initial_values(), {})


@router.post("/events/new", response_class=HTMLResponse)
async def create_event(
    request: Request, principal: PageOrganizer, session: SessionDep, settings: SettingsDep
) -> Response:
    values = form.read_form(await request.form())
    body, time_errors = form.body_of(values)
    repeating = bool(values["repeat"])
    try:
        data: EventCreate = (SeriesCreate if repeating else EventCreate).model_validate(body)
    except ValidationError as exc:
        return await _form_page(request, values, form.merged(time_errors, form.plain_errors(exc)))
    if time_errors:
        return await _form_page(request, values, time_errors)
    try:
        async with session.begin_nested():
            if isinstance(data, SeriesCreate):
                _, events = await series.create_series(
                    session, data=data, actor=principal.actor, settings=settings
                )
            else:
                events = [await service.create_event(
                    session, data=data, actor=principal.actor, settings=settings)]  # fmt: skip
    except InvalidInput as exc:
        return await _form_page(request, values, form.service_error(exc))
    made = f"{len(events)} events made, one for each date." if repeating else "Event made."
    if sharing.is_shared(events[0]):
        made += await _reach(session)
    else:
        made += " Private: it stays on this node."
    return redirect(f"/events/{events[0].id}", notice=made)


@router.get("/events/{event_id}/duplicate", response_class=HTMLResponse)
async def duplicate_event(
    event_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """A new-event form holding a copy of this event: change the date and save."""
    event = await _own_event(session, event_id=event_id, principal=principal, settings=settings)
    values = {**form.values_of(event), "status": "confirmed"}
    return await _form_page(request, values, {}, heading=f"New event like “{event.title}”")


@router.get("/events/{event_id}/edit", response_class=HTMLResponse)
async def edit_event(
    event_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    event = await _own_event(session, event_id=event_id, principal=principal, settings=settings)
    values = {**form.values_of(event), "scope": Scope.this.value}
    return await _form_page(request, values, {}, event=event, action=f"/events/{event.id}/edit",
                            heading=f"Edit “{event.title}”")  # fmt: skip


@router.post("/events/{event_id}/edit", response_class=HTMLResponse)
async def save_event(
    event_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    event = await _own_event(session, event_id=event_id, principal=principal, settings=settings)
    values = form.read_form(await request.form())
    values["repeat"] = ""  # a series' rule is set when it is made
    body, time_errors = form.body_of(values, stored_location=event.location)
    body["status"] = values["status"] or event.status.value

    heading = f"Edit “{event.title}”"

    async def again(errors: dict[str, str]) -> Response:
        return await _form_page(request, values, errors, event=event, heading=heading,
                                action=f"/events/{event.id}/edit")  # fmt: skip

    try:
        data = EventUpdate.model_validate(body)
    except ValidationError as exc:
        return await again(form.merged(time_errors, form.plain_errors(exc)))
    scope = _scope(values["scope"])
    if scope is None:
        return await again(SCOPE_REFUSED)
    if time_errors:
        return await again(time_errors)
    try:
        async with session.begin_nested():
            changed = await series.change_from(session, event_id=event.id, data=data,
                scope=scope, actor=principal.actor, settings=settings)  # fmt: skip
    except InvalidInput as exc:
        return await again(form.service_error(exc))
    many = f" and {len(changed) - 1} later occurrences" if len(changed) > 1 else ""
    return redirect(f"/events/{event.id}", notice=f"Saved{many}.{await _reach(session)}")


async def _confirm_page(
    request: Request, template: str, event: Event, session: AsyncSession, *,
    values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    following = await series.this_and_following(session, event=event)
    return render(request, template, {
        "event": event, "when": when_of(event), "later": len(following) - 1,
        "values": values or {"scope": Scope.this.value}, "errors": errors or {},
    }, status_code=422 if errors else 200)  # fmt: skip


@router.get("/events/{event_id}/cancel", response_class=HTMLResponse)
async def confirm_cancel(
    event_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    event = await _own_event(session, event_id=event_id, principal=principal, settings=settings)
    return await _confirm_page(request, "event_cancel.html", event, session)


@router.post("/events/{event_id}/cancel", response_class=HTMLResponse)
async def cancel_event(
    event_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    event = await _own_event(session, event_id=event_id, principal=principal, settings=settings)
    posted = await request.form()
    values = {"reason": str(posted.get("reason", "")), "scope": str(posted.get("scope", "this"))}
    try:
        reason = EventCancel.model_validate({"reason": values["reason"]}).reason
    except ValidationError as exc:
        return await _confirm_page(request, "event_cancel.html", event, session,
                                   values=values, errors=form.plain_errors(exc))  # fmt: skip
    scope = _scope(values["scope"])
    if scope is None:
        return await _confirm_page(request, "event_cancel.html", event, session, values=values,
                                   errors=SCOPE_REFUSED)  # fmt: skip
    cancelled = await series.cancel_from(session, event_id=event.id, reason=reason, scope=scope,
                                         actor=principal.actor, settings=settings)  # fmt: skip
    what = f"{len(cancelled)} events cancelled" if len(cancelled) > 1 else "Cancelled"
    return redirect(f"/events/{event.id}", notice=f"{what}.{await _reach(session)}")


@router.get("/events/{event_id}/delete", response_class=HTMLResponse)
async def confirm_delete(
    event_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    event = await _own_event(session, event_id=event_id, principal=principal, settings=settings)
    return await _confirm_page(request, "event_delete.html", event, session)


@router.post("/events/{event_id}/delete", response_class=HTMLResponse)
async def delete_event(
    event_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    event = await _own_event(session, event_id=event_id, principal=principal, settings=settings)
    posted = await request.form()
    scope = _scope(str(posted.get("scope", "this")))
    if scope is None:
        return await _confirm_page(request, "event_delete.html", event, session,
                                   errors=SCOPE_REFUSED)  # fmt: skip
    deleted = await series.delete_from(session, event_id=event.id, scope=scope,
                                       actor=principal.actor, settings=settings)  # fmt: skip
    what = f"{len(deleted)} events deleted" if len(deleted) > 1 else f"“{event.title}” deleted"
    # The event's own page answers "gone" now: back to the list, which shows the new state.
    return redirect("/events", notice=f"{what}.{await _reach(session)}")
