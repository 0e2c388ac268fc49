"""The organizing node's forms for a forum plan (organizers, as the API's create and PATCH).

Each list (roles, agenda, candidates, tasks, co-hosts) has a small "add one" form; the page
sends the whole list back with the new item, as ``PATCH /forums/{id}`` takes it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from node.config import Settings
from node.deps import SessionDep, SettingsDep
from node.errors import InvalidInput
from node.forums import service, sharing
from node.forums.models import ForumCreate, ForumPlan, ForumUpdate
from node.web.deps import PageOrganizer
from node.web.groups import active_allies, parse_local, split_list
from node.web.rendering import field_errors, page_router, redirect, render

router = page_router()
Text = Annotated[str, Form()]


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
    accessibility_notes: Text = "",
    languages: Text = "",
    visibility: Text = "coalition",
    co_hosts: Annotated[list[str] | None, Form()] = None,
) -> Response:
    values = {"title": title, "start": start, "end": end, "venue": venue, "address": address,
              "accessibility_notes": accessibility_notes, "languages": languages,
              "visibility": visibility, "co_hosts": co_hosts or []}  # fmt: skip
    try:
        data = ForumCreate.model_validate({
            "title": title, "start_date": parse_local(start) or start,
            "end_date": parse_local(end) or end,
            "location": _location(venue, address), "accessibility_notes": accessibility_notes,
            "languages": split_list(languages), "visibility": visibility,
            "co_hosts": co_hosts or [],
        })  # fmt: skip
        plan = await service.create_forum(
            session, data=data, actor=principal.actor, settings=settings
        )
    except ValidationError as exc:
        errors = {_field(name): message for name, message in field_errors(exc).items()}
        return await _form_page(request, session, values, errors)
    except InvalidInput as exc:
        return await _form_page(request, session, values, {"co_hosts": exc.message})
    return redirect(f"/forums/{plan.id}", notice="Forum planned. Invited co-hosts get it now.")


def _field(name: str) -> str:
    return {"start_date": "start", "end_date": "end", "form": "end"}.get(name, name.split(".")[0])


def _location(venue: str, address: str) -> dict[str, Any] | None:
    if not (venue.strip() or address.strip()):
        return None
    return {"venue": venue.strip() or None, "address_lines": [address.strip()] if address else []}


async def _patch(
    forum_id: str, changes: dict[str, Any], *, principal: PageOrganizer,
    session: AsyncSession, settings: Settings, notice: str,
) -> Response:  # fmt: skip
    try:
        data = ForumUpdate.model_validate(changes)
    except ValidationError as exc:
        problems = "; ".join(f"{k}: {v}" for k, v in field_errors(exc).items())
        raise InvalidInput(f"Please check what you entered: {problems}") from None
    await service.update_forum(
        session, forum_id=forum_id, data=data, actor=principal.actor, settings=settings
    )
    return redirect(f"/forums/{forum_id}", notice=notice)


async def _own_plan(session: AsyncSession, forum_id: str, principal: PageOrganizer) -> ForumPlan:
    return await service.get_forum(session, forum_id=forum_id, role=principal.role)


@router.post("/forums/{forum_id}/edit", response_class=HTMLResponse)
async def edit_details(
    forum_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep,
    title: Text = "", start: Text = "", end: Text = "", venue: Text = "", address: Text = "",
    accessibility_notes: Text = "", languages: Text = "", status: Text = "confirmed",
) -> Response:  # fmt: skip
    changes = {"title": title, "start_date": parse_local(start) or start,
               "end_date": parse_local(end) or end, "location": _location(venue, address),
               "accessibility_notes": accessibility_notes, "languages": split_list(languages),
               "status": status}  # fmt: skip
    return await _patch(forum_id, changes, principal=principal, session=session,
                        settings=settings, notice="Plan saved.")  # fmt: skip


@router.post("/forums/{forum_id}/roles", response_class=HTMLResponse)
async def add_role(
    forum_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep,
    name: Text = "", assigned_to: Text = "",
) -> Response:  # fmt: skip
    plan = await _own_plan(session, forum_id, principal)
    roles = [{"name": r["name"], "assigned_to": r.get("assigned_to")} for r in plan.roles]
    roles.append({"name": name, "assigned_to": assigned_to or None})
    return await _patch(forum_id, {"roles": roles}, principal=principal, session=session,
                        settings=settings, notice=f"Role {name} added.")  # fmt: skip


@router.post("/forums/{forum_id}/agenda", response_class=HTMLResponse)
async def add_agenda_item(
    forum_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep,
    title: Text = "", duration_minutes: Text = "",
) -> Response:  # fmt: skip
    plan = await _own_plan(session, forum_id, principal)
    items = [{"title": i["title"], "duration_minutes": i["duration_minutes"]}
             for i in sorted(plan.agenda_items, key=lambda i: i["position"])]  # fmt: skip
    items.append({"title": title, "duration_minutes": duration_minutes or 0})
    return await _patch(forum_id, {"agenda_items": items}, principal=principal, session=session,
                        settings=settings, notice="Agenda item added.")  # fmt: skip


def _candidates(plan: ForumPlan) -> list[dict[str, Any]]:
    return [{"id": c["id"], "name": c["name"], "race": c["race"], "status": c["status"]}
            for c in plan.candidate_invitations]  # fmt: skip


@router.post("/forums/{forum_id}/candidates", response_class=HTMLResponse)
async def invite_candidate(
    forum_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep,
    name: Text = "", race: Text = "",
) -> Response:  # fmt: skip
    plan = await _own_plan(session, forum_id, principal)
    candidates = [*_candidates(plan), {"name": name, "race": race}]
    return await _patch(forum_id, {"candidate_invitations": candidates}, principal=principal,
                        session=session, settings=settings, notice=f"{name} invited.")  # fmt: skip


@router.post("/forums/{forum_id}/candidates/{candidate_id}", response_class=HTMLResponse)
async def candidate_answer(
    forum_id: str, candidate_id: str, principal: PageOrganizer, session: SessionDep,
    settings: SettingsDep, status: Text = "",
) -> Response:  # fmt: skip
    plan = await _own_plan(session, forum_id, principal)
    candidates = [{**c, "status": status} if c["id"] == candidate_id else c
                  for c in _candidates(plan)]  # fmt: skip
    return await _patch(forum_id, {"candidate_invitations": candidates}, principal=principal,
                        session=session, settings=settings, notice="Answer recorded.")  # fmt: skip


@router.post("/forums/{forum_id}/tasks", response_class=HTMLResponse)
async def add_task(
    forum_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep,
    title: Text = "", owner: Text = "",
) -> Response:  # fmt: skip
    plan = await _own_plan(session, forum_id, principal)
    tasks = [{k: t[k] for k in ("id", "title", "owner", "done", "due_date") if k in t}
             for t in plan.tasks]  # fmt: skip
    tasks.append({"title": title, "owner": owner})
    return await _patch(forum_id, {"tasks": tasks}, principal=principal, session=session,
                        settings=settings, notice="Task added.")  # fmt: skip


@router.post("/forums/{forum_id}/co-hosts", response_class=HTMLResponse)
async def invite_co_host(
    forum_id: str, principal: PageOrganizer, session: SessionDep, settings: SettingsDep,
    node: Text = "",
) -> Response:  # fmt: skip
    plan = await _own_plan(session, forum_id, principal)
    co_hosts = [*(c["node"] for c in plan.co_hosts), node]
    return await _patch(forum_id, {"co_hosts": co_hosts}, principal=principal, session=session,
                        settings=settings, notice="Co-host invited.")  # fmt: skip
