"""A neighbour's own RSVP, opened by its private link (``/rsvp/<secret>``): where she stands,
her details to change, and cancelling (which asks once more). No account, no login: the link
is the key, so the page is never cached and tells her to keep it to herself.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from node.deps import SessionDep, SettingsDep
from node.events.models import EventStatus
from node.rsvps import messages
from node.rsvps import service as rsvps
from node.rsvps.models import Rsvp, RsvpChoices, RsvpState, form_errors, texts_need_a_phone
from node.web.event_page import CHOICES, co_hosts
from node.web.rendering import page_router, redirect, render

router = page_router()

FIELDS = ("name", "phone")


def _values(rsvp: Rsvp) -> dict[str, Any]:
    return {
        "name": rsvp.name,
        "phone": rsvp.phone,
        "texts_ok": rsvp.texts_ok,
        "share_with_co_hosts": rsvp.share_with_co_hosts,
    }


async def _page(
    request: Request,
    session: SessionDep,
    *,
    token: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    rsvp, event = await rsvps.by_token(session, token=token)
    settings = request.app.state.settings
    response = render(
        request,
        "rsvp_page.html",
        {
            "rsvp": rsvp,
            "event": event,
            "when": messages.event_time(event),
            "place": messages.place_words(event),
            "token": token,
            "co_hosts": await co_hosts(session, event=event, settings=settings),
            "values": values or _values(rsvp),
            "errors": errors or {},
            "event_cancelled": event.status is EventStatus.cancelled,
            "is_cancelled": rsvp.state is RsvpState.cancelled,
        },
        status_code=422 if errors else 200,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/rsvp/{token}", response_class=HTMLResponse)
async def rsvp_page(request: Request, token: str, session: SessionDep) -> Response:
    return await _page(request, session, token=token)


@router.post("/rsvp/{token}", response_class=HTMLResponse)
async def change_rsvp(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in FIELDS}
    values.update({name: form.get(name) == "true" for name in CHOICES})
    try:
        data = RsvpChoices.model_validate(values)
    except ValidationError as exc:
        return await _page(request, session, token=token, values=values, errors=form_errors(exc))
    if problems := texts_need_a_phone(data):
        return await _page(request, session, token=token, values=values, errors=problems)
    await rsvps.change(session, token=token, data=data, settings=settings)
    return redirect(f"/rsvp/{token}", notice="Saved. We emailed you a confirmation of the change.")


@router.post("/rsvp/{token}/cancel", response_class=HTMLResponse)
async def cancel_rsvp(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    await rsvps.cancel(session, token=token, settings=settings)
    return redirect(
        f"/rsvp/{token}",
        notice="Your RSVP is cancelled, and your place goes to the next person. "
        "We emailed you a confirmation.",
    )
