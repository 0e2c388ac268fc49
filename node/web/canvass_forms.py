"""The form to post a canvass call (organizers, as the API's ``POST /canvass-calls``).

Kept simple for a phone: the call's details and three shift rows (start, end, capacity);
blank rows are ignored. Times are read as Chicago time.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from node.canvass import service
from node.canvass.models import CallCreate
from node.deps import SessionDep, SettingsDep
from node.errors import InvalidInput
from node.web.deps import PageOrganizer
from node.web.groups import parse_local, split_list
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
