"""The organizing node's forms for a forum plan (organizers, as the API's create and PATCH).

Each list (roles, agenda, candidates, tasks, co-hosts) has a small "add one" form, and each
item its own forms to edit it, move it up or down and (asked once more) remove it: the same
service calls as ``PATCH``/``DELETE /api/v1/forums/{id}/<list>/<item>``. A refused form comes
back on the forum's page (422) with what was typed kept and each error beside its field, in
words that name the field; nothing is saved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from node.deps import SessionDep, SettingsDep
from node.errors import InvalidInput
from node.forums import items, service, sharing
from node.forums.models import (
    AgendaChange,
    AgendaIn,
    CandidateChange,
    CandidateIn,
    ForumCreate,
    ForumUpdate,
    PlanPart,
    RoleChange,
    RoleIn,
    TaskChange,
    TaskIn,
)
from node.web.deps import PageOrganizer
from node.web.forums import forum_page
from node.web.groups import active_allies, parse_local, split_list
from node.web.rendering import page_router, redirect, render
from schemas.base import problem_in_words

router = page_router()
Text = Annotated[str, Form()]

CHANGES: dict[
    PlanPart, type[RoleChange] | type[CandidateChange] | type[AgendaChange] | type[TaskChange]
] = {
    PlanPart.roles: RoleChange,
    PlanPart.candidates: CandidateChange,
    PlanPart.agenda: AgendaChange,
    PlanPart.tasks: TaskChange,
}
NEW_ITEMS: dict[PlanPart, type[BaseModel]] = {
    PlanPart.roles: RoleIn,
    PlanPart.candidates: CandidateIn,
    PlanPart.agenda: AgendaIn,
    PlanPart.tasks: TaskIn,
}
FORM_FIELDS = {
    PlanPart.roles: ("name", "assigned_to"),
    PlanPart.candidates: ("name", "race"),
    PlanPart.agenda: ("title", "duration_minutes"),
    PlanPart.tasks: ("title", "owner", "due_date"),
}
LABEL_FIELD = {PlanPart.roles: "name", PlanPart.candidates: "name", PlanPart.agenda: "title",
               PlanPart.tasks: "title"}  # fmt: skip
NOUNS = {PlanPart.roles: "Role", PlanPart.candidates: "Candidate",
         PlanPart.agenda: "Agenda item", PlanPart.tasks: "Task"}  # fmt: skip
ONE_LINE = "of 1 to {n} characters, on one line"
WORDS = {
    "title": f"Title: give a title {ONE_LINE.format(n=200)}.",
    "start": "Starts: give a date and time.",
    "end": "Ends: give a date and time, not before the start.",
    "description": "About: at most 10,000 characters, without control characters.",
    "accessibility_notes": "Accessibility notes: at most 2,000 characters.",
    "languages": "Languages: up to 20, each at most 64 characters, separated by commas.",
    "venue": f"Venue: {ONE_LINE.format(n=200)[3:]}.",
    "address": "Address: one line, at most 200 characters.",
    "status": "Status: choose one of the statuses listed.",
    "text": "Question: write 1 to 1,000 characters.",
    "roles.name": f"Role: give a name {ONE_LINE.format(n=64)}.",
    "candidates.name": f"Candidate: give a name {ONE_LINE.format(n=200)}.",
    "candidates.race": f"Race: give the race {ONE_LINE.format(n=200)}.",
    "candidates.status": "Answer: choose one of the answers listed.",
    "agenda.title": f"Agenda item: give a title {ONE_LINE.format(n=200)}.",
    "agenda.duration_minutes": "Minutes: give a whole number from 1 to 600.",
    "tasks.title": f"Task: give a title {ONE_LINE.format(n=200)}.",
    "tasks.due_date": "Due: give a date and time, or leave it empty.",
}
"""What each form field needs, said beside it when what was typed does not fit."""
FORM_NAMES = {"start_date": "start", "end_date": "end", "form": "end", "location": "venue",
              "location.venue": "venue", "location.address_lines": "address",
              "roles": "name", "co_hosts": "node"}  # fmt: skip
"""Where the API's names for fields are not the forms' (``form``: a rule across fields)."""


def _words(prefix: str, name: str, fallback: str) -> str:
    return WORDS.get(f"{prefix}.{name}") or WORDS.get(name) or fallback


def _problems(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """A validation error's problems by form field, in the words of ``WORDS``."""
    problems: dict[str, str] = {}
    for error in exc.errors():
        loc = ".".join(str(part) for part in error.get("loc", ())) or "form"
        name = FORM_NAMES.get(loc) or FORM_NAMES.get(loc.split(".")[0]) or loc.split(".")[0]
        problems.setdefault(name, _words(prefix, name, problem_in_words(error)))
    return problems


