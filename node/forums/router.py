"""HTTP routes of the forums domain: the organizer's plan, and co-hosts' actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from node.audit.service import Actor
from node.config import Settings
from node.deps import AdminUser, CurrentUser, OrganizerUser, SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES, ErrorResponse
from node.events.models import LocationPublic
from node.forums import items, service
from node.forums.models import (
    AgendaChange,
    CandidateChange,
    ForumCreate,
    ForumPlan,
    ForumPublic,
    ForumUpdate,
    ItemChange,
    PlanPart,
    QuestionDecision,
    QuestionIn,
    RoleChange,
    TaskChange,
)
from schemas.forum import ForumActionKind

router = APIRouter(prefix="/api/v1/forums", tags=["forums"], responses=ERROR_RESPONSES)


def forum_public(plan: ForumPlan, *, settings: Settings) -> ForumPublic:
    return ForumPublic(
        id=plan.id,
        object_id=plan.object_id,
        origin=plan.origin,
        is_local=plan.origin == settings.public_url,
        version=plan.version,
        title=plan.title,
        description=plan.description,
        start_date=plan.start_date,
        end_date=plan.end_date,
        timezone=plan.timezone,
        location=LocationPublic.stored(plan.location),
        accessibility_notes=plan.accessibility_notes,
        online_url=plan.online_url,
        languages=plan.languages,
        interpretation=plan.interpretation,
        capacity=plan.capacity,
        visibility=plan.visibility,
        status=plan.status,
        event_id=plan.event_id,
        co_hosts=plan.co_hosts,
        roles=plan.roles,
        candidate_invitations=plan.candidate_invitations,
        agenda_items=sorted(plan.agenda_items, key=lambda item: item["position"]),
        question_submissions=plan.question_submissions,
        tasks=plan.tasks,
        created_date=plan.created_at,
        modified_date=plan.updated_at,
    )


@router.post("", response_model=ForumPublic, status_code=201)
async def create_forum(
    body: ForumCreate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> ForumPublic:
    """Plan a forum (organizers). It also becomes a FORUM event in this node's calendar; the
    plan goes to the invited co-hosts."""
    plan = await service.create_forum(session, data=body, actor=principal.actor, settings=settings)
    response.headers["Location"] = f"{router.prefix}/{plan.id}"
    return forum_public(plan, settings=settings)


@router.get("", response_model=list[ForumPublic])
async def list_forums(
    principal: CurrentUser, session: SessionDep, settings: SettingsDep
) -> list[ForumPublic]:
    plans = await service.list_forums(session, role=principal.role)
    return [forum_public(plan, settings=settings) for plan in plans]


@router.get("/{forum_id}", response_model=ForumPublic)
async def get_forum(
    forum_id: str, principal: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ForumPublic:
    plan = await service.get_forum(session, forum_id=forum_id, role=principal.role)
    return forum_public(plan, settings=settings)


@router.patch("/{forum_id}", response_model=ForumPublic)
async def update_forum(
    forum_id: str,
    body: ForumUpdate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:
    """Edit the plan (organizers of the organizing node; 409 `forum_not_local` elsewhere)."""
    plan = await service.update_forum(
        session, forum_id=forum_id, data=body, actor=principal.actor, settings=settings
    )
    return forum_public(plan, settings=settings)


@router.post("/{forum_id}/questions/{question_id}/status", response_model=ForumPublic)
async def decide_question(
    forum_id: str,
    question_id: str,
    body: QuestionDecision,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:
    """Select or reject a submitted question (the organizing node)."""
    plan = await service.decide_question(
        session,
        forum_id=forum_id,
        question_id=question_id,
        status=body.status,
        actor=principal.actor,
        settings=settings,
    )
    return forum_public(plan, settings=settings)


@router.post("/{forum_id}/accept", response_model=ForumPublic, status_code=202)
async def accept(
    forum_id: str, principal: AdminUser, session: SessionDep, settings: SettingsDep
) -> ForumPublic:
    """Accept the invitation to co-host (a co-host's admin). 202: the organizer applies it."""
    plan = await service.act(
        session,
        forum_id=forum_id,
        action=ForumActionKind.ACCEPT,
        role=principal.role,
        actor=principal.actor,
        settings=settings,
    )
    return forum_public(plan, settings=settings)


@router.post("/{forum_id}/decline", response_model=ForumPublic, status_code=202)
async def decline(
    forum_id: str, principal: AdminUser, session: SessionDep, settings: SettingsDep
) -> ForumPublic:
    plan = await service.act(
        session,
        forum_id=forum_id,
        action=ForumActionKind.DECLINE,
        role=principal.role,
        actor=principal.actor,
        settings=settings,
    )
    return forum_public(plan, settings=settings)


@router.post("/{forum_id}/questions", response_model=ForumPublic, status_code=202)
async def submit_question(
    forum_id: str,
    body: QuestionIn,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> ForumPublic:
    """Submit a question for the candidates (a co-host that accepted: 202, the organizer
    applies it; or the organizing node's own: 200, applied)."""
    plan = await service.act(
        session,
        forum_id=forum_id,
        action=ForumActionKind.SUBMIT_QUESTION,
        role=principal.role,
        actor=principal.actor,
        settings=settings,
        text=body.text,
    )
    return _applied_here(plan, response, settings=settings)


@router.post("/{forum_id}/tasks/{task_id}/done", response_model=ForumPublic, status_code=202)
async def complete_task(
    forum_id: str,
    task_id: str,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> ForumPublic:
    """Mark one of your group's tasks done (403 for another group's task): 202 on a co-host's
    node, 200 on the organizing node."""
    plan = await service.act(
        session,
        forum_id=forum_id,
        action=ForumActionKind.COMPLETE_TASK,
        role=principal.role,
        actor=principal.actor,
        settings=settings,
        task=task_id,
    )
    return _applied_here(plan, response, settings=settings)


@router.post("/{forum_id}/roles/{role_name:path}/take", response_model=ForumPublic, status_code=202)
async def take_role(
    forum_id: str,
    role_name: str,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> ForumPublic:
    """Take a role nobody holds yet (403 if another group holds it): 202 on a co-host's node,
    200 on the organizing node."""
    plan = await service.act(
        session,
        forum_id=forum_id,
        action=ForumActionKind.TAKE_ROLE,
        role=principal.role,
        actor=principal.actor,
        settings=settings,
        role_name=role_name,
    )
    return _applied_here(plan, response, settings=settings)


def _applied_here(plan: ForumPlan, response: Response, *, settings: Settings) -> ForumPublic:
    """200 when this node organizes the forum (the action is applied), else the route's 202."""
    if plan.origin == settings.public_url:
        response.status_code = 200
    return forum_public(plan, settings=settings)


# ---- one item of the plan's lists (the organizing node's organizers) ------------------------

ITEM_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such forum, or no such item in it."},
    409: {"model": ErrorResponse, "description": "`forum_not_local`: another node organizes it."},
}


async def _change(
    session: AsyncSession, forum_id: str, part: PlanPart, key: str, change: ItemChange | None,
    *, actor: Actor, settings: Settings,
) -> ForumPublic:  # fmt: skip
    plan = await items.change_item(
        session, forum_id=forum_id, part=part, key=key, change=change, actor=actor,
        settings=settings,
    )  # fmt: skip
    return forum_public(plan, settings=settings)


EDIT_DOC = (
    "Fields sent replace the item's; `position` (from 0) moves it in its list. The plan, "
    "whole, goes to the co-hosts. 422 on bad input (nothing changed)."
)


@router.patch(
    "/{forum_id}/roles/{role_name:path}", response_model=ForumPublic, responses=ITEM_ERRORS,
    description=f"Edit or move a role. `assigned_to` null: open. {EDIT_DOC}",
)  # fmt: skip
async def update_role(
    forum_id: str, role_name: str, body: RoleChange, principal: OrganizerUser,
    session: SessionDep, settings: SettingsDep,
) -> ForumPublic:  # fmt: skip
    return await _change(session, forum_id, PlanPart.roles, role_name, body,
                         actor=principal.actor, settings=settings)  # fmt: skip


@router.delete(
    "/{forum_id}/roles/{role_name:path}", response_model=ForumPublic, responses=ITEM_ERRORS
)
async def remove_role(
    forum_id: str, role_name: str, principal: OrganizerUser, session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:  # fmt: skip
    """Remove a role from the plan; co-hosts see it gone with the next plan."""
    return await _change(session, forum_id, PlanPart.roles, role_name, None,
                         actor=principal.actor, settings=settings)  # fmt: skip


@router.patch(
    "/{forum_id}/candidates/{candidate_id}", response_model=ForumPublic, responses=ITEM_ERRORS,
    description=f"Edit or move a candidate invitation (`changed_at` follows `status`). {EDIT_DOC}",
)  # fmt: skip
async def update_candidate(
    forum_id: str, candidate_id: str, body: CandidateChange, principal: OrganizerUser,
    session: SessionDep, settings: SettingsDep,
) -> ForumPublic:  # fmt: skip
    return await _change(session, forum_id, PlanPart.candidates, candidate_id, body,
                         actor=principal.actor, settings=settings)  # fmt: skip


@router.delete(
    "/{forum_id}/candidates/{candidate_id}", response_model=ForumPublic, responses=ITEM_ERRORS
)
async def remove_candidate(
    forum_id: str, candidate_id: str, principal: OrganizerUser, session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:  # fmt: skip
    """Remove a candidate invitation from the plan."""
    return await _change(session, forum_id, PlanPart.candidates, candidate_id, None,
                         actor=principal.actor, settings=settings)  # fmt: skip


@router.patch(
    "/{forum_id}/agenda/{item_id}", response_model=ForumPublic, responses=ITEM_ERRORS,
    description=f"Edit or move an agenda item (positions are renumbered from 0). {EDIT_DOC}",
)  # fmt: skip
async def update_agenda_item(
    forum_id: str, item_id: str, body: AgendaChange, principal: OrganizerUser,
    session: SessionDep, settings: SettingsDep,
) -> ForumPublic:  # fmt: skip
    return await _change(session, forum_id, PlanPart.agenda, item_id, body,
                         actor=principal.actor, settings=settings)  # fmt: skip


@router.delete("/{forum_id}/agenda/{item_id}", response_model=ForumPublic, responses=ITEM_ERRORS)
async def remove_agenda_item(
    forum_id: str, item_id: str, principal: OrganizerUser, session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:  # fmt: skip
    """Remove an agenda item; the others close up (positions from 0)."""
    return await _change(session, forum_id, PlanPart.agenda, item_id, None,
                         actor=principal.actor, settings=settings)  # fmt: skip


@router.patch(
    "/{forum_id}/tasks/{task_id}", response_model=ForumPublic, responses=ITEM_ERRORS,
    description=f"Edit or move a task. `due_date` null: none. {EDIT_DOC}",
)  # fmt: skip
async def update_task(
    forum_id: str, task_id: str, body: TaskChange, principal: OrganizerUser,
    session: SessionDep, settings: SettingsDep,
) -> ForumPublic:  # fmt: skip
    return await _change(session, forum_id, PlanPart.tasks, task_id, body,
                         actor=principal.actor, settings=settings)  # fmt: skip


@router.delete("/{forum_id}/tasks/{task_id}", response_model=ForumPublic, responses=ITEM_ERRORS)
async def remove_task(
    forum_id: str, task_id: str, principal: OrganizerUser, session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:  # fmt: skip
    """Remove a task from the plan."""
    return await _change(session, forum_id, PlanPart.tasks, task_id, None,
                         actor=principal.actor, settings=settings)  # fmt: skip
