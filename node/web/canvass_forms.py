"""The forms to post a canvass call and to edit one (organizers, as the API's
``POST /canvass-calls`` and ``PATCH /canvass-calls/{id}``).

Kept simple for a phone: the call's details and shift rows (start, end, capacity); blank
rows are ignored. Times are read as Chicago time. Editing shows every shift: those that have
started or are cancelled as text, the others as fields, and one blank row to add a shift.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from federation.storage import utcnow
from node.canvass import service
from node.canvass.models import CallCreate, CallUpdate, CanvassCall, CanvassShift, ShiftStatus
from node.deps import SessionDep, SettingsDep
from node.errors import Conflict, InvalidInput, NotFound
from node.web.deps import PageOrganizer
from node.web.groups import local_input, parse_local, span, split_list
from node.web.rendering import field_errors, page_router, redirect, render

router = page_router()
SHIFT_ROWS = 3
TEXT_FIELDS = ("title", "campaign_kind", "campaign_name", "wards", "turf_description", "venue",
               "address", "languages", "materials", "contact_name", "contact_phone",
               "waitlist_limit", "ally_share")  # fmt: skip


def _page(request: Request, values: dict[str, Any], errors: dict[str, str]) -> Response:
    return render(
        request,
        "canvass_form.html",
        {"values": values, "errors": errors, "rows": range(SHIFT_ROWS)},
        status_code=422 if errors else 200,
    )


@router.get("/canvass/new", response_class=HTMLResponse)
async def new_call(request: Request, principal: PageOrganizer) -> Response:
    del principal
    return _page(request, {"campaign_kind": "candidate", "waitlist_limit": "0"}, {})


def _body(values: dict[str, Any]) -> dict[str, Any]:
    shifts = []
    for row in range(SHIFT_ROWS):
        start, end = values.get(f"start_{row}", ""), values.get(f"end_{row}", "")
        if not (start or end):
            continue
        shifts.append({
            "start_date": parse_local(start) or start, "end_date": parse_local(end) or end,
            "capacity": values.get(f"capacity_{row}") or 0,
        })  # fmt: skip
    contact = {"name": values["contact_name"], "phone": values["contact_phone"] or None}
    return {
        "title": values["title"],
        "campaign": {"kind": values["campaign_kind"], "name": values["campaign_name"]},
        "wards": split_list(values["wards"]),
        "turf_description": values["turf_description"],
        "staging_location": {"venue": values["venue"] or None,
                             "address_lines": [values["address"]] if values["address"] else []},
        "shifts": shifts,
        "languages_needed": split_list(values["languages"]),
        "materials": values["materials"],
        "contact": contact if values["contact_name"] else None,
        "waitlist_limit": values["waitlist_limit"] or 0,
        "ally_share": values["ally_share"] or None,
    }  # fmt: skip


def _readable(errors: dict[str, str]) -> dict[str, str]:
    named = {"campaign.name": "campaign_name", "staging_location.venue": "venue",
             "contact.name": "contact_name", "languages_needed": "languages"}  # fmt: skip
    result: dict[str, str] = {}
    for name, message in errors.items():
        if name.startswith("shifts"):
            parts = name.split(".")
            where = f"shift {int(parts[1]) + 1}" if len(parts) > 1 else "shifts"
            result.setdefault(where, "Give at least one shift, with a start, an end after it, "
                              f"and a capacity ({message}).")  # fmt: skip
        else:
            result.setdefault(named.get(name, name.split(".")[0]), message)
    return result


@router.post("/canvass/new", response_class=HTMLResponse)
async def post_call(
    request: Request, principal: PageOrganizer, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
    for row in range(SHIFT_ROWS):
        for name in (f"start_{row}", f"end_{row}", f"capacity_{row}"):
            values[name] = str(form.get(name, "")).strip()
    try:
        data = CallCreate.model_validate(_body(values))
        call, _ = await service.create_call(
            session, data=data, actor=principal.actor, settings=settings
        )
    except ValidationError as exc:
        return _page(request, values, _readable(field_errors(exc)))
    except InvalidInput as exc:
        return _page(request, values, {"shifts": exc.message})
    return redirect(
        f"/canvass/{call.id}", notice="Posted. Allies sharing canvass calls get it now."
    )


# ---- editing a call (as the API's ``PATCH /canvass-calls/{id}``) ------------------------------

EDIT_FIELDS = tuple(name for name in TEXT_FIELDS if name != "ally_share")
PLAIN = {
    "capacity": "Give the volunteers needed as a whole number from 1 to 10,000.",
    "start_date": "Pick the day and time the shift starts.",
    "end_date": "Pick the day and time the shift ends.",
    "waitlist_limit": "Give a whole number from 0 to 1,000 (0: no waitlist).",
    "wards": "Give ward numbers from 1 to 50, separated by commas.",
}


def _edit_page(
    request: Request,
    *,
    call: CanvassCall,
    shifts: list[CanvassShift],
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    now = utcnow()
    rows = [
        {"shift": shift, "key": shift.id, "span": span(shift.start_date, shift.end_date),
         "locked": "cancelled" if shift.status is ShiftStatus.cancelled
         else ("started" if shift.start_date <= now else "")}
        for shift in shifts
    ]  # fmt: skip
    return render(
        request,
        "canvass_edit.html",
        {"call": call, "values": values, "errors": errors, "rows": rows},
        status_code=422 if errors else 200,
    )


def _stored_values(call: CanvassCall, shifts: list[CanvassShift]) -> dict[str, str]:
    location, contact = call.staging_location, call.contact or {}
    values = {
        "title": call.title,
        "campaign_kind": call.campaign_kind.value,
        "campaign_name": call.campaign_name,
        "wards": ", ".join(str(ward) for ward in call.wards),
        "turf_description": call.turf_description,
        "venue": str(location.get("venue") or ""),
        "address": ", ".join(location.get("address_lines") or []),
        "languages": ", ".join(call.languages_needed),
        "materials": call.materials,
        "contact_name": str(contact.get("name") or ""),
        "contact_phone": str(contact.get("phone") or ""),
        "waitlist_limit": str(call.waitlist_limit),
    }
    for shift in shifts:
        values[f"start_{shift.id}"] = local_input(shift.start_date)
        values[f"end_{shift.id}"] = local_input(shift.end_date)
        values[f"capacity_{shift.id}"] = str(shift.capacity)
    return values


@router.get("/canvass/{call_id}/edit", response_class=HTMLResponse)
async def edit_call(
    call_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    del principal
    call, shifts = await service.editable_call(session, call_id=call_id, settings=settings)
    return _edit_page(
        request, call=call, shifts=shifts, values=_stored_values(call, shifts), errors={}
    )


def _update_body(
    call: CanvassCall, open_shifts: list[CanvassShift], values: dict[str, str]
) -> dict[str, Any]:
    """The form as a ``CallUpdate`` body. The staging location and contact are sent only if
    they changed, merged into what is stored: the form shows one address line, and must not
    drop the locality or ZIP code the API may have set."""
    body: dict[str, Any] = {
        "title": values["title"],
        "campaign": {"kind": values["campaign_kind"], "name": values["campaign_name"]},
        "wards": split_list(values["wards"]),
        "turf_description": values["turf_description"],
        "languages_needed": split_list(values["languages"]),
        "materials": values["materials"],
        "waitlist_limit": values["waitlist_limit"] or 0,
    }
    stored = _stored_values(call, [])
    if (values["venue"], values["address"]) != (stored["venue"], stored["address"]):
        location = dict(call.staging_location)
        location["venue"] = values["venue"] or None
        location["address_lines"] = [values["address"]] if values["address"] else []
        body["staging_location"] = location
    if (values["contact_name"], values["contact_phone"]) != (
        stored["contact_name"], stored["contact_phone"]
    ):  # fmt: skip
        contact = {"name": values["contact_name"], "phone": values["contact_phone"] or None}
        body["contact"] = contact if values["contact_name"] else None
    body["shifts"] = [
        {"id": shift.id,
         "start_date": parse_local(values[f"start_{shift.id}"]) or values[f"start_{shift.id}"],
         "end_date": parse_local(values[f"end_{shift.id}"]) or values[f"end_{shift.id}"],
         "capacity": values[f"capacity_{shift.id}"] or 0}
        for shift in open_shifts
    ]  # fmt: skip
    if values["start_new"] or values["end_new"] or values["capacity_new"]:
        body["new_shifts"] = [{
            "start_date": parse_local(values["start_new"]) or values["start_new"],
            "end_date": parse_local(values["end_new"]) or values["end_new"],
            "capacity": values["capacity_new"] or 0,
        }]  # fmt: skip
    return body


def _field_of(loc: list[str], open_shifts: list[CanvassShift]) -> str:
    """The form field a ``CallUpdate`` error location points at."""
    named = {"campaign": "campaign_name", "staging_location": "venue",
             "languages_needed": "languages"}  # fmt: skip
    if loc and loc[0] in ("shifts", "new_shifts") and len(loc) > 1 and loc[1].isdigit():
        key = "new" if loc[0] == "new_shifts" else open_shifts[int(loc[1])].id
        part = loc[2] if len(loc) > 2 and loc[2] in ("end_date", "capacity") else "start_date"
        return f"{part.removesuffix('_date')}_{key}"
    if loc[:1] == ["contact"]:
        return "contact_phone" if loc[1:2] == ["phone"] else "contact_name"
    return named.get(loc[0], loc[0]) if loc else "form"


def _plain(loc: list[str], message: str) -> str:
    for part in reversed(loc):
        if part in PLAIN and not message.startswith(("A shift", "a shift")):
            return PLAIN[part]
    message = message.removeprefix("Value error, ")
    return message[:1].upper() + message[1:]


@router.post("/canvass/{call_id}/edit", response_class=HTMLResponse)
async def save_call(
    call_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    call, shifts = await service.editable_call(session, call_id=call_id, settings=settings)
    now = utcnow()
    open_shifts = [s for s in shifts if s.status is ShiftStatus.open and s.start_date > now]
    form = await request.form()
    names = [*EDIT_FIELDS, "start_new", "end_new", "capacity_new"]
    for shift in open_shifts:
        names += [f"start_{shift.id}", f"end_{shift.id}", f"capacity_{shift.id}"]
    values = {**_stored_values(call, shifts), **{n: str(form.get(n, "")).strip() for n in names}}
    errors: dict[str, str] = {}
    try:
        data = CallUpdate.model_validate(_update_body(call, open_shifts, values))
        await service.update_call(
            session, call_id=call.id, data=data, actor=principal.actor, settings=settings
        )
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(part) for part in error.get("loc", ())]
            errors.setdefault(_field_of(loc, open_shifts), _plain(loc, str(error["msg"])))
    except (InvalidInput, Conflict, NotFound) as exc:
        loc = [str(part) for part in (exc.details[0].loc if exc.details else [])][1:]
        errors[_field_of(loc, open_shifts) if loc else "form"] = exc.message
    if errors:
        return _edit_page(request, call=call, shifts=shifts, values=values, errors=errors)
    return redirect(
        f"/canvass/{call.id}", notice="Saved. Allies sharing canvass calls get the new version."
    )
