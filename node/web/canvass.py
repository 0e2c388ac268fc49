"""Canvass pages: calls with each shift's fill, sign-ups with a plain consent choice, relays.

Permissions are the API's (node/canvass/router.py): every user sees this node's own calls and
the allies' calls relayed to members (organizers see every call held) and signs up on this
node; organizers relay an ally's call, post and cancel this node's calls and see its rosters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.outbox import travel_of
from federation.storage import utcnow
from node.accounts.models import Role
from node.canvass import repository, service
from node.canvass.models import (
    ACTIVE_SIGNUP_STATES,
    AllyShareUpdate,
    CallStatus,
    CanvassCall,
    CanvassShift,
    CanvassSignup,
    CommitmentState,
    ShiftStatus,
    SignupCreate,
    SignupState,
)
from node.config import Settings
from node.deps import SessionDep, SettingsDep
from node.web.deps import PageOrganizer, PageUser
from node.web.groups import group_names, span, when
from node.web.rendering import field_errors, page_router, redirect, render

router = page_router()

SIGNUP_WORDS = {
    "pending": "sent to the host, waiting for their answer",
    "committed": "you have a place",
    "waitlisted": "on the waitlist",
    "refused": "the host gave you no place",
    "cancelled": "cancelled by the host",
    "withdrawn": "you withdrew",
}


@dataclass(frozen=True)
class Fill:
    committed: int
    capacity: int

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.committed / self.capacity)) if self.capacity else 100

    @property
    def label(self) -> str:
        return f"{self.committed} of {self.capacity} filled"


def fill_of(shifts: list[CanvassShift]) -> Fill:
    open_shifts = [s for s in shifts if s.status is ShiftStatus.open]
    return Fill(sum(s.committed for s in open_shifts), sum(s.capacity for s in open_shifts))


def dates(shifts: list[CanvassShift]) -> str:
    """When a call's shifts are, for the list: the one shift's times, or the first and last
    days (``Sat 5 Dec 2026 to Sun 13 Dec 2026``), in Chicago time."""
    if not shifts:
        return "no shifts"
    first, last = shifts[0], shifts[-1]
    if len(shifts) == 1:
        return span(first.start_date, first.end_date)
    start, end = when(first.start_date, time=False), when(last.start_date, time=False)
    return start if start == end else f"{start} to {end}"


async def _my_signups(
    session: AsyncSession, principal: PageUser
) -> list[tuple[CanvassSignup, CanvassCall | None, CanvassShift | None]]:
    signups = await service.my_signups(session, user=principal.user)
    calls, shifts = await repository.calls_and_shifts_by_object_ids(
        session,
        call_ids={signup.call_object_id for signup in signups},
        shift_ids={signup.shift_object_id for signup in signups},
    )
    return [
        (signup, calls.get(signup.call_object_id), shifts.get(signup.shift_object_id))
        for signup in signups
    ]


@router.get("/canvass", response_class=HTMLResponse)
async def call_list(
    request: Request, principal: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    listed = await service.list_calls(session, role=principal.role, settings=settings)
    return render(request, "canvass_list.html", {
        "calls": [(call, shifts, fill_of(shifts)) for call, shifts in listed],
        "names": await group_names(session, settings=settings),
        "mine": await _my_signups(session, principal), "words": SIGNUP_WORDS,
        "me": settings.public_url, "span": span, "dates": dates,
        "is_organizer": principal.role.includes(Role.organizer),
    })  # fmt: skip


@router.get("/canvass/{call_id}", response_class=HTMLResponse)
async def call_detail(
    call_id: str,
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    return await _call_page(request, principal, session, settings, call_id=call_id)


async def _call_page(
    request: Request,
    principal: PageUser,
    session: AsyncSession,
    settings: Settings,
    *,
    call_id: str,
    share_form: dict[str, str] | None = None,
) -> Response:
    """The call's page; ``share_form`` re-shows a refused ally-share value with its error."""
    call = await service.visible_call(
        session, call_id=call_id, role=principal.role, settings=settings
    )
    shifts = await repository.shifts_of(session, call_id=call.id)
    is_local = call.origin == settings.public_url
    is_organizer = principal.role.includes(Role.organizer)
    rosters, shares, share_allies = {}, {}, 0
    if is_local and is_organizer:
        for shift in shifts:
            rows = await service.roster(
                session, call_id=call.id, shift_id=shift.id, settings=settings
            )
            rosters[shift.id] = [r for r in rows if r.state in service.HELD]
        view = await service.ally_shares(session, call_id=call.id, settings=settings)
        shares = {row.shift_id: row for row in view.shifts}
        share_allies = view.allies_shared_with
    signups = [
        signup
        for signup in await service.my_signups(session, user=principal.user)
        if signup.call_object_id == call.object_id
    ]
    mine = {s.shift_object_id: s for s in signups if s.state in ACTIVE_SIGNUP_STATES}
    # Her last refusal for a shift, with the host's reason, until she signs up again.
    refused = {s.shift_object_id: s for s in signups if s.state is SignupState.refused}
    names = await group_names(session, settings=settings)
    share_form = share_form or {
        "value": "" if call.ally_share is None else str(call.ally_share),
        "error": "",
    }
    # How far this node's latest change has got to its allies, for the host's page.
    travelled = await travel_of(session, object_id=call.object_id) if is_local else None
    return render(request, "canvass_call.html", {
        "travelled": travelled,
        "call": call, "shifts": [(s, Fill(s.committed, s.capacity)) for s in shifts],
        "host": names.get(call.origin, call.origin), "names": names, "is_local": is_local,
        "is_organizer": is_organizer, "rosters": rosters, "mine": mine, "refused": refused,
        "shares": shares, "share_allies": share_allies,
        "share_value": share_form["value"], "share_error": share_form["error"],
        "words": SIGNUP_WORDS, "span": span, "when": when, "now": utcnow(),
        "call_active": call.status is CallStatus.active, "waitlisted": CommitmentState.waitlisted,
        "committed": CommitmentState.committed,
    }, status_code=422 if share_form["error"] else 200)  # fmt: skip


