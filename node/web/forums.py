"""Forum plan pages: the plan as every co-host sees it, and the actions each may take.

Permissions mirror node/forums/router.py exactly: every user reads (by visibility); the
organizing node's organizers edit the plan and decide questions; on a co-host's node, its
admins answer the invitation and its organizers submit questions, take an open role and mark
their own group's tasks done. A co-host's action goes to the organizing node, which applies
it: the page says so, and shows it once the new plan comes back. The organizing node's
organizers do the same for their own group, applied at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.outbox import travel_of
from node.accounts.models import Role
from node.config import Settings
from node.deps import SessionDep, SettingsDep
from node.forums import service, sharing
from node.forums.models import ForumPlan, QuestionIn, QuestionStatus
from node.web.deps import PageAdmin, PageOrganizer, PageUser, PageVisitor
from node.web.groups import active_allies, group_names, local_input, span, when
from node.web.public_forum import public_forum_page
from node.web.rendering import page_router, redirect, render
from schemas.forum import ForumActionKind

router = page_router()

STATUS_BADGE = {
    "accepted": "ok", "invited": "warn", "declined": "bad", "confirmed": "ok",
    "no_response": "muted", "selected": "ok", "pending": "warn", "rejected": "bad",
}  # fmt: skip


def _my_status(plan: ForumPlan, me: str) -> str | None:
    return next((c["status"] for c in plan.co_hosts if c["node"] == me), None)


@router.get("/forums", response_class=HTMLResponse)
async def forum_list(
    request: Request, principal: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    plans = await service.list_forums(session, role=principal.role)
    return render(request, "forums.html", {
        "plans": plans, "names": await group_names(session, settings=settings), "span": span,
        "me": settings.public_url, "badge": STATUS_BADGE,
        "is_organizer": principal.role.includes(Role.organizer),
    })  # fmt: skip


@router.get("/forums/{forum_id}", response_class=HTMLResponse)
async def forum_detail(
    forum_id: str,
    request: Request,
    principal: PageVisitor,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    if principal is None:  # a neighbour: the public view, or the login page
        return await public_forum_page(
            request, forum_id=forum_id, session=session, settings=settings
        )
    plan = await service.get_forum(session, forum_id=forum_id, role=principal.role)
    return await forum_page(request, plan, role=principal.role, session=session, settings=settings)


async def forum_page(
    request: Request,
    plan: ForumPlan,
    *,
    role: Role,
    session: AsyncSession,
    settings: Settings,
    form: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The plan's page; after a refused form (``form`` names it), 422 with that form open,
    what was typed kept and each error beside its field."""
    me = settings.public_url
    is_local = plan.origin == me
    my_status = None if is_local else _my_status(plan, me)
    organizer = role.includes(Role.organizer)
    may: dict[str, bool] = {
        "edit": is_local and organizer,
        "answer": my_status is not None and role.includes(Role.admin),
        "join_in": organizer and (is_local or my_status == "accepted"),
        "own_tasks": organizer and (is_local or my_status is not None),
    }
    names = await group_names(session, settings=settings)
    groups = [me, *(c["node"] for c in plan.co_hosts)]
    invitable = [
        peer
        for peer in await active_allies(session, scope=sharing.SCOPE)
        if peer.node_id not in groups
    ]
    # How far this node's latest change has got to its allies, for the host's page.
    travelled = await travel_of(session, object_id=plan.object_id) if is_local else None
    return render(request, "forum.html", {
        "travelled": travelled,
        "plan": plan, "names": names, "me": me, "is_local": is_local, "my_status": my_status,
        "may": may, "span": span, "badge": STATUS_BADGE, "groups": groups,
        "invitable": invitable if may["edit"] else [],
        "agenda": sorted(plan.agenda_items, key=lambda item: item["position"]),
        "total_minutes": sum(item["duration_minutes"] for item in plan.agenda_items),
        "location": plan.location or {}, "local_input": local_input, "when": when,
        "moment": _moment, "statuses": ["invited", "confirmed", "declined", "no_response"],
        "owners": [(g, names.get(g, g)) for g in groups],
        "holders": [("", "Nobody yet (open)"), *((g, names.get(g, g)) for g in groups)],
        "form": form, "values": values or {}, "errors": errors or {},
    }, status_code=422 if errors else 200)  # fmt: skip


def _moment(value: str | None) -> datetime | None:
    """A time kept in a plan's JSON lists (ISO 8601), for ``when`` and ``local_input``."""
    return datetime.fromisoformat(value) if value else None


async def _act(
    forum_id: str,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    action: ForumActionKind,
    sent: str,
    **extra: Any,
) -> Response:
    plan = await service.act(
        session, forum_id=forum_id, action=action, role=principal.role,
        actor=principal.actor, settings=settings, **extra,
    )  # fmt: skip
    if plan.origin == settings.public_url:
        return redirect(f"/forums/{forum_id}", notice=f"{sent} Co-hosts get the new plan now.")
    names = await group_names(session, settings=settings)
    organizer = names.get(plan.origin, plan.origin)
    return redirect(
        f"/forums/{forum_id}",
        notice=f"{sent} Sent to {organizer}; the plan shows it once they apply it.",
    )


@router.post("/forums/{forum_id}/accept", response_class=HTMLResponse)
async def accept(
    forum_id: str, principal: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _act(forum_id, principal, session, settings, ForumActionKind.ACCEPT,
                      "You accepted the invitation to co-host.")  # fmt: skip


@router.post("/forums/{forum_id}/decline", response_class=HTMLResponse)
async def decline(
    forum_id: str, principal: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _act(forum_id, principal, session, settings, ForumActionKind.DECLINE,
                      "You declined the invitation to co-host.")  # fmt: skip


@router.post("/forums/{forum_id}/questions", response_class=HTMLResponse)
async def submit_question(
    forum_id: str,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    text: Annotated[str, Form()] = "",
) -> Response:
    try:
        question = QuestionIn.model_validate({"text": text})
    except ValidationError:
        plan = await service.get_forum(session, forum_id=forum_id, role=principal.role)
        return await forum_page(
            request, plan, role=principal.role, session=session, settings=settings,
            form="question", values={"text": text},
            errors={"text": "Question: write 1 to 1,000 characters."},
        )  # fmt: skip
    return await _act(forum_id, principal, session, settings, ForumActionKind.SUBMIT_QUESTION,
                      "Question submitted.", text=question.text)  # fmt: skip


@router.post("/forums/{forum_id}/tasks/{task_id}/done", response_class=HTMLResponse)
async def complete_task(
    forum_id: str,
    task_id: str,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    return await _act(forum_id, principal, session, settings, ForumActionKind.COMPLETE_TASK,
                      "Task marked done.", task=task_id)  # fmt: skip


@router.post("/forums/{forum_id}/roles/{role_name:path}/take", response_class=HTMLResponse)
async def take_role(
    forum_id: str,
    role_name: str,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    return await _act(forum_id, principal, session, settings, ForumActionKind.TAKE_ROLE,
                      f"You took the role {role_name}.", role_name=role_name)  # fmt: skip


@router.post("/forums/{forum_id}/questions/{question_id}/status", response_class=HTMLResponse)
async def decide_question(
    forum_id: str,
    question_id: str,
    principal: PageOrganizer,
    session: SessionDep,
    settings: SettingsDep,
    status: Annotated[QuestionStatus, Form()],
) -> Response:
    await service.decide_question(
        session, forum_id=forum_id, question_id=question_id, status=status,
        actor=principal.actor, settings=settings,
    )  # fmt: skip
    return redirect(f"/forums/{forum_id}", notice=f"Question {status.value}.")