def _refused(exc: InvalidInput, default: str) -> dict[str, str]:
    """The service's refusal, beside the field it names (in the form's words for the plan's
    own fields: "Ends: ...")."""
    names = [part for part in (exc.details[0].loc if exc.details else []) if isinstance(part, str)]
    name = FORM_NAMES.get(names[-1], names[-1]) if len(names) > 1 else default
    return {name: WORDS.get(name, exc.message)}


async def _again(
    request: Request, forum_id: str, principal: PageOrganizer, session: AsyncSession,
    settings: SettingsDep, *, form: str, values: dict[str, Any], errors: dict[str, str],
) -> Response:  # fmt: skip
    """The forum's page with the refused form open, showing the plan as stored (the attempt
    ran in a savepoint, rolled back)."""
    plan = await service.get_forum(session, forum_id=forum_id, role=principal.role)
    await session.refresh(plan)
    return await forum_page(request, plan, role=principal.role, session=session,
                            settings=settings, form=form, values=values, errors=errors)  # fmt: skip


# ---- a new plan -----------------------------------------------------------------------------


async def _form_page(
    request: Request, session: AsyncSession, values: dict[str, Any], errors: dict[str, str]
) -> Response:
    allies = await active_allies(session, scope=sharing.SCOPE)
    return render(request, "forum_form.html", {"values": values, "errors": errors,
                  "allies": allies}, status_code=422 if errors else 200)  # fmt: skip


@router.get("/forums/new", response_class=HTMLResponse)
async def new_forum(request: Request, principal: PageOrganizer, session: SessionDep) -> Response:
    del principal
    return await _form_page(request, session, {"visibility": "coalition"}, {})


@router.post("/forums/new", response_class=HTMLResponse)
async def create_forum(
    request: Request,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
    title: Text = "",
    start: Text = "",
    end: Text = "",
    venue: Text = "",
    address: Text = "",
    description: Text = "",
    accessibility_notes: Text = "",
    languages: Text = "",
    visibility: Text = "coalition",
    co_hosts: Annotated[list[str] | None, Form()] = None,
) -> Response:
    values = {"title": title, "start": start, "end": end, "venue": venue, "address": address,
              "description": description, "accessibility_notes": accessibility_notes,
              "languages": languages, "visibility": visibility,
              "co_hosts": co_hosts or []}  # fmt: skip
    try:
        data = ForumCreate.model_validate({
            "title": title, "start_date": parse_local(start) or start,
            "end_date": parse_local(end) or end, "description": description.strip(),
            "location": _location(venue, address), "accessibility_notes": accessibility_notes,
            "languages": split_list(languages), "visibility": visibility,
            "co_hosts": co_hosts or [],
        })  # fmt: skip
        plan = await service.create_forum(
            session, data=data, actor=principal.actor, settings=settings
        )
    except ValidationError as exc:
        return await _form_page(request, session, values, _problems(exc))
    except InvalidInput as exc:
        return await _form_page(request, session, values, {"co_hosts": exc.message})
    return redirect(f"/forums/{plan.id}", notice="Forum planned. Invited co-hosts get it now.")


def _location(venue: str, address: str) -> dict[str, Any] | None:
    if not (venue.strip() or address.strip()):
        return None
    return {"venue": venue.strip() or None, "address_lines": [address.strip()] if address else []}


# ---- the plan's details, and a new item in a list -------------------------------------------


async def _update(
    request: Request, forum_id: str, changes: Callable[[], Awaitable[dict[str, Any]]], *,
    principal: PageOrganizer, session: AsyncSession, settings: SettingsDep, form: str,
    values: dict[str, Any], prefix: str, notice: str,
) -> Response:  # fmt: skip
    """PATCH the plan with ``changes()``; a refusal brings ``form`` back with ``values``."""
    try:
        async with session.begin_nested():
            data = ForumUpdate.model_validate(await changes())
            await service.update_forum(
                session, forum_id=forum_id, data=data, actor=principal.actor, settings=settings
            )
    except ValidationError as exc:
        errors = _problems(exc, prefix)
    except InvalidInput as exc:
        errors = _refused(exc, default=next(iter(values), "form"))
    else:
        return redirect(f"/forums/{forum_id}", notice=notice)
    return await _again(request, forum_id, principal, session, settings, form=form,
                        values=values, errors=errors)  # fmt: skip