@router.post("/canvass/{call_id}/ally-share", response_class=HTMLResponse)
async def set_ally_share(
    call_id: str,
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
    ally_share: Annotated[str, Form()] = "",
) -> Response:
    """The host's limit per ally per shift; blank goes back to the fair share."""
    value = ally_share.strip()
    try:
        data = AllyShareUpdate.model_validate({"ally_share": value or None})
    except ValidationError as exc:
        message = "Enter a whole number from 1 to 10000, or leave it blank for a fair share"
        detail = field_errors(exc).get("ally_share", "invalid")
        share_form = {"value": value, "error": f"{message} ({detail})."}
        return await _call_page(
            request, principal, session, settings, call_id=call_id, share_form=share_form
        )
    await service.set_ally_share(
        session, call_id=call_id, data=data, actor=principal.actor, settings=settings
    )
    if data.ally_share is None:
        notice = "Each ally may now fill a fair share of every shift."
    else:
        places = "place" if data.ally_share == 1 else "places"
        notice = f"Each ally may now fill {data.ally_share} {places} per shift."
    return redirect(f"/canvass/{call_id}", notice=notice)


@router.post("/canvass/{call_id}/shifts/{shift_id}/signup", response_class=HTMLResponse)
async def sign_up(
    call_id: str,
    shift_id: str,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    share_first_name: Annotated[bool, Form()] = False,
    share_contact: Annotated[bool, Form()] = False,
) -> Response:
    signup = await service.sign_up(
        session, call_id=call_id, shift_id=shift_id,
        data=SignupCreate(share_first_name=share_first_name, share_contact=share_contact),
        user=principal.user, settings=settings,
    )  # fmt: skip
    shift = await repository.shift_by_object_id(session, object_id=signup.shift_object_id)
    assert shift is not None  # noqa: S101 -- the service just found it
    notice = f"You're signed up for the shift on {span(shift.start_date, shift.end_date)}."
    if share_first_name and not signup.share_first_name:
        notice += f" {settings.name} has no first name for you, so none was shared."
    return redirect(f"/canvass/{call_id}", notice=notice)


@router.post("/canvass/signups/{signup_id}/withdraw", response_class=HTMLResponse)
async def withdraw(
    signup_id: str,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    back: Annotated[str, Form()] = "/canvass",
) -> Response:
    await service.withdraw(session, signup_id=signup_id, user=principal.user, settings=settings)
    target = back if back.startswith("/canvass") else "/canvass"
    return redirect(target, notice="You have withdrawn from the shift.")


@router.post("/canvass/{call_id}/relay", response_class=HTMLResponse)
async def relay(
    call_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep
) -> Response:
    await service.relay_call(session, call_id=call_id, actor=principal.actor, settings=settings)
    return redirect(f"/canvass/{call_id}", notice=f"Relayed: {settings.name}'s members see it now.")


@router.post("/canvass/{call_id}/cancel", response_class=HTMLResponse)
async def cancel_call(
    call_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep
) -> Response:
    await service.cancel_call(session, call_id=call_id, actor=principal.actor, settings=settings)
    return redirect(f"/canvass/{call_id}", notice="The call is cancelled; volunteers are told.")


@router.post("/canvass/{call_id}/shifts/{shift_id}/cancel", response_class=HTMLResponse)
async def cancel_shift(
    call_id: str,
    shift_id: str,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    await service.cancel_shift(
        session, call_id=call_id, shift_id=shift_id, actor=principal.actor, settings=settings
    )
    return redirect(f"/canvass/{call_id}", notice="The shift is cancelled; volunteers are told.")