@router.post("/forums/{forum_id}/edit", response_class=HTMLResponse)
async def edit_details(
    request: Request, forum_id: str, principal: PageOrganizer, session: SessionDep,
    settings: SettingsDep, title: Text = "", start: Text = "", end: Text = "", venue: Text = "",
    address: Text = "", description: Text = "", accessibility_notes: Text = "",
    languages: Text = "", status: Text = "confirmed",
) -> Response:  # fmt: skip
    values = {"title": title, "start": start, "end": end, "venue": venue, "address": address,
              "description": description, "accessibility_notes": accessibility_notes,
              "languages": languages, "status": status}  # fmt: skip

    async def changes() -> dict[str, Any]:
        return {"title": title, "start_date": parse_local(start) or start,
                "end_date": parse_local(end) or end, "location": _location(venue, address),
                "description": description.strip(), "accessibility_notes": accessibility_notes,
                "languages": split_list(languages), "status": status}  # fmt: skip

    return await _update(request, forum_id, changes, principal=principal, session=session,
                         settings=settings, form="details", values=values, prefix="",
                         notice="Plan saved. Co-hosts get the new plan now.")  # fmt: skip


def _item_body(part: PlanPart, values: dict[str, str]) -> dict[str, Any]:
    """A list item's form as the API's shape (``RoleIn`` ... or ``RoleChange`` ...): an empty
    choice is null where null means something (an open role, no due date)."""
    body: dict[str, Any] = {name: values[name] for name in FORM_FIELDS[part]}
    if part is PlanPart.roles:
        body["assigned_to"] = values["assigned_to"] or None
    if part is PlanPart.tasks:
        due = values["due_date"]
        body["due_date"] = parse_local(due) or (due or None)
    return body


async def _add(
    request: Request, forum_id: str, part: PlanPart, *, principal: PageOrganizer,
    session: AsyncSession, settings: SettingsDep,
) -> Response:  # fmt: skip
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in FORM_FIELDS[part]}
    label = values[LABEL_FIELD[part]]
    field = items.PART_FIELDS[part]
    try:
        # The new item alone first, so its problems are named by its own fields.
        item = NEW_ITEMS[part].model_validate(_item_body(part, values))
    except ValidationError as exc:
        return await _again(request, forum_id, principal, session, settings,
                            form=f"{part.value}:new", values=values,
                            errors=_problems(exc, part.value))  # fmt: skip

    async def changes() -> dict[str, Any]:
        plan = await service.get_forum(session, forum_id=forum_id, role=principal.role)
        return {field: [*items.editable_items(plan, part), item.model_dump(exclude_none=True)]}

    notices = {PlanPart.roles: f"Role {label} added.", PlanPart.candidates: f"{label} invited.",
               PlanPart.agenda: f"“{label}” added to the agenda.",
               PlanPart.tasks: f"Task “{label}” added."}  # fmt: skip
    return await _update(request, forum_id, changes, principal=principal, session=session,
                         settings=settings, form=f"{part.value}:new", values=values,
                         prefix=part.value, notice=notices[part])  # fmt: skip


@router.post("/forums/{forum_id}/roles", response_class=HTMLResponse)
async def add_role(
    request: Request, forum_id: str, principal: PageOrganizer, session: SessionDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    return await _add(request, forum_id, PlanPart.roles, principal=principal, session=session,
                      settings=settings)  # fmt: skip


@router.post("/forums/{forum_id}/agenda", response_class=HTMLResponse)
async def add_agenda_item(
    request: Request, forum_id: str, principal: PageOrganizer, session: SessionDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    return await _add(request, forum_id, PlanPart.agenda, principal=principal, session=session,
                      settings=settings)  # fmt: skip


@router.post("/forums/{forum_id}/candidates", response_class=HTMLResponse)
async def invite_candidate(
    request: Request, forum_id: str, principal: PageOrganizer, session: SessionDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    return await _add(request, forum_id, PlanPart.candidates, principal=principal,
                      session=session, settings=settings)  # fmt: skip


@router.post("/forums/{forum_id}/tasks", response_class=HTMLResponse)
async def add_task(
    request: Request, forum_id: str, principal: PageOrganizer, session: SessionDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    return await _add(request, forum_id, PlanPart.tasks, principal=principal, session=session,
                      settings=settings)  # fmt: skip


@router.post("/forums/{forum_id}/candidates/{candidate_id}", response_class=HTMLResponse)
async def candidate_answer(
    forum_id: str, candidate_id: str, principal: PageOrganizer, session: SessionDep,
    settings: SettingsDep, status: Text = "",
) -> Response:  # fmt: skip
    try:
        change = CandidateChange.model_validate({"status": status})
    except ValidationError:
        raise InvalidInput(WORDS["candidates.status"]) from None
    await items.change_item(
        session, forum_id=forum_id, part=PlanPart.candidates, key=candidate_id, change=change,
        actor=principal.actor, settings=settings,
    )  # fmt: skip
    return redirect(f"/forums/{forum_id}", notice="Answer recorded.")


@router.post("/forums/{forum_id}/co-hosts", response_class=HTMLResponse)
async def invite_co_host(
    request: Request, forum_id: str, principal: PageOrganizer, session: SessionDep,
    settings: SettingsDep, node: Text = "",
) -> Response:  # fmt: skip
    async def changes() -> dict[str, Any]:
        plan = await service.get_forum(session, forum_id=forum_id, role=principal.role)
        return {"co_hosts": [*(c["node"] for c in plan.co_hosts), node]}

    return await _update(request, forum_id, changes, principal=principal, session=session,
                         settings=settings, form="co-hosts", values={"node": node},
                         prefix="", notice="Co-host invited.")  # fmt: skip


# ---- one item: edit, move, remove -----------------------------------------------------------


def _label(part: PlanPart, item: dict[str, Any]) -> str:
    return f"{NOUNS[part]} “{item[LABEL_FIELD[part]]}”"


async def _held(
    session: AsyncSession, forum_id: str, part: PlanPart, key: str, principal: PageOrganizer
) -> tuple[list[dict[str, Any]], int]:
    """The list as it is, and where the item is in it (a 404 page if it is gone)."""
    plan = await service.get_forum(session, forum_id=forum_id, role=principal.role)
    held = items.editable_items(plan, part)
    for index, item in enumerate(held):
        if items.item_key(part, item) == key:
            return held, index
    raise items.ForumItemNotFound(f"The forum has no {items.PART_NOUNS[part]} {key}.")


@router.post("/forums/{forum_id}/{part}/{key:path}/edit", response_class=HTMLResponse)
async def edit_item(
    request: Request, forum_id: str, part: PlanPart, key: str, principal: PageOrganizer,
    session: SessionDep, settings: SettingsDep,
) -> Response:  # fmt: skip
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in FORM_FIELDS[part]}
    again = f"{part.value}:{key}"
    try:
        async with session.begin_nested():
            change = CHANGES[part].model_validate(_item_body(part, values))
            await items.change_item(
                session, forum_id=forum_id, part=part, key=key, change=change,
                actor=principal.actor, settings=settings,
            )  # fmt: skip
    except ValidationError as exc:
        errors = _problems(exc, part.value)
    except InvalidInput as exc:
        errors = _refused(exc, default=LABEL_FIELD[part])
    else:
        label = _label(part, {LABEL_FIELD[part]: values[LABEL_FIELD[part]]})
        return redirect(f"/forums/{forum_id}", notice=f"{label} saved.")
    return await _again(request, forum_id, principal, session, settings, form=again,
                        values=values, errors=errors)  # fmt: skip


@router.post("/forums/{forum_id}/{part}/{key:path}/move", response_class=HTMLResponse)
async def move_item(
    forum_id: str, part: PlanPart, key: str, principal: PageOrganizer, session: SessionDep,
    settings: SettingsDep, direction: Text = "",
) -> Response:  # fmt: skip
    held, index = await _held(session, forum_id, part, key, principal)
    label = _label(part, held[index])
    if direction not in ("up", "down"):
        raise InvalidInput("Move an item up or down.", field=["body", "direction"])
    position = index - 1 if direction == "up" else index + 1
    if not 0 <= position < len(held):
        edge = "first" if direction == "up" else "last"
        return redirect(f"/forums/{forum_id}", notice=f"{label} is already {edge}.")
    await items.change_item(
        session, forum_id=forum_id, part=part, key=key,
        change=CHANGES[part].model_validate({"position": position}),
        actor=principal.actor, settings=settings,
    )  # fmt: skip
    return redirect(f"/forums/{forum_id}", notice=f"{label} moved {direction}.")


@router.post("/forums/{forum_id}/{part}/{key:path}/remove", response_class=HTMLResponse)
async def remove_item(
    forum_id: str, part: PlanPart, key: str, principal: PageOrganizer, session: SessionDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    held, index = await _held(session, forum_id, part, key, principal)
    label = _label(part, held[index])
    await items.change_item(
        session, forum_id=forum_id, part=part, key=key, change=None, actor=principal.actor,
        settings=settings,
    )  # fmt: skip
    return redirect(f"/forums/{forum_id}", notice=f"{label} removed from the plan.")
